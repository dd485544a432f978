//! A request that succeeds, through errata's edge layer over an axum router, with and without
//! the capture layer around it, in the same run. The capture layer's "pays per error": the
//! two should not differ (and `tests/capture_alloc.rs` shows it allocates nothing).
//!
//! `cargo bench -p errata-alert --bench capture_layer`

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use errata_alert::Alerting;
use tower::{Layer, Service};

// URI and header values slices of one shared buffer, as hyper hands them over: the capture
// layer's clones of them count references and copy nothing.
#[path = "../tests/support/hyper_like.rs"]
mod hyper_like;
use hyper_like::hyper_like_request as request;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (layer, _handle) = rt.block_on(Alerting::new().store_memory().start()).unwrap();
    let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
    let app = || {
        Router::new()
            .route("/users/{id}", get(|| async { "ok" }))
            .layer(errata_axum::ErrataLayer::new(Arc::clone(&renderer)))
    };
    let mut group = c.benchmark_group("successful request");
    let mut without = app();
    group.bench_function("edge layer only", |b| {
        b.iter_batched(
            request,
            |req| rt.block_on(without.call(req)).unwrap(),
            BatchSize::SmallInput,
        );
    });
    let mut with = layer.layer(app());
    group.bench_function("edge layer + capture layer", |b| {
        b.iter_batched(
            request,
            |req| rt.block_on(with.call(req)).unwrap(),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
