//! The relay on loopback, driven over real HTTP: every accepted, refused, malformed,
//! truncated, oversized, wrongly encoded and unauthenticated case with its exact answer.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errata_alert::{Alert, Alerting, SendOutcome, Sink};
use errata_relay::{Relay, RelaySettings};
use futures_util::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;

const KEY: &str = "publickey1";
const EVENT_ID: &str = "9ec79c33ec9942ab8353589fcb2e04dc";

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Alert>>>);

impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }
    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        self.0.lock().unwrap().push(alert.clone());
        Box::pin(async { SendOutcome::Delivered { hold: None } })
    }
}

fn settings(tweak: impl FnOnce(&mut RelaySettings)) -> RelaySettings {
    let mut s = RelaySettings::from_sources(None, |k| match k {
        "ERRATA_RELAY_ADDR" => Some("127.0.0.1:0".into()),
        "ERRATA_RELAY_PROJECTS" => Some(format!("1:{KEY},2:otherkey")),
        _ => None,
    })
    .unwrap();
    tweak(&mut s);
    s
}

async fn relay_with(tweak: impl FnOnce(&mut RelaySettings)) -> (Relay, Recorder) {
    let rec = Recorder::default();
    let alerting = Alerting::new()
        .store_memory()
        .console(false)
        .sink(rec.clone());
    (Relay::start(settings(tweak), alerting).await.unwrap(), rec)
}

async fn relay() -> Relay {
    relay_with(|_| {}).await.0
}

fn auth() -> String {
    format!("Sentry sentry_version=7, sentry_client=sentry.python/2.19.0, sentry_key={KEY}")
}

fn event_json() -> Value {
    json!({
        "event_id": EVENT_ID,
        "platform": "python",
        "exception": {"values": [{
            "type": "KakaoAccountNotAvailableError",
            "module": "kakao.errors",
            "value": "account 42 is not available",
            "mechanism": {"type": "django", "handled": false}
        }]},
        "transaction": "/api/login/kakao",
        "request": {
            "method": "POST",
            "url": "http://shop.test/api/login/kakao",
            "headers": {"Authorization": "Bearer planted-secret-token", "Cookie": "sessionid=planted-cookie"},
            "data": {"password": "planted-password"}
        }
    })
}

fn envelope_with(header: &Value, event: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(event).unwrap();
    let mut b = serde_json::to_vec(header).unwrap();
    b.push(b'\n');
    b.extend_from_slice(
        format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes(),
    );
    b.extend_from_slice(&payload);
    b.push(b'\n');
    b
}

fn envelope() -> Vec<u8> {
    envelope_with(
        &json!({"event_id": EVENT_ID, "sent_at": "2026-12-01T13:00:00Z"}),
        &event_json(),
    )
}

fn url(r: &Relay, path: &str) -> String {
    format!("http://{}{path}", r.local_addr())
}

async fn post(
    r: &Relay,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = reqwest::Client::new().post(url(r, path)).body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let h = resp.headers().clone();
    (status, h, resp.text().await.unwrap())
}

async fn post_envelope(
    r: &Relay,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut headers = vec![
        ("x-sentry-auth", auth()),
        ("content-type", "application/x-sentry-envelope".into()),
    ];
    if let Some(e) = encoding {
        headers.push(("content-encoding", e.into()));
    }
    post(r, "/api/1/envelope/", &headers, body).await
}

fn sentry_error(h: &reqwest::header::HeaderMap) -> &str {
    h.get("x-sentry-error")
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

#[allow(clippy::needless_pass_by_value)]
fn assert_refused(got: (StatusCode, reqwest::header::HeaderMap, String), status: u16, error: &str) {
    assert_eq!(got.0.as_u16(), status, "body {}", got.2);
    assert_eq!(sentry_error(&got.1), error);
    let body: Value = serde_json::from_str(&got.2).unwrap();
    assert_eq!(body, json!({"detail": error}));
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
        w.write_all(b).unwrap();
    }
    out
}

