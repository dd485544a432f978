//! Test harness: the real app on `127.0.0.1:0` with a database of its own, a reqwest client,
//! assertions on error envelopes, and a fake Kakao.
//!
//! The database is a temporary SQLite file by default. With `DATABASE_URL=postgres://…` in the
//! environment (a server and a database to connect to, such as
//! `postgres://postgres@127.0.0.1:5432/postgres`), every app gets a fresh PostgreSQL database
//! of its own instead, named `classroom_t…`, created there and dropped when the test ends: the
//! whole suite runs on either backend.
#![allow(dead_code, missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderMap;
use classroom::config::{Config, PasswordHashing};
use classroom::errors;
use errata::Code;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub const SECRET: &str = "test-secret-0123456789abcdef-0123456789";

/// A database for one test (and every replica it starts), removed when the last user drops.
pub enum TestDb {
    /// A temporary SQLite file.
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
    /// A fresh PostgreSQL database on the server of `admin_url`.
    Postgres {
        url: String,
        name: String,
        admin_url: String,
    },
}

/// The PostgreSQL server the suite runs against, when `DATABASE_URL` names one.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

impl TestDb {
    /// A fresh database of the backend the suite runs against.
    pub async fn new() -> Arc<TestDb> {
        match postgres_admin_url() {
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("classroom.db").display());
                Arc::new(TestDb::Sqlite { url, _dir: dir })
            }
            Some(admin_url) => {
                use sqlx::Connection;
                let name = format!(
                    "classroom_t{}_{}",
                    std::process::id(),
                    uuid::Uuid::new_v4().simple()
                );
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at DATABASE_URL: {e}"));
                sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create the test database");
                let _ = admin.close().await;
                let mut url = reqwest::Url::parse(&admin_url).expect("DATABASE_URL");
                url.set_path(&format!("/{name}"));
                Arc::new(TestDb::Postgres {
                    url: url.to_string(),
                    name,
                    admin_url,
                })
            }
        }
    }

    /// Its `DATABASE_URL`.
    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, TestDb::Postgres { .. })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            name, admin_url, ..
        } = self
        {
            let (name, admin_url) = (name.clone(), admin_url.clone());
            // Its own thread and runtime: drop may run inside or outside the test's runtime.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    use sqlx::Connection;
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    sqlx::Executor::execute(
                        &mut admin,
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                    )
                    .await?;
                    admin.close().await
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop a test database: {dropped:?}");
            }
        }
    }
}

/// A running app.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub client: reqwest::Client,
    pub state: classroom::AppState,
    pub db: Arc<TestDb>,
    config: Config,
    /// The codes each route declares; dropping the app fails the test when a route answered
    /// another.
    pub declared: errata_axum::declare::Declared,
    /// The rate limits' Redis store when `REDIS_URL` is set.
    pub shared_rate_limits: Option<Arc<errata_axum::ratelimit::RedisStore>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if !std::thread::panicking() {
            self.declared.assert_all_declared();
        }
    }
}

/// Starts the app; `env` overrides the test defaults (rate limits off, Kakao unreachable).
pub async fn spawn_with(env: &[(&str, &str)]) -> TestApp {
    spawn_custom(env, |_| {}).await
}

/// Starts the app with `env`, then lets `adjust` change what the environment cannot.
pub async fn spawn_custom(env: &[(&str, &str)], adjust: impl FnOnce(&mut Config)) -> TestApp {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,errata=debug".into()),
        )
        .with_test_writer()
        .try_init();
    let db = TestDb::new().await;
    let mut vars: HashMap<String, String> = HashMap::from([
        ("CLASSROOM_ADDR".into(), "127.0.0.1:0".into()),
        ("DATABASE_URL".into(), db.url().to_owned()),
        // PostgreSQL is shared: a few connections per app are plenty for the tests.
        ("DATABASE_MAX_CONNECTIONS".into(), "4".into()),
        // Generous: a test waits for its turn to hash rather than fail on a slow machine.
        ("CLASSROOM_HASH_WAIT_MS".into(), "600000".into()),
        ("JWT_SECRET".into(), SECRET.into()),
        ("KAKAO_API_BASE".into(), "http://127.0.0.1:9".into()),
        ("CLASSROOM_RATE_ANON".into(), "off".into()),
        ("CLASSROOM_RATE_USER".into(), "off".into()),
        ("CLASSROOM_RATE_BURST".into(), "off".into()),
    ]);
    for (k, v) in env {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let mut config = Config::from_lookup(|name| vars.get(name).cloned()).expect("test config");
    config.password_hashing = PasswordHashing::Fast;
    adjust(&mut config);
    start(config, db).await
}

