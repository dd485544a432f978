//! axum and tower integration for errata: every error that leaves the server is in the contract.
//!
//! - [`ErrataLayer`]: the edge layer, built from tower-http's request-id and catch-panic
//!   middleware. Renders handler errors with the request's locale, request id and path;
//!   re-wraps every foreign 4xx/5xx (the router's, tower-http's, a handler's own) keeping its
//!   status; turns panics into `SERVER_ERROR`; logs causes scrubbed; attaches an
//!   [`errata::ErrorReport`] when monitoring asks for one. [`ErrataLayer::builder`] configures
//!   it, [`ServiceBuilderExt`] adds it to a `tower::ServiceBuilder`.
//! - [`HandlerTimeoutLayer`]: a handler deadline answered as `HANDLER_TIMEOUT`.
//!
//! Features, by capability, none on by default: `ratelimit`, `redis` (rate limits
//! shared in Redis, `ratelimit::RedisStore`), `upstream`, `openapi`,
//! `validator`, `sqlx`.
//! - [`Json`], [`Query`], [`Form`], [`Path`]: extractors whose rejections are catalog errors;
//!   `Valid<E>` adds `validator` rules as field errors.
//! - [`fallback`]: `ROUTE_NOT_FOUND` for the API router.
//! - [`serve()`]: a server that slow clients cannot starve; [`RequestLimitsLayer`]: 414 and 431
//!   in the envelope.
//! - [`ratelimit`], [`upstream`], [`db`], [`openapi`], [`test`]: rate limits, upstream
//!   mapping, database constraint violations, OpenAPI, assertions for tests.
//! - [`declare`]: each route declares its errors once ([`error_set!`]), as its OpenAPI
//!   responses and as the list its answers are checked against.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::post, Router};
//! use errata_axum::{ErrataLayer, Json};
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//!
//! #[derive(serde::Deserialize)]
//! struct Enroll { lecture_id: u64 }
//!
//! async fn enroll(Json(body): Json<Enroll>) -> Result<&'static str, errata::ApiError> {
//!     if body.lecture_id == 0 {
//!         return Err(errors::lecture_not_found());
//!     }
//!     Err(errors::already_enrolled())
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let app: Router = Router::new()
//!     .route("/v1/enrollments", post(enroll))
//!     .fallback(errata_axum::fallback)
//!     .layer(ErrataLayer::new(renderer));
//! ```

mod body;
mod context;
#[cfg(feature = "sqlx")]
pub mod db;
#[cfg(feature = "openapi")]
pub mod declare;
mod ext;
mod extract;
mod fallback;
mod layer;
pub mod limits;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "ratelimit")]
pub mod ratelimit;
mod request_id;
#[cfg(feature = "server")]
pub mod serve;
pub mod test;
mod timeout;
#[cfg(feature = "upstream")]
pub mod upstream;
#[cfg(feature = "validator")]
mod validation;

/// The `validator` crate that [`Valid`] works with, re-exported so that its version always
/// matches errata-axum's. Its derive names the crate absolutely, so point it here:
/// `#[derive(errata_axum::validator::Validate)]` with
/// `#[validate(crate = "errata_axum::validator")]` on the struct.
#[cfg(feature = "validator")]
pub use validator;

/// The `utoipa` crate whose OpenAPI types the [`openapi`] module takes and returns,
/// re-exported so that its version always matches errata-axum's.
#[cfg(feature = "openapi")]
pub use utoipa;

pub use body::{BoxError, ErrataBody};
pub use context::{negotiate_envelope, RequestContext};
pub use ext::ServiceBuilderExt;
pub use extract::{body_error, parse_json, parse_urlencoded, Form, Json, Path, Query};
pub use fallback::fallback;
pub use layer::{
    Errata, ErrataLayer, ErrataLayerBuilder, ErrataService, PanicToError, ResponseFuture, Rewrap,
    X_REQUEST_ID,
};
pub use limits::RequestLimitsLayer;
pub use request_id::RandomRequestId;
#[cfg(feature = "server")]
pub use serve::{serve, Limits, Serve};
pub use timeout::{HandlerTimeout, HandlerTimeoutFuture, HandlerTimeoutLayer};
#[cfg(feature = "validator")]
pub use validation::{field_error as validator_field_error, validation_error, Valid, Validatable};
