//! `stats`: counts per code and route, before/after, as a table, JSON and an HTML page.

use chrono::{DateTime, Duration, Utc};
use errata_alert::report::{run_stats, stats, Format, StatsArgs};
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

/// A store holding one count per minute from 11:50 to 12:05 (100 in the minute 11:58), the
/// report's `now` at 12:00:30.
async fn minutes_store(dir: &std::path::Path) -> (SqliteStore, DateTime<Utc>) {
    let s = SqliteStore::open(&dir.join("minutes.sqlite3"))
        .await
        .unwrap();
    let noon: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let mut rows = Vec::new();
    for m in -10..=5i64 {
        let count = if m == -2 { 100 } else { 1 };
        rows.push(row(
            noon + Duration::minutes(m),
            "NOT_FOUND",
            404,
            "/r",
            count,
        ));
    }
    s.add_counts(&rows).await.unwrap();
    (s, noon + Duration::seconds(30))
}

fn json_stats(from: &str, to: &str, vs: Option<(&str, &str)>) -> StatsArgs {
    StatsArgs {
        store: "unused.sqlite3".into(),
        from: from.into(),
        to: to.into(),
        vs: vs.map(|(f, t)| (f.into(), t.into())),
        format: Format::Json,
    }
}

#[tokio::test]
async fn windows_that_meet_inside_a_minute_count_the_boundary_minute_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, now) = minutes_store(dir.path()).await;
    let run = |args: StatsArgs| {
        let store = &store;
        async move {
            let text = stats(store, &args, now).await.unwrap();
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        }
    };
    // [11:56:30, 11:58:30) holds the starts of 11:57 and 11:58; [11:58:30, 12:00:30) those of
    // 11:59 and 12:00. The minute 11:58 (100) is counted in the first only.
    let pair = run(json_stats("-4m", "-2m", Some(("-2m", "now")))).await;
    assert_eq!(pair["total"], 101, "{pair}");
    assert_eq!(pair["vs_total"], 2, "{pair}");
    let whole = run(json_stats("-4m", "now", None)).await;
    assert_eq!(whole["total"], 103);
    // The same the other way round: the comparison window is then the earlier one.
    let swapped = run(json_stats("-2m", "now", Some(("-4m", "-2m")))).await;
    assert_eq!(
        (swapped["total"].clone(), swapped["vs_total"].clone()),
        (2.into(), 101.into())
    );
    // The comparison says which window is "before", and the change reads before → after.
    assert_eq!(pair["before"], "window");
    assert_eq!(swapped["before"], "vs");
    let change = |v: &serde_json::Value| v["change_pct"].as_f64().unwrap();
    assert!(
        (change(&pair) - (2.0 - 101.0) / 101.0 * 100.0).abs() < 1e-9,
        "{pair}"
    );
    assert!((change(&swapped) - change(&pair)).abs() < 1e-9, "{swapped}");
    let table = stats(
        &store,
        &StatsArgs {
            format: Format::Table,
            ..json_stats("-2m", "now", Some(("-4m", "-2m")))
        },
        now,
    )
    .await
    .unwrap();
    assert!(
        table.contains("before 2026-03-01 11:56:30 → 2026-03-01 11:58:30, after 2026-03-01 11:58:30 → 2026-03-01 12:00:30"),
        "{table}"
    );
    assert!(table.contains("101 → 2  −98.0%"), "{table}");
    // Hour-long windows on whole minutes: sixty minutes each, none shared.
    let hours = run(json_stats(
        "2026-03-01T11:00:00Z",
        "2026-03-01T12:00:00Z",
        Some(("2026-03-01T12:00:00Z", "2026-03-01T13:00:00Z")),
    ))
    .await;
    assert_eq!(hours["total"], 10 + 99);
    assert_eq!(hours["vs_total"], 6);
    store.close().await;
}

#[tokio::test]
async fn overlapping_or_minuteless_windows_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (store, now) = minutes_store(dir.path()).await;
    let err = stats(&store, &json_stats("-3m", "now", Some(("-5m", "-2m"))), now)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the windows overlap") && err.contains("share 1 minute"),
        "{err}"
    );
    let err = stats(
        &store,
        &json_stats("2026-03-01T12:00:10Z", "2026-03-01T12:00:40Z", None),
        now,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("from/to: the window") && err.contains("holds no whole minute"),
        "{err}"
    );
    store.close().await;
}

#[tokio::test]
async fn the_page_has_a_series_per_top_code_and_the_two_windows_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("codes.sqlite3");
    let s = SqliteStore::open(&path).await.unwrap();
    let noon: DateTime<Utc> = "2026-03-01T12:00:00Z".parse().unwrap();
    let codes = [
        "A_ONE", "B_TWO", "C_THREE", "D_FOUR", "E_FIVE", "F_SIX", "G_SEVEN",
    ];
    let mut rows = Vec::new();
    for (i, code) in codes.iter().enumerate() {
        let n = 70 - 10 * i as u64;
        rows.push(row(noon - Duration::minutes(30), code, 400, "/r", n));
        rows.push(row(noon + Duration::minutes(30), code, 400, "/r", n / 2));
    }
    s.add_counts(&rows).await.unwrap();
    let args = StatsArgs {
        store: path.display().to_string(),
        from: "2026-03-01T12:00:00Z".into(),
        to: "2026-03-01T13:00:00Z".into(),
        vs: Some(("2026-03-01T11:00:00Z".into(), "2026-03-01T12:00:00Z".into())),
        format: Format::Html,
    };
    let html = stats(&s, &args, noon + Duration::hours(2)).await.unwrap();
    // Five codes of their own, the last two folded into `other`, in each of the two charts.
    for code in &codes[..5] {
        assert_eq!(
            html.matches(&format!("<title>{code}</title>")).count(),
            2,
            "{code}"
        );
    }
    assert!(!html.contains("<title>F_SIX</title>") && !html.contains("<title>G_SEVEN</title>"));
    assert_eq!(html.matches("<title>other</title>").count(), 2);
    // Before on the left, after on the right, each code's change in the legend.
    let before = html.find("<figcaption>before</figcaption>").unwrap();
    let after = html.find("<figcaption>after</figcaption>").unwrap();
    assert!(before < after);
    assert!(
        html.contains("<code>A_ONE</code> 70 → 35  −50.0%"),
        "{html}"
    );
    // other: F_SIX 20 + G_SEVEN 10 before, 10 + 5 after.
    assert!(
        html.contains("<code>other</code> 30 → 15  −50.0%"),
        "{html}"
    );
    assert!(html.contains("Counts from a SQLite store"), "{html}");
    assert!(
        html.contains("before 2026-03-01 11:00:00 → 2026-03-01 12:00:00"),
        "{html}"
    );

    let json: serde_json::Value = serde_json::from_str(
        &stats(
            &s,
            &StatsArgs {
                format: Format::Json,
                ..args
            },
            noon + Duration::hours(2),
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let series = json["code_series"].as_array().unwrap();
    assert_eq!(series.len(), 6);
    assert_eq!(series[5]["code"], "other");
    let sum = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        series.iter().map(|c| sum(&c["series"])).sum::<u64>(),
        json["total"].as_u64().unwrap()
    );
    assert_eq!(
        series.iter().map(|c| sum(&c["vs_series"])).sum::<u64>(),
        json["vs_total"].as_u64().unwrap()
    );
    s.close().await;
}
