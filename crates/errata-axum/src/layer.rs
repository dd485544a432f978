//! The edge layer: every error that leaves the service is rendered here, with the request's
//! context, in the catalog's envelope.
//!
//! It is built on tower-http's parts: a [`MakeRequestId`] ([`RandomRequestId`]) and
//! [`RequestId`] for request ids, [`CatchPanic`] with [`PanicToError`] for panics, and
//! [`ErrataService`] around them, which renders and echoes the request id on every response
//! itself (what tower-http's `PropagateRequestId` would do, without its two more lookups of the
//! header per request). Like tower-http's layers it is generic over request and response
//! bodies.
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use errata_axum::{ErrataLayer, Rewrap};
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
//!     .layer(
//!         ErrataLayer::builder(renderer)
//!             .request_id_header(http::HeaderName::from_static("x-correlation-id"))
//!             .rewrap(Rewrap::Always)
//!             .log_levels(tracing::Level::ERROR, tracing::Level::INFO)
//!             .build(),
//!     );
//! ```

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use axum::http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use bytes::Bytes;
use errata::scrub::Scrubber;
use errata::{builtin, ApiError, PendingError, RenderContext, Renderer, ReportWanted};
use tower::{Layer, Service};
use tower_http::catch_panic::{CatchPanic, CatchPanicLayer, ResponseForPanic};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Level;

use crate::body::{BoxError, ErrataBody};
use crate::context::RequestContext;
use crate::request_id::{valid_request_id, RandomRequestId};

/// The default request id header, read from the request and echoed on every response.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Which responses that did not come from an [`ApiError`] the edge layer re-wraps. A
/// re-wrapped response always keeps its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Rewrap {
    /// Every 4xx and 5xx response (the default): the router's 405, tower-http's 401, 408 and
    /// 413, a CORS 403, a handler's `(StatusCode::CONFLICT, Json(..))`, ...
    #[default]
    Always,
    /// Only 5xx responses; foreign 4xx responses pass through as they are.
    ServerErrors,
    /// None: foreign responses pass through as they are.
    Never,
}

impl Rewrap {
    fn applies(self, status: StatusCode) -> bool {
        status.as_u16() >= self.lowest_status()
    }

    /// The lowest status re-wrapped (`u16::MAX`: none).
    fn lowest_status(self) -> u16 {
        match self {
            Rewrap::Always => 400,
            Rewrap::ServerErrors => 500,
            Rewrap::Never => u16::MAX,
        }
    }
}

/// What every service of one [`ErrataLayer`] shares.
#[derive(Debug)]
struct Config {
    renderer: Arc<Renderer>,
    id_header: HeaderName,
    rewrap: Rewrap,
    server_level: Level,
    client_level: Level,
    scrubber: Arc<Scrubber>,
}

/// The default scrubber, compiled once per process.
fn default_scrubber() -> Arc<Scrubber> {
    static DEFAULT: OnceLock<Arc<Scrubber>> = OnceLock::new();
    Arc::clone(DEFAULT.get_or_init(|| Arc::new(Scrubber::default())))
}

/// Renders every error response of the wrapped service in the catalog's envelope.
///
/// For each request it takes the request id from `x-request-id` (a client's id is kept when
/// it is at most 128 visible ASCII characters) or generates an unpredictable one
/// ([`RandomRequestId`]), negotiates the locale (`Accept-Language`) and the envelope
/// (`Accept`, RFC 9110), and stores them in a [`RequestContext`] extension. For each response
/// it:
/// - renders an [`ApiError`] returned by a handler or an extractor;
/// - re-wraps any other 4xx/5xx response (per [`Rewrap`]) as the built-in code of its status,
///   keeping the status, always, and headers such as `Allow`, `Retry-After` and
///   `WWW-Authenticate`; a status without a built-in of its own gets `CLIENT_ERROR` or
///   `SERVER_ERROR` with that status;
/// - turns a panic (through tower-http's [`CatchPanic`]) into `SERVER_ERROR` with nothing of
///   the panic in the body;
/// - echoes the request id (header and [`RequestId`] extension; a successful response's own
///   header is kept), attaches an [`errata::ErrorReport`] (and the route's
///   [`MatchedPath`]) when a monitoring layer asks for one ([`ReportWanted`]), and logs the
///   internal cause once, scrubbed of secrets and with control characters escaped (5xx at
///   error level, 4xx at debug, by default).
///
/// Building one also makes its renderer the [default](errata::set_default_renderer) for
/// errors answered outside any edge layer.
#[derive(Clone, Debug)]
pub struct ErrataLayer {
    config: Arc<Config>,
}

