//! The edge layer never changes a status, never answers an empty body, never logs a secret:
//! foreign responses of every status, handler timeouts, `Accept` negotiation, errors answered
//! without the layer, and the log output itself.

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use errata::{ApiError, Renderer, UpstreamDetail};
use errata_axum::test::parse_error;
use errata_axum::{ErrataLayer, HandlerTimeoutLayer, Rewrap, ServiceBuilderExt};
use tower::{Service, ServiceBuilder, ServiceExt};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn renderer() -> Arc<Renderer> {
    Arc::new(Renderer::new(errors::catalog().clone()))
}

/// A handler answering `status`, with a foreign body or none.
fn foreign(status: u16, with_body: bool) -> axum::response::Response {
    let status = StatusCode::from_u16(status).unwrap();
    let mut res = if with_body {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"detail":"internal words: db.internal:5432"}"#,
        )
            .into_response()
    } else {
        status.into_response()
    };
    res.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        "Bearer realm=\"shop\"".parse().unwrap(),
    );
    res
}

fn foreign_app(layer: ErrataLayer) -> Router {
    Router::new()
        .route(
            "/status/{code}/{body}",
            get(
                |axum::extract::Path((code, body)): axum::extract::Path<(u16, bool)>| async move {
                    foreign(code, body)
                },
            ),
        )
        .layer(layer)
}

async fn get_body(app: Router, req: Request<Body>) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

fn req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_foreign_response_keeps_its_status_with_and_without_a_body() {
    let cases = [
        (401, "UNAUTHENTICATED"),
        (403, "FORBIDDEN"),
        (409, "CONFLICT"),
        (410, "GONE"),
        (418, "CLIENT_ERROR"),
        (422, "UNPROCESSABLE"),
        (451, "CLIENT_ERROR"),
        (400, "VALIDATION_ERROR"),
        (500, "SERVER_ERROR"),
        (501, "SERVER_ERROR"),
        (502, "UPSTREAM_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
        (507, "SERVER_ERROR"),
    ];
    for (status, code) in cases {
        for with_body in [false, true] {
            let app = foreign_app(ErrataLayer::new(renderer()));
            let (got, headers, body) =
                get_body(app, req(&format!("/status/{status}/{with_body}"))).await;
            assert_eq!(got, status, "{status} with body {with_body}");
            // parse_error also checks that the body's status is the response's.
            let e = parse_error(got, &body);
            assert_eq!(e.code, code, "{status}: {}", e.json);
            assert!(!e.message.is_empty());
            assert_eq!(headers[header::CONTENT_TYPE], "application/json");
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer realm=\"shop\"");
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains("db.internal"), "foreign body leaked: {text}");
            assert_eq!(
                e.json["request_id"].as_str(),
                headers["x-request-id"].to_str().ok()
            );
        }
    }
}

#[tokio::test]
async fn generic_codes_speak_the_status_in_problem_details_too() {
    let app = foreign_app(ErrataLayer::new(renderer()));
    let mut problem = req("/status/451/true");
    problem
        .headers_mut()
        .insert(header::ACCEPT, "application/problem+json".parse().unwrap());
    let (status, headers, body) = get_body(app, problem).await;
    assert_eq!(status, 451);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["status"], 451);
    assert_eq!(json["code"], "CLIENT_ERROR");
    assert_eq!(json["title"], "Unavailable For Legal Reasons");
}

#[tokio::test]
async fn tower_http_bearer_auth_answers_unauthenticated() {
    #[allow(deprecated)] // "too basic for real applications", and exactly what a new user adds
    let auth = tower_http::validate_request::ValidateRequestHeaderLayer::bearer("t0ken");
    let app = Router::new()
        .route("/me", get(|| async { "me" }))
        .layer(auth)
        .layer(ErrataLayer::new(renderer()));
    let (status, _, body) = get_body(app.clone(), req("/me")).await;
    assert_eq!(status, 401);
    assert_eq!(parse_error(status, &body).code, "UNAUTHENTICATED");
    let mut ok = req("/me");
    ok.headers_mut()
        .insert(header::AUTHORIZATION, "Bearer t0ken".parse().unwrap());
    let (status, _, body) = get_body(app, ok).await;
    assert_eq!((status, &body[..]), (200, &b"me"[..]));
}

