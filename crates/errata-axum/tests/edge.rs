//! The edge layer and the extractors over real HTTP on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use errata::{ApiError, Renderer};
use errata_axum::ratelimit::{RateLimitLayer, Rule};
use errata_axum::test::assert_error;
use errata_axum::{ErrataLayer, Json, Path, Query, Valid};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use validator::Validate;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}
use errors::codes;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Signup {
    email: String,
    age: u8,
}

#[derive(Deserialize, Validate)]
#[allow(dead_code)]
struct Password {
    #[validate(length(min = 8))]
    password: String,
    #[validate(email)]
    email: String,
    #[validate(custom(function = "not_taken"))]
    nickname: String,
}

fn not_taken(nick: &str) -> Result<(), validator::ValidationError> {
    if nick == "taken" {
        return Err(validator::ValidationError::new("email_taken"));
    }
    Ok(())
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Page {
    page: u32,
}

async fn signup(Json(_): Json<Signup>) -> &'static str {
    "ok"
}

async fn password(Valid(Json(_)): Valid<Json<Password>>) -> &'static str {
    "ok"
}

async fn lecture(Path(id): Path<u64>) -> Result<String, ApiError> {
    if id == 404 {
        return Err(errors::lecture_not_found());
    }
    Ok(id.to_string())
}

async fn list(Query(_): Query<Page>) -> &'static str {
    "ok"
}

async fn boom() -> &'static str {
    panic!("secret panic text: password=hunter2");
}

async fn internal() -> Result<(), ApiError> {
    let e = std::io::Error::other("connection to db.internal:5432 refused");
    Err(e)?;
    Ok(())
}

async fn foreign_503() -> (StatusCode, &'static str) {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded, try later (internal detail)",
    )
}

fn app() -> Router {
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    let limited = Router::new()
        .route("/limited", get(|| async { "ok" }))
        .layer(RateLimitLayer::new([Rule::parse("2/min").unwrap()]));
    Router::new()
        .route("/signup", post(signup))
        .route("/password", post(password))
        .route("/lectures/{id}", get(lecture).delete(lecture))
        .route("/list", get(list))
        .route("/boom", get(boom))
        .route("/internal", get(internal))
        .route("/foreign", get(foreign_503))
        .merge(limited)
        .fallback(errata_axum::fallback)
        .layer(DefaultBodyLimit::max(1024))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Duration::from_millis(300),
        ))
        .layer(ErrataLayer::new(renderer))
}