impl ErrataLayer {
    /// An edge layer rendering with `renderer`, with the defaults of [`ErrataLayerBuilder`].
    pub fn new(renderer: Arc<Renderer>) -> Self {
        Self::builder(renderer).build()
    }

    /// A builder for an edge layer rendering with `renderer`.
    pub fn builder(renderer: Arc<Renderer>) -> ErrataLayerBuilder {
        ErrataLayerBuilder {
            renderer,
            id_header: X_REQUEST_ID.clone(),
            rewrap: Rewrap::default(),
            server_level: Level::ERROR,
            client_level: Level::DEBUG,
            scrubber: None,
        }
    }

    /// The request id header.
    pub fn request_id_header(&self) -> &HeaderName {
        &self.config.id_header
    }
}

/// Configures an [`ErrataLayer`].
#[derive(Debug)]
#[must_use]
pub struct ErrataLayerBuilder {
    renderer: Arc<Renderer>,
    id_header: HeaderName,
    rewrap: Rewrap,
    server_level: Level,
    client_level: Level,
    scrubber: Option<Arc<Scrubber>>,
}

impl ErrataLayerBuilder {
    /// The header carrying the request id (default `x-request-id`).
    pub fn request_id_header(mut self, name: HeaderName) -> Self {
        self.id_header = name;
        self
    }

    /// Which foreign responses are re-wrapped (default [`Rewrap::Always`]).
    pub fn rewrap(mut self, rewrap: Rewrap) -> Self {
        self.rewrap = rewrap;
        self
    }

    /// The levels the cause of a 5xx and of a 4xx response are logged at (default `ERROR`
    /// and `DEBUG`).
    pub fn log_levels(mut self, server_errors: Level, client_errors: Level) -> Self {
        self.server_level = server_errors;
        self.client_level = client_errors;
        self
    }

    /// The scrubber logged text goes through (default [`Scrubber::default`]); give it the
    /// names the alert pipeline also scrubs.
    pub fn scrubber(mut self, scrubber: Scrubber) -> Self {
        self.scrubber = Some(Arc::new(scrubber));
        self
    }

    /// The layer.
    pub fn build(self) -> ErrataLayer {
        errata::set_default_renderer(Arc::clone(&self.renderer));
        ErrataLayer {
            config: Arc::new(Config {
                renderer: self.renderer,
                id_header: self.id_header,
                rewrap: self.rewrap,
                server_level: self.server_level,
                client_level: self.client_level,
                scrubber: self.scrubber.unwrap_or_else(default_scrubber),
            }),
        }
    }
}

/// The service stack an [`ErrataLayer`] wraps `S` in: errata's renderer (which sets and echoes
/// the request id, made by [`RandomRequestId`]) around tower-http's catch-panic middleware.
pub type Errata<S> = ErrataService<CatchPanic<S, PanicToError>>;

impl<S> Layer<S> for ErrataLayer {
    type Service = Errata<S>;

    fn layer(&self, inner: S) -> Self::Service {
        let inner = CatchPanicLayer::custom(PanicToError).layer(inner);
        ErrataService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// A [`ResponseForPanic`] that turns a panic into a pending `SERVER_ERROR` for the edge layer
/// to render: the panic message is its internal cause (logged, scrubbed), never in the body.
#[derive(Clone, Copy, Debug, Default)]
pub struct PanicToError;

impl ResponseForPanic for PanicToError {
    type ResponseBody = http_body_util::Empty<Bytes>;

    fn response_for_panic(
        &mut self,
        err: Box<dyn Any + Send + 'static>,
    ) -> Response<Self::ResponseBody> {
        let error = builtin::server_error().with_cause(Panicked(panic_message(&*err)));
        let mut response = Response::new(http_body_util::Empty::new());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(error)));
        response
    }
}

