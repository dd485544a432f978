//! `IntoResponse` for [`ApiError`] (feature `axum`).
//!
//! A handler's error cannot see the request, so it cannot pick a locale or a request id. The
//! response it produces therefore carries only its status and the error itself, in a
//! [`PendingError`] extension; the edge layer of `errata-axum` (required) finds it and renders
//! the envelope with the request's context.

use std::sync::Arc;

use axum_core::response::{IntoResponse, Response};

use crate::ApiError;

/// An error waiting to be rendered by the edge layer, found in the response extensions.
#[derive(Clone, Debug)]
pub struct PendingError(pub Arc<ApiError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = http::StatusCode::from_u16(self.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        // The body is the edge layer's to write: it knows the locale and the request id.
        let mut response = Response::new(axum_core::body::Body::empty());
        *response.status_mut() = status;
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(self)));
        response
    }
}