/// Starts the app of `config` on `db`.
async fn start(config: Config, db: Arc<TestDb>) -> TestApp {
    let app = classroom::build(&config).await.expect("app builds");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let router = app.router;
    let declared = app.declared;
    let shared_rate_limits = app.shared_rate_limits;
    tokio::spawn(async move {
        let _ = classroom::serve_on(listener, router, async {
            let _ = rx.await;
        })
        .await;
    });
    TestApp {
        addr,
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(32)
            .build()
            .expect("client"),
        state: app.state,
        db,
        config,
        declared,
        shared_rate_limits,
        shutdown: Some(tx),
    }
}

impl TestApp {
    /// Another instance of the service on the same database (a replica behind a load
    /// balancer): its own process state, pool, rate limiter and port.
    pub async fn replica(&self) -> TestApp {
        start(self.config.clone(), Arc::clone(&self.db)).await
    }
}

pub async fn spawn() -> TestApp {
    spawn_with(&[]).await
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a success status and returns the JSON body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.text
        );
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts the error `code` in the nested envelope with the Korean message, and returns
    /// the body.
    #[track_caller]
    pub fn err(&self, code: Code) -> Value {
        self.err_in(code, "ko")
    }

    /// Asserts the error `code` in the nested envelope with the message of `locale`.
    #[track_caller]
    pub fn err_in(&self, code: Code, locale: &str) -> Value {
        let entry = errors::catalog()
            .get(code.as_str())
            .unwrap_or_else(|| panic!("{code} is not in the catalog"));
        assert_eq!(
            self.status.as_u16(),
            entry.status,
            "expected {code}: {}",
            self.text
        );
        let parsed =
            errata_axum::test::assert_error(self.status.as_u16(), self.text.as_bytes(), code);
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "error bodies are JSON: {}",
            self.text
        );
        let body = parsed.json;
        assert!(
            body["error"].is_object() && body["status"].is_u64(),
            "nested envelope: {body}"
        );
        assert!(
            body["request_id"].is_string(),
            "request id in the body: {body}"
        );
        assert_eq!(
            self.header("x-request-id"),
            body["request_id"].as_str(),
            "x-request-id header matches the body"
        );
        let mut expected = entry
            .message(locale)
            .unwrap_or_else(|| panic!("{code} has no {locale} message"))
            .to_owned();
        for p in &entry.params {
            let value = match p.name.as_str() {
                "retry_after" => self.header("retry-after").expect("Retry-After").to_owned(),
                other => panic!("no test value for parameter {other}"),
            };
            expected = expected.replace(&format!("{{{}}}", p.name), &value);
        }
        assert_eq!(
            body["error"]["message"],
            json!(expected),
            "message of {code} in {locale}"
        );
        body
    }
}

/// Builds and sends requests.
pub struct Req<'a> {
    app: &'a TestApp,
    builder: reqwest::RequestBuilder,
}

impl<'a> Req<'a> {
    pub fn token(mut self, token: &str) -> Self {
        self.builder = self.builder.bearer_auth(token);
        self
    }

