//! Rendering an error response with errata vs building the same JSON by hand with serde_json.
//!
//! Both sides produce the same bytes (checked before measuring) for the nested envelope of
//! `ALREADY_ENROLLED` and for `RATE_LIMIT_EXCEEDED` with a parameter, in Korean.

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use errata::{RenderContext, Renderer};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn hand_built_plain() -> Vec<u8> {
    let body = serde_json::json!({
        "error": { "code": "ALREADY_ENROLLED", "message": "이미 수강 중인 강의입니다." },
        "status": 409,
    });
    serde_json::to_vec(&body).unwrap()
}

fn hand_built_param(retry_after: i64) -> Vec<u8> {
    let body = serde_json::json!({
        "error": {
            "code": "RATE_LIMIT_EXCEEDED",
            "message": format!("요청 한도를 초과했습니다. {retry_after}초 후에 다시 시도해주세요."),
        },
        "status": 429,
    });
    serde_json::to_vec(&body).unwrap()
}

fn bench(c: &mut Criterion) {
    let renderer = Renderer::new(errors::catalog().clone());
    let ctx = RenderContext {
        locale: renderer.negotiate(Some("ko-KR,ko;q=0.9")),
        ..Default::default()
    };

    let ours = renderer.render(&errors::already_enrolled(), &ctx).body;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&ours).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&hand_built_plain()).unwrap()
    );
    let ours = renderer.render(&errors::rate_limit_exceeded(30), &ctx).body;
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&ours).unwrap(),
        serde_json::from_slice::<serde_json::Value>(&hand_built_param(30)).unwrap()
    );

    let mut group = c.benchmark_group("render_plain");
    group.bench_function("errata", |b| {
        b.iter(|| {
            renderer
                .render(black_box(&errors::already_enrolled()), black_box(&ctx))
                .body
        });
    });
    group.bench_function("hand_built_serde_json", |b| {
        b.iter(|| black_box(hand_built_plain()));
    });
    group.finish();

    let mut group = c.benchmark_group("render_param");
    group.bench_function("errata", |b| {
        b.iter(|| {
            renderer
                .render(
                    black_box(&errors::rate_limit_exceeded(black_box(30))),
                    black_box(&ctx),
                )
                .body
        });
    });
    group.bench_function("hand_built_serde_json", |b| {
        b.iter(|| black_box(hand_built_param(black_box(30))));
    });
    group.finish();

    let mut group = c.benchmark_group("negotiate_and_render");
    group.bench_function("errata", |b| {
        b.iter(|| {
            let ctx = RenderContext {
                locale: renderer.negotiate(black_box(Some("en-US,en;q=0.9,ko;q=0.8"))),
                ..Default::default()
            };
            renderer
                .render(black_box(&errors::already_enrolled()), &ctx)
                .body
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
