//! The API router's own not-found answer: `ROUTE_NOT_FOUND` in the envelope, never an SPA page.

use errata::ApiError;

/// A fallback handler answering `ROUTE_NOT_FOUND` (404). Use it on the API router:
/// `Router::new().fallback(errata_axum::fallback)`.
pub async fn fallback() -> ApiError {
    errata::builtin::route_not_found()
}
