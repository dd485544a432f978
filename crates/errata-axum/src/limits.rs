//! [`RequestLimitsLayer`]: the server's own request limits, answered in the envelope.
//!
//! A request whose URI or headers are over the limits is refused with `URI_TOO_LONG` (414) or
//! `REQUEST_HEADERS_TOO_LARGE` (431) before it reaches a route. Place it inside the edge layer
//! (added before [`crate::ErrataLayer`]) so the answer carries the request id and locale like any
//! other error:
//!
//! ```
//! use std::sync::Arc;
//! use axum::{routing::get, Router};
//! use errata_axum::{ErrataLayer, RequestLimitsLayer};
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .layer(RequestLimitsLayer::new().max_uri_len(4096))
//!     .layer(ErrataLayer::new(renderer));
//! ```
//!
//! hyper has limits of its own, which it answers itself with an empty body; [`crate::serve`]
//! raises them well above this layer's defaults (see [`crate::serve::Limits`]) so that the
//! envelope answers every request that hyper could parse.

use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, Request, Response, Uri};
use axum::response::IntoResponse;
use errata::ApiError;
use tower::{Layer, Service};

/// Default longest URI (path and query, or the whole absolute-form target), in bytes.
pub const DEFAULT_MAX_URI_LEN: usize = 8 * 1024;
/// Default largest header section, in bytes (each header counted as `name: value\r\n`).
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;
/// Default most header fields (each value of a repeated header counts).
pub const DEFAULT_MAX_HEADERS: usize = 100;

/// `URI_TOO_LONG` (414): the request target is longer than the server accepts.
pub fn uri_too_long() -> ApiError {
    ApiError::from_code("URI_TOO_LONG", 414)
}

/// `REQUEST_HEADERS_TOO_LARGE` (431): too many headers, or too large ones.
pub fn request_headers_too_large() -> ApiError {
    ApiError::from_code("REQUEST_HEADERS_TOO_LARGE", 431)
}

/// Refuses requests whose URI or headers are over the limits (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimitsLayer {
    max_uri_len: usize,
    max_header_bytes: usize,
    max_headers: usize,
}

impl Default for RequestLimitsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestLimitsLayer {
    /// The default limits: 8 KiB of URI, 32 KiB and 100 fields of headers.
    pub const fn new() -> Self {
        Self {
            max_uri_len: DEFAULT_MAX_URI_LEN,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            max_headers: DEFAULT_MAX_HEADERS,
        }
    }

    /// Longest accepted URI, in bytes.
    #[must_use]
    pub const fn max_uri_len(mut self, bytes: usize) -> Self {
        self.max_uri_len = bytes;
        self
    }

    /// Largest accepted header section, in bytes.
    #[must_use]
    pub const fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes;
        self
    }

    /// Most accepted header fields.
    #[must_use]
    pub const fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// The error for a request with this URI and these headers, if it is over a limit.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Option<ApiError> {
        if uri_len(uri) > self.max_uri_len {
            return Some(uri_too_long());
        }
        if headers.len() > self.max_headers {
            return Some(request_headers_too_large());
        }
        let mut bytes = 0usize;
        for (name, value) in headers {
            bytes = bytes.saturating_add(name.as_str().len() + value.len() + 4);
            if bytes > self.max_header_bytes {
                return Some(request_headers_too_large());
            }
        }
        None
    }
}

/// The length of the request target as it was sent.
fn uri_len(uri: &Uri) -> usize {
    let target = uri.path_and_query().map_or(0, |p| p.as_str().len());
    let authority = uri.authority().map_or(0, |a| a.as_str().len());
    let scheme = uri.scheme_str().map_or(0, |s| s.len() + 3);
    target + authority + scheme
}

impl<S> Layer<S> for RequestLimitsLayer {
    type Service = RequestLimits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestLimits {
            inner,
            limits: *self,
        }
    }
}

/// The service produced by [`RequestLimitsLayer`].
#[derive(Debug, Clone)]
pub struct RequestLimits<S> {
    inner: S,
    limits: RequestLimitsLayer,
}

impl<S, B> Service<Request<B>> for RequestLimits<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = futures_util::future::Either<
        S::Future,
        std::future::Ready<Result<Response<Body>, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.limits.check(req.uri(), req.headers()) {
            None => futures_util::future::Either::Left(self.inner.call(req)),
            Some(err) => {
                futures_util::future::Either::Right(std::future::ready(Ok(err.into_response())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn each_limit_refuses_one_over_and_admits_at_the_limit() {
        let layer = RequestLimitsLayer::new()
            .max_uri_len(20)
            .max_headers(2)
            .max_header_bytes(30);
        let ok: Uri = "/a?b=0123456789abcde".parse().unwrap();
        assert_eq!(uri_len(&ok), 20);
        assert!(layer.check(&ok, &HeaderMap::new()).is_none());
        let long: Uri = "/a?b=0123456789abcdef".parse().unwrap();
        assert_eq!(
            layer.check(&long, &HeaderMap::new()).unwrap().code(),
            "URI_TOO_LONG"
        );

        let mut headers = HeaderMap::new();
        headers.append("a", HeaderValue::from_static("1"));
        headers.append("a", HeaderValue::from_static("2"));
        assert!(layer.check(&ok, &headers).is_none());
        headers.append("a", HeaderValue::from_static("3"));
        assert_eq!(
            layer.check(&ok, &headers).unwrap().code(),
            "REQUEST_HEADERS_TOO_LARGE"
        );

        let mut big = HeaderMap::new();
        // 4 + 22 + 4 = 30 bytes: at the limit.
        big.insert("abcd", HeaderValue::from_static("0123456789012345678901"));
        assert!(layer.check(&ok, &big).is_none());
        big.insert("abcd", HeaderValue::from_static("01234567890123456789012"));
        assert_eq!(
            layer.check(&ok, &big).unwrap().code(),
            "REQUEST_HEADERS_TOO_LARGE"
        );
    }
}
