//! A sink that refuses an alert for good: the delivery becomes a dead letter, listed by
//! `alerts list`, and `alerts replay` sends it again.

mod support;

use std::time::Duration;

use errata_alert::report::{
    run_alerts_list, run_alerts_replay, AlertsListArgs, AlertsReplayArgs, Format, ReplayTarget,
};
use errata_alert::sink::SlackSink;
use errata_alert::{Alerting, Event, ListFilter, ManualClock};
use support::{fast_delivery, Fake, Reply};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_listed_and_replayed() {
    let fake = Fake::start().await;
    fake.script([
        Reply::Status(404, vec![], "channel_not_found".into()),
        Reply::Status(410, vec![], "channel_is_archived".into()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dead.sqlite3");
    let clock = ManualClock::new(chrono::Utc::now());
    let start = || {
        Alerting::new()
            .sink(
                SlackSink::webhook(&fake.url("/services/T/B/dead"))
                    .unwrap()
                    .min_interval(Duration::ZERO),
            )
            .clock(clock.clone())
            .store_path(&store)
            .delivery(fast_delivery())
            .start()
    };
    let (_layer, handle) = start().await.unwrap();
    handle.capturer().capture(Event::new("GONE_A", 500));
    handle.capturer().capture(Event::new("GONE_B", 500));
    handle.flush().await;
    clock.advance(Duration::from_secs(10));
    handle.flush().await;
    assert!(
        handle.wait_delivered(Duration::from_secs(10)).await,
        "no delivery stays pending"
    );
    let dead = handle.dead_letters().await.unwrap();
    assert_eq!(dead.len(), 2);
    assert!(dead.iter().any(|d| d
        .last_error
        .as_deref()
        .unwrap()
        .contains("channel_not_found")));
    handle.shutdown().await;
    assert!(fake.accepted().is_empty());

    // The command line's view (another process would do the same).
    let path = store.display().to_string();
    let list = run_alerts_list(&AlertsListArgs {
        store: path.clone(),
        filter: ListFilter::Dead,
        format: Format::Table,
    })
    .unwrap();
    assert!(
        list.contains("GONE_A 500") && list.contains("GONE_B 500"),
        "{list}"
    );
    assert!(list.contains("dead"));
    let json = run_alerts_list(&AlertsListArgs {
        store: path.clone(),
        filter: ListFilter::All,
        format: Format::Json,
    })
    .unwrap();
    let items: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(items.as_array().unwrap().len(), 2);
    let first_id = items[0]["id"].as_i64().unwrap();

    let out = run_alerts_replay(&AlertsReplayArgs {
        store: path.clone(),
        target: ReplayTarget::Id(first_id),
    })
    .unwrap();
    assert!(out.starts_with("1 delivery queued again"), "{out}");
    let out = run_alerts_replay(&AlertsReplayArgs {
        store: path.clone(),
        target: ReplayTarget::AllDead,
    })
    .unwrap();
    assert!(
        out.starts_with("1 deliveries queued again") || out.starts_with("1 delivery queued again"),
        "{out}"
    );
    let err = run_alerts_replay(&AlertsReplayArgs {
        store: path.clone(),
        target: ReplayTarget::Id(9999),
    })
    .unwrap_err();
    assert!(err.to_string().contains("9999"));

    // The service starts again; the sink is healthy now.
    let (_layer, handle) = start().await.unwrap();
    assert!(handle.wait_delivered(Duration::from_secs(10)).await);
    handle.shutdown().await;
    let mut codes: Vec<String> = fake
        .accepted()
        .iter()
        .map(|r| support::slack_code(&r.json()))
        .collect();
    codes.sort();
    assert_eq!(codes, ["GONE_A", "GONE_B"]);
    let list = run_alerts_list(&AlertsListArgs {
        store: path,
        filter: ListFilter::All,
        format: Format::Table,
    })
    .unwrap();
    assert_eq!(list, "no pending or dead-lettered alerts\n");
}
