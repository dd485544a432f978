//! A small shop API wired from the README alone.
//!
//! - `GET /orders/{id}`: an order, or `ORDER_NOT_FOUND` from the catalog.
//! - `POST /orders/{id}/reserve`: a handler answering a plain `(409, Json)` of its own, which
//!   the edge layer re-wraps as `CONFLICT`, status kept.
//! - `GET /stock/{sku}`: `OUT_OF_STOCK` with typed parameters.
//! - `GET /crash`: a handler that panics (`SERVER_ERROR`, nothing of the panic in the body).
//! - `GET /report`: a handler slower than the deadline (`HANDLER_TIMEOUT`, 503).
//!
//! Every route wants `Authorization: Bearer <token>` (tower-http's
//! `ValidateRequestHeaderLayer`, a foreign 401 re-wrapped as `UNAUTHENTICATED`), and answers
//! CORS for one origin (tower-http's `CorsLayer`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use errata::ApiError;
use errata_axum::{ErrataLayer, HandlerTimeoutLayer};
use tower_http::cors::CorsLayer;
use tower_http::validate_request::ValidateRequestHeaderLayer;

/// The shop's catalog, as typed constructors.
pub mod errors {
    errata::catalog!("../errors.toml");
}

/// How long a handler may take.
pub const DEADLINE: Duration = Duration::from_millis(500);

async fn order(Path(id): Path<i64>) -> Result<Json<serde_json::Value>, ApiError> {
    if id == 1 {
        return Ok(Json(serde_json::json!({ "id": 1, "items": 2 })));
    }
    Err(errors::order_not_found(id))
}

/// A handler that answers its own way, outside the catalog.
async fn reserve(Path(_id): Path<i64>) -> (StatusCode, Json<serde_json::Value>) {
    (
        StatusCode::CONFLICT,
        Json(serde_json::json!({ "reason": "reserved by another session" })),
    )
}

async fn stock(Path(sku): Path<String>) -> Result<&'static str, ApiError> {
    Err(errors::out_of_stock(errors::params::OutOfStock {
        sku,
        available: 3,
    }))
}

async fn crash() -> &'static str {
    panic!("inventory index out of bounds")
}

async fn report() -> &'static str {
    tokio::time::sleep(DEADLINE * 20).await;
    "report"
}

/// The service: routes, then tower-http's auth and CORS, a handler deadline, and errata's
/// edge layer outermost, so every error leaves in the envelope.
pub fn app(token: &str) -> Router {
    let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
    #[allow(deprecated)] // tower-http calls it "too basic for real applications"; fine here
    let auth = ValidateRequestHeaderLayer::bearer(token);
    let cors = CorsLayer::new()
        .allow_origin(HeaderValue::from_static("https://shop.example"))
        .allow_methods([Method::GET, Method::POST]);
    Router::new()
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/reserve", post(reserve))
        .route("/stock/{sku}", get(stock))
        .route("/crash", get(crash))
        .route("/report", get(report))
        .fallback(errata_axum::fallback)
        .layer(auth)
        .layer(HandlerTimeoutLayer::new(DEADLINE))
        .layer(cors)
        .layer(ErrataLayer::new(renderer))
}
