//! The conformance corpus: built from the catalog model, passed by the Rust renderer, and able
//! to fail; and the Python generator on catalogs whose names clash.

use std::path::PathBuf;

use errata_catalog::{Catalog, Envelope};
use errata_cli::conformance::{build, check_rust};
use serde_json::json;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &str) -> Catalog {
    Catalog::load(root().join(path)).unwrap()
}

const CATALOGS: &[&str] = &[
    "examples/classroom/errors.toml",
    "examples/drf_classroom/tests/seed004.toml",
    "crates/errata-cli/tests/external/tricky.toml",
];

#[test]
fn the_rust_renderer_passes_every_corpus() {
    for path in CATALOGS {
        let catalog = load(path);
        let corpus = build(&catalog);
        let failures = check_rust(&catalog, &corpus);
        assert!(failures.is_empty(), "{path}: {failures:#?}");
    }
}

#[test]
fn the_corpus_covers_every_code_locale_and_envelope() {
    let catalog = load("examples/classroom/errors.toml");
    let corpus = build(&catalog);
    for entry in &catalog.entries {
        for locale in &catalog.info.locales {
            for envelope in Envelope::ALL {
                let prefix = format!("{}/{locale}/{}/", entry.code, envelope.as_str());
                assert!(
                    corpus.cases.iter().any(|c| c.name.starts_with(&prefix)),
                    "{prefix}"
                );
            }
        }
    }
    let limited: Vec<_> = corpus
        .cases
        .iter()
        .filter(|c| c.code == "RATE_LIMIT_EXCEEDED" && c.name.ends_with("/nested/params1"))
        .collect();
    assert_eq!(
        limited[0].expect.body["error"]["params"],
        json!({"retry_after": 3})
    );
    assert!(limited[0]
        .expect
        .headers
        .contains(&("retry-after".to_owned(), "3".to_owned())));
    assert!(corpus
        .cases
        .iter()
        .any(|c| c.code == "VALIDATION_ERROR" && !c.field_errors.is_empty()));
}

#[test]
fn a_wording_change_changes_the_corpus_and_a_stale_corpus_fails() {
    let source = std::fs::read_to_string(root().join("examples/classroom/errors.toml")).unwrap();
    let old = Catalog::from_toml(&source).unwrap();
    let new = Catalog::from_toml(
        &source.replace("이미 수강 중인 강의입니다.", "벌써 듣고 있는 강의예요."),
    )
    .unwrap();
    let stale = build(&old);
    let failures = check_rust(&new, &stale);
    assert!(
        !failures.is_empty()
            && failures
                .iter()
                .all(|f| f.starts_with("ALREADY_ENROLLED/ko/")),
        "{failures:#?}"
    );
    assert!(check_rust(&new, &build(&new)).is_empty());
}

#[test]
fn python_names_stay_apart_and_keywords_are_escaped() {
    let code =
        errata_cli::codegen::python::render(&load("crates/errata-cli/tests/external/tricky.toml"));
    assert!(code.contains("class Http_2Only(ApiError):"));
    assert!(code.contains("class Http_2only_2(ApiError):"));
    assert!(
        code.contains("in_: str,"),
        "the keyword parameter `in` is `in_`"
    );
    assert!(code.contains("class_: int,"));
    assert!(code.contains("params={\"in\": in_, \"class\": class_"));
    let classroom = errata_cli::codegen::python::render(&load("examples/classroom/errors.toml"));
    // `retry_after` is the parameter, and then also the Retry-After: one keyword, not two.
    let start = classroom
        .find("class RateLimitExceeded(ApiError):")
        .unwrap();
    let class = classroom[start..].split("\n\n\nclass ").next().unwrap();
    assert_eq!(class.matches("retry_after: int").count(), 1, "{class}");
}
