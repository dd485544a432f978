//! The ingest server: `POST /api/{project_id}/envelope/` and `POST /api/{project_id}/store/`,
//! authenticated, bounded, shedding load before it reads a body; and `GET /relay/stats`.
//!
//! Answers, as the Sentry SDKs expect them:
//!
//! | case | status | `X-Sentry-Error` |
//! |---|---|---|
//! | accepted | 200 `{"id": "<event id>"}` (`{}` without an event) | |
//! | no key in `X-Sentry-Auth`, `sentry_key` or the envelope's `dsn` | 403 | `missing authorization information` |
//! | a key that is not the project's (or an unknown project) | 401 | `invalid api key` |
//! | body, decompressed body or event item over its cap | 413 | what was too large |
//! | unsupported or invalid `Content-Encoding`, malformed envelope or event | 400 | the parser's located reason |
//! | too many requests in flight, or the capture queue full | 429 + `Retry-After: 1` | `relay overloaded` |
//! | over the project's quota | 429 + `Retry-After` | `quota exceeded` |
//! | the body did not arrive within 30 s | 408 | `timed out reading the body` |
//!
//! Every refusal carries a JSON body `{"detail": "..."}` and, for 429, `X-Sentry-Rate-Limits:
//! <retry after>::<scope>:<reason>` (empty categories: all).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use errata_alert::Capturer;
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::decode::{decode, DecodeError};
use crate::envelope::{Envelope, EnvelopeError};
use crate::mapping::{scrub_sentry, Mapper};
use crate::settings::{Quota, RelaySettings};
use crate::upstream::Forwarder;

