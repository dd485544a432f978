//! The cost of a request id, side by side: the random ids of `RandomRequestId` against the
//! former scheme (a per-process prefix and a visible counter, which told anyone the request
//! volume), both written into a shared per-thread block the same way.
//!
//! `cargo bench -p errata-axum --bench request_id`

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderValue, Request};
use tower_http::request_id::MakeRequestId;

/// The former generator: 16 random hex digits drawn once, then a counter.
fn counter_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const LEN: usize = 32;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static IDS: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    let prefix = b"5f3c9a0e7b21d4c8";
    let mut n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; LEN];
    buf[..16].copy_from_slice(prefix);
    for digit in buf[16..].iter_mut().rev() {
        *digit = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    let id = IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.capacity() < LEN {
            *ids = BytesMut::with_capacity(64 * LEN);
        }
        ids.extend_from_slice(&buf);
        ids.split().freeze()
    });
    HeaderValue::from_maybe_shared(id).unwrap()
}

fn bench(c: &mut Criterion) {
    let req = Request::new(());
    let mut group = c.benchmark_group("request id");
    group.bench_function("random (RandomRequestId)", |b| {
        let mut make = errata_axum::RandomRequestId;
        b.iter(|| make.make_request_id(&req));
    });
    group.bench_function("prefix and counter (former)", |b| b.iter(counter_id));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
