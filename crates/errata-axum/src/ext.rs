//! [`ServiceBuilderExt`]: the edge layers as `tower::ServiceBuilder` methods, like
//! tower-http's own `ServiceBuilderExt`.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use axum::{routing::get, Router};
//! use errata_axum::ServiceBuilderExt;
//! use tower::ServiceBuilder;
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let app: Router = Router::new().route("/", get(|| async { "ok" })).layer(
//!     ServiceBuilder::new()
//!         .errata(renderer)
//!         .handler_timeout(Duration::from_secs(10)),
//! );
//! ```

use std::sync::Arc;
use std::time::Duration;

use errata::Renderer;
use tower::layer::util::Stack;
use tower::ServiceBuilder;

use crate::{ErrataLayer, HandlerTimeoutLayer};

/// errata's layers as [`ServiceBuilder`] methods.
pub trait ServiceBuilderExt<L>: sealed::Sealed {
    /// Adds the edge layer with the defaults ([`ErrataLayer::new`]).
    fn errata(self, renderer: Arc<Renderer>) -> ServiceBuilder<Stack<ErrataLayer, L>>;

    /// Adds a configured edge layer ([`ErrataLayer::builder`]).
    fn errata_layer(self, layer: ErrataLayer) -> ServiceBuilder<Stack<ErrataLayer, L>>;

    /// Adds a [`HandlerTimeoutLayer`] (below the edge layer when added after it).
    fn handler_timeout(self, timeout: Duration) -> ServiceBuilder<Stack<HandlerTimeoutLayer, L>>;
}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn errata(self, renderer: Arc<Renderer>) -> ServiceBuilder<Stack<ErrataLayer, L>> {
        self.layer(ErrataLayer::new(renderer))
    }

    fn errata_layer(self, layer: ErrataLayer) -> ServiceBuilder<Stack<ErrataLayer, L>> {
        self.layer(layer)
    }

    fn handler_timeout(self, timeout: Duration) -> ServiceBuilder<Stack<HandlerTimeoutLayer, L>> {
        self.layer(HandlerTimeoutLayer::new(timeout))
    }
}

mod sealed {
    pub trait Sealed {}
    impl<L> Sealed for tower::ServiceBuilder<L> {}
}
