//! Events a relay in front of Sentry marked forwarded or held back: every notice about them
//! (first notice and digests) says how many of its window's events Sentry got, exactly, on
//! Slack, the console and the webhook; events from no relay say nothing of it. One node
//! (SQLite, the manual clock), a capture queue small enough that a storm folds.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errata_alert::sink::{ConsoleSink, SlackSink, WebhookSink};
use errata_alert::{AlertKind, Alerting, Clock, Event, ManualClock};
use support::{fast_delivery, Fake, Recorder};

/// A console that keeps its lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn relayed(clock: &ManualClock, forwarded: bool) -> Event {
    Event::new("KAKAO_DOWN", 502)
        .with_route("/api/login/kakao")
        .with_message("kakao is down")
        .with_time(clock.now())
        .with_forwarding(forwarded, 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_and_its_digest_tell_what_sentry_got_of_their_window() {
    let slack = Fake::start().await;
    let hook = Fake::start().await;
    let console = Lines::default();
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    let recorder = Recorder::default();
    let (_layer, handle) = Alerting::new()
        .store_path(dir.path().join("alerts.sqlite3"))
        .clock(clock.clone())
        .queue_capacity(8)
        .console(false)
        .sink(ConsoleSink::writer(console.clone()))
        .sink(recorder.clone())
        .sink(
            SlackSink::webhook(&slack.url("/hook"))
                .unwrap()
                .min_interval(Duration::ZERO),
        )
        .sink(WebhookSink::new(&hook.url("/in"), "shared").unwrap())
        .delivery(fast_delivery())
        .resolve_after(None)
        .start()
        .await
        .unwrap();
    let cap = handle.capturer();
    // The first window: the relay forwarded 10 of 550 (its sample), held back 540.
    for i in 0..550 {
        cap.capture(relayed(&clock, i < 10));
    }
    handle.flush().await;
    clock.advance(Duration::from_secs(5));
    handle.flush().await;
    // The next window: a new relay window, 10 forwarded again, 1,190 held back; and a
    // problem from a service without a relay.
    clock.advance(Duration::from_secs(60));
    for i in 0..1200 {
        cap.capture(relayed(&clock, i % 600 < 5));
    }
    cap.capture(
        Event::new("DB_DOWN", 503)
            .with_route("/orders")
            .with_time(clock.now()),
    );
    handle.flush().await;
    clock.advance(Duration::from_secs(300));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(60)).await);
    assert!(
        handle.stats().await.capture.folded > 0,
        "the storm overflowed the queue of 8: folded events are counted by what they were"
    );
    handle.shutdown().await;

    let mut got = recorder.take();
    got.sort_by_key(|a| (a.code.clone(), a.notice));
    let kinds: Vec<(&str, AlertKind)> = got.iter().map(|a| (a.code.as_str(), a.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("DB_DOWN", AlertKind::New),
            ("KAKAO_DOWN", AlertKind::New),
            ("KAKAO_DOWN", AlertKind::Digest),
        ]
    );
    let split = |i: usize| {
        let u = got[i].upstream.expect("relayed events are counted");
        (got[i].count, u.forwarded, u.not_forwarded, u.per_group)
    };
    assert_eq!(split(1), (550, 10, 540, 10));
    assert_eq!(split(2), (1200, 10, 1190, 10));
    assert_eq!(got[0].upstream, None, "no relay, no word of Sentry");

    let first = "Sentry: 10 forwarded, 540 not forwarded (sample of 10 per group and window)";
    let digest = "Sentry: 10 forwarded, 1,190 not forwarded (sample of 10 per group and window)";

    // Slack: in the summary, under the count.
    let messages: Vec<serde_json::Value> = slack.accepted().iter().map(|r| r.json()).collect();
    assert_eq!(messages.len(), 3);
    let summary_of = |code: &str, marker: &str| -> String {
        let m = messages
            .iter()
            .find(|m| {
                let h = m["blocks"][0]["text"]["text"].as_str().unwrap();
                h.contains(code) && h.contains(marker)
            })
            .unwrap_or_else(|| panic!("{code} {marker}: {messages:#?}"));
        support::assert_slack_limits(m);
        m["blocks"][1]["text"]["text"].as_str().unwrap().to_owned()
    };
    let s = summary_of("KAKAO_DOWN", "🔴");
    assert!(
        s.contains(&format!(
            "×550 in 5 s · 550 since the group opened\n{first}"
        )),
        "{s}"
    );
    let s = summary_of("KAKAO_DOWN", "digest");
    assert!(s.contains(digest), "{s}");
    assert!(s.contains("×1,200 in the last 6 min"), "{s}");
    assert!(!summary_of("DB_DOWN", "🔴").contains("Sentry"));

    // The console: one part of the line.
    let lines = console.text();
    let line = |code: &str, kind: &str| {
        lines
            .lines()
            .find(|l| l.contains(code) && l.contains(kind))
            .unwrap_or_else(|| panic!("{code} {kind}: {lines}"))
            .to_owned()
    };
    assert!(line("KAKAO_DOWN", "NEW").contains(&format!(" · {first} · ")));
    assert!(line("KAKAO_DOWN", "DIGEST").contains(&format!(" · {digest} · ")));
    assert!(!line("DB_DOWN", "NEW").contains("Sentry"));

    // The webhook: `upstream` members, absent for the service without a relay.
    let bodies: Vec<serde_json::Value> = hook.accepted().iter().map(|r| r.json()).collect();
    assert_eq!(bodies.len(), 3);
    for b in &bodies {
        match (b["code"].as_str().unwrap(), b["notice"].as_u64().unwrap()) {
            ("KAKAO_DOWN", 1) => assert_eq!(
                b["upstream"],
                serde_json::json!({"forwarded": 10, "not_forwarded": 540, "per_group": 10})
            ),
            ("KAKAO_DOWN", 2) => assert_eq!(
                b["upstream"],
                serde_json::json!({"forwarded": 10, "not_forwarded": 1190, "per_group": 10})
            ),
            _ => assert!(b.get("upstream").is_none(), "{b}"),
        }
    }
}
