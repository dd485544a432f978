//! Test support: a local Slack/Sentry/webhook-like server on loopback, and a recording sink.
#![allow(dead_code)]

pub mod causes;
pub mod pg_server;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use errata_alert::{Alert, SendOutcome, Sink};
use futures_util::future::BoxFuture;
use tokio::time::Instant;

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Status, headers, body.
    Status(u16, Vec<(&'static str, String)>, String),
    /// Never answer.
    Hang,
}

/// One request the fake saw.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
pub struct FakeState {
    pub script: VecDeque<Reply>,
    /// Least gap between two accepted messages of one channel (path).
    pub min_gap: Option<Duration>,
    last: HashMap<String, Instant>,
    /// A window announced by a rate-limit header; requests inside it are violations.
    pub hold_until: Option<Instant>,
    pub accepted: Vec<Received>,
    pub all: Vec<Received>,
    pub violations: u32,
    pub rate_limited: u32,
}

/// A local HTTP server standing in for Slack, Sentry or a webhook receiver.
#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
}

impl Fake {
    pub async fn start() -> Fake {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { addr, state }
    }

    /// A Slack-like fake: 1 message/s per channel (with 50 ms of tolerance for clock jitter).
    pub async fn slack() -> Fake {
        let f = Fake::start().await;
        f.state.lock().unwrap().min_gap = Some(Duration::from_millis(950));
        f
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.state.lock().unwrap().accepted.clone()
    }

    pub fn all(&self) -> Vec<Received> {
        self.state.lock().unwrap().all.clone()
    }

    pub fn violations(&self) -> u32 {
        self.state.lock().unwrap().violations
    }

    pub fn rate_limited(&self) -> u32 {
        self.state.lock().unwrap().rate_limited
    }
}

fn parse_sentry_hold(v: &str) -> Option<Duration> {
    v.split(',')
        .filter_map(|e| e.trim().split(':').next()?.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .max()
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = Instant::now();
    let path = uri.path().to_string();
    let rec = Received {
        path: path.clone(),
        headers,
        body,
        at: now,
    };
    let reply = {
        let mut s = state.lock().unwrap();
        s.all.push(rec.clone());
        if s.hold_until.is_some_and(|h| now < h) {
            s.violations += 1;
            Some(Reply::Status(
                429,
                vec![],
                "inside the announced window".into(),
            ))
        } else if let Some(r) = s.script.pop_front() {
            if let Reply::Status(code, hs, _) = &r {
                for (k, v) in hs {
                    if k.eq_ignore_ascii_case("x-sentry-rate-limits") {
                        s.hold_until = parse_sentry_hold(v).map(|d| now + d);
                    }
                }
                if (200..300).contains(code) {
                    s.accepted.push(rec.clone());
                }
            }
            Some(r)
        } else if s
            .min_gap
            .zip(s.last.get(&path))
            .is_some_and(|(gap, last)| now.duration_since(*last) < gap)
        {
            s.rate_limited += 1;
            Some(Reply::Status(
                429,
                vec![("Retry-After", "1".to_string())],
                r#"{"retry_after":1,"ok":false,"error":"rate_limited"}"#.into(),
            ))
        } else {
            s.last.insert(path.clone(), now);
            s.accepted.push(rec.clone());
            None
        }
    };
    match reply {
        Some(Reply::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK.into_response()
        }
        Some(Reply::Status(code, hs, body)) => {
            let mut resp = (StatusCode::from_u16(code).unwrap(), body).into_response();
            for (k, v) in hs {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
        None => {
            if path.ends_with("chat.postMessage") {
                r#"{"ok":true,"channel":"C1","ts":"1.0"}"#.into_response()
            } else if path.ends_with("/envelope/") {
                r#"{"id":"00000000000000000000000000000000"}"#.into_response()
            } else {
                "ok".into_response()
            }
        }
    }
}

/// A sink that keeps what it is sent.
#[derive(Clone, Default)]
pub struct Recorder {
    pub alerts: Arc<Mutex<Vec<Alert>>>,
}

impl Recorder {
    pub fn take(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.alerts.lock().unwrap())
    }
}

impl Sink for Recorder {
    fn name(&self) -> &str {
        "recorder"
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        self.alerts.lock().unwrap().push(alert.clone());
        Box::pin(async { SendOutcome::delivered() })
    }
}

/// Asserts every Block Kit limit on a Slack payload; returns the total block text length.
pub fn assert_slack_limits(v: &serde_json::Value) -> usize {
    fn len(s: &str) -> usize {
        s.encode_utf16().count()
    }
    let text = v["text"].as_str().expect("top-level text");
    assert!(len(text) <= 4000, "text {} > 4000", len(text));
    let blocks = v["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    let mut total = 0;
    for b in blocks {
        match b["type"].as_str().unwrap() {
            "header" => {
                assert_eq!(b["text"]["type"], "plain_text");
                let t = b["text"]["text"].as_str().unwrap();
                assert!(len(t) <= 150, "header {}", len(t));
                total += len(t);
            }
            "section" => {
                if let Some(t) = b["text"]["text"].as_str() {
                    assert!(len(t) <= 3000, "section {}", len(t));
                    total += len(t);
                }
                if let Some(fields) = b["fields"].as_array() {
                    assert!(fields.len() <= 10, "{} fields", fields.len());
                    for f in fields {
                        let t = f["text"].as_str().unwrap();
                        assert!(len(t) <= 2000, "field {}", len(t));
                        total += len(t);
                    }
                }
            }
            "context" => {
                let el = b["elements"].as_array().unwrap();
                assert!(el.len() <= 10, "{} context elements", el.len());
                for e in el {
                    total += len(e["text"].as_str().unwrap_or(""));
                }
            }
            other => panic!("unexpected block {other}"),
        }
    }
    assert!(
        total <= 12_000,
        "block text {total} too close to Slack's ~13,000"
    );
    total
}

/// The "×N" count a Slack message carries in its Count field.
pub fn slack_count(v: &serde_json::Value) -> u64 {
    for b in v["blocks"].as_array().unwrap() {
        for f in b["fields"].as_array().into_iter().flatten() {
            let t = f["text"].as_str().unwrap();
            if let Some(rest) = t.strip_prefix("*Count*\n×") {
                let digits: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .filter(char::is_ascii_digit)
                    .collect();
                return digits.parse().unwrap();
            }
        }
    }
    panic!("no Count field in {v}");
}

/// The code a Slack message is about (from its header).
pub fn slack_code(v: &serde_json::Value) -> String {
    let h = v["blocks"][0]["text"]["text"].as_str().unwrap();
    h.split_whitespace().nth(1).unwrap().to_string()
}

/// A port nothing listens on.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Fast retry settings for tests.
pub fn fast_delivery() -> errata_alert::DeliveryOptions {
    errata_alert::DeliveryOptions {
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_millis(500),
        shutdown_timeout: Duration::from_secs(20),
        send_timeout: Duration::from_secs(5),
        ..Default::default()
    }
}
