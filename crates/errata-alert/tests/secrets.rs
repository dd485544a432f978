//! Secrets planted in headers, query and body (cause chain, upstream text) appear in no sink
//! payload, not in the store (the SQLite file's raw bytes, WAL included), not in the logs.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use errata_alert::sink::{SentrySink, SlackSink, WebhookSink};
use errata_alert::{AlertPolicy, Alerting, ErrorReport, ManualClock, UpstreamDetail};
use support::causes::failing;
use support::{fast_delivery, Fake};
use tower::ServiceExt;

const SECRETS: &[&str] = &[
    "HDR_AUTH_5e1",
    "HDR_PROXY_5e2",
    "HDR_COOKIE_5e3",
    "HDR_APIKEY_5e4",
    "QRY_TOKEN_5e5",
    "QRY_ACCESS_5e6",
    "QRY_PASSWORD_5e7",
    "BODY_PASSWORD_5e8",
    "BODY_TOKEN_5e9",
    "BODY_BEARER_5ea",
    "BODY_SECRET_5eb",
    "UP_APIKEY_5ec",
    "PANIC_TOKEN_5ed",
];

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn leaky() -> Response {
    let mut resp = (StatusCode::BAD_GATEWAY, "{}").into_response();
    resp.extensions_mut().insert(ErrorReport {
        code: "UPSTREAM_FAILED".into(),
        status: 502,
        message: "The upstream failed.".into(),
        locale: "en".into(),
        request_id: Some("req-1".into()),
        error: Arc::new(failing(
            "UPSTREAM_FAILED",
            502,
            vec![
                r#"login failed for {"user":"kim","password":"BODY_PASSWORD_5e8"}"#.into(),
                "POST /oauth token=BODY_TOKEN_5e9&grant_type=x".into(),
                "sent Authorization: Bearer BODY_BEARER_5ea".into(),
                r#"{"client_secret": "BODY_SECRET_5eb"}"#.into(),
            ],
            Some(UpstreamDetail {
                name: "kakao".into(),
                status: Some(401),
                body: r#"{"error":"bad key","api_key":"UP_APIKEY_5ec"}"#.into(),
                timed_out: false,
            }),
        )),
        in_catalog: true,
        alert: AlertPolicy::Always,
        spike: None,
        docs_url: None,
    });
    resp
}

async fn panics() -> &'static str {
    panic!("cannot parse token=PANIC_TOKEN_5ed")
}

#[test]
fn secrets_reach_no_sink_store_or_log() {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.sqlite3");
    let fake = rt.block_on(Fake::start());
    rt.block_on(async {
        let clock = ManualClock::new(chrono::Utc::now());
        let sentry_dsn = format!("http://SENTRYKEY_5f0@{}/42", fake.addr);
        let (layer, handle) = Alerting::new()
            .sink(
                SlackSink::webhook(&fake.url("/services/T0/B0/HOOKSECRET_5f1"))
                    .unwrap()
                    .min_interval(Duration::ZERO),
            )
            .sink(SentrySink::new(&sentry_dsn).unwrap())
            .sink(WebhookSink::new(&fake.url("/hook/HOOKPATH_5f2"), "SHARED_5f3").unwrap())
            .clock(clock.clone())
            .store_path(&store)
            .delivery(fast_delivery())
            .start()
            .await
            .unwrap();
        tracing::info!(handle = ?handle, "started");
        let app = Router::new()
            .route("/ws", get(leaky))
            .route("/boom", get(panics))
            .layer(layer);
        let req = Request::get(
            "/ws?room=1&token=QRY_TOKEN_5e5&access_token=QRY_ACCESS_5e6&password=QRY_PASSWORD_5e7",
        )
        .header("Authorization", "Bearer HDR_AUTH_5e1")
        .header("Proxy-Authorization", "Basic HDR_PROXY_5e2")
        .header("Cookie", "session=HDR_COOKIE_5e3")
        .header("X-Api-Key", "HDR_APIKEY_5e4")
        .header("User-Agent", "test-agent")
        .body(Body::empty())
        .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 502);
        let _ = tokio::spawn(
            app.clone()
                .oneshot(Request::get("/boom").body(Body::empty()).unwrap()),
        )
        .await;
        handle.flush().await;
        clock.advance(Duration::from_secs(10));
        handle.flush().await;
        assert!(handle.wait_delivered(Duration::from_secs(20)).await);
        handle.shutdown().await;
    });
    let received = fake.accepted();
    assert_eq!(received.len(), 6, "2 alerts × 3 sinks");
    let mut payloads = Vec::new();
    for r in &received {
        payloads.extend_from_slice(&r.body);
        for (k, v) in &r.headers {
            payloads.extend_from_slice(k.as_str().as_bytes());
            payloads.extend_from_slice(v.as_bytes());
        }
    }
    let payload_text = String::from_utf8_lossy(&payloads).into_owned();
    // The scrubbed payload still says what happened.
    assert!(payload_text.contains("UPSTREAM_FAILED"));
    assert!(payload_text.contains("[Filtered]"));
    assert!(payload_text.contains("test-agent"));
    let mut store_bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        store_bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(store_bytes.len() > 1000);
    let log_text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(log_text.contains("started"), "logs were captured");
    let store_text = String::from_utf8_lossy(&store_bytes).into_owned();
    for s in SECRETS.iter().chain(&[
        "SENTRYKEY_5f0",
        "HOOKSECRET_5f1",
        "HOOKPATH_5f2",
        "SHARED_5f3",
    ]) {
        assert!(!store_text.contains(s), "{s} in the store");
        assert!(!log_text.contains(s), "{s} in the logs");
    }
    for s in SECRETS {
        assert!(!payload_text.contains(s), "{s} in a sink payload");
    }
}
