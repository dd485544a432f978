//! Capture cost per event: errata's capture (queued, and folded when the queue is full) against
//! `sentry::Hub::capture_event` with a no-op transport, in the same run.
//!
//! `cargo bench -p errata-alert --bench capture`

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use errata_alert::{
    Alert, AlertPolicy, Alerting, ErrorReport, Event, SendOutcome, Sink, UpstreamDetail,
};
use futures_util::future::BoxFuture;

#[path = "../tests/support/causes.rs"]
mod causes;

struct NoopSink;

impl Sink for NoopSink {
    fn name(&self) -> &str {
        "noop"
    }
    fn send<'a>(&'a self, _alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        Box::pin(async { SendOutcome::delivered() })
    }
}

struct NoopTransport;

impl sentry::Transport for NoopTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        std::hint::black_box(envelope);
    }
}

fn report() -> ErrorReport {
    let error = causes::failing(
        "ORDER_FAILED",
        500,
        vec![
            "placing order 4711".into(),
            "db: connection pool timed out after 30s".into(),
        ],
        Some(UpstreamDetail {
            name: "payments".into(),
            status: Some(503),
            body: r#"{"error":"unavailable"}"#.into(),
            timed_out: false,
        }),
    );
    ErrorReport {
        code: "ORDER_FAILED".into(),
        status: 500,
        message: "The order could not be placed.".into(),
        locale: "en".into(),
        request_id: Some("req-0f3a9c".into()),
        error: Arc::new(error),
        in_catalog: true,
        alert: AlertPolicy::Always,
        spike: None,
        docs_url: Some("https://docs.example/errors/ORDER_FAILED".into()),
    }
}

/// What the capture layer does per error response: an event from the report and the request.
fn event(report: &ErrorReport) -> Event {
    let mut ev = Event::from_report(report);
    ev.method = "POST".into();
    ev.path = "/orders/4711?expand=items".into();
    ev.route = Some("/orders/{id}".into());
    ev.user_id = Some("u-42".into());
    ev.headers = vec![
        ("user-agent".into(), "bench/1.0".into()),
        ("accept".into(), "application/json".into()),
        ("authorization".into(), "[Filtered]".into()),
    ];
    ev
}

fn sentry_event(report: &ErrorReport) -> sentry::protocol::Event<'static> {
    use sentry::protocol::{Event, Exception, Request, User};
    let mut ev = Event {
        message: Some(report.message.to_string()),
        level: sentry::Level::Error,
        transaction: Some("POST /orders/{id}".into()),
        user: Some(User {
            id: Some("u-42".into()),
            ..Default::default()
        }),
        request: Some(Request {
            method: Some("POST".into()),
            query_string: Some("expand=items".into()),
            headers: [
                ("user-agent".to_string(), "bench/1.0".to_string()),
                ("accept".to_string(), "application/json".to_string()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    ev.tags.insert("code".into(), report.code.to_string());
    ev.tags.insert("route".into(), "/orders/{id}".into());
    ev.exception.values = report
        .cause_chain()
        .into_iter()
        .map(|c| Exception {
            ty: report.code.to_string(),
            value: Some(c),
            ..Default::default()
        })
        .collect();
    ev
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let report = report();
    let mut g = c.benchmark_group("capture_per_event");
    g.measurement_time(Duration::from_secs(3)).sample_size(20);

    // Queue path: events built beforehand (as `sentry::capture_event` takes a built event);
    // timed in batches that fit the queue, which the aggregator drains between batches.
    let (_layer, handle) = rt
        .block_on(Alerting::new().sink(NoopSink).store_memory().start())
        .unwrap();
    let cap = handle.capturer();
    g.bench_function("errata_capture", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(4096);
                left -= n;
                let batch: Vec<Event> = (0..n).map(|_| event(&report)).collect();
                let t = Instant::now();
                for ev in batch {
                    cap.capture(ev);
                }
                spent += t.elapsed();
                while cap.queued() > 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            spent
        });
    });
    // The capture layer's whole cost per error response: build the event, then capture it.
    g.bench_function("errata_build_and_capture", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(4096);
                left -= n;
                let t = Instant::now();
                for _ in 0..n {
                    cap.capture(event(&report));
                }
                spent += t.elapsed();
                while cap.queued() > 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            spent
        });
    });
    rt.block_on(handle.shutdown());

    g.bench_function("errata_build_only", |b| b.iter(|| event(&report)));
    g.bench_function("sentry_build_only", |b| b.iter(|| sentry_event(&report)));

    // Overload: the queue is full, every event is folded into a counter.
    let (_layer, handle) = rt
        .block_on(
            Alerting::new()
                .sink(NoopSink)
                .store_memory()
                .queue_capacity(1)
                .start(),
        )
        .unwrap();
    let cap = handle.capturer();
    g.bench_function("errata_capture_folded", |b| {
        b.iter_batched(
            || event(&report),
            |ev| cap.capture(ev),
            BatchSize::SmallInput,
        );
    });
    rt.block_on(handle.shutdown());

    // Sentry with a transport that drops every envelope.
    let client = sentry::Client::from(sentry::ClientOptions {
        dsn: Some("https://public@sentry.invalid/1".parse().unwrap()),
        transport: Some(Arc::new(|_: &sentry::ClientOptions| {
            Arc::new(NoopTransport) as Arc<dyn sentry::Transport>
        })),
        ..Default::default()
    });
    let hub = sentry::Hub::new(Some(Arc::new(client)), Arc::new(Default::default()));
    g.bench_function("sentry_capture_event_noop_transport", |b| {
        b.iter_batched(
            || sentry_event(&report),
            |ev| hub.capture_event(ev),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("sentry_build_and_capture_event_noop_transport", |b| {
        b.iter(|| hub.capture_event(sentry_event(&report)));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
