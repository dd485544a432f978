//! Checking and documenting a catalog of 10,000 entries.
//!
//! The catalog has two locales, a `status-seq` numbering scheme, parameters on every third
//! entry, descriptions, aliases and field codes. It is also written to
//! `$CARGO_TARGET_TMPDIR/catalog_10k.toml` so that the whole command can be timed:
//!
//! ```text
//! cargo bench -p errata-cli --bench catalog_10k
//! hyperfine 'target/release/errata check target/tmp/catalog_10k.toml'
//! ```

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::Criterion;
use errata_catalog::Catalog;

const ENTRIES: usize = 10_000;
const STATUSES: &[u16] = &[
    400, 401, 403, 404, 405, 409, 410, 412, 415, 422, 423, 429, 500, 502, 503, 504,
];

/// The text of a catalog with `entries` entries.
fn catalog_text(entries: usize) -> String {
    let mut out = String::with_capacity(entries * 400);
    out.push_str(
        "[catalog]\nname = \"bench\"\nversion = \"1.0.0\"\ndefault_locale = \"ko\"\nlocales = [\"ko\", \"en\"]\ndocs_url = \"https://errors.example.com/{code}\"\n\n[scheme]\nkind = \"status-seq\"\nprefix = \"E\"\n\n",
    );
    let mut sequence = vec![0u32; STATUSES.len()];
    for i in 0..entries {
        let slot = i % STATUSES.len();
        let status = STATUSES[slot];
        sequence[slot] += 1;
        let _ = writeln!(
            out,
            "[errors.BENCH_ERROR_{i:05}]\nstatus = {status}\nnumber = \"E{status}{:03}\"",
            sequence[slot]
        );
        if i % 3 == 0 {
            let _ = writeln!(
                out,
                "message.ko = \"{i}번 오류입니다. {{count}}회 뒤에 다시 시도해주세요.\"\nmessage.en = \"Error number {i}. Try again after {{count}} attempts.\"\nparams = {{ count = \"integer\" }}"
            );
        } else {
            let _ = writeln!(
                out,
                "message.ko = \"{i}번 오류입니다.\"\nmessage.en = \"Error number {i}.\""
            );
        }
        if i % 2 == 0 {
            let _ = writeln!(
                out,
                "description = \"\"\"\nWhat went wrong with request kind {i}. Send `X-Request-Kind: {i}` and **retry**.\n\nSee [the guide](https://example.com/guide/{i}).\"\"\""
            );
        }
        if i % 5 == 0 {
            out.push_str("retryable = true\n");
        }
        if i % 50 == 0 {
            let _ = writeln!(out, "aliases = [\"OLD_BENCH_ERROR_{i:05}\"]");
        }
        out.push('\n');
    }
    for f in 0..20 {
        let _ = writeln!(
            out,
            "[fields.bench_field_{f}]\nmessage.ko = \"{f}번 항목 오류\"\nmessage.en = \"Field problem {f}\"\n"
        );
    }
    out
}

fn load(text: &str) -> Catalog {
    match Catalog::from_toml(text) {
        Ok(catalog) => catalog,
        Err(e) => panic!("the generated catalog must be valid: {e}"),
    }
}

fn benches(c: &mut Criterion) {
    let text = catalog_text(ENTRIES);
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("catalog_10k.toml");
    if let Err(e) = std::fs::write(&path, &text) {
        eprintln!("could not write {}: {e}", path.display());
    }
    let catalog = load(&text);
    assert_eq!(
        catalog.entries.len(),
        ENTRIES + errata_catalog::builtin_codes().count()
    );

    let mut group = c.benchmark_group("catalog_10k");
    group.sample_size(10);
    group.bench_function("check", |b| {
        b.iter(|| errata_catalog::check(black_box(&text)));
    });
    group.bench_function("docs_html", |b| {
        b.iter(|| errata_cli::docs::html::render(black_box(&catalog)));
    });
    group.bench_function("docs_md", |b| {
        b.iter(|| errata_cli::docs::markdown::render(black_box(&catalog)));
    });
    group.bench_function("docs_json", |b| {
        b.iter(|| errata_cli::docs::json::render(black_box(&catalog)));
    });
    group.bench_function("openapi", |b| {
        b.iter(|| {
            errata_cli::openapi::document(
                black_box(&catalog),
                errata_cli::envelope::Envelope::Nested,
            )
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
