//! Extractors that say what happened: type errors in valid JSON, unknown fields, path
//! parameters by name, bounds in `out_of_range`, and `Json` as an answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use errata::Renderer;
use errata_axum::test::parse_error;
use errata_axum::{ErrataLayer, Json, Path, Query, Valid};
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;
use validator::Validate;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

#[derive(Deserialize, Serialize, Debug)]
#[serde(rename_all = "lowercase")]
enum Role {
    Student,
    Teacher,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Member {
    name: String,
    role: Role,
    age: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Strict {
    user: StrictUser,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StrictUser {
    name: String,
}

#[derive(Deserialize, Validate)]
#[allow(dead_code)]
struct Page {
    #[validate(range(min = 1, max = 100))]
    limit: u32,
    #[validate(range(min = 1))]
    page: Option<u32>,
}

#[derive(Serialize)]
struct Answer {
    id: u64,
    role: Role,
}

fn app() -> Router {
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    Router::new()
        .route("/members", post(|Json(_): Json<Member>| async { "ok" }))
        .route("/strict", post(|Json(_): Json<Strict>| async { "ok" }))
        .route(
            "/lectures/{id}",
            get(|Path(id): Path<u64>| async move { id.to_string() }),
        )
        .route(
            "/lectures/{lecture}/steps/{step}",
            get(|Path((l, s)): Path<(u64, u32)>| async move { format!("{l}/{s}") }),
        )
        .route(
            "/page",
            get(|Valid(Query(p)): Valid<Query<Page>>| async move { p.limit.to_string() }),
        )
        .route(
            "/answer",
            get(|| async {
                Json(Answer {
                    id: 7,
                    role: Role::Teacher,
                })
            }),
        )
        .route(
            "/unserializable",
            get(|| async {
                // JSON object keys must be strings.
                Json(HashMap::from([((1u8, 2u8), "x")]))
            }),
        )
        .fallback(errata_axum::fallback)
        .layer(ErrataLayer::new(renderer))
}

struct Reply {
    status: StatusCode,
    content_type: Option<String>,
    json: Value,
    body: Vec<u8>,
}

async fn send(req: Request<Body>) -> Reply {
    let res = app().oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Reply {
        status,
        content_type,
        json,
        body,
    }
}

async fn post_json(path: &str, body: &str) -> Reply {
    send(
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::from(body.to_owned()))
            .unwrap(),
    )
    .await
}

async fn get_en(path: &str) -> Reply {
    send(
        Request::get(path)
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// The one field error at `path`: (code, message).
fn field(reply: &Reply, path: &str) -> (String, String) {
    let body = parse_error(reply.status.as_u16(), &reply.body);
    assert_eq!(body.code, "VALIDATION_ERROR", "{}", reply.json);
    let items = reply.json["error"]["field_errors"][path]
        .as_array()
        .unwrap_or_else(|| panic!("no field error at `{path}`: {}", reply.json));
    assert_eq!(items.len(), 1, "{}", reply.json);
    (
        items[0]["code"].as_str().unwrap().to_owned(),
        items[0]["message"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_type_error_in_valid_json_is_a_validation_error_on_the_field() {
    for role in ["null", "5", "[]", "true"] {
        let reply = post_json(
            "/members",
            &format!(r#"{{"name": "kim", "role": {role}, "age": 20}}"#),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{role}");
        let (code, _) = field(&reply, "role");
        assert_eq!(code, "invalid", "{role}: {}", reply.json);
    }
    let reply = post_json(
        "/members",
        r#"{"name": null, "role": "student", "age": 20}"#,
    )
    .await;
    assert_eq!(field(&reply, "name").0, "invalid_type");
    // Not JSON at all is still MALFORMED_JSON.
    for body in [
        r#"{"name": "kim", "role": "#,
        r#"{"role": "student"} trailing"#,
        "{nope}",
    ] {
        let reply = post_json("/members", body).await;
        assert_eq!(
            parse_error(reply.status.as_u16(), &reply.body).code,
            "MALFORMED_JSON",
            "{body}"
        );
    }
}

#[tokio::test]
async fn unknown_fields_are_ignored_unless_the_type_denies_them() {
    let reply = post_json(
        "/members",
        r#"{"name": "kim", "role": "student", "age": 20, "nickname": "k"}"#,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = post_json("/strict", r#"{"user": {"name": "kim", "nmae": "x"}}"#).await;
    let (code, message) = field(&reply, "user.nmae");
    assert_eq!(code, "unknown_field");
    assert_eq!(message, "This field is not expected.");
}

#[tokio::test]
async fn path_parameters_are_named_by_the_route() {
    let reply = get_en("/lectures/abc").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let (code, message) = field(&reply, "id");
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("invalid_type", "Must be an integer.")
    );
    let reply = get_en("/lectures/3/steps/x").await;
    assert_eq!(field(&reply, "step").0, "invalid_type");
    let reply = get_en("/lectures/3/steps/4").await;
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (StatusCode::OK, &b"3/4"[..])
    );
}

#[tokio::test]
async fn out_of_range_keeps_its_bounds_in_the_message() {
    let reply = post_json(
        "/members",
        r#"{"name": "kim", "role": "student", "age": 300}"#,
    )
    .await;
    let (code, message) = field(&reply, "age");
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("out_of_range", "Must be between 0 and 255.")
    );

    let reply = get_en("/page?limit=1000").await;
    let (code, message) = field(&reply, "limit");
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("out_of_range", "Must be between 1 and 100.")
    );
    let reply = get_en("/page?limit=5&page=0").await;
    let (code, message) = field(&reply, "page");
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("too_small", "Must be at least 1.")
    );
}

#[tokio::test]
async fn json_is_also_the_answer() {
    let reply = get_en("/answer").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type.as_deref(), Some("application/json"));
    assert_eq!(reply.json, serde_json::json!({"id": 7, "role": "teacher"}));
    let reply = get_en("/unserializable").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        parse_error(500, &reply.body).code,
        "SERVER_ERROR",
        "{}",
        reply.json
    );
}
