//! Each sink against a local fake: Slack webhook and chat.postMessage answers, Retry-After as
//! seconds and as an HTTP date, Sentry envelopes and rate limits, signed webhooks.

mod support;

use std::time::Duration;

use chrono::Utc;
use errata_alert::sink::{webhook, SentrySink, SlackSink, WebhookSink};
use errata_alert::{Alert, AlertKind, Alerting, Event, ManualClock, SendOutcome, Sink};
use sentry_types::protocol::v7::Envelope;
use support::{fast_delivery, Fake, Reply};

fn alert(code: &str) -> Alert {
    let now = Utc::now();
    Alert {
        id: uuid::Uuid::now_v7().to_string(),
        kind: AlertKind::New,
        fingerprint: "fp".into(),
        code: code.into(),
        status: 500,
        count: 3,
        total: 3,
        window_start: now,
        window_end: now,
        first_seen: now,
        last_seen: now,
        users: 1,
        users_total: 1,
        users_capped: false,
        routes: vec![],
        params: vec![],
        sample: Event::new(code, 500)
            .with_message("boom <!channel>")
            .with_route("/a/{id}")
            .with_user("u1")
            .with_cause("db: timeout"),
        service: Some("svc".into()),
        environment: Some("test".into()),
        release: Some("1.2.3".into()),
        docs_url: None,
        notice: 1,
        resolve_after_secs: None,
        upstream: None,
    }
}

async fn send_with(reply: Reply, sink: &dyn Sink, fake: &Fake) -> SendOutcome {
    fake.script([reply]);
    sink.send(&alert("E")).await
}

