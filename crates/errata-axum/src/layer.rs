//! The edge layer: every error that leaves the service is rendered here, with the request's
//! context, in the catalog's envelope.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use errata_axum::ErrataLayer;
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//!
//! async fn lecture() -> Result<String, errata::ApiError> {
//!     Err(errors::lecture_not_found())
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let app: Router = Router::new()
//!     .route("/lectures/{id}", get(lecture))
//!     .fallback(errata_axum::fallback)
//!     .layer(ErrataLayer::new(renderer));
//! ```

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use errata::{builtin, ApiError, Envelope, PendingError, RenderContext, Renderer};
use tower::{Layer, Service};

use crate::context::RequestContext;

/// The request id header, read from the request and echoed on every response.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id accepted from a client; longer or non-visible ones are replaced.
const MAX_REQUEST_ID: usize = 128;

/// Renders every error response of the wrapped service in the catalog's envelope.
///
/// For each request it negotiates the locale (`Accept-Language`), takes the request id from
/// `x-request-id` or generates one, and stores both in a [`RequestContext`] extension. For each
/// response it:
/// - renders an [`ApiError`] returned by a handler or an extractor;
/// - re-wraps any other 4xx/5xx response (the router's 405, tower-http's 413 and 408, a rate
///   limiter's 429, …) as the built-in code of its status, keeping `Allow` and `Retry-After`;
/// - turns a panic into `SERVER_ERROR` with nothing of the panic in the body;
/// - echoes `x-request-id`, attaches an [`errata::ErrorReport`] (and the route's
///   [`MatchedPath`], so a monitoring layer wrapping the whole router learns the route template)
///   to the response extensions when a monitoring layer asked for it with
///   [`errata::ReportWanted`], and logs the internal cause once (5xx at error level, 4xx at
///   debug).
#[derive(Clone, Debug)]
pub struct ErrataLayer {
    renderer: Arc<Renderer>,
}

impl ErrataLayer {
    /// An edge layer rendering with `renderer`.
    pub fn new(renderer: Arc<Renderer>) -> Self {
        Self { renderer }
    }
}

impl<S> Layer<S> for ErrataLayer {
    type Service = Errata<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Errata {
            inner,
            renderer: Arc::clone(&self.renderer),
        }
    }
}

/// The service produced by [`ErrataLayer`].
#[derive(Clone, Debug)]
pub struct Errata<S> {
    inner: S,
    renderer: Arc<Renderer>,
}

impl<S, E> Service<Request<Body>> for Errata<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // An inner service that cannot become ready is reported per request, in `call`.
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        // A report is built when a monitoring layer asks, or when an outer edge layer must
        // learn that this one rendered the response already.
        let want_report = req.extensions().get::<errata::ReportWanted>().is_some()
            || req.extensions().get::<RequestContext>().is_some();
        let ctx = RequestContext::from_request(&self.renderer, &req);
        let report_for = want_report.then(|| ReportFor {
            route: req.extensions().get::<MatchedPath>().cloned(),
        });
        req.extensions_mut().insert(ctx.clone());
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req)));
        let (inner, panic) = match called {
            Ok(fut) => (Some(fut), None),
            Err(panic) => (None, Some(panic)),
        };
        ResponseFuture {
            inner,
            panic,
            renderer: Arc::clone(&self.renderer),
            ctx,
            report_for,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`Errata`]: the inner service's response, rendered.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Option<F>,
        // The inner service panicked in `call`.
        panic: Option<Box<dyn Any + Send>>,
        renderer: Arc<Renderer>,
        ctx: RequestContext,
        report_for: Option<ReportFor>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = match this.inner.as_pin_mut() {
            Some(inner) => match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(result)) => Ok(result),
                Err(panic) => Err(panic),
            },
            None => Err(this
                .panic
                .take()
                .unwrap_or_else(|| Box::new("response future polled after completion"))),
        };
        let response = match outcome {
            Ok(Ok(response)) => response,
            Ok(Err(err)) => pending(ApiError::internal(Boxed(err.into()))),
            Err(panic) => {
                pending(builtin::server_error().with_cause(Panicked(panic_message(&*panic))))
            }
        };
        Poll::Ready(Ok(finish(
            this.renderer,
            this.ctx,
            response,
            this.report_for.take(),
        )))
    }
}

fn pending(err: ApiError) -> Response<Body> {
    axum::response::IntoResponse::into_response(err)
}

/// A report a monitoring layer asked for, and the route it is about.
struct ReportFor {
    route: Option<MatchedPath>,
}