#[tokio::test]
async fn an_envelope_in_every_encoding_is_accepted_with_its_id() {
    let r = relay().await;
    let plain = envelope();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(&plain).unwrap();
    let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    raw.write_all(&plain).unwrap();
    let bodies = [
        (None, plain.clone()),
        (Some("gzip"), gzip(&plain)),
        (Some("deflate"), zlib.finish().unwrap()),
        (Some("deflate"), raw.finish().unwrap()),
        (Some("br"), brotli(&plain)),
        (Some("zstd"), zstd::encode_all(&plain[..], 3).unwrap()),
    ];
    for (enc, body) in bodies {
        let (status, _, text) = post_envelope(&r, enc, body).await;
        assert_eq!(status, StatusCode::OK, "{enc:?}: {text}");
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({"id": EVENT_ID})
        );
    }
    assert_eq!(r.stats().events, 6);
    r.alerting().flush().await;
    assert_eq!(r.alerting().stats().await.aggregated, 6);
    r.shutdown().await;
}

#[tokio::test]
async fn a_chunked_gzip_body_is_accepted() {
    let r = relay().await;
    let body = gzip(&envelope());
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        body.chunks(100).map(|c| Ok(c.to_vec())).collect();
    let resp = reqwest::Client::new()
        .post(url(&r, "/api/1/envelope/"))
        .header("x-sentry-auth", auth())
        .header("content-encoding", "gzip")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().get("content-length").is_some());
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"id": EVENT_ID}));
    r.shutdown().await;
}

#[tokio::test]
async fn every_way_to_authenticate_and_every_refusal() {
    let r = relay().await;
    // The query, as browser SDKs send it.
    let got = post(
        &r,
        &format!("/api/1/envelope/?sentry_version=7&sentry_key={KEY}"),
        &[],
        envelope(),
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.2);
    // The envelope header's dsn.
    let body = envelope_with(
        &json!({"event_id": EVENT_ID, "dsn": format!("http://{KEY}@relay.test/1")}),
        &event_json(),
    );
    let got = post(&r, "/api/1/envelope/", &[], body).await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.2);
    // Nothing at all.
    assert_refused(
        post(&r, "/api/1/envelope/", &[], envelope()).await,
        403,
        "missing authorization information",
    );
    assert_refused(
        post(
            &r,
            "/api/1/store/",
            &[],
            serde_json::to_vec(&event_json()).unwrap(),
        )
        .await,
        403,
        "missing authorization information",
    );
    // A wrong key, another project's key, an unknown project, a dsn with a wrong key.
    let wrong = "Sentry sentry_version=7, sentry_key=nope".to_string();
    assert_refused(
        post(
            &r,
            "/api/1/envelope/",
            &[("x-sentry-auth", wrong)],
            envelope(),
        )
        .await,
        401,
        "invalid api key",
    );
    assert_refused(
        post(
            &r,
            "/api/2/envelope/",
            &[("x-sentry-auth", auth())],
            envelope(),
        )
        .await,
        401,
        "invalid api key",
    );
    assert_refused(
        post(
            &r,
            "/api/9/envelope/",
            &[("x-sentry-auth", auth())],
            envelope(),
        )
        .await,
        401,
        "invalid api key",
    );
    assert_refused(
        post(&r, "/api/1/envelope/?sentry_key=nope", &[], envelope()).await,
        401,
        "invalid api key",
    );
    let body = envelope_with(&json!({"dsn": "http://nope@relay.test/1"}), &event_json());
    assert_refused(
        post(&r, "/api/1/envelope/", &[], body).await,
        401,
        "invalid api key",
    );
    // Elsewhere.
    assert_refused(
        post(
            &r,
            "/api/1/minidump/",
            &[("x-sentry-auth", auth())],
            envelope(),
        )
        .await,
        404,
        "no such endpoint",
    );
    let s = r.stats();
    assert_eq!((s.events, s.unauthorized), (2, 7));
    r.shutdown().await;
}

#[tokio::test]
async fn malformed_and_truncated_envelopes_get_located_400s() {
    let r = relay().await;
    let cases: [(&[u8], &str); 8] = [
        (b"", "empty envelope"),
        (b"\n\n", "empty envelope"),
        (b"{\"event_id\": 5}\n", "invalid envelope header: invalid type: integer `5`, expected a string at line 1 column 14"),
        (
            b"not json\n",
            "invalid envelope header: not a JSON object",
        ),
        (
            b"{}\n{\"type\":\"event\",\"length\":500}\n{\"a\":1}\n",
            "item 1 is truncated: `length` 500 but 8 bytes left",
        ),
        (
            b"{}\n{\"type\":\"event\",\"length\":2}\n{}x\n",
            "item 1: expected a newline after the payload",
        ),
        (
            b"{}\n{\"length\":2}\n{}\n",
            "invalid item header of item 1: missing field `type` at line 1 column 12",
        ),
        (
            b"{}\n{\"type\":\"event\"}\n{\"exception\": \n",
            "invalid event payload (item 1): EOF while parsing a value at line 1 column 14",
        ),
    ];
    for (body, error) in cases {
        assert_refused(post_envelope(&r, None, body.to_vec()).await, 400, error);
    }
    assert_refused(
        post_envelope(&r, None, b"{}\n{\"type\":\"event\"}\n[1,2]\n".to_vec()).await,
        400,
        "invalid event payload (item 1): not a JSON object",
    );
    // A gzip body cut in half.
    let gz = gzip(&envelope());
    let got = post_envelope(&r, Some("gzip"), gz[..gz.len() / 2].to_vec()).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST);
    assert!(
        sentry_error(&got.1).starts_with("invalid gzip body: "),
        "{}",
        sentry_error(&got.1)
    );
    assert_eq!(r.stats().malformed, 10);
    assert_eq!(r.stats().events, 0);
    r.shutdown().await;
}

