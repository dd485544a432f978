//! A successful request through errata's edge layer over an axum router, with and without the
//! capture layer around it, for an instruction counter and for a load generator
//! (`scripts/bench-capture.sh` runs both):
//!
//! - `capture_layer_stack with|without N` sends N requests (as hyper hands them over) through
//!   the stack on one current-thread runtime, in process: run under callgrind, the difference
//!   is what the capture layer costs a request that succeeds, with nothing else around it;
//! - `capture_layer_stack serve ADDR_WITH ADDR_WITHOUT ADDR_PADDED` serves the stacks on
//!   loopback listeners of one process (a tokio worker per core, or `TOKIO_WORKER_THREADS`),
//!   for wrk to alternate between: the same comparison with hyper, the sockets and
//!   the runtime around it, as a service runs it. The third listener is a control: a
//!   pass-through layer whose response future is as large as the capture layer's, which shows
//!   what the size alone costs;
//! - `capture_layer_stack serve-one with|without ADDR` serves one stack, for two processes on
//!   one core to be loaded at the same time: both then run at the host's speed of that moment.
//!
//! Run by `cargo bench` without arguments, it sends a few requests through each stack and prints
//! the size of each stack's response future.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::routing::get;
use axum::{Router, ServiceExt};
use errata_alert::Alerting;
use tower::{Layer, Service};

#[path = "../tests/support/hyper_like.rs"]
mod hyper_like;
use hyper_like::hyper_like_request;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

/// Sends `n` requests through `service`, checking each succeeds.
fn send<S>(rt: &tokio::runtime::Runtime, service: &mut S, n: u64)
where
    S: Service<axum::http::Request<axum::body::Body>, Response = axum::response::Response>,
    S::Error: std::fmt::Debug,
{
    for _ in 0..n {
        let response = rt.block_on(service.call(hyper_like_request())).unwrap();
        assert!(response.status().is_success());
    }
}

/// Bytes the capture layer's response future adds to the edge layer's (336 against 320; it
/// was 600 before its state moved into a recycled box).
const CAPTURE_STATE: usize = 16;

/// The control layer: passes requests through, its response future carrying
/// [`CAPTURE_STATE`] bytes that it reads on each poll.
#[derive(Clone)]
struct Padded<S>(S);

pin_project_lite::pin_project! {
    /// The response future of [`Padded`].
    struct PaddedFuture<F> {
        #[pin]
        inner: F,
        state: [u8; CAPTURE_STATE],
    }
}

impl<F: Future> Future for PaddedFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        std::hint::black_box(&this.state);
        this.inner.poll(cx)
    }
}

impl<S: Service<R>, R> Service<R> for Padded<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = PaddedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        PaddedFuture {
            inner: self.0.call(req),
            state: std::hint::black_box([7; CAPTURE_STATE]),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    let rt = match arg(0) {
        // A worker per core, or `TOKIO_WORKER_THREADS`.
        Some("serve" | "serve-one") => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    }
    .unwrap();
    let (layer, _handle) = rt
        .block_on(Alerting::new().store_memory().console(false).start())
        .unwrap();
    let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
    // `with_state` turns the routes into services once, as `Router::into_make_service` does
    // (the stack without the layer is served that way); a router wrapped without it builds its
    // route again on every request.
    let app = || {
        Router::new()
            .route("/users/{id}", get(|| async { "ok" }))
            .layer(errata_axum::ErrataLayer::new(Arc::clone(&renderer)))
            .with_state::<()>(())
    };
    let n: u64 = arg(1).and_then(|n| n.parse().ok()).unwrap_or(100);
    match arg(0) {
        Some("with") => send(&rt, &mut layer.layer(app()), n),
        Some("without") => send(&rt, &mut app(), n),
        Some("serve-one") => {
            let addr = arg(2).expect("usage: capture_layer_stack serve-one with|without ADDR");
            let with_capture = layer.layer(app());
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                match arg(1) {
                    Some("with") => axum::serve(
                        listener,
                        ServiceExt::<axum::http::Request<axum::body::Body>>::into_make_service(
                            with_capture,
                        ),
                    )
                    .await
                    .unwrap(),
                    Some("without") => axum::serve(listener, app().into_make_service())
                        .await
                        .unwrap(),
                    _ => panic!("usage: capture_layer_stack serve-one with|without ADDR"),
                }
            });
        }
        Some("serve") => {
            let (with, without, padded) = match (arg(1), arg(2), arg(3)) {
                (Some(a), Some(b), Some(c)) => (a.to_owned(), b.to_owned(), c.to_owned()),
                _ => panic!("usage: capture_layer_stack serve ADDR_WITH ADDR_WITHOUT ADDR_PADDED"),
            };
            let with_capture = layer.layer(app());
            let without_capture = app();
            let padded_app = Padded(app());
            rt.block_on(async move {
                let bind = |addr: String| async move {
                    tokio::net::TcpListener::bind(addr).await.unwrap()
                };
                let (with, without, padded) =
                    (bind(with).await, bind(without).await, bind(padded).await);
                let with = axum::serve(
                    with,
                    ServiceExt::<axum::http::Request<axum::body::Body>>::into_make_service(
                        with_capture,
                    ),
                );
                let without = axum::serve(without, without_capture.into_make_service());
                let padded = axum::serve(padded, tower::make::Shared::new(padded_app));
                let (a, b, c) = tokio::join!(
                    with.into_future(),
                    without.into_future(),
                    padded.into_future()
                );
                a.unwrap();
                b.unwrap();
                c.unwrap();
            });
        }
        _ => {
            send(&rt, &mut layer.layer(app()), n);
            send(&rt, &mut app(), n);
            let size = |future: &dyn std::any::Any| std::mem::size_of_val(future);
            let without = size(&app().call(hyper_like_request()));
            let with = size(&layer.layer(app()).call(hyper_like_request()));
            let control = size(&Padded(app()).call(hyper_like_request()));
            println!(
                "sent {n} requests with and without the capture layer; response futures: \
                 {without} bytes edge layer only, {with} with the capture layer, {control} \
                 the control (scripts/bench-capture.sh measures them)"
            );
        }
    }
}
