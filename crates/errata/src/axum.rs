//! `IntoResponse` for [`ApiError`] (feature `axum`).
//!
//! A handler's error cannot see the request, so it cannot pick a locale or a request id. The
//! response it produces therefore carries the error itself in a [`PendingError`] extension, with
//! a minimal body; the edge layer of `errata-axum` finds it and renders the real envelope with
//! the request's context.

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
        // Valid JSON on its own, for services that forgot the edge layer; replaced by it.
        let body = format!(
            r#"{{"error":{{"code":"{}"}},"status":{}}}"#,
            json_safe(self.code()),
            status.as_u16()
        );
        let mut response = Response::new(axum_core::body::Body::from(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
            .extensions_mut()
            .insert(PendingError(Arc::new(self)));
        response
    }
}

fn json_safe(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}
