//! Routes that declare their errors once: the declaration is the OpenAPI document, layers and
//! extractors add their own codes, and an answer outside the declaration is reported.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use errata::ApiError;
use errata_axum::declare::{DeclareLayer, Declared, ErrorSet};
use errata_axum::ratelimit::{RateLimitLayer, Rule};
use errata_axum::{ErrataLayer, Json, Path};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

mod errors {
    errata::catalog!("../../examples/classroom/errors.toml");
}
use errors::codes;

errata_axum::error_set! {
    /// Errors of `GET /lectures/{id}`.
    pub struct GetErrors for errors::catalog = &[codes::LECTURE_NOT_FOUND];
    /// Errors of `POST /lectures`.
    pub struct CreateErrors for errors::catalog = &[codes::PERMISSION_DENIED];
}

/// A lecture.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
struct Lecture {
    /// Its title.
    title: String,
}

/// `GET /lectures/{id}`: `0` is missing; `7` answers a code the route does not declare.
#[utoipa::path(get, path = "/lectures/{id}", params(("id" = i64, Path, description = "The lecture")),
    responses((status = 200, description = "The lecture", body = Lecture), GetErrors))]
async fn get_lecture(Path(id): Path<i64>) -> Result<axum::Json<Lecture>, ApiError> {
    match id {
        0 => Err(errors::lecture_not_found()),
        7 => Err(errors::already_enrolled()),
        _ => Ok(axum::Json(Lecture {
            title: format!("lecture {id}"),
        })),
    }
}

/// `POST /lectures` (bearer).
#[utoipa::path(post, path = "/lectures", request_body = Lecture, security(("bearer" = [])),
    responses((status = 201, description = "Created", body = Lecture), CreateErrors))]
async fn create_lecture(
    headers: axum::http::HeaderMap,
    Json(lecture): Json<Lecture>,
) -> Result<(StatusCode, axum::Json<Lecture>), ApiError> {
    if !headers.contains_key("authorization") {
        return Err(errors::auth_required());
    }
    if lecture.title == "forbidden" {
        return Err(errors::permission_denied());
    }
    Ok((StatusCode::CREATED, axum::Json(lecture)))
}

struct Server {
    base: String,
    declared: Declared,
    doc: Value,
    client: reqwest::Client,
}

