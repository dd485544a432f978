//! Constructors for the built-in errors every framework produces.
//!
//! Every catalog contains these codes (a catalog may re-word them, never remove them), so
//! framework integrations can raise them without knowing the service's catalog.

use crate::ApiError;

fn builtin(code: &'static str) -> ApiError {
    ApiError::from_code(code, errata_catalog::builtin_status(code).unwrap_or(500))
}

/// `ROUTE_NOT_FOUND` (404): no route matches the path.
pub fn route_not_found() -> ApiError {
    builtin("ROUTE_NOT_FOUND")
}

/// `METHOD_NOT_ALLOWED` (405): the path exists, not with this method. Add the `Allow` header.
pub fn method_not_allowed() -> ApiError {
    builtin("METHOD_NOT_ALLOWED")
}

/// `UNSUPPORTED_MEDIA_TYPE` (415).
pub fn unsupported_media_type() -> ApiError {
    builtin("UNSUPPORTED_MEDIA_TYPE")
}

/// `MALFORMED_JSON` (400): the body is not JSON at all.
pub fn malformed_json() -> ApiError {
    builtin("MALFORMED_JSON")
}

/// `VALIDATION_ERROR` (400): well-formed input with invalid fields.
pub fn validation_error() -> ApiError {
    builtin("VALIDATION_ERROR")
}

/// `PAYLOAD_TOO_LARGE` (413).
pub fn payload_too_large() -> ApiError {
    builtin("PAYLOAD_TOO_LARGE")
}

/// `REQUEST_TIMEOUT` (408): the client was too slow.
pub fn request_timeout() -> ApiError {
    builtin("REQUEST_TIMEOUT")
}

/// `RATE_LIMIT_EXCEEDED` (429), with `Retry-After: retry_after`.
pub fn rate_limit_exceeded(retry_after: u64) -> ApiError {
    builtin("RATE_LIMIT_EXCEEDED")
        .with_param(
            "retry_after",
            i64::try_from(retry_after).unwrap_or(i64::MAX),
        )
        .with_retry_after(retry_after)
}

/// `SERVER_ERROR` (500): an unexpected failure; attach the cause with `with_cause`.
pub fn server_error() -> ApiError {
    builtin("SERVER_ERROR")
}

/// `UPSTREAM_ERROR` (502): a dependency failed in a way nothing more specific describes.
pub fn upstream_error() -> ApiError {
    builtin("UPSTREAM_ERROR")
}

/// `SERVICE_UNAVAILABLE` (503).
pub fn service_unavailable() -> ApiError {
    builtin("SERVICE_UNAVAILABLE")
}

/// `UPSTREAM_TIMEOUT` (504): a dependency did not answer in time.
pub fn upstream_timeout() -> ApiError {
    builtin("UPSTREAM_TIMEOUT")
}

/// `UNAUTHENTICATED` (401): no valid credentials.
pub fn unauthenticated() -> ApiError {
    builtin("UNAUTHENTICATED")
}

/// `FORBIDDEN` (403): valid credentials that do not allow the request.
pub fn forbidden() -> ApiError {
    builtin("FORBIDDEN")
}

/// `CONFLICT` (409): the request conflicts with the resource's current state.
pub fn conflict() -> ApiError {
    builtin("CONFLICT")
}

/// `GONE` (410): the resource was removed for good.
pub fn gone() -> ApiError {
    builtin("GONE")
}

/// `UNPROCESSABLE` (422): well-formed content that cannot be processed.
pub fn unprocessable() -> ApiError {
    builtin("UNPROCESSABLE")
}

/// `HANDLER_TIMEOUT` (503): the server did not finish the request before its deadline. Alerted
/// by default; distinct from [`request_timeout`] (the client) and [`upstream_timeout`] (an
/// upstream).
pub fn handler_timeout() -> ApiError {
    builtin("HANDLER_TIMEOUT")
}

/// The status-generic built-in for `status`: `CLIENT_ERROR` for a 4xx, `SERVER_ERROR` for a
/// 5xx (or anything else), answering with `status` itself, so a status is never changed.
///
/// ```
/// let err = errata::builtin::status_error(418);
/// assert_eq!((err.code(), err.status()), ("CLIENT_ERROR", 418));
/// let err = errata::builtin::status_error(507);
/// assert_eq!((err.code(), err.status()), ("SERVER_ERROR", 507));
/// ```
pub fn status_error(status: u16) -> ApiError {
    match status {
        400..=499 => ApiError::from_code("CLIENT_ERROR", status),
        500..=599 => ApiError::from_code("SERVER_ERROR", status),
        _ => server_error(),
    }
}
