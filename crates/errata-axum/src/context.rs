//! [`RequestContext`]: what the edge layer learned about a request, for handlers that need it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderValue, Request, Uri};
use bytes::BytesMut;
use errata::{Envelope, LocaleId, Renderer};

use crate::layer::{valid_request_id, X_REQUEST_ID};

/// The negotiated locale and the request id of a request.
///
/// The edge layer stores it in the request extensions; handlers extract it, e.g. to render a
/// WebSocket close reason in the client's language.
#[derive(Clone, Debug)]
pub struct RequestContext {
    locale: LocaleId,
    // Header values are reference-counted: cloning the context allocates nothing.
    request_id: HeaderValue,
    /// The request URI, kept only when the response would be problem+json (its `instance`).
    instance: Option<Uri>,
    problem: bool,
}

impl RequestContext {
    pub(crate) fn from_request(renderer: &Renderer, req: &Request<Body>) -> Self {
        let headers = req.headers();
        let accept_language = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let request_id = match headers.get(&X_REQUEST_ID) {
            Some(v) if valid_request_id(v).is_some() => v.clone(),
            _ => generated_id(),
        };
        let problem = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/problem+json"));
        let instance =
            (problem || renderer.envelope() == Envelope::Problem).then(|| req.uri().clone());
        Self {
            locale: renderer.negotiate(accept_language),
            request_id,
            instance,
            problem,
        }
    }

    /// The locale negotiated from `Accept-Language`.
    pub fn locale(&self) -> LocaleId {
        self.locale
    }

    /// The request id (the client's `x-request-id`, or a generated one).
    pub fn request_id(&self) -> &str {
        // Only visible ASCII gets here (checked, or generated).
        self.request_id.to_str().unwrap_or_default()
    }

    /// The request id as a header value.
    pub fn request_id_header(&self) -> &HeaderValue {
        &self.request_id
    }

    /// The request path, when the response would be problem+json (RFC 9457 `instance`).
    pub(crate) fn instance(&self) -> Option<&str> {
        self.instance.as_ref().map(Uri::path)
    }

    /// Whether the client asked for `application/problem+json`.
    pub fn wants_problem(&self) -> bool {
        self.problem
    }
}

/// A request id unique to this process run: 64 random bits drawn once, then a counter, as 32
/// hex digits. No clock read, no random draw per request; ids are written into a per-thread
/// block shared by reference count, so an id costs no allocation of its own (and cloning it,
/// as the context and the response header do, none either).
fn generated_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const LEN: usize = 32;
    const BLOCK: usize = 64 * LEN;
    static PREFIX: OnceLock<[u8; 16]> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static IDS: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    let prefix = PREFIX.get_or_init(|| {
        let random = uuid::Uuid::new_v4().as_u64_pair().0;
        std::array::from_fn(|i| HEX[((random >> (60 - 4 * i)) & 0xf) as usize])
    });
    let mut n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut buf = [0u8; LEN];
    buf[..16].copy_from_slice(prefix);
    for digit in buf[16..].iter_mut().rev() {
        *digit = HEX[(n & 0xf) as usize];
        n >>= 4;
    }
    let id = IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.capacity() < LEN {
            *ids = BytesMut::with_capacity(BLOCK);
        }
        ids.extend_from_slice(&buf);
        ids.split().freeze()
    });
    HeaderValue::from_maybe_shared(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = errata::ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| errata::ApiError::internal(MissingLayer))
    }
}

/// `RequestContext` was extracted on a router without `ErrataLayer`.
#[derive(Debug)]
struct MissingLayer;

impl std::fmt::Display for MissingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestContext extracted without ErrataLayer on the router")
    }
}

impl std::error::Error for MissingLayer {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::generated_id;

    #[test]
    fn generated_ids_are_distinct_across_blocks_and_threads() {
        let batch = || (0..500).map(|_| generated_id()).collect::<Vec<_>>();
        let other = std::thread::spawn(batch);
        let mut ids = batch();
        ids.extend(other.join().unwrap());
        let distinct: HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
        assert_eq!(distinct.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 32 && id.as_bytes().iter().all(u8::is_ascii_hexdigit)));
    }
}
