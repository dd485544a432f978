//! `errata stats` and `errata alerts` on a store written by the errata-alert pipeline.

use std::process::Command;

use errata_alert::{Alerting, Event};

fn errata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(args)
        .env_remove("ERRATA_STORE")
        .output()
        .expect("run errata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Captures `count` events of `code` through a real pipeline into the SQLite store at `path`.
async fn capture(path: &std::path::Path, code: &str, status: u16, count: usize) {
    let (_layer, handle) = Alerting::new()
        .store_path(path)
        .start()
        .await
        .expect("pipeline starts");
    for i in 0..count {
        handle.capturer().capture(
            Event::new(code, status)
                .with_message(format!("failure {i}"))
                .with_route("/v1/user/kakao-channel-added"),
        );
    }
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stats_counts_every_captured_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("errata.sqlite3");
    capture(&store, "KAKAO_ACCOUNT_NOT_AVAILABLE", 400, 37).await;
    capture(&store, "UPSTREAM_ERROR", 502, 5).await;
    let store = store.to_str().unwrap();

    let (code, out, err) = errata(&[
        "stats", "--store", store, "--from", "-1h", "--format", "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(json["total"], 42, "{json}");
    let rows = json["rows"].as_array().expect("rows");
    let count = |code: &str| {
        rows.iter()
            .find(|r| r["code"] == code)
            .map(|r| r["count"].clone())
    };
    assert_eq!(
        count("KAKAO_ACCOUNT_NOT_AVAILABLE"),
        Some(serde_json::json!(37))
    );
    assert_eq!(count("UPSTREAM_ERROR"), Some(serde_json::json!(5)));
    assert!(rows
        .iter()
        .all(|r| r["route"] == "/v1/user/kakao-channel-added"));

    let (code, table, _) = errata(&["stats", "--store", store, "--from", "-1h"]);
    assert_eq!(code, 0);
    assert!(table.contains("37"), "{table}");

    let (code, html, _) = errata(&[
        "stats", "--store", store, "--from", "-1h", "--format", "html",
    ]);
    assert_eq!(code, 0);
    assert!(html.contains("<svg"), "self-contained page with a chart");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.sqlite3");
    let (code, _, err) = errata(&[
        "stats",
        "--store",
        missing.to_str().unwrap(),
        "--from",
        "-1h",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no store"), "{err}");
    let store = dir.path().join("errata.sqlite3");
    capture(&store, "UPSTREAM_ERROR", 502, 1).await;
    let (code, _, err) = errata(&[
        "stats",
        "--store",
        store.to_str().unwrap(),
        "--from",
        "yesterday-ish",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("from"), "{err}");
    let store = missing;
    let (code, _, err) = errata(&["stats", "--from", "-1h"]);
    assert_eq!(code, 2, "a store is required: {err}");
    let (code, _, _) = errata(&["alerts", "replay", "--store", store.to_str().unwrap()]);
    assert_eq!(code, 2, "replay needs an id or --all-dead");
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_list_reads_the_spool() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("errata.sqlite3");
    capture(&store, "UPSTREAM_ERROR", 502, 3).await;
    let (code, out, err) = errata(&[
        "alerts",
        "list",
        "--store",
        store.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let _: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let (code, out, err) = errata(&[
        "alerts",
        "replay",
        "--store",
        store.to_str().unwrap(),
        "--all-dead",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queued again"), "{out}");
}