    pub fn en(mut self) -> Self {
        self.builder = self.builder.header("accept-language", "en");
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A header whose value need not be text.
    pub fn header_bytes(mut self, name: &str, value: &[u8]) -> Self {
        let value = reqwest::header::HeaderValue::from_bytes(value).expect("header bytes");
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.builder = self.builder.json(body);
        self
    }

    pub fn body(mut self, content_type: &str, body: impl Into<reqwest::Body>) -> Self {
        self.builder = self.builder.header("content-type", content_type).body(body);
        self
    }

    pub async fn send(self) -> Resp {
        let _ = self.app;
        let response = self.builder.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body read");
        Resp {
            status,
            headers,
            text,
        }
    }
}

impl TestApp {
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            builder: self.client.request(method, format!("{}{path}", self.base)),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }

    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req(Method::DELETE, path)
    }

    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req(Method::PATCH, path)
    }

    /// Signs up and returns the user.
    pub async fn user(&self, email: &str, role: &str) -> User {
        let body = self
            .post("/v1/auth/signup")
            .json(
                &json!({"email": email, "password": "password123", "name": "Tester", "role": role}),
            )
            .send()
            .await
            .ok(201);
        User {
            id: body["user"]["id"].as_i64().expect("id"),
            access: body["access"].as_str().expect("access").to_owned(),
            refresh: body["refresh"].as_str().expect("refresh").to_owned(),
        }
    }

    /// An instructor with a lecture and an enrolled student.
    pub async fn classroom(&self) -> Classroom {
        let instructor = self.user("teacher@example.com", "instructor").await;
        let student = self.user("student@example.com", "student").await;
        let lecture = self
            .post("/v1/lectures")
            .token(&instructor.access)
            .json(&json!({"title": "Rust 101"}))
            .send()
            .await
            .ok(201)["id"]
            .as_i64()
            .expect("lecture id");
        self.post(&format!("/v1/lectures/{lecture}/enroll"))
            .token(&student.access)
            .send()
            .await
            .ok(201);
        let session = self
            .post(&format!("/v1/lectures/{lecture}/sessions"))
            .token(&instructor.access)
            .json(&json!({"title": "Week 1"}))
            .send()
            .await
            .ok(201)["code"]
            .as_str()
            .expect("code")
            .to_owned();
        Classroom {
            instructor,
            student,
            lecture,
            session,
        }
    }

    /// A token signed with the app's secret, for any claims.
    pub fn mint(&self, claims: &Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .expect("token")
    }
}

pub struct User {
    pub id: i64,
    pub access: String,
    pub refresh: String,
}

pub struct Classroom {
    pub instructor: User,
    pub student: User,
    pub lecture: i64,
    pub session: String,
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A one-by-one PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

// ── a fake Kakao ──────────────────────────────────────────────────────────────────────────

/// Text planted in every fake Kakao error body; it must never reach a client.
pub const UPSTREAM_MARKER: &str = "kakao-internal-7f3a";

/// A Kakao answering according to the bearer token it receives.
pub struct FakeKakao {
    pub base: String,
    pub seen_tokens: Arc<Mutex<Vec<String>>>,
}

async fn fake_channels(
    headers: HeaderMap,
    axum::extract::State(seen): axum::extract::State<Arc<Mutex<Vec<String>>>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_owned();
    seen.lock().expect("lock").push(token.clone());
    let kakao_error = |status: u16, code: i64, msg: &str| {
        (
            axum::http::StatusCode::from_u16(status).expect("status"),
            [("content-type", "application/json;charset=UTF-8")],
            json!({"msg": format!("{msg} [{UPSTREAM_MARKER}]"), "code": code}).to_string(),
        )
            .into_response()
    };
    match token.as_str() {
        "ok" => axum::Json(json!({
            "user_id": 1234,
            "channels": [
                {"channel_uuid": "@classroom", "channel_public_id": "_ZeUTxl", "relation": "ADDED", "created_at": "2026-02-10T00:00:00Z"},
                {"channel_uuid": "@other", "channel_public_id": "_other", "relation": "NONE"}
            ]
        }))
        .into_response(),
        "none" => axum::Json(json!({"user_id": 1234, "channels": []})).into_response(),
        "not-linked" => kakao_error(400, -101, "not registered user"),
        "dormant" => kakao_error(401, -103, "not exist kakao account"),
        "under-14" => kakao_error(403, -406, "underage user"),
        "restricted" => kakao_error(400, -4, "exceeded limit of requests or restricted"),
        "inactive" => kakao_error(500, -1, "the account is inactive."),
        "not-talk-user" => kakao_error(400, -501, "given account is not connected to any talk user."),
        "not-registered" => kakao_error(500, -500, "NotRegisteredUserException"),
        "quota" => kakao_error(400, -10, "API limit has been exceeded"),
        "maintenance" => kakao_error(400, -7, "service check"),
        "error-500" => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, format!("Internal Server Error {UPSTREAM_MARKER}")).into_response(),
        "html" => (
            axum::http::StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            format!("<html><body><h1>502 Bad Gateway</h1><!-- {UPSTREAM_MARKER} --></body></html>"),
        )
            .into_response(),
        "truncated" => (
            axum::http::StatusCode::OK,
            [("content-type", "application/json")],
            format!(r#"{{"user_id":1,"note":"{UPSTREAM_MARKER}","channels":[{{"channel_pub"#),
        )
            .into_response(),
        "truncated-error" => (
            axum::http::StatusCode::BAD_REQUEST,
            [("content-type", "application/json")],
            format!(r#"{{"msg":"{UPSTREAM_MARKER}","code":-1"#),
        )
            .into_response(),
        "hang" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            axum::Json(json!({"channels": []})).into_response()
        }
        _ => kakao_error(401, -401, "invalid token"),
    }
}

/// Starts the fake Kakao on loopback.
pub async fn fake_kakao() -> FakeKakao {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = axum::Router::new()
        .route("/v1/api/talk/channels", axum::routing::get(fake_channels))
        .with_state(Arc::clone(&seen));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    FakeKakao {
        base: format!("http://{addr}"),
        seen_tokens: seen,
    }
}

/// Every code of the catalog.
pub fn all_codes() -> Vec<String> {
    errors::catalog()
        .entries
        .iter()
        .map(|e| e.code.clone())
        .filter(|code| !NOT_ANSWERED_BY_CLASSROOM.contains(&code.as_str()))
        .collect()
}

/// Built-ins for responses classroom never gives: the edge layer re-wraps foreign 401, 403,
/// 409, 410, 422 and other 4xx responses with them, and `HANDLER_TIMEOUT` comes from a
/// handler deadline classroom does not set (errata-axum's tests produce each of them).
const NOT_ANSWERED_BY_CLASSROOM: &[&str] = &[
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "CONFLICT",
    "GONE",
    "UNPROCESSABLE",
    "CLIENT_ERROR",
    "HANDLER_TIMEOUT",
];

#[allow(unused_imports)]
pub use classroom::errors::codes as c;

// ── WebSocket frames by hand, to break the protocol as a hostile client would ──────────────

/// A WebSocket opened over a bare TCP stream (the handshake done by hand).
pub struct RawSocket {
    pub stream: tokio::net::TcpStream,
}

impl RawSocket {
    /// Opens `path` on the app (`accept-language` set when `lang` is given).
    pub async fn open(app: &TestApp, path: &str, lang: Option<&str>) -> RawSocket {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("connect");
        let lang = lang
            .map(|l| format!("accept-language: {l}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\nupgrade: websocket\r\nconnection: upgrade\r\n\
             sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n{lang}\r\n",
            app.addr
        );
        stream
            .write_all(request.as_bytes())
            .await
            .expect("handshake sent");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("handshake read");
            assert!(n == 1, "connection closed during the handshake: {head:?}");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head);
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        RawSocket { stream }
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.stream.write_all(bytes).await.expect("frame sent");
    }

