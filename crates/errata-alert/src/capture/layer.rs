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
/// the report. Give it the router after `with_state`:
///
/// ```no_run
/// # async fn run(layer: errata_alert::AlertLayer, listener: tokio::net::TcpListener) {
/// use axum::{body::Body, http::Request, routing::get, Router, ServiceExt};
/// use tower::Layer;
///
/// let app: Router = Router::new().route("/users/{id}", get(|| async { "ok" }));
/// // `with_state` turns the routes into services once, as `Router::into_make_service` does;
/// // a router wrapped without it builds the route of every request again.
/// let service = layer.layer(app.with_state(()));
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
#[derive(Default)]
struct RequestInfo {
    method: http::Method,
    path: Option<http::uri::PathAndQuery>,
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
            path: self.path,
            route: self.route,
            headers: self.headers,
            user,
            report,
            fallback_code,
            response_request_id,
        }
    }
}

/// A request's part of the state while it is in flight: its info and the user slot.
#[derive(Default)]
struct InFlight {
    info: RequestInfo,
    // Who the request acts for; current on this thread while the inner future is polled.
    user: UserId,
}

/// Boxes of [`InFlight`] kept for reuse, per thread.
const RECYCLED_PER_THREAD: usize = 512;

thread_local! {
    // Boxes, not values: each is the allocation a response future points to.
    #[allow(clippy::vec_box)]
    static RECYCLED: std::cell::RefCell<Vec<Box<InFlight>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A boxed [`InFlight`], taken from this thread's recycled boxes and given back, emptied, to
/// the thread that is done with it (up to [`RECYCLED_PER_THREAD`] each).
///
/// The response future holds a pointer, not the 600 bytes: every move of the future (the
/// runtime and each layer outside move it) copies 8 bytes, not 600, and once a thread has
/// served as many requests at once as it will, a request allocates nothing. `None` once
/// [`finish`](Self::finish)ed.
struct Recycled(Option<Box<InFlight>>);

impl Recycled {
    /// An empty box of this thread's, or a new one.
    fn empty_box() -> Box<InFlight> {
        RECYCLED
            .try_with(|boxes| boxes.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// The request's part, until finished.
    fn get(&mut self) -> Option<&mut InFlight> {
        self.0.as_deref_mut()
    }

    /// Moves the request's info and user out, and gives the box back.
    fn finish(&mut self) -> Option<(RequestInfo, UserId)> {
        let mut boxed = self.0.take()?;
        let taken = (
            std::mem::take(&mut boxed.info),
            std::mem::take(&mut boxed.user),
        );
        Self::give_back(boxed);
        Some(taken)
    }

    fn give_back(mut boxed: Box<InFlight>) {
        // Emptied here, outside the borrow: what the request held (its header bytes among
        // them) is released now, not when the box is next used.
        let InFlight { info, user } = &mut *boxed;
        info.method = http::Method::GET;
        info.path = None;
        info.route = None;
        info.headers.clear();
        *user = UserId::Unknown;
        let _ = RECYCLED.try_with(|boxes| {
            let mut boxes = boxes.borrow_mut();
            if boxes.len() < RECYCLED_PER_THREAD {
                boxes.push(boxed);
            }
        });
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        if let Some(boxed) = self.0.take() {
            Self::give_back(boxed);
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
        // Reference-counted clones only, written into a recycled box: a request that succeeds
        // allocates nothing here once the thread has boxes to reuse. The request's part is
        // taken first (the inner service consumes the request).
        //
        // Edge layers inside attach their report only when asked; they are asked through a
        // scope, not a request extension (inserting one allocates). The user slot is current
        // only while the future is polled, where handlers, extractors and async middleware
        // run.
        let mut in_flight = Recycled::empty_box();
        let info = &mut in_flight.info;
        info.method.clone_from(req.method());
        info.path = match req.uri().path_and_query() {
            Some(path) => Some(path.clone()),
            // An absolute URI without a path has `/` (as `Uri::path` says).
            None => req
                .uri()
                .scheme()
                .map(|_| http::uri::PathAndQuery::from_static("/")),
        };
        info.route = req.extensions().get::<MatchedPath>().cloned();
        info.headers.pick(req.headers());
        ResponseFuture {
            in_flight: Recycled(Some(in_flight)),
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
        // The request's part; finished when the response is captured.
        in_flight: Recycled,
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
        let mut no_user = UserId::Unknown;
        let user_slot = match this.in_flight.get() {
            Some(in_flight) => &mut in_flight.user,
            None => &mut no_user,
        };
        let polled = UserId::scope(user_slot, || {
            errata::ReportWanted::scope(|| catch_unwind(AssertUnwindSafe(|| inner.poll(cx))))
        });
        let mut take = || this.in_flight.finish();
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => {
                // A success leaves the box where it is, given back with the future.
                if let Ok(resp) = &result {
                    let status = resp.status().as_u16();
                    if status >= 400 {
                        if let Some((mut info, user)) = take() {
                            let report = resp.extensions().get::<ErrorReport>().cloned();
                            let request_id = resp.headers().get(&X_REQUEST_ID).cloned();
                            if info.route.is_none() {
                                // Outside the router: the edge layer passes the route on.
                                info.route = resp.extensions().get::<MatchedPath>().cloned();
                            }
                            let capture =
                                info.capture(user, this.capturer, status, report, request_id);
                            this.capturer.enqueue(Captured::response(capture));
                        }
                    }
                }
                Poll::Ready(result)
            }
            Err(payload) => {
                if let Some((info, user)) = take() {
                    let msg = payload
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| payload.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_string());
                    let capture = info.capture(user, this.capturer, 500, None, None);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A box holding a request's part, as `call` fills it.
    fn filled(headers: &http::HeaderMap) -> Box<InFlight> {
        let mut boxed = Recycled::empty_box();
        boxed.info.method = http::Method::POST;
        boxed.info.path = Some("/users/7?x=1".parse().unwrap());
        boxed.info.headers.pick(headers);
        boxed.user = UserId::new("u-7");
        boxed
    }

    #[test]
    fn a_box_comes_back_empty_and_releases_what_the_request_held() {
        let agent = bytes::Bytes::from(b"curl/8".to_vec());
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::USER_AGENT,
            http::HeaderValue::from_maybe_shared(agent.clone()).unwrap(),
        );
        let boxed = filled(&headers);
        drop(headers);
        let address = &*boxed as *const InFlight;
        assert!(!agent.is_unique(), "the box holds the header's bytes");

        drop(Recycled(Some(boxed)));
        assert!(
            agent.is_unique(),
            "given back, the box no longer holds them"
        );

        let again = Recycled::empty_box();
        assert_eq!(
            &*again as *const InFlight, address,
            "the same box is reused"
        );
        assert_eq!(again.info.method, http::Method::GET);
        assert!(again.info.path.is_none());
        assert_eq!(again.info.headers.iter().count(), 0);
        assert!(matches!(again.user, UserId::Unknown));
    }

    #[test]
    fn finishing_moves_the_request_out_once() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, "shop.example".parse().unwrap());
        let mut in_flight = Recycled(Some(filled(&headers)));
        let (info, user) = in_flight.finish().expect("not finished yet");
        assert_eq!(info.method, http::Method::POST);
        assert_eq!(info.path.unwrap(), "/users/7?x=1");
        assert_eq!(
            info.headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap()))
                .collect::<Vec<_>>(),
            [("host", "shop.example")]
        );
        assert_eq!(user.as_str(), Some("u-7"));
        assert!(in_flight.finish().is_none(), "a response is captured once");
        assert!(in_flight.get().is_none());
    }

    #[test]
    fn a_thread_keeps_at_most_its_share_of_boxes() {
        let boxes: Vec<_> = (0..RECYCLED_PER_THREAD + 10)
            .map(|_| Recycled(Some(Box::default())))
            .collect();
        drop(boxes);
        assert_eq!(
            RECYCLED.with(|kept| kept.borrow().len()),
            RECYCLED_PER_THREAD
        );
    }
}
