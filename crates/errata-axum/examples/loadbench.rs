//! A server for load tests: the same error through the whole errata stack and hand-written.
//!
//! - `GET /errata/lectures/{id}`: `LECTURE_NOT_FOUND` from a handler, rendered by `ErrataLayer`
//!   (locale negotiation, request id, envelope, error report).
//! - `GET /hand/lectures/{id}`: the same body built by hand with `axum::Json`, no errata layer.
//!
//! Run `cargo run --release -p errata-axum --example loadbench -- 127.0.0.1:3999` and point a
//! load generator at both routes (`scripts/bench-load.sh` does it with wrk).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use errata::{ApiError, Renderer};
use errata_axum::{ErrataLayer, Path};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

async fn with_errata(Path(_id): Path<u64>) -> Result<String, ApiError> {
    Err(errors::lecture_not_found())
}

async fn by_hand(
    axum::extract::Path(_id): axum::extract::Path<u64>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": { "code": "LECTURE_NOT_FOUND", "message": "강의를 찾을 수 없습니다." },
            "status": 404,
        })),
    )
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3999".to_owned());
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    let errata_routes = Router::new()
        .route("/errata/lectures/{id}", get(with_errata))
        .layer(ErrataLayer::new(renderer));
    let app = Router::new()
        .route("/hand/lectures/{id}", get(by_hand))
        .merge(errata_routes);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {addr}");
    axum::serve(listener, app).await
}
