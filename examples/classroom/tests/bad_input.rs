//! Bad input of every kind gets its documented 4xx in the envelope: never a 5xx, never
//! internal text.

mod common;

use std::time::Duration;

use common::*;
use errata::Code;
use serde_json::json;

/// Asserts `code`, and that nothing of the parser or the database shows.
#[track_caller]
fn rejected(r: &Resp, code: Code) -> serde_json::Value {
    let body = r.err(code);
    assert!(r.status.is_client_error(), "{}", r.text);
    let error = body["error"].to_string();
    for internal in [
        "serde",
        "line ",
        "column",
        "expected `",
        "sqlx",
        "sqlite",
        "panicked",
        "invalid type:",
        "at line",
        "EOF",
        "recursion",
    ] {
        assert!(
            !error.contains(internal),
            "internal text `{internal}` in {error}"
        );
    }
    body
}

#[tokio::test]
async fn malformed_json() {
    let app = spawn().await;
    for body in [
        "{",
        "{\"email\": }",
        "{\"email\": \"a\", \"password\": \"b\"} trailing",
        "",
        "nul",
        "{\"email\": \"a\", \"password\": \"b\",}",
        "'single'",
    ] {
        let r = app
            .post("/v1/auth/login")
            .body("application/json", body)
            .send()
            .await;
        rejected(&r, c::MALFORMED_JSON);
    }
}

#[tokio::test]
async fn wrong_content_type() {
    let app = spawn().await;
    let json = r#"{"email": "a@example.com", "password": "password123"}"#;
    for content_type in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let r = app
            .post("/v1/auth/login")
            .body(content_type, json)
            .send()
            .await;
        rejected(&r, c::UNSUPPORTED_MEDIA_TYPE);
    }
    let r = app
        .req(reqwest::Method::POST, "/v1/auth/login")
        .send()
        .await;
    rejected(&r, c::UNSUPPORTED_MEDIA_TYPE);
    // Parameters and case are fine.
    let r = app
        .post("/v1/auth/login")
        .body("Application/JSON; charset=utf-8", json)
        .send()
        .await;
    rejected(&r, c::AUTH_FAILED);
}

#[tokio::test]
async fn wrong_types_missing_and_unknown_fields() {
    let app = spawn().await;
    let r = app
        .post("/v1/auth/signup")
        .json(&json!({"email": 5, "password": "password123", "name": "Kim"}))
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["email"][0]["code"],
        "invalid_type"
    );

    let r = app
        .post("/v1/auth/signup")
        .en()
        .json(&json!({"email": "kim@example.com", "name": "Kim"}))
        .send()
        .await;
    let body = r.err_in(c::VALIDATION_ERROR, "en");
    assert_eq!(
        body["error"]["field_errors"]["password"],
        json!([{"code": "required", "message": "This field is required."}])
    );

    let r = app.post("/v1/auth/signup").json(&json!({"email": "kim@example.com", "password": "password123", "name": "Kim", "is_admin": true})).send().await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["is_admin"][0]["code"],
        "unknown_field"
    );

    let r = app.post("/v1/auth/signup").json(&json!({"email": "kim@example.com", "password": "password123", "name": "Kim", "role": "admin"})).send().await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert!(body["error"]["field_errors"]["role"].is_array(), "{body}");

    let r = app
        .post("/v1/auth/signup")
        .json(&json!(["email", "password"]))
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
    let r = app.post("/v1/auth/signup").json(&json!(null)).send().await;
    rejected(&r, c::VALIDATION_ERROR);
}

#[tokio::test]
async fn huge_numbers() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let r = app
        .get("/v1/lectures/99999999999999999999999")
        .token(&user.access)
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["id"][0]["code"],
        "invalid_type"
    );
    let r = app
        .get("/v1/lectures?limit=99999999999")
        .token(&user.access)
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
    let r = app
        .get("/v1/lectures?limit=1000")
        .token(&user.access)
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["limit"][0]["code"],
        "out_of_range"
    );
    // A number too large for any float is not JSON a parser can hold.
    let r = app
        .post("/v1/auth/login")
        .body("application/json", r#"{"email": 1e999, "password": "x"}"#)
        .send()
        .await;
    rejected(&r, c::MALFORMED_JSON);
    // A huge integer where text is expected is the wrong type.
    let r = app
        .post("/v1/auth/login")
        .body(
            "application/json",
            r#"{"email": 123456789012345678901234567890, "password": "x"}"#,
        )
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
}

#[tokio::test]
async fn invalid_utf8() {
    let app = spawn().await;
    let r = app
        .post("/v1/auth/login")
        .body(
            "application/json",
            b"{\"email\": \"\xff\xfe\", \"password\": \"x\"}".to_vec(),
        )
        .send()
        .await;
    rejected(&r, c::MALFORMED_JSON);
    let user = app.user("kim@example.com", "student").await;
    let r = app
        .get("/v1/sessions/%FF%FE")
        .token(&user.access)
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(body["error"]["field_errors"]["code"][0]["code"], "invalid");
}