/// The renderer of the edge layer (the middle of [`Errata`]).
#[derive(Clone, Debug)]
pub struct ErrataService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for ErrataService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ResB: http_body::Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<ErrataBody<ResB>>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // An inner service that cannot become ready is reported per request, in `call`.
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, mut req: Request<ReqB>) -> Self::Future {
        let cfg = &self.config;
        // The client's id when it is short visible ASCII, else a fresh one, set on the request
        // (as tower-http's `SetRequestId` does) for inner layers that read the header.
        let client_id = req
            .headers()
            .get(&cfg.id_header)
            .filter(|id| valid_request_id(id))
            .cloned();
        // Handlers read it from the `RequestContext` extension.
        let request_id = match client_id {
            Some(id) => id,
            None => {
                let id = RandomRequestId
                    .make_request_id(&req)
                    .map(|id| id.header_value().clone())
                    .unwrap_or_else(|| HeaderValue::from_static("-"));
                req.headers_mut().insert(cfg.id_header.clone(), id.clone());
                id
            }
        };
        // A report is built when a monitoring layer asks, or when an outer edge layer must
        // learn that this one rendered the response already.
        let want_report = ReportWanted::in_scope()
            || req.extensions().get::<ReportWanted>().is_some()
            || req.extensions().get::<RequestContext>().is_some();
        let ctx = RequestContext::from_request(&cfg.renderer, &req, request_id);
        let route = req.extensions().get::<MatchedPath>().cloned();
        req.extensions_mut().insert(ctx.clone());
        ResponseFuture {
            inner: self.inner.call(req),
            config: Arc::clone(&self.config),
            ctx: Some(ctx),
            want_report,
            route,
        }
    }
}

pin_project_lite::pin_project! {
    /// Response future of [`ErrataService`]: the inner service's response, rendered.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        config: Arc<Config>,
        ctx: Option<RequestContext>,
        want_report: bool,
        route: Option<MatchedPath>,
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
    E: Into<BoxError>,
    ResB: http_body::Body<Data = Bytes>,
    ResB::Error: Into<BoxError>,
{
    type Output = Result<Response<ErrataBody<ResB>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // An `ApiError` answered inside needs no body of its own when this layer renders or
        // re-wraps its status anyway.
        let inner = this.inner;
        let result = std::task::ready!(PendingError::edge_scope(
            this.config.rewrap.lowest_status(),
            || inner.poll(cx)
        ));
        let Some(ctx) = this.ctx.take() else {
            // Polled after completion: answer, never panic.
            return Poll::Ready(Ok(server_error_response()));
        };
        let want_report = *this.want_report || ReportWanted::in_scope();
        let response = match result {
            Ok(response) => response,
            Err(err) => {
                let mut response = Response::new(ErrataBody::rendered(Bytes::new()));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                let error = ApiError::internal(Boxed(err.into()));
                response
                    .extensions_mut()
                    .insert(PendingError(Arc::new(error)));
                return Poll::Ready(Ok(finish(
                    this.config,
                    &ctx,
                    response,
                    want_report.then(|| this.route.take()),
                )));
            }
        };
        Poll::Ready(Ok(finish(
            this.config,
            &ctx,
            response.map(ErrataBody::inner),
            want_report.then(|| this.route.take()),
        )))
    }
}

