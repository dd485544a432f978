//! group_wait and group_interval on tokio's paused clock: time is controlled, never slept.

mod support;

use std::time::Duration;

use errata_alert::{AlertKind, Alerting, Event, TokioClock};
use support::Recorder;

async fn settle(handle: &errata_alert::AlertingHandle) {
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn burst_waits_group_wait_then_digests_per_group_interval() {
    let rec = Recorder::default();
    let (_layer, handle) = Alerting::new()
        .sink(rec.clone())
        .clock(TokioClock::new())
        .store_memory()
        .start()
        .await
        .unwrap();
    let cap = handle.capturer();
    for i in 0..50 {
        cap.capture(Event::new("PAUSED", 500).with_message(format!("job {i} failed")));
    }
    settle(&handle).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    settle(&handle).await;
    assert!(rec.take().is_empty(), "still inside group_wait");
    tokio::time::sleep(Duration::from_secs(2)).await;
    settle(&handle).await;
    let first = rec.take();
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].kind, first[0].count), (AlertKind::New, 50));

    for _ in 0..30 {
        cap.capture(Event::new("PAUSED", 500).with_message("job 7 failed"));
    }
    tokio::time::sleep(Duration::from_secs(100)).await;
    settle(&handle).await;
    assert!(
        rec.take().is_empty(),
        "at most one notice per group_interval"
    );
    tokio::time::sleep(Duration::from_secs(200)).await;
    settle(&handle).await;
    let digest = rec.take();
    // The digest, and (the group quiet since its last event, 5 min ago: the default
    // `resolve_after`) the resolved notice right behind it.
    assert_eq!(digest.len(), 2);
    assert_eq!(
        (digest[0].kind, digest[0].count, digest[0].total),
        (AlertKind::Digest, 30, 80)
    );
    assert_eq!(digest[0].count_text(), "×30 in the last 5 min");
    assert_eq!(
        (digest[1].kind, digest[1].count, digest[1].total),
        (AlertKind::Resolved, 0, 80)
    );
    handle.shutdown().await;
}