#[tokio::test]
async fn the_catalog_can_reword_the_new_built_ins() {
    let toml = r#"
        [catalog]
        name = "shop"
        version = "1.0.0"
        default_locale = "en"
        locales = ["en"]

        [errors.CONFLICT]
        status = 409
        message.en = "Someone else changed this order."

        [errors.CLIENT_ERROR]
        status = 400
        message.en = "Not accepted."
    "#;
    let catalog = errata::Catalog::from_toml(toml).unwrap();
    let app = foreign_app(ErrataLayer::new(Arc::new(Renderer::new(catalog))));
    let (status, _, body) = get_body(app.clone(), req("/status/409/true")).await;
    assert_eq!(status, 409);
    assert_eq!(
        parse_error(status, &body).message,
        "Someone else changed this order."
    );
    let (status, _, body) = get_body(app, req("/status/418/false")).await;
    assert_eq!(status, 418);
    assert_eq!(parse_error(status, &body).message, "Not accepted.");
}

#[tokio::test]
async fn rewrap_policy_lets_foreign_answers_through_when_asked() {
    let layer = ErrataLayer::builder(renderer())
        .rewrap(Rewrap::ServerErrors)
        .build();
    let (status, _, body) = get_body(foreign_app(layer.clone()), req("/status/409/true")).await;
    assert_eq!(status, 409);
    assert!(String::from_utf8_lossy(&body).contains("\"detail\""));
    let (status, _, body) = get_body(foreign_app(layer), req("/status/503/true")).await;
    assert_eq!(parse_error(status, &body).code, "SERVICE_UNAVAILABLE");
    let never = ErrataLayer::builder(renderer())
        .rewrap(Rewrap::Never)
        .build();
    let (status, _, body) = get_body(foreign_app(never), req("/status/500/false")).await;
    assert_eq!((status, body.len()), (500, 0));
}

/// A middleware between handler and edge that rebuilds the response and loses its extensions.
async fn drop_extensions(response: axum::response::Response) -> axum::response::Response {
    let (mut parts, body) = response.into_parts();
    parts.extensions.clear();
    axum::response::Response::from_parts(parts, body)
}

