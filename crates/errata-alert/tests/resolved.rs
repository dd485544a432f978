//! Resolved notices: a group that alerted and then went quiet for `resolve_after` gets one
//! resolved notice, spooled like every alert and rendered by every sink (not Sentry); each
//! digest says whether the group is still active. On one node (SQLite, the manual clock) and
//! across a fleet sharing PostgreSQL (127.0.0.1:5432, a database of its own, dropped after).

mod support;

use std::time::Duration;

use errata_alert::sink::{SentrySink, SlackSink, WebhookSink};
use errata_alert::{AlertKind, Alerting, Clock, Event, ManualClock, Timing};
use support::{fast_delivery, Fake, Recorder};

fn event(code: &str, status: u16, user: &str, clock: &ManualClock) -> Event {
    Event::new(code, status)
        .with_time(clock.now())
        .with_route("/orders/{id}")
        .with_message("the database is down")
        .with_user(user)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_that_ends_is_resolved_once_on_every_sink_but_sentry() {
    let slack = Fake::start().await;
    let hook = Fake::start().await;
    let sentry = Fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let start = chrono::Utc::now();
    let clock = ManualClock::new(start);
    let recorder = Recorder::default();
    let (_layer, handle) = Alerting::new()
        .store_path(dir.path().join("alerts.sqlite3"))
        .clock(clock.clone())
        .console(false)
        .sink(recorder.clone())
        .sink(
            SlackSink::webhook(&slack.url("/hook"))
                .unwrap()
                .min_interval(Duration::ZERO),
        )
        .sink(WebhookSink::new(&hook.url("/in"), "shared").unwrap())
        .sink(SentrySink::new(&format!("http://key@{}/3", sentry.addr)).unwrap())
        .delivery(fast_delivery())
        .resolve_after(Duration::from_secs(120))
        .start()
        .await
        .unwrap();
    assert!(
        handle.summary().contains("resolve_after 120s"),
        "{}",
        handle.summary()
    );
    let cap = handle.capturer();
    for u in ["a", "b", "c"] {
        cap.capture(event("DB_DOWN", 503, u, &clock));
    }
    handle.flush().await;
    clock.advance(Duration::from_secs(5));
    handle.flush().await; // 5 s: New, ×3
                          // The outage goes on, never 120 s without an event.
    for (wait, user) in [(55, "d"), (120, "a"), (70, "e")] {
        clock.advance(Duration::from_secs(wait));
        cap.capture(event("DB_DOWN", 503, user, &clock));
        handle.flush().await;
    }
    clock.advance(Duration::from_secs(55));
    handle.flush().await; // 305 s: Digest, ×3, still active
    clock.advance(Duration::from_secs(64));
    handle.flush().await; // 369 s: quiet for 119 s only
                          // 120 s after the last event the outage is over: one resolved notice.
    clock.advance(Duration::from_secs(57));
    handle.flush().await; // 426 s: Resolved
    clock.advance(Duration::from_secs(3600));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(60)).await);
    handle.shutdown().await;

    let got = recorder.take();
    let kinds: Vec<AlertKind> = got.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [AlertKind::New, AlertKind::Digest, AlertKind::Resolved],
        "{got:#?}"
    );
    assert_eq!(got.iter().map(|a| a.count).sum::<u64>(), 6, "counts add up");
    assert_eq!(
        got[1].activity_text().unwrap(),
        "still active: last event 55 s ago"
    );
    assert_eq!(
        got[2].activity_text().unwrap(),
        "resolved: no event for 3 min"
    );
    let r = &got[2];
    assert_eq!((r.count, r.total, r.users_total), (0, 6, 5));
    assert_eq!(r.resolve_after_secs, Some(120));
    assert_eq!(r.notice, 3);
    assert!(r.last_seen > r.first_seen);

    // Slack: a clear marker, the total, first and last seen.
    let messages = slack.accepted();
    assert_eq!(messages.len(), 3);
    let last = messages[2].json();
    support::assert_slack_limits(&last);
    let header = last["blocks"][0]["text"]["text"].as_str().unwrap();
    assert!(
        header.starts_with("✅ DB_DOWN") && header.ends_with("resolved"),
        "{header}"
    );
    let summary = last["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(summary.contains("Resolved:"), "{summary}");
    assert!(summary.contains("no event for 3 min"), "{summary}");
    assert!(summary.contains("×6 in all"), "{summary}");
    let fields = last["blocks"][2]["fields"].to_string();
    assert!(fields.contains("First seen") && fields.contains("Last seen"));
    assert!(last["text"]
        .as_str()
        .unwrap()
        .starts_with("✅ DB_DOWN (503) resolved"));
    let digest = messages[1].json();
    let summary = digest["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(
        summary.contains("still active: last event 55 s ago"),
        "{summary}"
    );

    // The webhook: Alertmanager's firing / resolved, the HTTP status kept.
    let bodies: Vec<serde_json::Value> = hook.accepted().iter().map(|r| r.json()).collect();
    let states: Vec<&str> = bodies
        .iter()
        .map(|b| b["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["firing", "firing", "resolved"]);
    assert_eq!(bodies[2]["kind"], "resolved");
    assert_eq!(bodies[2]["status"], 503);
    assert_eq!(bodies[2]["count"], 0);
    assert_eq!(bodies[2]["total"], 6);

    // Sentry has its own issue state: it gets the two notices about events only.
    assert_eq!(sentry.accepted().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_says_the_group_is_still_active_and_off_sends_no_resolved_notice() {
    let clock = ManualClock::new(chrono::Utc::now());
    let recorder = Recorder::default();
    let dir = tempfile::tempdir().unwrap();
    let (_layer, handle) = Alerting::new()
        .store_path(dir.path().join("alerts.sqlite3"))
        .clock(clock.clone())
        .console(false)
        .sink(recorder.clone())
        .resolve_after(None)
        .timing(Timing {
            group_wait: Duration::from_secs(1),
            group_interval: Duration::from_secs(60),
            ..Timing::default()
        })
        .start()
        .await
        .unwrap();
    assert!(handle.summary().contains("resolve_after off"));
    let cap = handle.capturer();
    cap.capture(event("E", 500, "a", &clock));
    handle.flush().await;
    clock.advance(Duration::from_secs(1));
    handle.flush().await;
    for _ in 0..59 {
        clock.advance(Duration::from_secs(1));
        cap.capture(event("E", 500, "a", &clock));
        handle.flush().await;
    }
    clock.advance(Duration::from_secs(3));
    handle.flush().await;
    clock.advance(Duration::from_secs(2 * 3600));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(30)).await);
    handle.shutdown().await;
    let got = recorder.take();
    let kinds: Vec<AlertKind> = got.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AlertKind::New, AlertKind::Digest], "{got:#?}");
    assert_eq!(got[1].count, 59);
    // Resolved notices off: the digest tells how fresh the last event is, without a verdict.
    assert_eq!(got[1].activity_text().unwrap(), "last event 3 s ago");
    assert_eq!(got[1].resolve_after_secs, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resolved_notice_is_spooled_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.sqlite3");
    let clock = ManualClock::new(chrono::Utc::now());
    // A sink that is down: the notices stay in the spool.
    let down = format!("http://127.0.0.1:{}/hook", support::dead_port());
    let (_layer, handle) = Alerting::new()
        .store_path(&path)
        .clock(clock.clone())
        .console(false)
        .sink(WebhookSink::new(&down, "s").unwrap().name("hook"))
        .delivery(errata_alert::DeliveryOptions {
            shutdown_timeout: Duration::from_millis(200),
            ..fast_delivery()
        })
        .resolve_after(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    handle.capturer().capture(event("E", 500, "a", &clock));
    handle.flush().await;
    clock.advance(Duration::from_secs(5));
    handle.flush().await;
    clock.advance(Duration::from_secs(61));
    handle.flush().await;
    handle.shutdown().await;
    drop(handle);
    // The next start sends what was spooled, the resolved notice included.
    let hook = Fake::start().await;
    let (_layer, handle) = Alerting::new()
        .store_path(&path)
        .console(false)
        .sink(
            WebhookSink::new(&hook.url("/in"), "s")
                .unwrap()
                .name("hook"),
        )
        .delivery(fast_delivery())
        .start()
        .await
        .unwrap();
    assert!(handle.wait_delivered(Duration::from_secs(60)).await);
    handle.shutdown().await;
    let mut kinds: Vec<String> = hook
        .accepted()
        .iter()
        .map(|r| r.json()["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["new", "resolved"]);
}

mod fleet {
    use super::*;

    const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// A database of its own, dropped when the test ends (even when it fails).
    struct Db {
        name: String,
    }

    impl Db {
        async fn create() -> Db {
            let name = format!("errata_resolved_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::PgPool::connect(ADMIN)
                .await
                .expect("PostgreSQL on 127.0.0.1:5432");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .unwrap();
            admin.close().await;
            Db { name }
        }

        fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
        }

        /// Resolved notices claimed in the store (the only notices about no event).
        async fn resolved_notices(&self) -> i64 {
            let pool = sqlx::PgPool::connect(&self.url()).await.unwrap();
            let n: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM errata_fleet_notices WHERE count = 0")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            n
        }
    }

    impl Drop for Db {
        fn drop(&mut self) {
            let name = self.name.clone();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(ADMIN).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin)
                                .await;
                    }
                });
            })
            .join();
        }
    }

    async fn replica(
        db: &Db,
        clock: &ManualClock,
        recorder: &Recorder,
    ) -> errata_alert::AlertingHandle {
        let (_layer, handle) = Alerting::new()
            .store_postgres(db.url())
            .clock(clock.clone())
            .console(false)
            .sink(recorder.clone())
            .delivery(fast_delivery())
            .flush_interval(Duration::from_millis(50))
            .timing(Timing {
                group_wait: Duration::from_secs(1),
                group_interval: Duration::from_secs(10),
                repeat_interval: Duration::from_secs(3600),
            })
            .resolve_after(Duration::from_secs(60))
            .start()
            .await
            .unwrap();
        handle
    }

    async fn flush(replicas: &[&errata_alert::AlertingHandle]) {
        for r in replicas {
            r.flush().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_resolve_a_group_once_when_the_fleet_is_quiet() {
        let db = Db::create().await;
        // In the past: fleet deliveries are due at the clock's time, sent on the wall clock.
        let clock = ManualClock::new(chrono::Utc::now() - chrono::Duration::hours(1));
        let recorder = Recorder::default();
        let a = replica(&db, &clock, &recorder).await;
        let b = replica(&db, &clock, &recorder).await;
        for u in ["u1", "u2", "u3"] {
            a.capturer().capture(event("DB_DOWN", 503, u, &clock));
            b.capturer().capture(event("DB_DOWN", 503, u, &clock));
        }
        flush(&[&a, &b]).await;
        clock.advance(Duration::from_secs(2));
        flush(&[&a, &b]).await;
        // Replica A sees nothing more; replica B keeps seeing the outage, every 40 s, for
        // 160 s: A's own quiet is past 60 s, the fleet's is not, so nothing is resolved.
        for _ in 0..4 {
            clock.advance(Duration::from_secs(40));
            b.capturer().capture(event("DB_DOWN", 503, "u4", &clock));
            flush(&[&a, &b]).await;
            flush(&[&b, &a]).await;
        }
        assert_eq!(db.resolved_notices().await, 0, "the fleet is not quiet");
        // Now the fleet is quiet: both replicas try, one wins.
        for _ in 0..3 {
            clock.advance(Duration::from_secs(30));
            flush(&[&a, &b]).await;
            flush(&[&b, &a]).await;
        }
        clock.advance(Duration::from_secs(600));
        flush(&[&a, &b]).await;
        flush(&[&b, &a]).await;
        assert_eq!(
            db.resolved_notices().await,
            1,
            "exactly once across the fleet"
        );
        assert!(a.wait_delivered(Duration::from_secs(60)).await);
        a.shutdown().await;
        b.shutdown().await;

        let mut got = recorder.take();
        got.sort_by_key(|x| x.notice);
        let kinds: Vec<AlertKind> = got.iter().map(|x| x.kind).collect();
        assert_eq!(kinds.last(), Some(&AlertKind::Resolved), "{got:#?}");
        assert_eq!(
            kinds.iter().filter(|k| **k == AlertKind::Resolved).count(),
            1,
            "{kinds:?}"
        );
        assert!(kinds[..kinds.len() - 1]
            .iter()
            .all(|k| matches!(k, AlertKind::New | AlertKind::Digest)));
        let resolved = got.last().unwrap();
        assert_eq!((resolved.count, resolved.total), (0, 10));
        assert_eq!(
            got.iter().map(|x| x.count).sum::<u64>(),
            10,
            "counts add up"
        );
        assert_eq!(resolved.resolve_after_secs, Some(60));
        let digests: Vec<_> = got.iter().filter(|x| x.kind == AlertKind::Digest).collect();
        assert!(!digests.is_empty());
        for d in digests {
            let text = d.activity_text().unwrap();
            assert!(text.starts_with("still active: last event"), "{text}");
        }
    }
}
