//! The service around the handlers: docs, OpenAPI, request ids, the framework's own errors,
//! rate limits, uploads, the lecture flow, and start-up configuration of the real binary.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn openapi_lists_every_route_with_its_error_codes() {
    let app = spawn().await;
    let doc = app.get("/openapi.json").send().await.ok(200);
    let enroll = &doc["paths"]["/v1/lectures/{id}/enroll"]["post"];
    let codes: Vec<&str> = enroll["x-error-codes"]
        .as_array()
        .expect("codes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in [
        "LECTURE_NOT_FOUND",
        "ALREADY_ENROLLED",
        "AUTH_REQUIRED",
        "RATE_LIMIT_EXCEEDED",
        "SERVER_ERROR",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let conflict = &enroll["responses"]["409"]["content"]["application/json"];
    assert_eq!(
        conflict["examples"]["ALREADY_ENROLLED"]["value"]["error"]["message"],
        "이미 수강 중인 강의입니다."
    );
    assert_eq!(
        conflict["schema"]["$ref"],
        "#/components/schemas/ErrorEnvelope"
    );
    assert!(
        doc["paths"]["/v1/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]
            .is_object()
    );
    let listed: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in all_codes() {
        assert!(
            listed.contains(&code.as_str()),
            "{code} missing from ErrorCode"
        );
    }
    // Every route of the router is documented (its operations are the router's).
    for path in [
        "/v1/auth/signup",
        "/v1/user/me",
        "/v1/user/kakao-channel-added",
        "/v1/lectures/{id}",
        "/v1/sessions/{code}/complete",
        "/v1/uploads/images/{id}",
        "/ws/sessions/{code}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    // Every code a route declares is in the catalog, and every catalog code is declared by
    // some route (or is one of the framework's own).
    let mut declared = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            for code in op["x-error-codes"].as_array().expect("codes") {
                declared.insert(code.as_str().expect("code").to_owned());
            }
        }
    }
    for code in &declared {
        assert!(classroom::errors::catalog().get(code).is_some(), "{code}");
    }
    // Operation ids are unique (OpenAPI requires it; generated clients name methods after them).
    let mut ids = std::collections::BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} repeats");
        }
    }
    // Parameters, bodies and success schemas come from the routes' own declarations.
    let kakao = &doc["paths"]["/v1/user/kakao-channel-added"]["get"];
    let params: Vec<(&str, &str)> = kakao["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or(""),
                p["in"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(params.contains(&("X-Kakao-Token", "header")), "{params:?}");
    assert!(
        params.contains(&("channel_public_id", "query")),
        "{params:?}"
    );
    assert_eq!(
        kakao["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ChannelAdded"
    );
    let get_lecture = &doc["paths"]["/v1/lectures/{id}"]["get"];
    assert_eq!(get_lecture["parameters"][0]["name"], "id");
    assert_eq!(get_lecture["parameters"][0]["in"], "path");
    assert_eq!(
        doc["paths"]["/v1/lectures/{id}/sessions"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"]["$ref"],
        "#/components/schemas/CreateSession"
    );
    assert!(doc["components"]["schemas"]["SessionView"].is_object());
    // Error responses document RFC 9457 problem details beside the envelope.
    assert_eq!(
        conflict_problem(&doc)["schema"]["$ref"],
        "#/components/schemas/ProblemDetails"
    );
    let framework = [
        "ROUTE_NOT_FOUND",
        "METHOD_NOT_ALLOWED",
        "REQUEST_TIMEOUT",
        "URI_TOO_LONG",
        "REQUEST_HEADERS_TOO_LARGE",
    ];
    for code in all_codes() {
        assert!(
            declared.contains(code.as_str()) || framework.contains(&code.as_str()),
            "{code} is declared by no route"
        );
    }
}

fn conflict_problem(doc: &Value) -> &Value {
    &doc["paths"]["/v1/lectures/{id}/enroll"]["post"]["responses"]["409"]["content"]
        ["application/problem+json"]
}

#[tokio::test]
async fn the_error_docs_page_lists_every_code() {
    let app = spawn().await;
    let r = app.get("/errors").send().await;
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    for code in all_codes() {
        assert!(
            r.text.contains(&format!("id=\"{code}\"")),
            "{code} missing from /errors"
        );
    }
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = spawn().await;
    let r = app
        .get("/v1/user/me")
        .header("x-request-id", "client-abc-123")
        .send()
        .await;
    let body = r.err(c::AUTH_REQUIRED);
    assert_eq!(body["request_id"], "client-abc-123");
    assert_eq!(r.header("x-request-id"), Some("client-abc-123"));

    let ok = app
        .get("/health")
        .header("x-request-id", "health-1")
        .send()
        .await;
    assert_eq!(
        (ok.status.as_u16(), ok.header("x-request-id")),
        (200, Some("health-1"))
    );

    // Unusable ids are replaced, not echoed.
    let long = "x".repeat(500);
    let r = app
        .get("/v1/user/me")
        .header("x-request-id", &long)
        .send()
        .await;
    let body = r.err(c::AUTH_REQUIRED);
    assert_ne!(body["request_id"], long.as_str());
    let generated = app.get("/v1/user/me").send().await.err(c::AUTH_REQUIRED);
    assert!(generated["request_id"]
        .as_str()
        .is_some_and(|id| id.len() >= 16));
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let app = spawn().await;
    for path in [
        "/v1/nothing",
        "/",
        "/index.html",
        "/v2/lectures",
        "/v1/lectures/1/unknown",
    ] {
        app.get(path).send().await.err(c::ROUTE_NOT_FOUND);
    }
    let r = app
        .req(reqwest::Method::DELETE, "/v1/auth/login")
        .en()
        .send()
        .await;
    r.err_in(c::METHOD_NOT_ALLOWED, "en");
    assert_eq!(r.header("allow"), Some("POST"));
    let r = app.req(reqwest::Method::PUT, "/v1/lectures/1").send().await;
    r.err(c::METHOD_NOT_ALLOWED);
    let allow = r.header("allow").expect("Allow");
    for m in ["GET", "PATCH", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
}

#[tokio::test]
async fn anonymous_and_user_limits_count_separately_with_retry_after() {
    let app = spawn_with(&[
        ("CLASSROOM_RATE_ANON", "3/h"),
        ("CLASSROOM_RATE_USER", "4/h"),
    ])
    .await;
    // Signing up is anonymous: 1 of 3.
    let user = app.user("kim@example.com", "student").await;
    app.get("/v1/lectures").send().await.err(c::AUTH_REQUIRED);
    app.get("/v1/lectures").send().await.err(c::AUTH_REQUIRED);
    let r = app.get("/v1/lectures").send().await;
    r.err(c::RATE_LIMIT_EXCEEDED);
    let wait: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        wait > 60 && wait <= 1200,
        "one request per 20 minutes: {wait}"
    );
    // A forged token is still anonymous.
    app.get("/v1/lectures")
        .token("forged")
        .send()
        .await
        .err(c::RATE_LIMIT_EXCEEDED);

    // The user has a budget of their own.
    for _ in 0..4 {
        app.get("/v1/lectures")
            .token(&user.access)
            .send()
            .await
            .ok(200);
    }
    let r = app
        .get("/v1/lectures")
        .token(&user.access)
        .en()
        .send()
        .await;
    let body = r.err_in(c::RATE_LIMIT_EXCEEDED, "en");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("Too many requests. Try again in ")));

    // Docs and health are not limited.
    app.get("/openapi.json").send().await.ok(200);
    app.get("/health").send().await.ok(200);
}

#[tokio::test]
async fn image_upload_round_trip_and_field_errors() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let other = app.user("lee@example.com", "student").await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    let up = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .json(&json!({"image": format!("data:image/png;base64,{b64}")}))
        .send()
        .await
        .ok(201);
    assert_eq!(
        (up["content_type"].as_str(), up["size"].as_u64()),
        (Some("image/png"), Some(PNG.len() as u64))
    );
    let id = up["id"].as_i64().expect("id");
    let r = app
        .client
        .get(format!("{}/v1/uploads/images/{id}", app.base))
        .bearer_auth(&user.access)
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PNG);
    app.get(&format!("/v1/uploads/images/{id}"))
        .token(&other.access)
        .send()
        .await
        .err(c::PERMISSION_DENIED);
    app.get("/v1/uploads/images/424242")
        .token(&user.access)
        .send()
        .await
        .err(c::NOT_FOUND);

    // Not an image: a PDF, in both languages.
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.7 not an image");
    let ko = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .json(&json!({"image": pdf}))
        .send()
        .await
        .err(c::VALIDATION_ERROR);
    assert_eq!(
        ko["error"]["field_errors"]["image"],
        json!([{"code": "invalid_image", "message": "올바른 이미지가 아닙니다."}])
    );

    // 5 MB and one byte, decoded (the body itself is under 10 MB).
    let mut big = PNG.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let big = base64::engine::general_purpose::STANDARD.encode(&big);
    let en = app
        .post("/v1/uploads/images")
        .en()
        .token(&user.access)
        .json(&json!({"image": big}))
        .send()
        .await
        .err_in(c::VALIDATION_ERROR, "en");
    assert_eq!(
        en["error"]["field_errors"]["image"],
        json!([{"code": "image_too_large", "message": "The image must be at most 5 MB."}])
    );
    let ko = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .json(&json!({"image": big}))
        .send()
        .await
        .err(c::VALIDATION_ERROR);
    assert_eq!(
        ko["error"]["field_errors"]["image"][0]["message"],
        "이미지 크기는 5MB 이하여야 합니다."
    );
}