#[tokio::test]
async fn wrongly_encoded_bodies_get_400s() {
    let r = relay().await;
    let plain = envelope();
    for enc in ["gzip", "br", "zstd", "deflate"] {
        let got = post_envelope(&r, Some(enc), plain.clone()).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{enc}");
        assert!(
            sentry_error(&got.1).starts_with(&format!("invalid {enc} body: ")),
            "{enc}: {}",
            sentry_error(&got.1)
        );
    }
    assert_refused(
        post_envelope(&r, Some("compress"), plain.clone()).await,
        400,
        "unsupported content encoding `compress` (gzip, deflate, br, zstd or identity)",
    );
    // Brotli announced as gzip.
    let got = post_envelope(&r, Some("gzip"), brotli(&plain)).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST);
    r.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_items_and_bombs_get_413s() {
    let (r, _) = relay_with(|s| s.max_envelope_bytes = 3 << 20).await;
    // One event item over 1 MiB.
    let big = json!({"message": "x".repeat((1 << 20) + 10)});
    let got = post_envelope(&r, None, envelope_with(&json!({}), &big)).await;
    let size = serde_json::to_vec(&big).unwrap().len();
    assert_refused(
        got,
        413,
        &format!("item 1 (event) is {size} bytes, more than the 1048576 allowed"),
    );
    // A body over the envelope cap, by its Content-Length.
    assert_refused(
        post_envelope(&r, None, vec![b' '; (3 << 20) + 1]).await,
        413,
        "body of 3145729 bytes, more than the 3145728 allowed",
    );
    // The same, chunked (no Content-Length).
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 100_000])).collect();
    let resp = reqwest::Client::new()
        .post(url(&r, "/api/1/envelope/"))
        .header("x-sentry-auth", auth())
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await;
    // The relay may answer before the client has finished sending; either way nothing is taken.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            sentry_error(resp.headers()),
            "body larger than the 3145728 bytes allowed"
        );
    }
    // A gzip bomb: 64 MiB of zeros in a few KiB.
    let bomb = gzip(&vec![b'0'; 64 << 20]);
    assert!(bomb.len() < 200 << 10);
    assert_refused(
        post_envelope(&r, Some("gzip"), bomb).await,
        413,
        "body larger than 3145728 bytes once decompressed",
    );
    // The legacy store endpoint takes one event: its cap is the event's.
    let got = post(
        &r,
        "/api/1/store/",
        &[("x-sentry-auth", auth())],
        serde_json::to_vec(&big).unwrap(),
    )
    .await;
    assert_refused(
        got,
        413,
        &format!("event of {size} bytes, more than the 1048576 allowed"),
    );
    assert_eq!(r.stats().events, 0);
    r.shutdown().await;
}

