//! A server for load tests: the same error through the whole errata stack and hand-written.
//!
//! - `GET /errata/lectures/{id}`: `LECTURE_NOT_FOUND` from a handler, rendered by `ErrataLayer`
//!   (locale negotiation, request id, envelope, error report).
//! - `GET /hand/lectures/{id}`: the same envelope built by hand with `axum::Json`, without a
//!   request id, no layer.
//! - `GET /hand-id/lectures/{id}`: the same response as the errata route, built by hand the
//!   idiomatic way: tower-http's `SetRequestId` and `PropagateRequestId` layers (with errata's
//!   generator, so both sides pay the same for an id) and the id in the body by `axum::Json`.
//!   It answers the same bytes as the errata route but the id (checked at start-up).
//!
//! Run `cargo run --release -p errata-axum --example loadbench -- 127.0.0.1:3999` and point a
//! load generator at both routes (`scripts/bench-load.sh` does it with wrk).

use std::sync::Arc;

use axum::http::{HeaderName, StatusCode};
use axum::routing::get;
use axum::{Extension, Router};
use errata::{ApiError, Renderer};
use errata_axum::{ErrataLayer, Path, RandomRequestId};
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

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

/// The envelope of the hand-written route with an id, serialized by derive.
#[derive(serde::Serialize)]
struct HandError<'a> {
    error: HandErrorBody<'a>,
    status: u16,
    request_id: &'a str,
}

#[derive(serde::Serialize)]
struct HandErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

async fn by_hand_with_id(
    Extension(id): Extension<RequestId>,
    axum::extract::Path(_id): axum::extract::Path<u64>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = HandError {
        error: HandErrorBody {
            code: "LECTURE_NOT_FOUND",
            message: "강의를 찾을 수 없습니다.",
        },
        status: 404,
        request_id: id.header_value().to_str().unwrap_or_default(),
    };
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// The two routes' answers with the request id taken out: status, headers and body.
async fn answer_without_id(app: &Router, path: &str) -> String {
    use tower::ServiceExt;
    let request = axum::http::Request::get(path)
        .header("x-request-id", "r-1")
        .body(axum::body::Body::empty())
        .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let head = format!("{} {:?}", response.status(), response.headers());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("a body");
    format!("{head} {}", String::from_utf8_lossy(&body))
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
    let x_request_id = HeaderName::from_static("x-request-id");
    let hand_id_routes = Router::new()
        .route("/hand-id/lectures/{id}", get(by_hand_with_id))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(
                    x_request_id.clone(),
                    RandomRequestId,
                ))
                .layer(PropagateRequestIdLayer::new(x_request_id)),
        );
    let app = Router::new()
        .route("/hand/lectures/{id}", get(by_hand))
        .merge(errata_routes)
        .merge(hand_id_routes);
    let errata_answer = answer_without_id(&app, "/errata/lectures/7").await;
    let hand_answer = answer_without_id(&app, "/hand-id/lectures/7").await;
    assert_eq!(errata_answer, hand_answer, "both routes answer the same");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {addr}");
    axum::serve(listener, app).await
}