async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app().into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn send(req: reqwest::RequestBuilder) -> Reply {
    let res = req.send().await.unwrap();
    Reply {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.bytes().await.unwrap().to_vec(),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

#[tokio::test]
async fn unknown_route_is_route_not_found_in_both_languages() {
    let addr = serve().await;
    let r = send(client().get(format!("http://{addr}/nope"))).await;
    let e = assert_error(r.status, &r.body, codes::ROUTE_NOT_FOUND);
    assert_eq!(
        (e.status, e.message.as_str()),
        (404, "요청한 경로를 찾을 수 없습니다.")
    );
    assert_eq!(r.headers["content-type"], "application/json");
    let r = send(
        client()
            .get(format!("http://{addr}/nope"))
            .header("accept-language", "en-US,en;q=0.9"),
    )
    .await;
    assert_eq!(
        assert_error(r.status, &r.body, codes::ROUTE_NOT_FOUND).message,
        "No route matches this path."
    );
}

#[tokio::test]
async fn method_not_allowed_keeps_allow() {
    let addr = serve().await;
    let r = send(client().put(format!("http://{addr}/lectures/1"))).await;
    assert_error(r.status, &r.body, codes::METHOD_NOT_ALLOWED);
    let allow = r.headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{allow}");
}

#[tokio::test]
async fn handler_errors_render_with_request_id_echoed_or_generated() {
    let addr = serve().await;
    let r = send(
        client()
            .get(format!("http://{addr}/lectures/404"))
            .header("x-request-id", "abc-123"),
    )
    .await;
    let e = assert_error(r.status, &r.body, codes::LECTURE_NOT_FOUND);
    assert_eq!(r.headers["x-request-id"], "abc-123");
    assert_eq!(e.json["request_id"], "abc-123");
    let r = send(
        client()
            .get(format!("http://{addr}/lectures/404"))
            .header("x-request-id", "bad id\twith spaces"),
    )
    .await;
    let generated = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(
        generated.len(),
        32,
        "a generated id replaces an unusable one: {generated}"
    );
    assert!(generated.bytes().all(|b| b.is_ascii_hexdigit()));
    let again = send(client().get(format!("http://{addr}/lectures/404"))).await;
    assert_ne!(
        again.headers["x-request-id"].to_str().unwrap(),
        generated,
        "ids are unique"
    );
    let ok = send(client().get(format!("http://{addr}/lectures/7"))).await;
    assert_eq!(ok.status, 200);
    assert!(ok.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn every_response_carries_the_request_id_as_header_and_extension() {
    use tower::ServiceExt;
    use tower_http::request_id::RequestId;
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    let app = Router::new()
        .route("/lectures/{id}", get(lecture))
        .route(
            "/own-id",
            get(|| async { ([("x-request-id", "handler-own")], "ok") }),
        )
        .layer(ErrataLayer::new(renderer));
    let call = |uri: &str, id: Option<&str>| {
        let mut req = axum::http::Request::builder().uri(uri);
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        app.clone()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
    };
    for (uri, id, want) in [
        // An error: the body's id, the client's.
        ("/lectures/404", Some("client-1"), Some("client-1")),
        // A success: the client's id echoed.
        ("/lectures/7", Some("client-2"), Some("client-2")),
        // A success with a header of the handler's own: kept.
        ("/own-id", Some("client-3"), Some("handler-own")),
        // No id from the client: a generated one, on an error and on a success.
        ("/lectures/404", None, None),
        ("/lectures/7", None, None),
    ] {
        let res = call(uri, id).await.unwrap();
        let header = res.headers()["x-request-id"].clone();
        let ext = res
            .extensions()
            .get::<RequestId>()
            .unwrap_or_else(|| panic!("{uri}: no RequestId extension"));
        assert_eq!(ext.header_value(), &header, "{uri}");
        match want {
            Some(w) => assert_eq!(header, w, "{uri}"),
            None => assert_eq!(header.len(), 32, "{uri}: a generated id"),
        }
    }
}

#[tokio::test]
async fn problem_json_on_request() {
    let addr = serve().await;
    let r = send(
        client()
            .get(format!("http://{addr}/lectures/404"))
            .header("accept", "application/problem+json"),
    )
    .await;
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let e = assert_error(r.status, &r.body, codes::LECTURE_NOT_FOUND);
    assert_eq!(e.json["instance"], "/lectures/404");
}

#[tokio::test]
async fn json_body_failures_each_have_their_code() {
    let addr = serve().await;
    let url = format!("http://{addr}/signup");
    let post = |body: Vec<u8>, ct: &str| {
        client()
            .post(&url)
            .header("content-type", ct.to_owned())
            .body(body)
    };

    let r = send(post(b"{\"email\": ".to_vec(), "application/json")).await;
    assert_error(r.status, &r.body, codes::MALFORMED_JSON);

    let r = send(post(b"\xff\xfe{}".to_vec(), "application/json")).await;
    assert_error(r.status, &r.body, codes::MALFORMED_JSON);

    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let r = send(
        client()
            .post(&url)
            .header("content-type", "application/json")
            .body(deep),
    )
    .await;
    assert!(r.status == 400 || r.status == 413, "{}", r.status);

    let r = send(post(br#"{"email":"a@b.c","age":1}"#.to_vec(), "text/plain")).await;
    assert_error(r.status, &r.body, codes::UNSUPPORTED_MEDIA_TYPE);

    let r = send(post(br#"{"age":1}"#.to_vec(), "application/json")).await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert_eq!(e.field_codes("email"), ["required"]);

    let r = send(post(
        br#"{"email":"a@b.c","age":"old"}"#.to_vec(),
        "application/json",
    ))
    .await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert_eq!(e.field_codes("age"), ["invalid_type"]);
    assert_eq!(
        e.json["error"]["field_errors"]["age"][0]["message"],
        "an integer 형식이어야 합니다."
    );

    let r = send(post(
        br#"{"email":"a@b.c","age":99999999999999999999999}"#.to_vec(),
        "application/json",
    ))
    .await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert!(!e.field_codes("age").is_empty(), "{}", e.json);

    let r = send(post(
        br#"{"email":"a@b.c","age":1,"admin":true}"#.to_vec(),
        "application/json; charset=utf-8",
    ))
    .await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert_eq!(e.field_codes("admin"), ["unknown_field"]);

    for trailing in [&br#"{} trailing"#[..], br#"{"email":"a@b.c","age":1} x"#] {
        let r = send(post(trailing.to_vec(), "application/json")).await;
        assert_error(r.status, &r.body, codes::MALFORMED_JSON);
    }

    let r = send(post(
        br#"{"email":"a@b.c","age":1}"#.to_vec(),
        "application/json",
    ))
    .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn validator_rules_become_localized_field_errors() {
    let addr = serve().await;
    let r = send(
        client()
            .post(format!("http://{addr}/password"))
            .header("accept-language", "en")
            .json(&serde_json::json!({"password": "short", "email": "nope", "nickname": "taken"})),
    )
    .await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    let fe = &e.json["error"]["field_errors"];
    assert_eq!(
        fe["password"][0],
        serde_json::json!({"code": "too_short", "message": "Must be at least 8 characters."})
    );
    assert_eq!(fe["email"][0]["code"], "invalid_email");
    assert_eq!(
        fe["nickname"][0],
        serde_json::json!({"code": "email_taken", "message": "This email is already in use."})
    );
}

#[tokio::test]
async fn oversized_bodies_are_payload_too_large_sized_or_chunked() {
    let addr = serve().await;
    let big = vec![b' '; 4096];
    let r = send(
        client()
            .post(format!("http://{addr}/signup"))
            .header("content-type", "application/json")
            .body(big.clone()),
    )
    .await;
    assert_error(r.status, &r.body, codes::PAYLOAD_TOO_LARGE);

    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..8).map(|_| Ok(vec![b' '; 512])).collect();
    let stream = futures_util::stream::iter(chunks);
    let r = send(
        client()
            .post(format!("http://{addr}/signup"))
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await;
    assert_error(r.status, &r.body, codes::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_client_too_slow_to_send_its_body_gets_request_timeout() {
    let addr = serve().await;
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST /signup HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50\r\n\r\n{\"em")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        buf.extend_from_slice(&chunk[..n]);
        if n == 0 || String::from_utf8_lossy(&buf).contains("\"status\":") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"REQUEST_TIMEOUT\""), "{text}");
}

#[tokio::test]
async fn panics_and_internal_errors_leak_nothing() {
    let addr = serve().await;
    for path in ["/boom", "/internal"] {
        let r = send(client().get(format!("http://{addr}{path}"))).await;
        let e = assert_error(r.status, &r.body, codes::SERVER_ERROR);
        let text = String::from_utf8_lossy(&r.body);
        assert!(
            !text.contains("hunter2") && !text.contains("db.internal") && !text.contains("panic"),
            "{text}"
        );
        assert_eq!(e.message, "서버 내부 오류가 발생했습니다.");
    }
}

#[tokio::test]
async fn foreign_error_responses_are_rewrapped() {
    let addr = serve().await;
    let r = send(client().get(format!("http://{addr}/foreign"))).await;
    assert_error(r.status, &r.body, codes::SERVICE_UNAVAILABLE);
    assert!(!String::from_utf8_lossy(&r.body).contains("internal detail"));
}

#[tokio::test]
async fn bad_path_and_query_parameters_are_validation_errors() {
    let addr = serve().await;
    let r = send(client().get(format!("http://{addr}/lectures/abc"))).await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert!(
        !e.json["error"]["field_errors"]
            .as_object()
            .unwrap()
            .is_empty(),
        "{}",
        e.json
    );
    let r = send(client().get(format!("http://{addr}/list?page=-3"))).await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert_eq!(e.field_codes("page"), ["invalid_type"], "{}", e.json);
    let r = send(client().get(format!("http://{addr}/list"))).await;
    let e = assert_error(r.status, &r.body, codes::VALIDATION_ERROR);
    assert_eq!(e.field_codes("page"), ["required"]);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let addr = serve().await;
    for _ in 0..2 {
        assert_eq!(
            send(client().get(format!("http://{addr}/limited")))
                .await
                .status,
            200
        );
    }
    let r = send(
        client()
            .get(format!("http://{addr}/limited"))
            .header("accept-language", "en"),
    )
    .await;
    let e = assert_error(r.status, &r.body, codes::RATE_LIMIT_EXCEEDED);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        e.message,
        format!("Too many requests. Try again in {retry} seconds.")
    );
}

#[tokio::test]
async fn the_error_report_carries_the_cause_for_monitoring() {
    use tower::ServiceExt;
    let request = || axum::http::Request::get("/internal").body(axum::body::Body::empty());
    let unmonitored = app().oneshot(request().unwrap()).await.unwrap();
    assert!(
        unmonitored
            .extensions()
            .get::<errata::ErrorReport>()
            .is_none(),
        "no report unless a monitoring layer asks"
    );
    let mut monitored = request().unwrap();
    monitored.extensions_mut().insert(errata::ReportWanted);
    let response = app().oneshot(monitored).await.unwrap();
    let report = response
        .extensions()
        .get::<errata::ErrorReport>()
        .cloned()
        .expect("report attached");
    assert_eq!(&*report.code, "SERVER_ERROR");
    assert_eq!(
        report.cause_chain(),
        ["connection to db.internal:5432 refused"]
    );
    assert_eq!(report.alert, errata::AlertPolicy::Always);
}

#[tokio::test]
async fn an_inner_edge_layer_renders_and_the_outer_one_keeps_its_answer() {
    use tower::ServiceExt;
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    let inner = Router::new()
        .route(
            "/lectures/{id}",
            get(|| async { Err::<String, _>(errors::lecture_not_found()) }),
        )
        .layer(ErrataLayer::new(Arc::clone(&renderer)));
    let app = Router::new()
        .nest("/v1", inner)
        .layer(ErrataLayer::new(renderer));
    let response = app
        .oneshot(
            axum::http::Request::get("/v1/lectures/7")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap();
    // A 404 the outer layer did not recognise would become ROUTE_NOT_FOUND.
    assert_error(404, &body, codes::LECTURE_NOT_FOUND);
}