#[tokio::test]
async fn an_error_that_loses_its_extension_on_the_way_still_leaves_complete() {
    // Inside an edge layer that re-wraps its status, an `ApiError` has no body of its own: the
    // edge renders it, or re-wraps what lost the error with the status kept. Where the edge
    // would let it through, the error keeps its own body in the default locale.
    let app = |rewrap| {
        Router::new()
            .route(
                "/lectures/{id}",
                get(|| async { Err::<String, _>(errors::lecture_not_found()) }),
            )
            .layer(axum::middleware::map_response(drop_extensions))
            .layer(ErrataLayer::builder(renderer()).rewrap(rewrap).build())
    };
    let (status, _, body) = get_body(app(Rewrap::Always), req("/lectures/7")).await;
    assert_eq!(parse_error(status, &body).code, "ROUTE_NOT_FOUND");
    for rewrap in [Rewrap::ServerErrors, Rewrap::Never] {
        let (status, headers, body) = get_body(app(rewrap), req("/lectures/7")).await;
        let error = parse_error(status, &body);
        assert_eq!((status, error.code.as_str()), (404, "LECTURE_NOT_FOUND"));
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(error.message, "강의를 찾을 수 없습니다.");
    }
    // Kept, the extension is rendered, whatever the policy.
    let kept = Router::new()
        .route(
            "/lectures/{id}",
            get(|| async { Err::<String, _>(errors::lecture_not_found()) }),
        )
        .layer(
            ErrataLayer::builder(renderer())
                .rewrap(Rewrap::Never)
                .build(),
        );
    let (status, headers, body) = get_body(kept, req("/lectures/7")).await;
    assert_eq!(parse_error(status, &body).code, "LECTURE_NOT_FOUND");
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn a_custom_request_id_header_is_read_checked_and_echoed() {
    let layer = ErrataLayer::builder(renderer())
        .request_id_header(http::HeaderName::from_static("x-correlation-id"))
        .build();
    let app = foreign_app(layer);
    let mut with_id = req("/status/409/false");
    with_id
        .headers_mut()
        .insert("x-correlation-id", "order-42".parse().unwrap());
    let (_, headers, body) = get_body(app.clone(), with_id).await;
    assert_eq!(headers["x-correlation-id"], "order-42");
    assert_eq!(parse_error(409, &body).json["request_id"], "order-42");
    // Too long: replaced by a generated id, in the header and the body alike.
    let mut long_id = req("/status/409/false");
    long_id
        .headers_mut()
        .insert("x-correlation-id", "x".repeat(200).parse().unwrap());
    let (_, headers, body) = get_body(app.clone(), long_id).await;
    let id = headers["x-correlation-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    assert_eq!(parse_error(409, &body).json["request_id"], id.as_str());
    // Successes carry it too (tower-http's PropagateRequestId).
    let ok = Router::new().route("/", get(|| async { "ok" })).layer(
        ErrataLayer::builder(renderer())
            .request_id_header(http::HeaderName::from_static("x-correlation-id"))
            .build(),
    );
    let (status, headers, _) = get_body(ok, req("/")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-correlation-id"].len(), 32);
}

#[tokio::test]
async fn accept_follows_rfc_9110() {
    let app = foreign_app(ErrataLayer::new(renderer()));
    let cases = [
        ("application/problem+json;q=0", "application/json"),
        ("application/problem+json;q=0, */*", "application/json"),
        ("Application/Problem+JSON", "application/problem+json"),
        (
            "application/json;q=0.5, application/problem+json;q=0.8",
            "application/problem+json",
        ),
        (
            "application/json;q=0.9, application/problem+json;q=0.8",
            "application/json",
        ),
        ("application/json;q=0, */*", "application/problem+json"),
        ("*/*", "application/json"),
    ];
    for (accept, want) in cases {
        let mut negotiated = req("/status/409/false");
        negotiated
            .headers_mut()
            .insert(header::ACCEPT, accept.parse().unwrap());
        let (status, headers, body) = get_body(app.clone(), negotiated).await;
        assert_eq!(headers[header::CONTENT_TYPE], want, "Accept: {accept}");
        parse_error(status, &body);
    }
}

async fn hangs() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "never"
}

#[tokio::test]
async fn a_handler_past_its_deadline_is_handler_timeout_and_alerts() {
    let app = Router::new()
        .route("/hang", get(hangs))
        .route("/quick", get(|| async { "quick" }))
        .layer(HandlerTimeoutLayer::new(Duration::from_millis(50)))
        .layer(ErrataLayer::new(renderer()));
    let mut hang = req("/hang");
    hang.extensions_mut().insert(errata::ReportWanted);
    let res = app.clone().oneshot(hang).await.unwrap();
    assert_eq!(res.status(), 503);
    let report = res
        .extensions()
        .get::<errata::ErrorReport>()
        .cloned()
        .unwrap();
    assert_eq!(&*report.code, "HANDLER_TIMEOUT");
    assert_eq!(report.alert, errata::AlertPolicy::Always);
    assert_eq!(
        report.cause_chain(),
        ["the handler did not answer within 50 ms"]
    );
    let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
    let e = parse_error(503, &body);
    assert_eq!(e.code, "HANDLER_TIMEOUT");
    assert_ne!(e.code, "REQUEST_TIMEOUT");
    assert_ne!(e.code, "UPSTREAM_TIMEOUT");
    let (status, _, body) = get_body(app, req("/quick")).await;
    assert_eq!((status, &body[..]), (200, &b"quick"[..]));
}

#[tokio::test]
async fn service_builder_helpers_stack_the_layers() {
    let app = Router::new().route("/hang", get(hangs)).layer(
        ServiceBuilder::new()
            .errata(renderer())
            .handler_timeout(Duration::from_millis(20)),
    );
    let (status, _, body) = get_body(app, req("/hang")).await;
    assert_eq!(parse_error(status, &body).code, "HANDLER_TIMEOUT");
}

#[tokio::test]
async fn the_layer_takes_any_request_and_response_body() {
    // Not axum: a plain tower service over `String` requests and `Full` responses.
    let inner = tower::service_fn(|req: Request<String>| async move {
        let status = if req.body() == "teapot" { 418 } else { 200 };
        let mut res = http::Response::new(http_body_util::Full::new(Bytes::from("hi")));
        *res.status_mut() = StatusCode::from_u16(status).unwrap();
        Ok::<_, Infallible>(res)
    });
    let mut svc = tower::Layer::layer(&ErrataLayer::new(renderer()), inner);
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(Request::new("teapot".to_owned()))
        .await
        .unwrap();
    assert_eq!(res.status(), 418);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(parse_error(418, &body).code, "CLIENT_ERROR");
    let res = svc.call(Request::new("tea".to_owned())).await.unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(&body[..], b"hi");
}

#[tokio::test]
async fn an_error_answered_without_the_edge_layer_has_a_complete_body() {
    // The default renderer: the first edge layer built sets it; here, set directly.
    errata::set_default_renderer(renderer());
    let app = Router::new().route(
        "/lectures/{id}",
        get(|| async { Err::<String, _>(errors::lecture_not_found()) }),
    );
    let res = app.oneshot(req("/lectures/7")).await.unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
    let body = axum::body::to_bytes(res.into_body(), 4096).await.unwrap();
    let e = parse_error(404, &body);
    assert_eq!(e.code, "LECTURE_NOT_FOUND");
    // The catalog's default locale (ko).
    assert_eq!(e.message, "강의를 찾을 수 없습니다.");
}

/// A `MakeWriter` collecting everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[derive(Debug)]
struct DbError;

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connect postgres://app:S3cretPw@db.internal/app failed; api_key=AKIAXYZ123 token=tok_live_42")
    }
}