/// How long a client may take to send its body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters of the ingest side, also served at `GET /relay/stats`.
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Requests answered 200.
    pub accepted_requests: AtomicU64,
    /// Events handed to the pipeline.
    pub events: AtomicU64,
    /// Items of types the relay does not turn into errata events (transactions, sessions...).
    pub skipped_items: AtomicU64,
    /// Events the SDKs reported dropping (`client_report` quantities).
    pub sdk_discarded: AtomicU64,
    /// 401 and 403 answers.
    pub unauthorized: AtomicU64,
    /// 400 answers.
    pub malformed: AtomicU64,
    /// 413 answers.
    pub too_large: AtomicU64,
    /// 429 answers for overload (shed before reading the body).
    pub shed: AtomicU64,
    /// 429 answers for a project's quota.
    pub over_quota: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RelayStats {
    /// Requests answered 200.
    pub accepted_requests: u64,
    /// Events handed to the pipeline.
    pub events: u64,
    /// Items skipped (not events).
    pub skipped_items: u64,
    /// Events the SDKs reported dropping.
    pub sdk_discarded: u64,
    /// 401/403 answers.
    pub unauthorized: u64,
    /// 400 answers.
    pub malformed: u64,
    /// 413 answers.
    pub too_large: u64,
    /// 429 answers for overload.
    pub shed: u64,
    /// 429 answers for quotas.
    pub over_quota: u64,
    /// Events forwarded upstream.
    pub upstream_forwarded: u64,
    /// Events the upstream sample left out (counted, not sent).
    pub upstream_not_forwarded: u64,
    /// Sampled events the upstream did not take.
    pub upstream_failed: u64,
    /// Events captured by the pipeline.
    pub captured: u64,
    /// Of those, folded into counters because the pipeline's queue was full.
    pub folded: u64,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Per-project token buckets.
struct Quotas {
    quota: Quota,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Quotas {
    /// Takes one event from `project`'s bucket, or says how long until one is there.
    fn take(&self, project: &str, now: Instant) -> Result<(), Duration> {
        let cap = f64::from(self.quota.events);
        let rate = cap / self.quota.period.as_secs_f64();
        let mut m = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = m.entry(project.to_owned()).or_insert(Bucket {
            tokens: cap,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(cap);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

pub(crate) struct Shared {
    keys: HashMap<String, String>,
    capturer: Capturer,
    queue_capacity: usize,
    in_flight: Arc<Semaphore>,
    max_envelope: usize,
    max_event: usize,
    quotas: Option<Quotas>,
    mapper: Mapper,
    pub(crate) upstream: Option<Arc<Forwarder>>,
    pub(crate) counters: IngestCounters,
}

impl Shared {
    pub(crate) fn new(
        settings: &RelaySettings,
        capturer: Capturer,
        mapper: Mapper,
        upstream: Option<Arc<Forwarder>>,
    ) -> Self {
        Shared {
            keys: settings
                .projects
                .iter()
                .map(|p| (p.id.clone(), p.public_key.clone()))
                .collect(),
            capturer,
            queue_capacity: settings.queue_capacity,
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight)),
            max_envelope: settings.max_envelope_bytes,
            max_event: settings.max_event_bytes,
            quotas: settings.quota.map(|quota| Quotas {
                quota,
                buckets: Mutex::new(HashMap::new()),
            }),
            mapper,
            upstream,
            counters: IngestCounters::default(),
        }
    }

    pub(crate) fn stats(&self) -> RelayStats {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cap = self.capturer.stats();
        let (f, n, x) = match &self.upstream {
            Some(u) => (
                l(&u.counters.forwarded),
                l(&u.counters.not_forwarded),
                l(&u.counters.failed),
            ),
            None => (0, 0, 0),
        };
        RelayStats {
            accepted_requests: l(&c.accepted_requests),
            events: l(&c.events),
            skipped_items: l(&c.skipped_items),
            sdk_discarded: l(&c.sdk_discarded),
            unauthorized: l(&c.unauthorized),
            malformed: l(&c.malformed),
            too_large: l(&c.too_large),
            shed: l(&c.shed),
            over_quota: l(&c.over_quota),
            upstream_forwarded: f,
            upstream_not_forwarded: n,
            upstream_failed: x,
            captured: cap.captured,
            folded: cap.folded,
        }
    }
}

/// The router of the relay.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/{project_id}/envelope/", post(envelope))
        .route("/api/{project_id}/envelope", post(envelope))
        .route("/api/{project_id}/store/", post(store))
        .route("/api/{project_id}/store", post(store))
        .route("/relay/stats", get(stats))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(shared)
}

async fn stats(State(s): State<Arc<Shared>>) -> Json<RelayStats> {
    Json(s.stats())
}

/// A refusal: the status, `X-Sentry-Error`, a JSON body and, for 429, the retry headers.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    detail: String,
    /// Seconds to wait, scope and reason of a rate limit.
    limit: Option<(u64, &'static str, &'static str)>,
}

fn refuse(status: StatusCode, detail: impl Into<String>) -> Refusal {
    Refusal {
        status,
        detail: detail.into(),
        limit: None,
    }
}

fn rate_limited(
    retry: Duration,
    scope: &'static str,
    reason: &'static str,
    detail: &str,
) -> Refusal {
    let secs = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
    Refusal {
        limit: Some((secs.max(1), scope, reason)),
        ..refuse(StatusCode::TOO_MANY_REQUESTS, detail)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let shown: String = self
            .detail
            .chars()
            .map(|c| {
                if c.is_ascii() && !c.is_ascii_control() {
                    c
                } else {
                    '?'
                }
            })
            .take(300)
            .collect();
        let mut r = (
            self.status,
            Json(serde_json::json!({ "detail": self.detail })),
        )
            .into_response();
        let h = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&shown) {
            h.insert("x-sentry-error", v);
        }
        if let Some((secs, scope, reason)) = self.limit {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
            if let Ok(v) = HeaderValue::from_str(&format!("{secs}::{scope}:{reason}")) {
                h.insert("x-sentry-rate-limits", v);
            }
        }
        r
    }
}

/// The `sentry_key` of `X-Sentry-Auth` or of the query.
fn request_key(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    if let Some(v) = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok()) {
        let v = v.trim();
        let v = v
            .strip_prefix("Sentry ")
            .or_else(|| v.strip_prefix("sentry "))
            .unwrap_or(v);
        for part in v.split(',') {
            if let Some((k, val)) = part.split_once('=') {
                if k.trim() == "sentry_key" && !val.trim().is_empty() {
                    return Some(val.trim().to_owned());
                }
            }
        }
    }
    let q = query?;
    form_pairs(q).find_map(|(k, v)| (k == "sentry_key" && !v.is_empty()).then_some(v))
}