#[tokio::test]
async fn slack_webhook_answers_are_classified() {
    let fake = Fake::start().await;
    let sink = SlackSink::webhook(&fake.url("/services/T/B/x")).unwrap();
    let ok = send_with(Reply::Status(200, vec![], "ok".into()), &sink, &fake).await;
    assert_eq!(ok, SendOutcome::delivered());
    for (status, body) in [
        (400, "invalid_payload"),
        (400, "invalid_blocks"),
        (403, "action_prohibited"),
        (404, "channel_not_found"),
        (410, "channel_is_archived"),
    ] {
        let out = send_with(Reply::Status(status, vec![], body.into()), &sink, &fake).await;
        assert!(
            matches!(&out, SendOutcome::Rejected { reason } if reason.contains(body)),
            "{status} {body}: {out:?}"
        );
    }
    let out = send_with(
        Reply::Status(500, vec![], "rollup_error".into()),
        &sink,
        &fake,
    )
    .await;
    assert!(matches!(out, SendOutcome::Retry { .. }), "{out:?}");
    // Retry-After in seconds.
    let out = send_with(
        Reply::Status(
            429,
            vec![("Retry-After", "7".into())],
            "rate_limited".into(),
        ),
        &sink,
        &fake,
    )
    .await;
    assert_eq!(
        out,
        SendOutcome::RateLimited {
            retry_after: Duration::from_secs(7),
            reason: "429 rate_limited".into()
        }
    );
    // Retry-After as an HTTP date, 30 s ahead.
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(30));
    let out = send_with(
        Reply::Status(429, vec![("Retry-After", at)], String::new()),
        &sink,
        &fake,
    )
    .await;
    match out {
        SendOutcome::RateLimited { retry_after, .. } => {
            assert!(
                retry_after <= Duration::from_secs(30) && retry_after >= Duration::from_secs(28),
                "{retry_after:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // No header: the body's retry_after.
    let out = send_with(
        Reply::Status(
            429,
            vec![],
            r#"{"retry_after":4,"ok":false,"error":"rate_limited"}"#.into(),
        ),
        &sink,
        &fake,
    )
    .await;
    assert!(
        matches!(out, SendOutcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(4))
    );
    // A hang ends at the configured timeout and is retried.
    let sink = sink.timeout(Duration::from_millis(200));
    let out = send_with(Reply::Hang, &sink, &fake).await;
    assert!(
        matches!(&out, SendOutcome::Retry { reason, .. } if reason.contains("timed out")),
        "{out:?}"
    );
    // The webhook URL never shows in errors.
    assert!(!format!("{out:?}").contains("/services/T/B/x"));
}

#[tokio::test]
async fn slack_bot_posts_with_token_and_handles_both_rate_limits() {
    let fake = Fake::start().await;
    let sink = SlackSink::bot("xoxb-test-token", "C123")
        .unwrap()
        .api_base(&fake.url("/api"))
        .unwrap();
    assert!(!format!("{sink:?}").contains("xoxb"));
    let out = sink.send(&alert("E")).await;
    assert_eq!(out, SendOutcome::delivered());
    let got = &fake.accepted()[0];
    assert_eq!(got.path, "/api/chat.postMessage");
    assert_eq!(got.headers["authorization"], "Bearer xoxb-test-token");
    let v = got.json();
    assert_eq!(v["channel"], "C123");
    support::assert_slack_limits(&v);
    // 200 with ok:false ratelimited, and a plain 429.
    let out = send_with(
        Reply::Status(
            200,
            vec![("Retry-After", "3".into())],
            r#"{"ok":false,"error":"ratelimited"}"#.into(),
        ),
        &sink,
        &fake,
    )
    .await;
    assert!(
        matches!(out, SendOutcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(3)),
        "{out:?}"
    );
    let out = send_with(
        Reply::Status(429, vec![("Retry-After", "2".into())], String::new()),
        &sink,
        &fake,
    )
    .await;
    assert!(
        matches!(out, SendOutcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(2)),
        "{out:?}"
    );
    let out = send_with(
        Reply::Status(
            200,
            vec![],
            r#"{"ok":false,"error":"channel_not_found"}"#.into(),
        ),
        &sink,
        &fake,
    )
    .await;
    assert!(matches!(out, SendOutcome::Rejected { .. }), "{out:?}");
}

#[tokio::test]
async fn sentry_envelopes_parse_and_rate_limits_are_read() {
    let fake = Fake::start().await;
    let sink = SentrySink::new(&format!("http://publickey@{}/42", fake.addr)).unwrap();
    assert_eq!(sink.send(&alert("E")).await, SendOutcome::delivered());
    let got = &fake.accepted()[0];
    assert_eq!(got.path, "/api/42/envelope/");
    let auth = got.headers["x-sentry-auth"].to_str().unwrap();
    assert!(
        auth.starts_with("Sentry sentry_key=publickey, sentry_version=7"),
        "{auth}"
    );
    let env = Envelope::from_slice(&got.body).unwrap();
    let ev = env.event().expect("an event item");
    assert_eq!(ev.tags["code"], "E");
    assert_eq!(ev.tags["route"], "/a/{id}");
    assert_eq!(ev.fingerprint.as_ref(), ["fp"]);
    assert_eq!(ev.user.as_ref().unwrap().id.as_deref(), Some("u1"));
    assert_eq!(ev.environment.as_deref(), Some("test"));
    assert_eq!(ev.exception.values[0].value.as_deref(), Some("db: timeout"));
    // A rate limit announced on a 200.
    let out = send_with(
        Reply::Status(
            200,
            vec![(
                "X-Sentry-Rate-Limits",
                "60:transaction:key, 5:error:organization".into(),
            )],
            String::new(),
        ),
        &sink,
        &fake,
    )
    .await;
    assert_eq!(
        out,
        SendOutcome::Delivered {
            hold: Some(Duration::from_secs(5))
        }
    );
    fake.state.lock().unwrap().hold_until = None;
    // A bare 429 means 60 s.
    let out = send_with(Reply::Status(429, vec![], String::new()), &sink, &fake).await;
    assert!(
        matches!(out, SendOutcome::RateLimited { retry_after, .. } if retry_after == Duration::from_secs(60)),
        "{out:?}"
    );
    let out = send_with(Reply::Status(413, vec![], "too large".into()), &sink, &fake).await;
    assert!(matches!(out, SendOutcome::Rejected { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_rate_limit_holds_spooled_alerts_through_the_window() {
    let fake = Fake::start().await;
    fake.script([Reply::Status(
        200,
        vec![(
            "X-Sentry-Rate-Limits",
            "2:error:organization:quota_exceeded".into(),
        )],
        String::new(),
    )]);
    let clock = ManualClock::new(Utc::now());
    let (_layer, handle) = Alerting::new()
        .sink(SentrySink::new(&format!("http://k@{}/7", fake.addr)).unwrap())
        .clock(clock.clone())
        .store_memory()
        .delivery(fast_delivery())
        .start()
        .await
        .unwrap();
    for i in 0..4 {
        handle
            .capturer()
            .capture(Event::new(format!("HELD_{i}"), 500));
    }
    handle.flush().await;
    clock.advance(Duration::from_secs(10));
    handle.flush().await;
    assert!(handle.wait_delivered(Duration::from_secs(20)).await);
    handle.shutdown().await;
    let accepted = fake.accepted();
    assert_eq!(accepted.len(), 4);
    assert_eq!(
        fake.violations(),
        0,
        "nothing was sent inside the announced window"
    );
    assert!(accepted[1].at.duration_since(accepted[0].at) >= Duration::from_secs(2));
    for r in &accepted {
        Envelope::from_slice(&r.body).unwrap().event().unwrap();
    }
}

#[tokio::test]
async fn webhook_signature_verifies() {
    let fake = Fake::start().await;
    let sink = WebhookSink::new(&fake.url("/in"), "shared-secret").unwrap();
    assert_eq!(sink.send(&alert("SIGNED")).await, SendOutcome::delivered());
    let got = &fake.accepted()[0];
    let ts = got.headers[webhook::TIMESTAMP_HEADER].to_str().unwrap();
    let sig = got.headers[webhook::SIGNATURE_HEADER].to_str().unwrap();
    let now = Utc::now().timestamp();
    assert!(webhook::verify(
        b"shared-secret",
        ts,
        &got.body,
        sig,
        now,
        300
    ));
    assert!(!webhook::verify(
        b"other-secret",
        ts,
        &got.body,
        sig,
        now,
        300
    ));
    let mut tampered = got.body.to_vec();
    tampered[5] ^= 1;
    assert!(!webhook::verify(
        b"shared-secret",
        ts,
        &tampered,
        sig,
        now,
        300
    ));
    assert!(
        !webhook::verify(b"shared-secret", ts, &got.body, sig, now + 3600, 300),
        "replay"
    );
    let v = got.json();
    assert_eq!(v["code"], "SIGNED");
    assert_eq!(v["count"], 3);
    let out = send_with(Reply::Status(422, vec![], "no".into()), &sink, &fake).await;
    assert!(matches!(out, SendOutcome::Rejected { .. }));
    let out = send_with(
        Reply::Status(503, vec![("Retry-After", "9".into())], String::new()),
        &sink,
        &fake,
    )
    .await;
    assert_eq!(
        out,
        SendOutcome::Retry {
            retry_after: Some(Duration::from_secs(9)),
            reason: "503 ".into()
        }
    );
}
