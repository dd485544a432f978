//! [`RequestContext`]: what the edge layer learned about a request, for handlers that need it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, Request};
use errata::{LocaleId, Renderer};

use crate::layer::{valid_request_id, X_REQUEST_ID};

/// The negotiated locale, the request id and the path of a request.
///
/// The edge layer stores it in the request extensions; handlers extract it, e.g. to render a
/// WebSocket close reason in the client's language.
#[derive(Clone, Debug)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    locale: LocaleId,
    request_id: String,
    path: String,
    problem: bool,
}

impl RequestContext {
    pub(crate) fn from_request(renderer: &Renderer, req: &Request<Body>) -> Self {
        let headers = req.headers();
        let accept_language = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let request_id = headers
            .get(&X_REQUEST_ID)
            .and_then(valid_request_id)
            .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
        let problem = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/problem+json"));
        Self {
            inner: Arc::new(Inner {
                locale: renderer.negotiate(accept_language),
                request_id,
                path: req.uri().path().to_owned(),
                problem,
            }),
        }
    }

    /// The locale negotiated from `Accept-Language`.
    pub fn locale(&self) -> LocaleId {
        self.inner.locale
    }

    /// The request id (the client's `x-request-id`, or a generated UUIDv7).
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// The request path.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Whether the client asked for `application/problem+json`.
    pub fn wants_problem(&self) -> bool {
        self.inner.problem
    }
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