#[tokio::test]
async fn deeply_nested_bodies() {
    let app = spawn().await;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = app
        .post("/v1/auth/login")
        .body("application/json", deep)
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
    let deep_field = format!(
        r#"{{"email": "a@example.com", "password": {}{}}}"#,
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    let r = app
        .post("/v1/auth/login")
        .body("application/json", deep_field)
        .send()
        .await;
    // Nested deeper than the parser goes (128 levels): not JSON the service can read.
    rejected(&r, c::MALFORMED_JSON);
    let unclosed = "[".repeat(200_000);
    let r = app
        .post("/v1/auth/login")
        .body("application/json", unclosed)
        .send()
        .await;
    assert!(r.status.is_client_error(), "{}", r.text);
}

#[tokio::test]
async fn oversized_bodies_with_and_without_content_length() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let r = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .body("application/json", vec![b'x'; 10 * 1024 * 1024 + 1])
        .send()
        .await;
    rejected(&r, c::PAYLOAD_TOO_LARGE);

    // Chunked, no Content-Length: 11 chunks of 1 MiB.
    let chunks = (0..11).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024]));
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .body("application/json", body)
        .send()
        .await;
    rejected(&r, c::PAYLOAD_TOO_LARGE);

    // The same on a route that is not about uploads.
    let chunks = (0..11).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024]));
    let r = app
        .post("/v1/auth/login")
        .body(
            "application/json",
            reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)),
        )
        .send()
        .await;
    rejected(&r, c::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_body_that_never_finishes_times_out() {
    let app = spawn_custom(&[], |c| c.body_timeout = Duration::from_millis(200)).await;
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        if step == 0 {
            Some((Ok::<_, std::io::Error>(b"{\"email\":".to_vec()), 1))
        } else {
            tokio::time::sleep(Duration::from_secs(30)).await;
            None
        }
    });
    let r = app
        .post("/v1/auth/login")
        .body("application/json", reqwest::Body::wrap_stream(stream))
        .send()
        .await;
    rejected(&r, c::REQUEST_TIMEOUT);
}

#[tokio::test]
async fn bad_path_parameters() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    for path in [
        "/v1/lectures/abc",
        "/v1/lectures/1.5",
        "/v1/lectures/%20",
        "/v1/lectures/0x10/enroll",
    ] {
        let r = app.get(path).token(&user.access).send().await;
        if path.ends_with("enroll") {
            rejected(&r, c::METHOD_NOT_ALLOWED);
            continue;
        }
        let body = rejected(&r, c::VALIDATION_ERROR);
        assert_eq!(
            body["error"]["field_errors"]["id"][0]["code"], "invalid_type",
            "{path}"
        );
    }
    app.get("/v1/lectures/-1")
        .token(&user.access)
        .send()
        .await
        .err(c::LECTURE_NOT_FOUND);
    for code in ["abc", "ABCDEFG", "%3Cscript%3E", "AAAAAA"] {
        let r = app
            .get(&format!("/v1/sessions/{code}"))
            .token(&user.access)
            .send()
            .await;
        rejected(&r, c::SESSION_NOT_FOUND);
    }
    let r = app
        .get("/v1/uploads/images/not-a-number")
        .token(&user.access)
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
}

#[tokio::test]
async fn bad_query_strings() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let r = app
        .get("/v1/lectures?limit=abc")
        .token(&user.access)
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["limit"][0]["code"],
        "invalid_type"
    );
    let r = app
        .get("/v1/lectures?sort=desc")
        .token(&user.access)
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["sort"][0]["code"],
        "unknown_field"
    );
    let r = app
        .get("/v1/lectures?limit=%FF")
        .token(&user.access)
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
}

#[tokio::test]
async fn bad_or_forged_tokens_never_reach_a_handler() {
    let app = spawn().await;
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": "1", "exp": now() + 600, "iat": now(), "jti": "f", "typ": "access"}),
        &jsonwebtoken::EncodingKey::from_secret(b"not-the-server-secret-0123456789"),
    )
    .expect("forged");
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &json!({"sub": "1", "exp": now() + 600, "iat": now(), "jti": "g", "typ": "access"}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("hs512");
    for token in [forged.as_str(), hs512.as_str(), "eyJ.eyJ.sig", "💥"] {
        let r = app
            .get("/v1/lectures")
            .header_bytes("authorization", format!("Bearer {token}").as_bytes())
            .send()
            .await;
        rejected(&r, c::TOKEN_INVALID);
    }
    // A header that is not even text.
    let r = app
        .get("/v1/lectures")
        .header_bytes("authorization", b"Bearer \xff\xfe")
        .send()
        .await;
    rejected(&r, c::TOKEN_INVALID);
}

#[tokio::test]
async fn bad_device_ids_and_images() {
    let app = spawn().await;
    let room = app.classroom().await;
    let code = &room.session;
    let student = &room.student.access;
    for body in [
        json!({}),
        json!({"device_id": ""}),
        json!({"device_id": "   "}),
        json!({"device_id": null}),
    ] {
        let r = app
            .post(&format!("/v1/sessions/{code}/join"))
            .token(student)
            .json(&body)
            .send()
            .await;
        rejected(&r, c::DEVICE_ID_REQUIRED);
    }
    let r = app
        .post(&format!("/v1/sessions/{code}/join"))
        .token(student)
        .json(&json!({"device_id": 42}))
        .send()
        .await;
    rejected(&r, c::VALIDATION_ERROR);
    let r = app
        .post(&format!("/v1/sessions/{code}/join"))
        .token(student)
        .json(&json!({"device_id": "x".repeat(200)}))
        .send()
        .await;
    let body = rejected(&r, c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["device_id"][0]["code"],
        "too_long"
    );

    for image in [
        "%%%not base64%%%",
        "aGVsbG8gd29ybGQ=",
        "data:image/png;base64,!!!!",
        "",
    ] {
        let r = app
            .post("/v1/uploads/images")
            .token(student)
            .json(&json!({"image": image}))
            .send()
            .await;
        let body = rejected(&r, c::VALIDATION_ERROR);
        assert_eq!(
            body["error"]["field_errors"]["image"][0]["code"], "invalid_image",
            "{image}"
        );
    }
}