impl std::error::Error for DbError {}

async fn leaky_db() -> Result<(), ApiError> {
    Err(ApiError::internal(DbError))
}

async fn leaky_upstream() -> Result<(), ApiError> {
    // An upstream that echoes the request's headers, with a newline to forge a log line.
    let body = b"echo: Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln\n\
        1999-01-01T00:00:00Z ERROR errata: FORGED password=hunter2";
    Err(
        errata::builtin::upstream_error().with_upstream(UpstreamDetail::new(
            "partner",
            Some(502),
            body,
            false,
        )),
    )
}

async fn leaky_panic() -> &'static str {
    panic!("while holding Authorization: Bearer sk_panic_secret")
}

#[tokio::test(flavor = "current_thread")]
async fn logs_are_scrubbed_like_alerts_and_cannot_be_forged() {
    let out = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(out.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = Router::new()
        .route("/db", get(leaky_db))
        .route("/upstream", get(leaky_upstream))
        .route("/panic", get(leaky_panic))
        .layer(ErrataLayer::new(renderer()));
    for path in ["/db", "/upstream", "/panic"] {
        let (status, _, body) = get_body(app.clone(), req(path)).await;
        assert!(status >= 500);
        parse_error(status, &body);
    }
    let logged = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    // Each error logged once: three lines, none forged.
    let lines: Vec<&str> = logged.lines().collect();
    assert_eq!(lines.len(), 3, "{logged}");
    assert!(lines.iter().all(|l| l.contains("errata")), "{logged}");
    assert!(
        !lines.iter().any(|l| l.starts_with("1999-01-01")),
        "{logged}"
    );
    for secret in [
        "S3cretPw",
        "AKIAXYZ123",
        "tok_live_42",
        "eyJhbGciOi",
        "hunter2",
        "sk_panic_secret",
    ] {
        assert!(
            !logged.contains(secret),
            "{secret} reached the log: {logged}"
        );
    }
    // What is left is still useful.
    assert!(
        logged.contains("postgres://app:[Filtered]@db.internal/app"),
        "{logged}"
    );
    assert!(logged.contains("upstream partner answered 502"), "{logged}");
    assert!(
        logged.contains("\\n1999-01-01"),
        "newline escaped: {logged}"
    );
    assert!(logged.contains("handler panicked"), "{logged}");
}
