//! [`HandlerTimeoutLayer`]: a deadline for handling a request, answered as `HANDLER_TIMEOUT`.
//!
//! tower-http's `TimeoutLayer` answers 408 (`REQUEST_TIMEOUT`: the client was too slow, never
//! alerted) or, re-wrapped, 504 (`UPSTREAM_TIMEOUT`, even when no upstream is involved). A
//! handler that hangs on a dependency is the server's own failure: this layer answers
//! `HANDLER_TIMEOUT` (503, retryable, alerted by default) and drops the handler's future.
//! Put it inside the edge layer, which renders the error:
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use axum::{routing::get, Router};
//! use errata_axum::{ErrataLayer, HandlerTimeoutLayer};
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let app: Router = Router::new()
//!     .route("/report", get(|| async { "done" }))
//!     .layer(HandlerTimeoutLayer::new(Duration::from_secs(10)))
//!     .layer(ErrataLayer::new(renderer));
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{Request, Response, StatusCode};
use errata::PendingError;
use tower::{Layer, Service};

/// Applies [`HandlerTimeout`]: requests not answered within the duration get
/// `HANDLER_TIMEOUT`.
#[derive(Debug, Clone, Copy)]
pub struct HandlerTimeoutLayer {
    timeout: Duration,
}

impl HandlerTimeoutLayer {
    /// A deadline of `timeout` for each request, from the moment it reaches the layer.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for HandlerTimeoutLayer {
    type Service = HandlerTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HandlerTimeout {
            inner,
            timeout: self.timeout,
        }
    }
}

/// The service of [`HandlerTimeoutLayer`].
#[derive(Debug, Clone)]
pub struct HandlerTimeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for HandlerTimeout<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = HandlerTimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        HandlerTimeoutFuture {
            inner: self.inner.call(req),
            sleep: tokio::time::sleep(self.timeout),
            timeout: self.timeout,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`HandlerTimeout`].
    pub struct HandlerTimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: tokio::time::Sleep,
        timeout: Duration,
    }
}

impl<F, ResB, E> Future for HandlerTimeoutFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    ResB: Default,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(result);
        }
        std::task::ready!(this.sleep.poll(cx));
        let error = errata::builtin::handler_timeout().with_cause(TimedOut(*this.timeout));
        let mut response = Response::new(ResB::default());
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(error)));
        Poll::Ready(Ok(response))
    }
}

/// The handler did not answer within its deadline.
#[derive(Debug)]
struct TimedOut(Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the handler did not answer within {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for TimedOut {}