fn form_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k.to_owned(), v.replace('+', " "))
    })
}

/// The public key of a DSN.
fn dsn_key(dsn: &str) -> Option<String> {
    let url = reqwest::Url::parse(dsn.trim()).ok()?;
    let k = url.username();
    (!k.is_empty()).then(|| k.to_owned())
}

enum Auth {
    Ok,
    Missing,
}

impl Shared {
    fn check_key(&self, project: &str, key: &str) -> Result<(), Refusal> {
        match self.keys.get(project) {
            Some(k) if k == key => Ok(()),
            _ => {
                self.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
                Err(refuse(StatusCode::UNAUTHORIZED, "invalid api key"))
            }
        }
    }

    fn missing_auth(&self) -> Refusal {
        self.counters.unauthorized.fetch_add(1, Ordering::Relaxed);
        refuse(StatusCode::FORBIDDEN, "missing authorization information")
    }

    fn take_quota(&self, project: &str) -> Result<(), Refusal> {
        if let Some(q) = &self.quotas {
            if let Err(wait) = q.take(project, Instant::now()) {
                self.counters.over_quota.fetch_add(1, Ordering::Relaxed);
                return Err(rate_limited(
                    wait,
                    "project",
                    "quota_exceeded",
                    "quota exceeded",
                ));
            }
        }
        Ok(())
    }

    fn overloaded(&self) -> Refusal {
        self.counters.shed.fetch_add(1, Ordering::Relaxed);
        rate_limited(
            Duration::from_secs(1),
            "organization",
            "relay_overloaded",
            "relay overloaded",
        )
    }

    fn bad(&self, detail: String) -> Refusal {
        self.counters.malformed.fetch_add(1, Ordering::Relaxed);
        refuse(StatusCode::BAD_REQUEST, detail)
    }

    fn too_large(&self, detail: String) -> Refusal {
        self.counters.too_large.fetch_add(1, Ordering::Relaxed);
        refuse(StatusCode::PAYLOAD_TOO_LARGE, detail)
    }

    /// Everything before the body: auth by header or query, shedding, quota, declared length.
    fn admit(
        &self,
        project: &str,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<(Auth, tokio::sync::OwnedSemaphorePermit), Refusal> {
        let auth = match request_key(headers, query) {
            Some(k) => {
                self.check_key(project, &k)?;
                Auth::Ok
            }
            None => Auth::Missing,
        };
        let permit = match self.in_flight.clone().try_acquire_owned() {
            Ok(p) if self.capturer.queued() < self.queue_capacity => p,
            _ => return Err(self.overloaded()),
        };
        if let Some(len) = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            if len > self.max_envelope as u64 {
                return Err(self.too_large(format!(
                    "body of {len} bytes, more than the {} allowed",
                    self.max_envelope
                )));
            }
        }
        if matches!(auth, Auth::Ok) {
            self.take_quota(project)?;
        }
        Ok((auth, permit))
    }

