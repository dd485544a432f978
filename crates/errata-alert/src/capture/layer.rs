//! The tower layer: every error response, and every panic, becomes an event.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use http::{Request, Response};
use tower::{Layer, Service};

use super::captured::{Captured, KeptHeaders, ResponseCapture, X_REQUEST_ID};
use super::{Capturer, UserId};
use crate::event::{ErrorReport, Event};

/// Captures error responses and panics of the services it wraps.
///
/// Put it outside the layer that renders error responses, so it sees the [`ErrorReport`] in
/// their extensions. Wrapping the whole router costs least per request (`Router::layer` wraps
/// every route on its own); errata's edge layer then passes the matched route template on with
/// the report:
///
/// ```no_run
/// # async fn run(layer: errata_alert::AlertLayer, listener: tokio::net::TcpListener) {
/// use axum::{body::Body, http::Request, routing::get, Router, ServiceExt};
/// use tower::Layer;
///
/// let app: Router = Router::new().route("/users/{id}", get(|| async { "ok" }));
/// let service = layer.layer(app);
/// axum::serve(listener, ServiceExt::<Request<Body>>::into_make_service(service))
///     .await
///     .unwrap();
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AlertLayer {
    capturer: Arc<Capturer>,
}

impl AlertLayer {
    /// A layer capturing into `capturer`.
    pub fn new(capturer: Capturer) -> Self {
        AlertLayer {
            capturer: Arc::new(capturer),
        }
    }
}

impl<S> Layer<S> for AlertLayer {
    type Service = AlertService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AlertService {
            inner,
            capturer: Arc::clone(&self.capturer),
        }
    }
}

/// The service of [`AlertLayer`].
#[derive(Clone, Debug)]
pub struct AlertService<S> {
    inner: S,
    capturer: Arc<Capturer>,
}

/// What the layer keeps of a request until its response: cheap reference-counted clones,
/// turned into text only if the aggregator samples or alerts on the error.
struct RequestInfo {
    method: http::Method,
    uri: http::Uri,
    route: Option<MatchedPath>,
    headers: KeptHeaders,
}

impl RequestInfo {
    /// The capture of an error response to this request.
    fn capture(
        self,
        user: UserId,
        capturer: &Capturer,
        status: u16,
        report: Option<ErrorReport>,
        response_request_id: Option<http::HeaderValue>,
    ) -> ResponseCapture {
        let fallback_code = match report {
            Some(_) => String::new(),
            None => Event::fallback_code(status),
        };
        ResponseCapture {
            status,
            time: capturer.now(),
            method: self.method,
            uri: self.uri,
            route: self.route,
            headers: self.headers,
            user,
            report,
            fallback_code,
            response_request_id,
        }
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for AlertService<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // Reference-counted clones only: a request that succeeds allocates nothing here. The
        // request's part is taken first (the inner service consumes the request), built in its
        // `Option` and its headers picked there, so that fewer copies of its 528 bytes are made
        // on the way into the future.
        //
        // Edge layers inside attach their report only when asked; they are asked through a
        // scope, not a request extension (inserting one allocates). The user slot is current
        // only while the future is polled, where handlers, extractors and async middleware
        // run.
        let mut info = Some(RequestInfo {
            method: req.method().clone(),
            uri: req.uri().clone(),
            route: req.extensions().get::<MatchedPath>().cloned(),
            headers: KeptHeaders::default(),
        });
        if let Some(info) = &mut info {
            info.headers.pick(req.headers());
        }
        ResponseFuture {
            info,
            user: UserId::Unknown,
            capturer: Arc::clone(&self.capturer),
            inner: errata::ReportWanted::scope(|| self.inner.call(req)),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`AlertService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        info: Option<RequestInfo>,
        // Who the request acts for; current on this thread while `inner` is polled.
        user: UserId,
        capturer: Arc<Capturer>,
    }
}

impl<F, ResB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResB>, E>>,
{
    type Output = Result<Response<ResB>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let polled = UserId::scope(this.user, || {
            errata::ReportWanted::scope(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx))))
        });
        let mut user = || std::mem::take(this.user);
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                // A success leaves the request's part where it is, dropped with the future.
                if let Ok(resp) = &result {
                    let status = resp.status().as_u16();
                    if status >= 400 {
                        if let Some(mut info) = this.info.take() {
                            let report = resp.extensions().get::<ErrorReport>().cloned();
                            let request_id = resp.headers().get(&X_REQUEST_ID).cloned();
                            if info.route.is_none() {
                                // Outside the router: the edge layer passes the route on.
                                info.route = resp.extensions().get::<MatchedPath>().cloned();
                            }
                            let capture =
                                info.capture(user(), this.capturer, status, report, request_id);
                            this.capturer.enqueue(Captured::response(capture));
                        }
                    }
                }
                Poll::Ready(result)
            }
            Err(payload) => {
                if let Some(info) = this.info.take() {
                    let msg = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_string());
                    let capture = info.capture(user(), this.capturer, 500, None, None);
                    let mut ev = Captured::response(capture).into_event();
                    ev.code = "PANIC".to_string();
                    ev.panic = true;
                    ev.message = "The server panicked while handling the request.".to_string();
                    ev.cause_chain = vec![format!("panic: {msg}")];
                    this.capturer.capture(ev);
                }
                resume_unwind(payload)
            }
        }
    }
}
