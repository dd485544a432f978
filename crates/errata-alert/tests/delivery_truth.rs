//! Delivery that cannot be fooled: a sink answering 301/302/307 towards another origin on
//! loopback is never marked delivered and nothing (no alert, no `X-Sentry-Auth`, no
//! `X-Errata-Signature`) reaches that origin; Sentry events carry `level` and `request.url`; a
//! PostgreSQL store URL without a database is a configuration error naming `ERRATA_STORE`.

mod support;

use std::time::Duration;

use chrono::Utc;
use errata_alert::sink::{sentry, SentrySink, SlackSink, WebhookSink};
use errata_alert::{Alert, AlertKind, Alerting, DeliveryOptions, Event, ListFilter};
use support::{fast_delivery, Fake, Reply};

/// Waits (generously) until `cond` holds; returns whether it did.
async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..600 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cond()
}

async fn redirects_are_failures(status: u16) {
    let elsewhere = Fake::start().await;
    let redirector = Fake::start().await;
    let location = elsewhere.url("/collect");
    redirector.script(
        (0..200)
            .map(|_| Reply::Status(status, vec![("location", location.clone())], String::new())),
    );
    let dir = tempfile::tempdir().unwrap();
    let (_layer, handle) = Alerting::new()
        .store_path(dir.path().join("spool.sqlite3"))
        .console(false)
        .sink(WebhookSink::new(&redirector.url("/hook"), "webhook-secret").unwrap())
        .sink(SentrySink::new(&format!("http://publickey@{}/42", redirector.addr)).unwrap())
        .sink(SlackSink::webhook(&redirector.url("/services/T/B/x")).unwrap())
        .delivery(DeliveryOptions {
            shutdown_timeout: Duration::from_millis(500),
            ..fast_delivery()
        })
        .timing(errata_alert::Timing {
            group_wait: Duration::from_millis(10),
            ..Default::default()
        })
        .start()
        .await
        .unwrap();
    handle
        .capturer()
        .capture(Event::new("PAYMENT_DOWN", 503).with_message("payments are down"));
    handle.flush().await;
    // Every sink tried at least twice (a first attempt and a retry), all redirected.
    let tried = eventually(|| {
        let all = redirector.all();
        ["/hook", "/api/42/envelope/", "/services/T/B/x"]
            .iter()
            .all(|p| all.iter().filter(|r| r.path == *p).count() >= 2)
    })
    .await;
    assert!(
        tried,
        "every sink was tried twice: {:?}",
        redirector.all().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(
        elsewhere.all().is_empty(),
        "{status}: the other origin received {} requests",
        elsewhere.all().len()
    );
    let pending = handle.backend().list(ListFilter::Pending).await.unwrap();
    assert_eq!(pending.len(), 3, "{status}: never marked delivered");
    for d in &pending {
        assert!(d.attempts >= 1, "{d:?}");
        let why = d.last_error.as_deref().unwrap_or("");
        assert!(
            why.starts_with(&format!("{status} redirect, not followed")),
            "{why}"
        );
    }
    handle.shutdown().await;
    assert!(elsewhere.all().is_empty());
    assert_eq!(
        handle.pending().await.unwrap(),
        3,
        "kept for the next start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_301_is_never_followed() {
    redirects_are_failures(301).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_302_is_never_followed() {
    redirects_are_failures(302).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_307_is_never_followed() {
    redirects_are_failures(307).await;
}

fn http_alert() -> Alert {
    let now = Utc::now();
    let mut sample = Event::new("E", 500)
        .with_route("/users/{id}")
        .with_message("boom");
    sample.method = "GET".into();
    sample.path = "/users/42?expand=orders".into();
    sample.headers = vec![("host".into(), "shop.example".into())];
    Alert {
        id: uuid::Uuid::now_v7().to_string(),
        kind: AlertKind::New,
        fingerprint: "fp".into(),
        code: "E".into(),
        status: 500,
        count: 1,
        total: 1,
        window_start: now,
        window_end: now,
        first_seen: now,
        last_seen: now,
        users: 0,
        users_total: 0,
        users_capped: false,
        routes: vec![],
        params: vec![],
        sample,
        service: Some("shop".into()),
        environment: None,
        release: None,
        docs_url: None,
        notice: 1,
        resolve_after_secs: None,
        upstream: None,
    }
}

#[tokio::test]
async fn sentry_events_carry_level_and_request_url() {
    let fake = Fake::start().await;
    let sink = SentrySink::new(&format!("http://publickey@{}/42", fake.addr)).unwrap();
    let alert = http_alert();
    assert_eq!(
        errata_alert::Sink::send(&sink, &alert).await,
        errata_alert::SendOutcome::delivered()
    );
    let got = &fake.accepted()[0];
    // The wire form, as Sentry reads it: header, item header, event.
    let text = std::str::from_utf8(&got.body).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let item: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(item["type"], "event");
    assert_eq!(item["length"], lines[2].len());
    let ev: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(ev["level"], "error");
    assert_eq!(
        ev["request"]["url"],
        "http://shop.example/users/42?expand=orders"
    );
    assert_eq!(ev["request"]["method"], "GET");
    // The SDK's own parser reads it too.
    let env = sentry_types::protocol::v7::Envelope::from_slice(&got.body).unwrap();
    let parsed = env.event().expect("an event item");
    assert_eq!(
        parsed
            .request
            .as_ref()
            .unwrap()
            .url
            .as_ref()
            .unwrap()
            .as_str(),
        "http://shop.example/users/42?expand=orders"
    );
    // Outside HTTP there is no request, and the level is still said.
    let mut job = http_alert();
    job.sample = Event::new("NIGHTLY", 500);
    let ev = sentry::event_json(&job);
    assert_eq!(ev["level"], "error");
    assert!(
        ev.get("request").is_none_or(|r| r.get("url").is_none()),
        "{ev}"
    );
}

#[tokio::test]
async fn a_postgres_store_url_without_a_database_is_a_config_error() {
    for url in [
        "postgres://postgres@127.0.0.1:5432",
        "postgres://postgres:pw@127.0.0.1:5432/",
    ] {
        let err = Alerting::new()
            .store_postgres(url)
            .console(false)
            .start()
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("ERRATA_STORE: "), "{text}");
        assert!(text.contains("names no database"), "{text}");
        assert!(!text.contains("pw@"), "the password is not shown: {text}");
    }
}
