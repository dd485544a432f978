//! Upstream rule matching: 1,000 rules on a 4 KB body, compiled (Aho-Corasick, one JSON parse)
//! vs the naive loop a hand-written handler does (`body.contains(..)` per rule, JSON parsed per
//! JSON rule).

// criterion_group! and criterion_main! generate undocumented public items.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use errata::{Catalog, UpstreamMapper};

const RULES: usize = 1000;

fn catalog_text() -> String {
    let mut s = String::from(
        "[catalog]\nname = \"bench\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n\n\
         [errors.ACCOUNT_STATE]\nstatus = 400\nmessage.en = \"Account state.\"\n\n[upstreams.kakao]\n",
    );
    for i in 0..RULES {
        if i % 2 == 0 {
            s.push_str(&format!("[[upstreams.kakao.rules]]\nmessage_contains = [\"upstream failure phrase number {i}\"]\nraise = \"ACCOUNT_STATE\"\n"));
        } else {
            s.push_str(&format!(
                "[[upstreams.kakao.rules]]\njson = {{ code = [{}] }}\nraise = \"ACCOUNT_STATE\"\n",
                -100_000 - i as i64
            ));
        }
    }
    s
}

/// A 4 KB JSON body that matches the last rule only (the worst case for the naive loop).
fn body() -> Vec<u8> {
    let filler = "x".repeat(4000);
    format!(
        r#"{{"msg":"{filler}","code":{}}}"#,
        -100_000 - (RULES as i64 - 1)
    )
    .into_bytes()
}

/// What a handler without errata does: try each rule in turn.
fn naive(catalog: &Catalog, body: &[u8]) -> &'static str {
    let text = String::from_utf8_lossy(body);
    for rule in &catalog.upstream("kakao").unwrap().rules {
        if rule
            .message_contains
            .iter()
            .any(|m| text.contains(m.as_str()))
        {
            return "ACCOUNT_STATE";
        }
        if !rule.json.is_empty() {
            let json: serde_json::Value = match serde_json::from_slice(body) {
                Ok(j) => j,
                Err(_) => continue,
            };
            if rule
                .json
                .iter()
                .all(|(field, values)| json.get(field).is_some_and(|v| values.contains(v)))
            {
                return "ACCOUNT_STATE";
            }
        }
    }
    "UPSTREAM_ERROR"
}

fn bench(c: &mut Criterion) {
    let catalog = Catalog::from_toml(&catalog_text()).unwrap();
    let mapper = UpstreamMapper::new(&catalog, "kakao").unwrap();
    let body = body();
    assert!((4000..4100).contains(&body.len()), "a 4 KB body");
    assert_eq!(mapper.classify(400, &body).0, "ACCOUNT_STATE");
    assert_eq!(naive(&catalog, &body), "ACCOUNT_STATE");

    let mut group = c.benchmark_group("upstream_1000_rules_4k_body");
    group.bench_function("errata_compiled", |b| {
        b.iter(|| mapper.classify(black_box(400), black_box(&body)).1);
    });
    group.bench_function("naive_loop", |b| {
        b.iter(|| naive(black_box(&catalog), black_box(&body)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
