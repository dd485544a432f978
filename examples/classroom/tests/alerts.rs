//! Alerting wired into the service: a Kakao outage becomes one alert plus digests whose counts
//! add up to the failed requests; a flood of KAKAO_ACCOUNT_NOT_AVAILABLE (400, `alert = "spike"`)
//! becomes one spike alert. Alerts go through the real webhook sink to a receiver on loopback.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use classroom::config::{Config, PasswordHashing};
use common::{listen, webhook_receiver};
use errata_alert::sink::webhook::WebhookSink;
use errata_alert::{Alerting, Timing};
use serde_json::Value;
use tokio::net::TcpListener;

const OUTAGE: u8 = 0;
const ACCOUNT: u8 = 1;

/// Kakao's channel API, failing the way the current mode says.
async fn fake_kakao(mode: Arc<AtomicU8>) -> String {
    listen(Router::new().route(
        "/v1/api/talk/channels",
        get(move || {
            let mode = mode.load(Ordering::SeqCst);
            async move {
                match mode {
                    OUTAGE => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "<html>internal error</html>".to_owned(),
                    ),
                    _ => (
                        StatusCode::BAD_REQUEST,
                        r#"{"msg":"given account is not connected to any talk user.","code":-101}"#
                            .to_owned(),
                    ),
                }
            }
        }),
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_one_alert_plus_digests_and_a_flood_is_one_spike_alert() {
    let mode = Arc::new(AtomicU8::new(OUTAGE));
    let kakao = fake_kakao(Arc::clone(&mode)).await;
    let received = Arc::new(Mutex::new(Vec::new()));
    let hook = webhook_receiver("/hook", Arc::clone(&received)).await;

    let dir = tempfile::tempdir().unwrap();
    let vars: HashMap<&str, String> = HashMap::from([
        ("CLASSROOM_ADDR", "127.0.0.1:0".to_owned()),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("c.db").display()),
        ),
        (
            "JWT_SECRET",
            "alerts-test-secret-0123456789abcdef".to_owned(),
        ),
        ("KAKAO_API_BASE", kakao),
        ("KAKAO_TIMEOUT_MS", "2000".to_owned()),
        ("CLASSROOM_RATE_ANON", "off".to_owned()),
        ("CLASSROOM_RATE_USER", "off".to_owned()),
        ("CLASSROOM_RATE_BURST", "off".to_owned()),
    ]);
    let mut config = Config::from_lookup(|name| vars.get(name).cloned()).unwrap();
    config.password_hashing = PasswordHashing::Fast;
    let app = classroom::build(&config).await.unwrap();
    let (layer, handle) = Alerting::new()
        .catalog(classroom::errors::catalog())
        .service("classroom")
        .store_path(dir.path().join("alerts.sqlite3"))
        .sink(WebhookSink::new(&format!("{hook}/hook"), "hook-secret").unwrap())
        .timing(Timing {
            group_wait: Duration::from_millis(300),
            group_interval: Duration::from_millis(700),
            repeat_interval: Duration::from_secs(3600),
        })
        .start()
        .await
        .unwrap();
    // As in the binary: the capture layer wraps the whole router.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let service = tower::Layer::layer(&layer, app.router);
    tokio::spawn(classroom::serve_on(
        listener,
        service,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let signup: Value = client
        .post(format!("{base}/v1/auth/signup"))
        .json(&serde_json::json!({"email": "kim@example.com", "password": "correct-horse", "name": "Kim"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = signup["access"].as_str().unwrap().to_owned();
    let call = || {
        client
            .get(format!("{base}/v1/user/kakao-channel-added"))
            .bearer_auth(&token)
            .header("x-kakao-token", "kakao-user-token")
            .send()
    };

    // A Kakao outage: 60 failures over a little more than a second.
    for i in 0..60 {
        assert_eq!(call().await.unwrap().status(), 502);
        if i % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
    // A flood of account-state errors, past the catalog's spike rule (100 in 5 min).
    mode.store(ACCOUNT, Ordering::SeqCst);
    for _ in 0..150 {
        assert_eq!(call().await.unwrap().status(), 400);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    handle.shutdown().await;

    let alerts = received.lock().unwrap().clone();
    let of = |code: &str| {
        alerts
            .iter()
            .filter(|a| a["code"] == code)
            .cloned()
            .collect::<Vec<_>>()
    };
    let outage = of("UPSTREAM_ERROR");
    assert!(
        !outage.is_empty() && outage.len() <= 4,
        "one alert plus a few digests: {outage:#?}"
    );
    assert_eq!(outage[0]["kind"], "new");
    let counted: u64 = outage.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, 60, "the counts add up to the failed requests");
    assert!(outage.iter().all(|a| a["status"] == 502));
    assert_eq!(
        outage[0]["routes"][0]["route"], "GET /v1/user/kakao-channel-added",
        "the route template, passed on by the edge layer: {:#?}",
        outage[0]
    );

    let flood = of("KAKAO_ACCOUNT_NOT_AVAILABLE");
    let firsts: Vec<&Value> = flood.iter().filter(|a| a["kind"] == "new").collect();
    assert_eq!(firsts.len(), 1, "one spike alert: {flood:#?}");
    let counted: u64 = flood.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    assert!(counted <= 150, "{counted}");

    let sample = serde_json::to_string(&alerts).unwrap();
    assert!(
        !sample.contains("kakao-user-token") && !sample.contains(&token),
        "no token in any alert"
    );
}
