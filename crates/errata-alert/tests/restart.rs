//! A process killed with SIGKILL while alerts are pending: the next start on the same store
//! delivers every one of them (duplicates allowed, losses not).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use errata_alert::sink::SlackSink;
use errata_alert::{Alerting, Event, ManualClock};
use support::{dead_port, fast_delivery, slack_code, Fake};

const CHILD_STORE: &str = "ERRATA_TEST_CHILD_STORE";
const CODES: usize = 6;

/// The child: spools alerts toward a sink that is down, says READY, then waits to be killed.
async fn child(store: &str) {
    let clock = ManualClock::new(chrono::Utc::now());
    let down = format!("http://127.0.0.1:{}/services/T0/B0/x", dead_port());
    let (_layer, handle) = Alerting::new()
        .sink(
            SlackSink::webhook(&down)
                .unwrap()
                .timeout(Duration::from_millis(200)),
        )
        .clock(clock.clone())
        .store_path(store)
        .delivery(fast_delivery())
        .start()
        .await
        .unwrap();
    let cap = handle.capturer();
    for i in 0..CODES {
        for _ in 0..10 {
            cap.capture(Event::new(format!("KILLED_{i}"), 503).with_message("upstream down"));
        }
    }
    handle.flush().await;
    clock.advance(Duration::from_secs(10));
    handle.flush().await;
    // Make sure the sink has failed at least once, so deliveries are mid-retry.
    loop {
        let list = handle
            .backend()
            .list(errata_alert::ListFilter::Pending)
            .await
            .unwrap();
        if list.len() == CODES && list.iter().all(|d| d.attempts >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("READY");
    tokio::time::sleep(Duration::from_secs(120)).await;
    unreachable!("the parent kills this process");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_sigkill_delivers_everything() {
    if let Ok(store) = std::env::var(CHILD_STORE) {
        child(&store).await;
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("spool.sqlite3");
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "restart_after_sigkill_delivers_everything",
            "--nocapture",
        ])
        .env(CHILD_STORE, &store)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = proc.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("READY"))
    });
    let ready = tokio::time::timeout(Duration::from_secs(60), ready)
        .await
        .expect("child ready in time")
        .unwrap();
    assert!(ready, "the child never spooled its alerts");
    proc.kill().unwrap(); // SIGKILL
    let status = proc.wait().unwrap();
    assert!(!status.success());

    let fake = Fake::start().await;
    let (_layer, handle) = Alerting::new()
        .sink(
            SlackSink::webhook(&fake.url("/services/T0/B0/up"))
                .unwrap()
                .min_interval(Duration::ZERO),
        )
        .store_path(&store)
        .delivery(fast_delivery())
        .start()
        .await
        .unwrap();
    assert!(handle.wait_delivered(Duration::from_secs(30)).await);
    handle.shutdown().await;
    let mut codes: Vec<String> = fake
        .accepted()
        .iter()
        .map(|r| slack_code(&r.json()))
        .collect();
    codes.sort();
    codes.dedup();
    let want: Vec<String> = (0..CODES).map(|i| format!("KILLED_{i}")).collect();
    assert_eq!(codes, want);
}