async fn serve() -> Server {
    let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
    let declared =
        Declared::new().security("bearer", &[codes::AUTH_REQUIRED, codes::TOKEN_INVALID]);
    let count = std::num::NonZeroU32::new(1000).expect("non-zero");
    let limits = RateLimitLayer::new(vec![Rule::new(count, Duration::from_secs(60))]);
    let (router, doc) = OpenApiRouter::new()
        .routes(routes!(get_lecture))
        .routes(routes!(create_lecture))
        .layer(declared.layer())
        .layer_declaring(limits)
        .layer_declaring(ErrataLayer::new(Arc::clone(&renderer)))
        .split_for_parts();
    let doc = declared.finish(doc, &renderer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    Server {
        base: format!("http://{addr}"),
        declared,
        doc: serde_json::to_value(&doc).expect("doc"),
        client: reqwest::Client::new(),
    }
}

fn codes_of(op: &Value) -> Vec<&str> {
    op["x-error-codes"]
        .as_array()
        .expect("x-error-codes")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[tokio::test]
async fn the_document_holds_each_routes_own_layer_extractor_and_security_codes() {
    let server = serve().await;
    let get = &server.doc["paths"]["/lectures/{id}"]["get"];
    assert_eq!(
        codes_of(get),
        [
            "VALIDATION_ERROR",
            "LECTURE_NOT_FOUND",
            "RATE_LIMIT_EXCEEDED",
            "SERVER_ERROR"
        ],
        "path parameter, own code, the rate limiter's and the edge layer's, in status order"
    );
    let post = &server.doc["paths"]["/lectures"]["post"];
    let post_codes = codes_of(post);
    for code in [
        "MALFORMED_JSON",
        "UNSUPPORTED_MEDIA_TYPE",
        "PAYLOAD_TOO_LARGE",
        "AUTH_REQUIRED",
        "TOKEN_INVALID",
        "PERMISSION_DENIED",
        "RATE_LIMIT_EXCEEDED",
        "SERVER_ERROR",
    ] {
        assert!(post_codes.contains(&code), "{code} in {post_codes:?}");
    }
    assert!(!post_codes.contains(&"LECTURE_NOT_FOUND"));
    // Success schemas stay as declared; every error status is documented in both media types.
    assert_eq!(
        get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Lecture"
    );
    let not_found = &get["responses"]["404"]["content"];
    assert_eq!(
        not_found["application/json"]["examples"]["LECTURE_NOT_FOUND"]["value"]["error"]["code"],
        "LECTURE_NOT_FOUND"
    );
    assert_eq!(
        not_found["application/problem+json"]["schema"]["$ref"],
        "#/components/schemas/ProblemDetails"
    );
    assert!(get["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert!(server.doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    assert!(server.doc["components"]["schemas"]["Lecture"].is_object());
    assert_eq!(
        server
            .declared
            .codes(&Method::GET, "/lectures/{id}")
            .as_deref(),
        Some(
            &codes_of(get)
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()[..]
        )
    );
    assert_eq!(GetErrors::CODES, &[codes::LECTURE_NOT_FOUND]);
}

#[tokio::test]
async fn declared_answers_pass_and_an_undeclared_one_is_reported() {
    let server = serve().await;
    let get = |id: &str| {
        server
            .client
            .get(format!("{}/lectures/{id}", server.base))
            .send()
    };
    assert_eq!(get("1").await.expect("get").status(), 200);
    assert_eq!(get("0").await.expect("get").status(), 404);
    // A path parameter that does not parse: the extractor's code, declared for every route
    // with parameters.
    assert_eq!(get("abc").await.expect("get").status(), 400);
    let post = server
        .client
        .post(format!("{}/lectures", server.base))
        .header("authorization", "Bearer x")
        .json(&serde_json::json!({"title": "forbidden"}))
        .send()
        .await
        .expect("post");
    assert_eq!(post.status(), 403);
    let unauthenticated = server
        .client
        .post(format!("{}/lectures", server.base))
        .json(&serde_json::json!({"title": "a"}))
        .send()
        .await
        .expect("post");
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(server.declared.undeclared(), []);
    server.declared.assert_all_declared();

    // The answer itself is untouched: the check reports, it never changes a response.
    let undeclared = get("7").await.expect("get");
    assert_eq!(undeclared.status(), 409);
    let body: Value = undeclared.json().await.expect("json");
    assert_eq!(body["error"]["code"], "ALREADY_ENROLLED");
    let reported = server.declared.undeclared();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0].method, Method::GET);
    assert_eq!(reported[0].route, "/lectures/{id}");
    assert_eq!(reported[0].code, "ALREADY_ENROLLED");
    assert!(reported[0]
        .declared
        .contains(&"LECTURE_NOT_FOUND".to_owned()));
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        server.declared.assert_all_declared();
    }));
    let message = failed
        .expect_err("the helper fails")
        .downcast::<String>()
        .expect("message");
    assert!(
        message.contains("GET /lectures/{id} answered ALREADY_ENROLLED"),
        "{message}"
    );
}

#[test]
fn a_code_set_is_the_routes_openapi_responses() {
    use utoipa::IntoResponses;
    let responses = GetErrors::responses();
    assert_eq!(responses.keys().collect::<Vec<_>>(), ["404"]);
    let json = serde_json::to_value(&responses["404"]).expect("json");
    assert_eq!(
        json["x-error-codes"],
        serde_json::json!(["LECTURE_NOT_FOUND"])
    );
    assert!(json["content"]["application/json"]["examples"]["LECTURE_NOT_FOUND"].is_object());
    assert!(
        json["content"]["application/problem+json"]["examples"]["LECTURE_NOT_FOUND"].is_object()
    );
}
