//! `stats`: counts per code and route, before/after, as a table, JSON and an HTML page.

use chrono::{DateTime, Duration, Utc};
use errata_alert::report::{run_stats, Format, StatsArgs};
use errata_alert::spool::SqliteStore;
use errata_alert::store::{minute_of, CountRow, Store};

fn row(t: DateTime<Utc>, code: &str, status: u16, route: &str, count: u64) -> CountRow {
    CountRow {
        minute: minute_of(t),
        code: code.into(),
        status,
        route: route.into(),
        method: "POST".into(),
        count,
    }
}

#[test]
fn before_and_after_in_three_formats() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stats.sqlite3");
    let now = Utc::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = SqliteStore::open(&path).await.unwrap();
        let before = now - Duration::days(10);
        // Before: upstream account errors were 500s, 6,174 of them.
        let mut rows = Vec::new();
        for i in 0..6_174u64 {
            rows.push(row(
                before + Duration::minutes((i % 1440) as i64),
                "KAKAO_FAILED",
                500,
                "/auth/kakao",
                1,
            ));
        }
        rows.push(row(before, "NOT_FOUND", 404, "(unmatched)", 40));
        s.add_counts(&rows).await.unwrap();
        // After: 98 left, the rest reclassified as a 400.
        s.add_counts(&[
            row(
                now - Duration::hours(30),
                "KAKAO_FAILED",
                500,
                "/auth/kakao",
                90,
            ),
            row(
                now - Duration::hours(2),
                "KAKAO_FAILED",
                500,
                "/auth/kakao",
                8,
            ),
            row(
                now - Duration::hours(2),
                "KAKAO_ACCOUNT_INACTIVE",
                400,
                "/auth/kakao",
                6_076,
            ),
        ])
        .await
        .unwrap();
        s.close().await;
    });
    let args = |format| StatsArgs {
        store: path.display().to_string(),
        from: "-7d".into(),
        to: "now".into(),
        vs: Some(("-14d".into(), "-7d".into())),
        format,
    };
    let table = run_stats(&args(Format::Table)).unwrap();
    let line = table
        .lines()
        .find(|l| l.starts_with("KAKAO_FAILED"))
        .unwrap();
    assert!(line.contains("/auth/kakao"), "{table}");
    assert!(line.contains("6,174 → 98  −98.4%"), "{table}");
    assert!(table.contains("KAKAO_ACCOUNT_INACTIVE"));
    assert!(table.lines().any(|l| l.starts_with("total")));

    let json: serde_json::Value =
        serde_json::from_str(&run_stats(&args(Format::Json)).unwrap()).unwrap();
    let k = json["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "KAKAO_FAILED")
        .unwrap();
    assert_eq!(k["count"], 98);
    assert_eq!(k["vs_count"], 6174);
    assert!((k["change_pct"].as_f64().unwrap() + 98.41).abs() < 0.01);
    assert_eq!(json["total"], 98 + 6076);
    assert_eq!(json["vs_total"], 6174 + 40);
    assert_eq!(
        json["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        98 + 6076
    );

    let html = run_stats(&args(Format::Html)).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg") && html.contains("<polyline"));
    assert!(
        !html.contains("<script") && !html.contains(" src=") && !html.contains("<link"),
        "self-contained"
    );
    assert!(html.contains("6,174 → 98"));

    // Without a comparison, and errors that name the argument.
    let plain = run_stats(&StatsArgs {
        vs: None,
        ..args(Format::Table)
    })
    .unwrap();
    assert!(!plain.contains('→') || plain.starts_with("errors"));
    let err = run_stats(&StatsArgs {
        from: "last tuesday".into(),
        ..args(Format::Table)
    })
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("from/to: cannot read \"last tuesday\""),
        "{err}"
    );
    let err = run_stats(&StatsArgs {
        from: "now".into(),
        to: "-1h".into(),
        ..args(Format::Table)
    })
    .unwrap_err();
    assert!(err.to_string().contains("window is empty"), "{err}");
    let err = run_stats(&StatsArgs {
        store: dir.path().join("missing.sqlite3").display().to_string(),
        ..args(Format::Table)
    })
    .unwrap_err();
    assert!(err.to_string().contains("no store at"), "{err}");
}