    /// Reads the body (bounded, with a deadline) and decodes it.
    async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Vec<u8>, Refusal> {
        let limited = http_body_util::Limited::new(body, self.max_envelope);
        let raw = match tokio::time::timeout(BODY_TIMEOUT, limited.collect()).await {
            Err(_) => {
                self.counters.malformed.fetch_add(1, Ordering::Relaxed);
                return Err(refuse(
                    StatusCode::REQUEST_TIMEOUT,
                    "timed out reading the body",
                ));
            }
            Ok(Err(e)) => {
                return Err(
                    if e.downcast_ref::<http_body_util::LengthLimitError>()
                        .is_some()
                    {
                        self.too_large(format!(
                            "body larger than the {} bytes allowed",
                            self.max_envelope
                        ))
                    } else {
                        self.bad("could not read the body".into())
                    },
                )
            }
            Ok(Ok(c)) => c.to_bytes(),
        };
        let encoding = headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("(not ASCII)").to_owned());
        let limit = self.max_envelope;
        let decoded = if raw.len() > 256 << 10 {
            tokio::task::spawn_blocking(move || decode(encoding.as_deref(), &raw, limit))
                .await
                .unwrap_or_else(|_| {
                    Err(DecodeError::Invalid {
                        encoding: "body",
                        reason: "decoder failed".into(),
                    })
                })
        } else {
            decode(encoding.as_deref(), &raw, limit)
        };
        decoded.map_err(|e| match e {
            DecodeError::TooLarge { .. } => self.too_large(e.to_string()),
            _ => self.bad(e.to_string()),
        })
    }

    /// Maps and captures one event payload (`item`: its number in an envelope); returns its id.
    fn ingest_event(
        &self,
        payload: &[u8],
        id_hint: Option<&str>,
        item: Option<usize>,
    ) -> Result<String, Refusal> {
        let what = || item.map(|i| format!(" (item {i})")).unwrap_or_default();
        let mapped = self
            .mapper
            .map_payload(payload)
            .map_err(|e| self.bad(format!("invalid event payload{}: {e}", what())))?
            .ok_or_else(|| {
                self.bad(format!(
                    "invalid event payload{}: not a JSON object",
                    what()
                ))
            })?;
        let id = mapped
            .event_id
            .as_deref()
            .or(id_hint)
            .map(|s| s.replace('-', ""))
            .filter(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        let mut event = mapped.event;
        if let Some(up) = &self.upstream {
            let group = errata_alert::fingerprint::of_event(&event, None);
            // The whole event is built and scrubbed only when the sample takes it; what became
            // of it goes with the event, so its alerts count what Sentry got.
            event.forwarding = Some(up.offer(&group, &id, || {
                let mut v: Value = serde_json::from_slice(payload).unwrap_or_default();
                scrub_sentry(&mut v);
                serde_json::to_vec(&v).unwrap_or_default()
            }));
        }
        self.capturer.capture(event);
        self.counters.events.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    fn client_report(&self, payload: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(payload) else {
            return;
        };
        let n: u64 = v
            .get("discarded_events")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.get("quantity").and_then(Value::as_u64))
                    .sum()
            })
            .unwrap_or(0);
        self.counters.sdk_discarded.fetch_add(n, Ordering::Relaxed);
    }
}

fn accepted(s: &Shared, id: Option<String>) -> Response {
    s.counters.accepted_requests.fetch_add(1, Ordering::Relaxed);
    match id {
        Some(id) => Json(serde_json::json!({ "id": id })).into_response(),
        None => Json(serde_json::json!({})).into_response(),
    }
}

async fn envelope(
    State(s): State<Arc<Shared>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let (auth, _permit) = s.admit(&project, &headers, query.as_deref())?;
    let bytes = s.read_body(&headers, body).await?;
    let env = Envelope::parse(&bytes, s.max_event).map_err(|e| match e {
        EnvelopeError::ItemTooLarge { .. } => s.too_large(e.to_string()),
        _ => s.bad(e.to_string()),
    })?;
    if matches!(auth, Auth::Missing) {
        let key = env
            .header
            .dsn
            .as_deref()
            .and_then(dsn_key)
            .ok_or_else(|| s.missing_auth())?;
        s.check_key(&project, &key)?;
        s.take_quota(&project)?;
    }
    let mut id = None;
    for (i, item) in env.items.iter().enumerate() {
        match item.kind.as_str() {
            "event" => {
                id = Some(s.ingest_event(
                    item.payload,
                    env.header.event_id.as_deref(),
                    Some(i + 1),
                )?);
            }
            "client_report" => s.client_report(item.payload),
            _ => {
                s.counters.skipped_items.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    let id = id.or_else(|| {
        env.header
            .event_id
            .clone()
            .filter(|e| e.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'))
    });
    Ok(accepted(&s, id))
}

async fn store(
    State(s): State<Arc<Shared>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Refusal> {
    let (auth, _permit) = s.admit(&project, &headers, query.as_deref())?;
    if matches!(auth, Auth::Missing) {
        return Err(s.missing_auth());
    }
    let bytes = s.read_body(&headers, body).await?;
    if bytes.len() > s.max_event {
        return Err(s.too_large(format!(
            "event of {} bytes, more than the {} allowed",
            bytes.len(),
            s.max_event
        )));
    }
    let id = s.ingest_event(&bytes, None, None)?;
    Ok(accepted(&s, Some(id)))
}
