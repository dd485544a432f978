//! A storm of 10,000 errors in 10 fingerprints through the capture layer, an overloaded capture
//! queue, and a Slack-like server that paces, fails and hangs: a few messages per fingerprint,
//! escaped and within Block Kit limits, whose counts add up to exactly the errors sent.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use errata_alert::sink::SlackSink;
use errata_alert::{
    AlertPolicy, Alerting, CaptureContext, DeliveryOptions, ErrorReport, ManualClock,
    UpstreamDetail,
};
use std::sync::Arc;

use support::causes::failing;
use support::{assert_slack_limits, slack_code, slack_count, Fake, Reply};
use tower::ServiceExt;

async fn fail(Path((k, rest)): Path<(u32, String)>, ctx: CaptureContext) -> Response {
    ctx.set_user(format!("<!here>-user-{}", rest.len() % 7));
    let mut resp = (StatusCode::INTERNAL_SERVER_ERROR, "{}").into_response();
    let long_cause = "연결 실패 & <b>timeout</b> ".repeat(800);
    resp.extensions_mut().insert(ErrorReport {
        code: format!("STORM_{k}").into(),
        status: 500,
        message: format!("<!channel> order {} failed", rest.len()).into(),
        locale: "en".into(),
        request_id: Some(format!("req-{}", rest.len()).into()),
        error: Arc::new(failing(
            &format!("STORM_{k}"),
            500,
            vec![
                format!(
                    "db error: <https://evil.example|click here> row {}",
                    rest.len()
                ),
                long_cause,
            ],
            Some(UpstreamDetail {
                name: "kakao".into(),
                status: Some(400),
                body: r#"{"code":-402,"msg":"<!everyone>"}"#.repeat(300),
                timed_out: false,
            }),
        )),
        in_catalog: true,
        alert: AlertPolicy::Always,
        spike: None,
        docs_url: Some(format!("https://docs.example/errors/STORM_{k}").into()),
    });
    resp
}

async fn burst(app: &Router, n: usize) {
    for i in 0..n {
        let k = i % 10;
        let uri = format!("/fail/{k}/{}", "x".repeat(i % 13 + 1));
        let resp = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 500);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_ten_thousand_becomes_a_few_exact_messages() {
    let fake = Fake::slack().await;
    // The first sends meet a 500, a hang and another 500.
    fake.script([
        Reply::Status(500, vec![], "rollup_error".into()),
        Reply::Hang,
        Reply::Status(500, vec![], "rollup_error".into()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(chrono::Utc::now());
    let sink = SlackSink::webhook(&fake.url("/services/T0/B0/storm"))
        .unwrap()
        .timeout(Duration::from_millis(300));
    let (layer, handle) = Alerting::new()
        .sink(sink)
        .clock(clock.clone())
        .queue_capacity(64)
        .store_path(dir.path().join("storm.sqlite3"))
        .delivery(DeliveryOptions {
            shutdown_timeout: Duration::from_secs(90),
            ..support::fast_delivery()
        })
        .start()
        .await
        .unwrap();
    let app = Router::new()
        .route("/fail/{k}/{*rest}", get(fail))
        .layer(layer);

    // First burst: one message per fingerprint after group_wait.
    burst(&app, 5_000).await;
    handle.flush().await;
    clock.advance(Duration::from_secs(6));
    handle.flush().await;
    // The storm goes on; one digest per fingerprint after group_interval.
    burst(&app, 5_000).await;
    handle.flush().await;
    clock.advance(Duration::from_secs(301));
    handle.flush().await;

    let stats = handle.stats().await;
    assert_eq!(stats.capture.captured, 10_000);
    assert!(
        stats.capture.folded > 0,
        "the small queue overflowed into counters"
    );
    assert_eq!(stats.aggregated, 10_000);
    handle.shutdown().await;

    let received = fake.accepted();
    let mut per_code: HashMap<String, (usize, u64)> = HashMap::new();
    for r in &received {
        let v = r.json();
        assert_slack_limits(&v);
        let raw = String::from_utf8_lossy(&r.body);
        for mention in ["<!channel>", "<!here>", "<!everyone>", "<https://evil"] {
            assert!(!raw.contains(mention), "unescaped {mention} in {raw}");
        }
        assert!(raw.contains("&lt;!channel&gt;"));
        let e = per_code.entry(slack_code(&v)).or_default();
        e.0 += 1;
        e.1 += slack_count(&v);
    }
    assert_eq!(per_code.len(), 10, "{per_code:?}");
    for (code, (messages, count)) in &per_code {
        assert!(*messages <= 3, "{code}: {messages} messages");
        assert_eq!(*count, 1_000, "{code}");
    }
    let total: u64 = per_code.values().map(|v| v.1).sum();
    assert_eq!(total, 10_000);
    // Failures were retried: the fake saw more requests than it accepted.
    assert!(fake.all().len() >= received.len() + 3);
}
