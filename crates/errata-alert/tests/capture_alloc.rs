//! "Pays per error": a request that succeeds allocates nothing in the capture layer. Counted
//! with a counting global allocator (allocation-counter), the same requests through the same
//! stack (errata's edge layer over an axum router) with and without the capture layer.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use errata_alert::{Alerting, CaptureContext};

#[path = "support/hyper_like.rs"]
mod hyper_like;
use hyper_like::hyper_like_request;
use tower::{Layer, Service};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

/// Polls a future that needs no runtime to completion.
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Allocations of `n` successful requests through `svc` (after a warm-up).
fn allocations<S>(svc: &mut S, n: usize) -> u64
where
    S: Service<Request<Body>, Response = axum::response::Response>,
    S::Error: std::fmt::Debug,
{
    let mut count = |n: usize| {
        let requests: Vec<_> = (0..n).map(|_| hyper_like_request()).collect();
        let mut total = 0;
        for req in requests {
            let info = allocation_counter::measure(|| {
                let res = run(svc.call(req)).unwrap();
                assert_eq!(res.status(), 200);
                drop(res);
            });
            total += info.count_total;
        }
        total
    };
    count(20);
    count(n)
}

async fn user(ctx: CaptureContext) -> &'static str {
    // What an auth extractor does on every request: record the user (kept inline, no
    // allocation, when a capture layer is polling; nothing otherwise).
    ctx.set_user("u-42");
    "ok"
}

#[test]
fn a_request_that_succeeds_allocates_nothing_in_the_capture_layer() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (layer, _handle) = rt.block_on(Alerting::new().store_memory().start()).unwrap();
    let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
    let app = || {
        Router::new()
            .route("/users/{id}", get(user))
            .layer(errata_axum::ErrataLayer::new(Arc::clone(&renderer)))
    };
    // The capture layer wraps the whole router, as its docs recommend; the handler runs
    // inside its scope and records the user. The baseline has a pass-through layer there.
    let noop = tower::util::MapRequestLayer::new(|req: Request<Body>| req);
    let mut without = noop.layer(app());
    let mut with = layer.layer(app());
    let n = 200;
    let base = allocations(&mut without, n);
    let captured = allocations(&mut with, n);
    let per_request = |total: u64| total as f64 / n as f64;
    eprintln!(
        "allocations per successful request: {:.2} without the capture layer, {:.2} with it",
        per_request(base),
        per_request(captured)
    );
    assert_eq!(
        captured,
        base,
        "the capture layer allocated {} times in {n} successful requests",
        captured as i64 - base as i64
    );
}