fn server_error_response<B>() -> Response<ErrataBody<B>> {
    let mut response = Response::new(ErrataBody::rendered(errata::FALLBACK_BODY.as_bytes()));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Renders the response's error (pending or re-wrapped), echoes the request id, and attaches
/// the error's report when one is asked for (`report_for`: the route, when known).
fn finish<B>(
    cfg: &Config,
    ctx: &RequestContext,
    mut response: Response<ErrataBody<B>>,
    report_for: Option<Option<MatchedPath>>,
) -> Response<ErrataBody<B>> {
    let err = match response.extensions_mut().remove::<PendingError>() {
        Some(PendingError(err)) => Some(err),
        None if cfg.rewrap.applies(response.status())
            && response.extensions().get::<errata::ErrorReport>().is_none() =>
        {
            Some(Arc::new(rewrap(&response)))
        }
        None => None,
    };
    let Some(err) = err else {
        echo_request_id(cfg, ctx, &mut response);
        return response;
    };
    let request_id = ctx.request_id();
    let render_ctx = RenderContext {
        locale: ctx.locale(),
        request_id: Some(request_id),
        instance: ctx.instance(),
        envelope: ctx.envelope(),
    };
    let (rendered, report) = match report_for {
        Some(route) => {
            let (rendered, report) = cfg
                .renderer
                .render_with_report(Arc::clone(&err), &render_ctx);
            (rendered, Some((report, route)))
        }
        None => (cfg.renderer.render(&err, &render_ctx), None),
    };
    log(cfg, &err, rendered.status, request_id);

    let (mut parts, _old_body) = response.into_parts();
    parts.status =
        StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // The old body's framing does not describe the new one. (A scan of the few headers an
    // error response has costs less than three hashed removals.)
    let framing = [
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONTENT_ENCODING,
    ];
    if parts.headers.keys().any(|name| framing.contains(name)) {
        for name in framing {
            parts.headers.remove(name);
        }
    }
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
    // The header always carries the body's id, also over a header of the handler's own.
    parts
        .headers
        .insert(cfg.id_header.clone(), ctx.request_id_header().clone());
    parts
        .extensions
        .insert(RequestId::new(ctx.request_id_header().clone()));
    if let Some((report, route)) = report {
        parts.extensions.insert(report);
        if let Some(route) = route {
            parts.extensions.insert(route);
        }
    }
    Response::from_parts(parts, ErrataBody::rendered(rendered.body))
}

/// Echoes the request id on a response the layer does not render, as tower-http's
/// `PropagateRequestId` does: a header of the handler's own is kept, and the response's
/// [`RequestId`] extension carries the header's value.
fn echo_request_id<B>(cfg: &Config, ctx: &RequestContext, response: &mut Response<B>) {
    let id = match response.headers_mut().entry(&cfg.id_header) {
        header::Entry::Occupied(own) => own.get().clone(),
        header::Entry::Vacant(slot) => slot.insert(ctx.request_id_header().clone()).clone(),
    };
    if response.extensions().get::<RequestId>().is_none() {
        response.extensions_mut().insert(RequestId::new(id));
    }
}

/// The built-in error for a response that did not come from an [`ApiError`]: its status is
/// kept, always.
fn rewrap<B>(response: &Response<B>) -> ApiError {
    let status = response.status();
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let err = match status.as_u16() {
        400 => builtin::validation_error(),
        401 => builtin::unauthenticated(),
        403 => builtin::forbidden(),
        404 => builtin::route_not_found(),
        405 => match header(header::ALLOW) {
            Some(allow) => builtin::method_not_allowed().with_header("allow", allow),
            None => builtin::method_not_allowed(),
        },
        408 => builtin::request_timeout(),
        409 => builtin::conflict(),
        410 => builtin::gone(),
        413 => builtin::payload_too_large(),
        415 => builtin::unsupported_media_type(),
        422 => builtin::unprocessable(),
        429 => {
            let secs = header(header::RETRY_AFTER)
                .or_else(|| header(HeaderName::from_static("x-ratelimit-after")))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(60);
            builtin::rate_limit_exceeded(secs)
        }
        500 => builtin::server_error(),
        502 => builtin::upstream_error(),
        503 => builtin::service_unavailable(),
        504 => builtin::upstream_timeout(),
        s => builtin::status_error(s),
    };
    debug_assert_eq!(err.status(), status.as_u16(), "a re-wrap keeps the status");
    err.with_cause(Rewrapped(status))
}

fn log(cfg: &Config, err: &ApiError, status: u16, request_id: &str) {
    // Field values are only computed when the level is enabled.
    let code = err.code();
    let cause = SafeCause(&cfg.scrubber, err);
    macro_rules! at {
        ($level:expr) => {
            if status >= 500 {
                tracing::event!(target: "errata", $level, code, status, request_id, cause = %cause, "request failed")
            } else {
                tracing::event!(target: "errata", $level, code, status, request_id, cause = %cause, "request rejected")
            }
        };
    }
    let level = if status >= 500 {
        cfg.server_level
    } else {
        cfg.client_level
    };
    match level {
        Level::ERROR => at!(Level::ERROR),
        Level::WARN => at!(Level::WARN),
        Level::INFO => at!(Level::INFO),
        Level::DEBUG => at!(Level::DEBUG),
        _ => at!(Level::TRACE),
    }
}

/// An error's internal causes joined by `: `, scrubbed of secrets and with control characters
/// escaped, formatted only when logged.
struct SafeCause<'a>(&'a Scrubber, &'a ApiError);

impl std::fmt::Display for SafeCause<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.scrub_for_log(&self.1.cause_chain().join(": ")))
    }
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
struct Boxed(BoxError);

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
