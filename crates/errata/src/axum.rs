//! `IntoResponse` for [`ApiError`] (feature `axum`).
//!
//! A handler's error cannot see the request, so it cannot pick a locale or a request id. The
//! response it produces therefore carries its status, the error itself in a [`PendingError`]
//! extension, and a body written only if it is ever read: the edge layer of `errata-axum`
//! finds the error and renders the envelope with the request's context instead (the lazy body
//! is dropped unread). Without an edge layer, the body is the envelope in the catalog's
//! default locale, rendered by the [default renderer](set_default_renderer) when the body is
//! read, so no error ever leaves with an empty body.
//!
//! While an edge layer polls its inner service inside [`PendingError::edge_scope`], an error
//! whose status that edge re-wraps gets no body of its own: the edge renders it from the
//! extension, and a response that lost the extension on the way is re-wrapped with its status
//! kept, so the body would only be dropped unread.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderValue};

use crate::{ApiError, Envelope, RenderContext, Renderer};

/// An error waiting to be rendered by the edge layer, found in the response extensions.
#[derive(Clone, Debug)]
pub struct PendingError(pub Arc<ApiError>);

std::thread_local! {
    /// The lowest status the innermost edge layer polling on this thread re-wraps
    /// (`u16::MAX` outside any edge).
    static EDGE_REWRAPS_FROM: std::cell::Cell<u16> = const { std::cell::Cell::new(u16::MAX) };
}

impl PendingError {
    /// Runs `f` (an edge layer's poll of its inner service) telling the [`ApiError`]
    /// responses built inside it that this edge renders every one of status
    /// `rewraps_from` or above, and re-wraps such a response when it lost its
    /// `PendingError`: they need no body of their own. Nested scopes restore the outer one,
    /// also when `f` panics.
    ///
    /// ```
    /// use axum_core::response::IntoResponse;
    /// use http_body::Body as _;
    /// let err = || errata::ApiError::from_code("LECTURE_NOT_FOUND", 404);
    /// assert!(!err().into_response().body().is_end_stream());
    /// let inside = errata::PendingError::edge_scope(400, || err().into_response());
    /// assert!(inside.body().is_end_stream());
    /// assert!(inside.extensions().get::<errata::PendingError>().is_some());
    /// ```
    pub fn edge_scope<R>(rewraps_from: u16, f: impl FnOnce() -> R) -> R {
        struct Restore(u16);
        impl Drop for Restore {
            fn drop(&mut self) {
                EDGE_REWRAPS_FROM.with(|e| e.set(self.0));
            }
        }
        let _restore = Restore(EDGE_REWRAPS_FROM.with(|e| e.replace(rewraps_from)));
        f()
    }
}

static DEFAULT_RENDERER: OnceLock<Arc<Renderer>> = OnceLock::new();

/// Makes `renderer` the one an [`ApiError`] answered outside any edge layer renders with (in
/// the catalog's default locale). The first call wins; returns whether this one did.
/// `errata-axum`'s edge layer calls it with its renderer.
pub fn set_default_renderer(renderer: Arc<Renderer>) -> bool {
    DEFAULT_RENDERER.set(renderer).is_ok()
}

/// The renderer set by [`set_default_renderer`], if any.
pub fn default_renderer() -> Option<&'static Arc<Renderer>> {
    DEFAULT_RENDERER.get()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let err = Arc::new(self);
        if EDGE_REWRAPS_FROM.with(|e| e.get()) <= status.as_u16() {
            // The edge layer around renders it (see `PendingError::edge_scope`).
            let mut response = Response::new(axum_core::body::Body::empty());
            *response.status_mut() = status;
            response.extensions_mut().insert(PendingError(err));
            return response;
        }
        let content_type = match default_renderer().map(|r| r.envelope()) {
            Some(Envelope::Problem) => Envelope::Problem.content_type(),
            _ => Envelope::Nested.content_type(),
        };
        let body = PendingBody {
            err: Some(Arc::clone(&err)),
        };
        let mut response = Response::new(axum_core::body::Body::new(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response.extensions_mut().insert(PendingError(err));
        response
    }
}

/// The body of an [`ApiError`] response: rendered when first polled, in the default locale.
struct PendingBody {
    err: Option<Arc<ApiError>>,
}

impl http_body::Body for PendingBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Poll::Ready(
            self.err
                .take()
                .map(|err| Ok(http_body::Frame::data(Bytes::from(render_alone(&err))))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.err.is_none()
    }
}

/// The body of `err` without a request: the default renderer's envelope in the catalog's
/// default locale, or, when no renderer was set, the nested envelope with the status's reason
/// phrase as the message (the code and status are kept either way).
pub(crate) fn render_alone(err: &ApiError) -> Vec<u8> {
    if let Some(renderer) = default_renderer() {
        let rendered = renderer.render(err, &RenderContext::default());
        if rendered.status == err.status() {
            return rendered.body;
        }
    }
    let body = serde_json::json!({
        "error": {
            "code": err.code(),
            "message": errata_catalog::reason_phrase(err.status()),
        },
        "status": err.status(),
    });
    serde_json::to_vec(&body).unwrap_or_else(|_| crate::FALLBACK_BODY.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;

    fn body_of(err: ApiError) -> (u16, serde_json::Value) {
        let response = err.into_response();
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut bytes = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            bytes.extend_from_slice(frame.unwrap().data_ref().unwrap());
        }
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn without_an_edge_layer_the_body_is_complete() {
        // No default renderer in this test binary: the code, status and reason phrase.
        let (status, json) = body_of(ApiError::from_code("OUT_OF_STOCK", 409));
        assert_eq!(status, 409);
        assert_eq!(json["error"]["code"], "OUT_OF_STOCK");
        assert_eq!(json["error"]["message"], "Conflict");
        assert_eq!(json["status"], 409);
    }
}