/// Renders the response's error (pending or re-wrapped), echoes the request id, and attaches
/// the error's report when one is asked for.
fn finish(
    renderer: &Renderer,
    ctx: &RequestContext,
    mut response: Response<Body>,
    report_for: Option<ReportFor>,
) -> Response<Body> {
    let request_id = ctx.request_id_header().clone();
    let err = match response.extensions_mut().remove::<PendingError>() {
        Some(PendingError(err)) => Some(err),
        None if response.status().as_u16() >= 400
            && response.extensions().get::<errata::ErrorReport>().is_none() =>
        {
            Some(Arc::new(rewrap(&response)))
        }
        None => None,
    };
    let Some(err) = err else {
        response
            .headers_mut()
            .insert(X_REQUEST_ID.clone(), request_id);
        return response;
    };
    let render_ctx = RenderContext {
        locale: ctx.locale(),
        request_id: Some(ctx.request_id()),
        instance: ctx.instance(),
        envelope: ctx.wants_problem().then_some(Envelope::Problem),
    };
    let (rendered, report) = match report_for {
        Some(ReportFor { route }) => {
            let (rendered, report) = renderer.render_with_report(Arc::clone(&err), &render_ctx);
            (rendered, Some((report, route)))
        }
        None => (renderer.render(&err, &render_ctx), None),
    };
    log(&err, rendered.status, ctx.request_id());

    let (mut parts, _old_body) = response.into_parts();
    parts.status =
        StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::TRANSFER_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(rendered.content_type),
    );
    for (name, value) in &rendered.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_ref()),
            HeaderValue::from_str(value),
        ) {
            parts.headers.insert(name, value);
        }
    }
    parts.headers.insert(X_REQUEST_ID.clone(), request_id);
    if let Some((report, route)) = report {
        parts.extensions.insert(report);
        if let Some(route) = route {
            parts.extensions.insert(route);
        }
    }
    Response::from_parts(parts, Body::from(rendered.body))
}

/// The built-in error for a response that did not come from an [`ApiError`].
fn rewrap(response: &Response<Body>) -> ApiError {
    let status = response.status();
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let err = match status.as_u16() {
        404 => builtin::route_not_found(),
        405 => match header(header::ALLOW) {
            Some(allow) => builtin::method_not_allowed().with_header("allow", allow),
            None => builtin::method_not_allowed(),
        },
        408 => builtin::request_timeout(),
        413 => builtin::payload_too_large(),
        415 => builtin::unsupported_media_type(),
        429 => {
            let secs = header(header::RETRY_AFTER)
                .or_else(|| header(HeaderName::from_static("x-ratelimit-after")))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60);
            builtin::rate_limit_exceeded(secs)
        }
        400 | 422 => builtin::validation_error(),
        502 => builtin::upstream_error(),
        503 => builtin::service_unavailable(),
        504 => builtin::upstream_timeout(),
        s if s >= 500 => builtin::server_error(),
        _ => builtin::validation_error(),
    };
    err.with_cause(Rewrapped(status))
}

fn log(err: &ApiError, status: u16, request_id: &str) {
    // Field values are only computed when the level is enabled.
    let code = err.code();
    if status >= 500 {
        tracing::error!(target: "errata", code, status, request_id, cause = %CauseChain(err), "request failed");
    } else {
        tracing::debug!(target: "errata", code, status, request_id, cause = %CauseChain(err), "request rejected");
    }
}

/// An error's internal causes joined by `: `, formatted only when logged.
struct CauseChain<'a>(&'a ApiError);

impl std::fmt::Display for CauseChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.cause_chain().join(": "))
    }
}

/// Accepts a client request id only when it is short, visible ASCII.
pub(crate) fn valid_request_id(value: &HeaderValue) -> Option<&str> {
    let s = value.to_str().ok()?;
    (!s.is_empty() && s.len() <= MAX_REQUEST_ID && s.bytes().all(|b| b.is_ascii_graphic()))
        .then_some(s)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// A handler panicked; the message goes to logs and alerts only.
#[derive(Debug)]
struct Panicked(String);

impl std::fmt::Display for Panicked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "handler panicked: {}", self.0)
    }
}

impl std::error::Error for Panicked {}

/// A response of this status came from a layer or handler that does not speak the catalog.
#[derive(Debug)]
struct Rewrapped(StatusCode);

impl std::fmt::Display for Rewrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "a {} response outside the catalog was re-wrapped",
            self.0
        )
    }
}

impl std::error::Error for Rewrapped {}

/// A boxed error of the inner service.
#[derive(Debug)]
struct Boxed(Box<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for Boxed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Boxed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
