//! After a sink recovers, the alerts that waited go out at once and oldest first: a success
//! resets the backoff of the deliveries behind it. The retry delays here are 30 to 60 s, so
//! alerts that arrive within the test's wait (20 s) arrived because of the reset.

mod support;

use std::time::Duration;

use errata_alert::sink::WebhookSink;
use errata_alert::{Alerting, AlertingHandle, DeliveryOptions, Event, Timing};
use support::{Fake, Reply};

async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..400 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

fn codes(fake: &Fake) -> Vec<String> {
    fake.accepted()
        .iter()
        .map(|r| r.json()["code"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn capture(handle: &AlertingHandle, fake: &Fake, code: &str, seen: usize) {
    handle
        .capturer()
        .capture(Event::new(code, 503).with_message(format!("{code} is down")));
    handle.flush().await;
    assert!(
        eventually(|| fake.all().len() >= seen).await,
        "{code} was tried: {} requests",
        fake.all().len()
    );
}

async fn run(store: Option<std::path::PathBuf>) {
    let fake = Fake::start().await;
    // Two failures, then the sink is back.
    fake.script([
        Reply::Status(500, vec![], "down".into()),
        Reply::Status(500, vec![], "down".into()),
    ]);
    let builder = Alerting::new()
        .console(false)
        .sink(WebhookSink::new(&fake.url("/hook"), "s3cret").unwrap())
        .timing(Timing {
            group_wait: Duration::from_millis(10),
            ..Timing::default()
        })
        .delivery(DeliveryOptions {
            backoff_base: Duration::from_secs(60),
            backoff_max: Duration::from_secs(600),
            shutdown_timeout: Duration::from_secs(2),
            ..DeliveryOptions::default()
        });
    let builder = match store {
        Some(path) => builder.store_path(path),
        None => builder.store_memory(),
    };
    let (_layer, handle) = builder.start().await.unwrap();
    capture(&handle, &fake, "OLDEST", 1).await;
    capture(&handle, &fake, "OLDER", 2).await;
    assert_eq!(
        handle.pending().await.unwrap(),
        2,
        "both wait 30-60 s to retry"
    );
    // The sink answers again: the newest alert's success brings the others forward.
    capture(&handle, &fake, "NEWEST", 3).await;
    let all_three = eventually(|| fake.accepted().len() >= 3).await;
    assert!(
        all_three,
        "delivered after the recovery: {:?}",
        codes(&fake)
    );
    assert_eq!(codes(&fake), ["NEWEST", "OLDEST", "OLDER"]);
    assert_eq!(handle.pending().await.unwrap(), 0);
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_brings_waiting_alerts_forward_oldest_first_in_memory() {
    run(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_brings_waiting_alerts_forward_oldest_first_in_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    run(Some(dir.path().join("spool.sqlite3"))).await;
}