#[tokio::test]
async fn the_lecture_flow() {
    let app = spawn().await;
    let room = app.classroom().await;
    let (teacher, student) = (&room.instructor.access, &room.student.access);
    let lecture = room.lecture;

    let list = app
        .get("/v1/lectures?limit=10")
        .token(student)
        .send()
        .await
        .ok(200);
    assert_eq!(list[0]["title"], "Rust 101");
    assert_eq!(list[0]["student_count"], 1);
    let edited = app
        .patch(&format!("/v1/lectures/{lecture}"))
        .token(teacher)
        .json(&json!({"title": "Rust 102"}))
        .send()
        .await
        .ok(200);
    assert_eq!(edited["title"], "Rust 102");
    let students = app
        .get(&format!("/v1/lectures/{lecture}/students"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    assert_eq!(students[0]["email"], "student@example.com");
    app.get(&format!("/v1/lectures/{lecture}/students"))
        .token(student)
        .send()
        .await
        .err(c::INSTRUCTOR_ONLY);
    app.post(&format!("/v1/lectures/{lecture}/enroll"))
        .token(teacher)
        .send()
        .await
        .err(c::PERMISSION_DENIED);
    app.post(&format!("/v1/lectures/{lecture}/sessions"))
        .token(student)
        .json(&json!({"title": "x"}))
        .send()
        .await
        .err(c::INSTRUCTOR_ONLY);

    // A student that leaves can no longer join sessions.
    app.delete(&format!("/v1/lectures/{lecture}/enroll"))
        .token(student)
        .send()
        .await
        .ok(204);
    app.delete(&format!("/v1/lectures/{lecture}/enroll"))
        .token(student)
        .send()
        .await
        .err(c::NOT_ENROLLED);
    app.post(&format!("/v1/sessions/{}/join", room.session))
        .token(student)
        .json(&json!({"device_id": "d"}))
        .send()
        .await
        .err(c::NOT_ENROLLED);

    // A lecture without sessions can be deleted.
    let empty = app
        .post("/v1/lectures")
        .token(teacher)
        .json(&json!({"title": "Empty"}))
        .send()
        .await
        .ok(201)["id"]
        .as_i64()
        .expect("id");
    app.delete(&format!("/v1/lectures/{empty}"))
        .token(teacher)
        .send()
        .await
        .ok(204);
    app.get(&format!("/v1/lectures/{empty}"))
        .token(teacher)
        .send()
        .await
        .err(c::LECTURE_NOT_FOUND);
}

fn binary(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_classroom"));
    for var in [
        "CLASSROOM_ADDR",
        "DATABASE_URL",
        "KAKAO_API_BASE",
        "KAKAO_TIMEOUT_MS",
        "JWT_SECRET",
        "CLASSROOM_RATE_ANON",
        "CLASSROOM_RATE_USER",
        "CLASSROOM_RATE_BURST",
    ] {
        cmd.env_remove(var);
    }
    for (var, _) in std::env::vars().filter(|(k, _)| k.starts_with("ERRATA_")) {
        cmd.env_remove(var);
    }
    // The alert store goes to a temporary file, not the working directory.
    let store =
        std::env::temp_dir().join(format!("classroom-alerts-{}.sqlite3", uuid::Uuid::new_v4()));
    cmd.env("ERRATA_STORE", store);
    cmd.envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn a_bad_variable_stops_start_up_naming_it() {
    for (var, value) in [
        ("KAKAO_TIMEOUT_MS", "soon"),
        ("CLASSROOM_RATE_ANON", "lots"),
        ("CLASSROOM_ADDR", "localhost"),
        ("DATABASE_URL", "mysql://db"),
        ("KAKAO_API_BASE", "kapi"),
        ("JWT_SECRET", "short"),
    ] {
        let out = binary(&[(var, value)]).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!("classroom: {var}: ")),
            "{var}: {stderr}"
        );
    }
}

#[test]
fn the_binary_starts_with_a_generated_secret_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let child = binary(&[("CLASSROOM_ADDR", &addr), ("DATABASE_URL", &db)])
        .spawn()
        .expect("spawn");
    let started = Instant::now();
    let mut up = false;
    while started.elapsed() < Duration::from_secs(60) {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(up, "never listened: {stderr}");
    assert!(out.status.success(), "graceful exit: {stderr}");
    assert!(stderr.contains("JWT_SECRET is not set"), "{stderr}");
    assert!(
        dir.path().join("c.db").exists(),
        "the database file is created"
    );
}