#[tokio::test]
async fn unknown_items_are_skipped_and_client_reports_counted() {
    let r = relay().await;
    let mut body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n".to_vec();
    body.extend_from_slice(b"{\"type\":\"session\"}\n{\"sid\":\"x\",\"status\":\"ok\"}\n");
    body.extend_from_slice(b"{\"type\":\"something_new\",\"length\":3}\nabc\n");
    body.extend_from_slice(b"{\"type\":\"client_report\"}\n{\"timestamp\":1,\"discarded_events\":[{\"reason\":\"queue_overflow\",\"category\":\"error\",\"quantity\":7},{\"reason\":\"ratelimit_backoff\",\"category\":\"transaction\",\"quantity\":3}]}\n");
    let (status, _, text) = post_envelope(&r, None, body).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"id": EVENT_ID})
    );
    let s = r.stats();
    assert_eq!((s.events, s.skipped_items, s.sdk_discarded), (0, 2, 10));
    // Served over HTTP too.
    let served: Value = reqwest::get(url(&r, "/relay/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served["sdk_discarded"], 10);
    r.shutdown().await;
}

#[tokio::test]
async fn the_legacy_store_endpoint_takes_a_plain_event() {
    let r = relay().await;
    let body = gzip(&serde_json::to_vec(&event_json()).unwrap());
    let got = post(
        &r,
        "/api/1/store/",
        &[
            ("x-sentry-auth", auth()),
            ("content-encoding", "gzip".into()),
        ],
        body,
    )
    .await;
    assert_eq!(got.0, StatusCode::OK, "{}", got.2);
    assert_eq!(
        serde_json::from_str::<Value>(&got.2).unwrap(),
        json!({"id": EVENT_ID})
    );
    assert_refused(
        post(
            &r,
            "/api/1/store/",
            &[("x-sentry-auth", auth())],
            b"{\"a\":".to_vec(),
        )
        .await,
        400,
        "invalid event payload: EOF while parsing a value at line 1 column 5",
    );
    r.shutdown().await;
}

#[tokio::test]
async fn a_project_over_its_quota_gets_429_with_rate_limits() {
    let (r, _) = relay_with(|s| {
        s.quota = Some(errata_relay::Quota {
            events: 2,
            period: Duration::from_secs(60),
        });
    })
    .await;
    for _ in 0..2 {
        assert_eq!(post_envelope(&r, None, envelope()).await.0, StatusCode::OK);
    }
    let got = post_envelope(&r, None, envelope()).await;
    assert_eq!(got.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sentry_error(&got.1), "quota exceeded");
    let retry: u64 = got.1["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        got.1["x-sentry-rate-limits"].to_str().unwrap(),
        format!("{retry}::project:quota_exceeded")
    );
    // The other project has its own bucket.
    let other = "Sentry sentry_version=7, sentry_key=otherkey".to_string();
    assert_eq!(
        post(
            &r,
            "/api/2/envelope/",
            &[("x-sentry-auth", other)],
            envelope()
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(r.stats().over_quota, 1);
    assert_eq!(r.stats().events, 3);
    r.shutdown().await;
}

#[tokio::test]
async fn overload_is_shed_before_the_body_is_read() {
    let (r, _) = relay_with(|s| s.max_in_flight = 1).await;
    // A client that sends its headers and half its body, then stalls: it holds the one slot.
    let mut stalled = tokio::net::TcpStream::connect(r.local_addr())
        .await
        .unwrap();
    let body = envelope();
    let head = format!(
        "POST /api/1/envelope/ HTTP/1.1\r\nHost: relay\r\nX-Sentry-Auth: {}\r\nContent-Length: {}\r\n\r\n",
        auth(),
        body.len()
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&body[..body.len() / 2]).await.unwrap();
    stalled.flush().await.unwrap();
    // Once the stalled request holds the slot, the next one is shed with 429.
    let mut shed = None;
    for _ in 0..200 {
        let got = post_envelope(&r, None, envelope()).await;
        if got.0 == StatusCode::TOO_MANY_REQUESTS {
            shed = Some(got);
            break;
        }
        assert_eq!(got.0, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = shed.expect("never shed");
    assert_eq!(sentry_error(&got.1), "relay overloaded");
    assert_eq!(got.1["retry-after"], "1");
    assert_eq!(
        got.1["x-sentry-rate-limits"],
        "1::organization:relay_overloaded"
    );
    // The stalled client finishes: its event is taken, and the slot is free again.
    stalled.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut reply = vec![0u8; 4096];
    let n = tokio::io::AsyncReadExt::read(&mut stalled, &mut reply)
        .await
        .unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]);
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(reply.contains(EVENT_ID));
    let mut ok = false;
    for _ in 0..200 {
        if post_envelope(&r, None, envelope()).await.0 == StatusCode::OK {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok);
    assert!(r.stats().shed >= 1);
    r.shutdown().await;
}

#[tokio::test]
async fn a_storm_is_one_alert_with_the_catalog_code_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("errors.toml");
    std::fs::write(
        &catalog,
        r#"
[catalog]
name = "shop"
default_locale = "en"
locales = ["en"]
[errors.KAKAO_ACCOUNT_NOT_AVAILABLE]
status = 502
message.en = "The Kakao account is not available."
"#,
    )
    .unwrap();
    let (r, rec) = relay_with(|s| s.catalog = Some(catalog)).await;
    for i in 0..50 {
        let mut ev = event_json();
        ev["event_id"] = json!(format!("{:032x}", i + 1));
        ev["exception"]["values"][0]["value"] = json!(format!("account {i} is not available"));
        let got = post_envelope(&r, Some("br"), brotli(&envelope_with(&json!({}), &ev))).await;
        assert_eq!(got.0, StatusCode::OK, "{}", got.2);
        assert_eq!(
            serde_json::from_str::<Value>(&got.2).unwrap(),
            json!({"id": format!("{:032x}", i + 1)})
        );
    }
    r.shutdown().await;
    let alerts = rec.0.lock().unwrap().clone();
    assert!(!alerts.is_empty());
    assert!(alerts
        .iter()
        .all(|a| a.code == "KAKAO_ACCOUNT_NOT_AVAILABLE" && a.status == 502));
    assert_eq!(
        alerts
            .iter()
            .map(|a| a.fingerprint.clone())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1
    );
    assert_eq!(alerts.iter().map(|a| a.count).sum::<u64>(), 50);
    let text = serde_json::to_string(&alerts).unwrap();
    for planted in ["planted-secret-token", "planted-cookie", "planted-password"] {
        assert!(!text.contains(planted), "{planted} leaked: {text}");
    }
    assert_eq!(alerts[0].sample.route.as_deref(), Some("/api/login/kakao"));
    assert_eq!(alerts[0].sample.method, "POST");
}

#[tokio::test]
async fn upstream_sentry_gets_the_first_events_of_each_group_and_the_rest_are_counted() {
    use axum::routing::post as route_post;
    type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let got: Received = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/api/{pid}/envelope/",
        route_post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let g = g.clone();
                async move {
                    let auth = headers["x-sentry-auth"].to_str().unwrap().to_owned();
                    g.lock().unwrap().push((auth, body.to_vec()));
                    axum::Json(json!({"id": EVENT_ID}))
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let up = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (r, _) = relay_with(|s| {
        s.upstream = Some(errata_relay::UpstreamSettings {
            dsn: errata_alert::Secret::new(format!("http://upkey@{up}/77")),
            per_group: 3,
            window: Duration::from_secs(300),
        });
    })
    .await;
    for _ in 0..20 {
        assert_eq!(post_envelope(&r, None, envelope()).await.0, StatusCode::OK);
    }
    let mut other = event_json();
    other["exception"]["values"][0]["type"] = json!("OtherError");
    assert_eq!(
        post_envelope(&r, None, envelope_with(&json!({}), &other))
            .await
            .0,
        StatusCode::OK
    );
    for _ in 0..400 {
        if r.stats().upstream_forwarded == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let s = r.stats();
    assert_eq!(
        (
            s.upstream_forwarded,
            s.upstream_not_forwarded,
            s.upstream_failed
        ),
        (4, 17, 0)
    );
    let sent = got.lock().unwrap().clone();
    assert_eq!(sent.len(), 4);
    for (auth, body) in &sent {
        assert!(auth.ends_with("sentry_key=upkey"), "{auth}");
        let env = errata_relay::envelope::Envelope::parse(body, 1 << 20).unwrap();
        assert_eq!(env.items.len(), 1);
        let text = String::from_utf8_lossy(env.items[0].payload);
        assert!(!text.contains("planted"), "{text}");
        assert!(text.contains("KakaoAccountNotAvailableError") || text.contains("OtherError"));
    }
    r.shutdown().await;
}

/// A local stand-in for Sentry, Slack or a webhook receiver: keeps every body it is posted.
async fn receiver() -> (String, Arc<Mutex<Vec<axum::body::Bytes>>>) {
    let got: Arc<Mutex<Vec<axum::body::Bytes>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let g = g.clone();
        async move {
            g.lock().unwrap().push(body);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/in"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_of_a_storm_says_how_many_of_its_events_sentry_got() {
    use errata_alert::sink::{SlackSink, WebhookSink};
    use errata_alert::Clock;
    let (sentry, to_sentry) = receiver().await;
    let (slack, to_slack) = receiver().await;
    let (hook, to_hook) = receiver().await;
    let json = |got: &Arc<Mutex<Vec<axum::body::Bytes>>>| -> Vec<Value> {
        let bodies = got.lock().unwrap().clone();
        bodies
            .iter()
            .map(|b| serde_json::from_slice(b).unwrap())
            .collect()
    };
    let sentry_addr = sentry
        .trim_start_matches("http://")
        .trim_end_matches("/in")
        .to_owned();
    let clock = errata_alert::ManualClock::new(errata_alert::SystemClock.now());
    let alerting = Alerting::new()
        .store_memory()
        .console(false)
        .clock(clock.clone())
        .sink(
            SlackSink::webhook(&slack)
                .unwrap()
                .min_interval(Duration::ZERO),
        )
        .sink(WebhookSink::new(&hook, "shared").unwrap());
    let r = Relay::start(
        settings(|s| {
            s.upstream = Some(errata_relay::UpstreamSettings {
                dsn: errata_alert::Secret::new(format!("http://upkey@{sentry_addr}/77")),
                per_group: 3,
                window: Duration::from_secs(3600),
            });
        }),
        alerting,
    )
    .await
    .unwrap();
    // The storm's first events, then its first notice (group_wait 5 s on the pipeline's clock).
    for _ in 0..5 {
        assert_eq!(post_envelope(&r, None, envelope()).await.0, StatusCode::OK);
    }
    r.alerting().flush().await;
    clock.advance(Duration::from_secs(5));
    r.alerting().flush().await;
    // The rest of it, then its digest (group_interval 5 min).
    for _ in 0..20 {
        assert_eq!(post_envelope(&r, None, envelope()).await.0, StatusCode::OK);
    }
    r.alerting().flush().await;
    clock.advance(Duration::from_secs(300));
    r.alerting().flush().await;
    assert!(r.alerting().wait_delivered(Duration::from_secs(60)).await);
    for _ in 0..400 {
        if r.stats().upstream_forwarded == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let s = r.stats();
    r.shutdown().await;
    assert_eq!((s.upstream_forwarded, s.upstream_not_forwarded), (3, 22));
    assert_eq!(to_sentry.lock().unwrap().len(), 3, "Sentry got the sample");

    // The webhook: the exact split of each notice's own events, adding up to the storm.
    let bodies = json(&to_hook);
    let split: Vec<(String, u64, Value)> = bodies
        .iter()
        .map(|b| {
            (
                b["kind"].as_str().unwrap().to_owned(),
                b["count"].as_u64().unwrap(),
                b["upstream"].clone(),
            )
        })
        .collect();
    assert_eq!(
        split,
        [
            (
                "new".to_owned(),
                5,
                json!({"forwarded": 3, "not_forwarded": 2, "per_group": 3})
            ),
            (
                "digest".to_owned(),
                20,
                json!({"forwarded": 0, "not_forwarded": 20, "per_group": 3})
            ),
            // Quiet for resolve_after: a resolved notice counts no event, and says nothing.
            ("resolved".to_owned(), 0, Value::Null),
        ]
    );
    let sum = |k: &str| {
        bodies
            .iter()
            .map(|b| b["upstream"][k].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(
        sum("forwarded") + sum("not_forwarded"),
        25,
        "every event sent"
    );
    assert_eq!(
        (sum("forwarded"), sum("not_forwarded")),
        (s.upstream_forwarded, s.upstream_not_forwarded)
    );

    // Slack: in each message's summary.
    let messages = json(&to_slack);
    assert_eq!(messages.len(), 3);
    let summary = |i: usize| messages[i]["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(
        summary(0)
            .contains("Sentry: 3 forwarded, 2 not forwarded (sample of 3 per group and window)"),
        "{}",
        summary(0)
    );
    assert!(
        summary(1)
            .contains("Sentry: 0 forwarded, 20 not forwarded (sample of 3 per group and window)"),
        "{}",
        summary(1)
    );
    assert!(!summary(2).contains("Sentry"), "{}", summary(2));
}

#[tokio::test]
async fn without_an_upstream_alerts_say_nothing_of_sentry() {
    let (r, rec) = relay_with(|_| {}).await;
    for _ in 0..3 {
        assert_eq!(post_envelope(&r, None, envelope()).await.0, StatusCode::OK);
    }
    r.shutdown().await;
    let alerts = rec.0.lock().unwrap().clone();
    assert_eq!(alerts.iter().map(|a| a.count).sum::<u64>(), 3);
    assert!(alerts.iter().all(|a| a.upstream.is_none()));
    let body = serde_json::to_value(&alerts[0]).unwrap();
    assert!(body.get("upstream").is_none(), "{body}");
}