    /// Reads one server frame: its opcode and payload; `None` when the connection ends.
    pub async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        let read = async {
            let mut head = [0u8; 2];
            self.stream.read_exact(&mut head).await.ok()?;
            let opcode = head[0] & 0x0f;
            let mut len = u64::from(head[1] & 0x7f);
            if len == 126 {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from(u16::from_be_bytes(ext));
            } else if len == 127 {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from_be_bytes(ext);
            }
            let mut payload = vec![0u8; usize::try_from(len).ok()?];
            self.stream.read_exact(&mut payload).await.ok()?;
            Some((opcode, payload))
        };
        tokio::time::timeout(Duration::from_secs(10), read)
            .await
            .expect("a frame or the end within 10 s")
    }

    /// Reads frames until a close frame: its code and reason (`None` if the connection ended
    /// without one).
    pub async fn close_frame(&mut self) -> Option<(u16, String)> {
        loop {
            let (opcode, payload) = self.frame().await?;
            if opcode == 0x8 {
                assert!(payload.len() >= 2, "close frame with a code");
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
            }
        }
    }
}

/// The message of catalog `code` in `locale`.
pub fn message_of(code: Code, locale: &str) -> String {
    errors::catalog()
        .get(code.as_str())
        .and_then(|e| e.message(locale))
        .expect("a message")
        .to_owned()
}

/// Serves `app` on a free loopback port; returns its base URL (`http://127.0.0.1:PORT`).
pub async fn listen(app: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A webhook receiver on `path`, keeping every alert it is sent (its JSON carries kind, count
/// and fingerprint); returns its base URL.
pub async fn webhook_receiver(path: &'static str, received: Arc<Mutex<Vec<Value>>>) -> String {
    listen(axum::Router::new().route(
        path,
        axum::routing::post(move |body: String| {
            let received = Arc::clone(&received);
            async move {
                received
                    .lock()
                    .unwrap()
                    .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                axum::http::StatusCode::OK
            }
        }),
    ))
    .await
}
