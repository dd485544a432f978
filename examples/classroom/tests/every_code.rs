//! Every code of the catalog, produced over real HTTP, in Korean (default) and English: status,
//! envelope, code, message, request id; then a check that no catalog code was left out.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::*;
use serde_json::json;

/// Sends the request twice, without and with `Accept-Language: en`, and checks `code` both
/// times.
macro_rules! both {
    ($seen:ident, $code:expr, $req:expr) => {{
        let ko = $req.send().await;
        ko.err_in($code, "ko");
        let en = $req.en().send().await;
        en.err_in($code, "en");
        $seen.insert($code.as_str().to_owned());
        en
    }};
}

#[tokio::test]
async fn every_code_of_the_catalog_over_http_in_both_languages() {
    let kakao = fake_kakao().await;
    let app = spawn_custom(
        &[("KAKAO_API_BASE", &kakao.base), ("KAKAO_TIMEOUT_MS", "300")],
        |c| {
            c.body_timeout = Duration::from_millis(300);
        },
    )
    .await;
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let room = app.classroom().await;
    let (teacher, student) = (&room.instructor.access, &room.student.access);
    let lecture = room.lecture;
    let code = &room.session;

    // ── auth ──
    both!(
        seen,
        c::AUTH_FAILED,
        app.post("/v1/auth/login")
            .json(&json!({"email": "student@example.com", "password": "wrong-password"}))
    );
    both!(seen, c::AUTH_REQUIRED, app.get("/v1/user/me"));
    let expired = app.mint(
        &json!({"sub": "1", "exp": now() - 120, "iat": now() - 3720, "jti": "x", "typ": "access"}),
    );
    both!(
        seen,
        c::TOKEN_EXPIRED,
        app.get("/v1/user/me").token(&expired)
    );
    both!(
        seen,
        c::TOKEN_INVALID,
        app.get("/v1/user/me").token("not-a-jwt")
    );
    app.post("/v1/auth/logout")
        .json(&json!({"refresh": room.student.refresh}))
        .send()
        .await
        .ok(204);
    both!(
        seen,
        c::TOKEN_BLACKLISTED,
        app.post("/v1/auth/refresh")
            .json(&json!({"refresh": room.student.refresh}))
    );
    both!(
        seen,
        c::PERMISSION_DENIED,
        app.post("/v1/lectures")
            .token(student)
            .json(&json!({"title": "Mine"}))
    );

    // ── lectures and enrollment ──
    both!(
        seen,
        c::LECTURE_NOT_FOUND,
        app.get("/v1/lectures/999999").token(student)
    );
    both!(
        seen,
        c::INSTRUCTOR_ONLY,
        app.patch(&format!("/v1/lectures/{lecture}"))
            .token(student)
            .json(&json!({"title": "Hacked"}))
    );
    both!(
        seen,
        c::ALREADY_ENROLLED,
        app.post(&format!("/v1/lectures/{lecture}/enroll"))
            .token(student)
    );
    let outsider = app.user("outsider@example.com", "student").await;
    both!(
        seen,
        c::NOT_ENROLLED,
        app.delete(&format!("/v1/lectures/{lecture}/enroll"))
            .token(&outsider.access)
    );
    both!(
        seen,
        c::INTEGRITY_ERROR,
        app.delete(&format!("/v1/lectures/{lecture}"))
            .token(teacher)
    );

    // ── live sessions ──
    both!(
        seen,
        c::SESSION_NOT_FOUND,
        app.get("/v1/sessions/ZZZZZZ").token(student)
    );
    both!(
        seen,
        c::SESSION_NOT_STARTED,
        app.post(&format!("/v1/sessions/{code}/next-step"))
            .token(teacher)
    );
    both!(
        seen,
        c::DEVICE_ID_REQUIRED,
        app.post(&format!("/v1/sessions/{code}/join"))
            .token(student)
    );
    app.post(&format!("/v1/sessions/{code}/join"))
        .token(student)
        .json(&json!({"device_id": "phone-1"}))
        .send()
        .await
        .ok(201);
    both!(
        seen,
        c::DEVICE_ID_TAKEN,
        app.post(&format!("/v1/sessions/{code}/join"))
            .token(teacher)
            .json(&json!({"device_id": "phone-1"}))
    );
    app.post(&format!("/v1/sessions/{code}/start"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    // Over the WebSocket: a frame a client must never send (unmasked) closes with the code.
    for lang in ["ko", "en"] {
        let path = format!("/ws/sessions/{code}?token={student}");
        let mut ws = RawSocket::open(&app, &path, Some(lang)).await;
        assert_eq!(ws.frame().await.expect("the state").0, 0x1, "a text frame");
        ws.send_raw(&[0x81, 0x02, b'h', b'i']).await;
        assert_eq!(
            ws.close_frame().await,
            Some((4000, message_of(c::WS_PROTOCOL_ERROR, lang))),
            "{lang}"
        );
    }
    seen.insert(c::WS_PROTOCOL_ERROR.as_str().to_owned());
    both!(
        seen,
        c::SESSION_ALREADY_STARTED,
        app.post(&format!("/v1/sessions/{code}/start"))
            .token(teacher)
    );
    both!(
        seen,
        c::NOT_FOUND,
        app.post(&format!("/v1/sessions/{code}/complete"))
            .token(student)
            .json(&json!({"device_id": "never-joined"}))
    );
    app.post(&format!("/v1/sessions/{code}/end"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    both!(
        seen,
        c::SESSION_ENDED,
        app.post(&format!("/v1/sessions/{code}/join"))
            .token(student)
            .json(&json!({"device_id": "late"}))
    );

    // ── input ──
    let en = both!(
        seen,
        c::VALIDATION_ERROR,
        app.post("/v1/auth/signup")
            .json(&json!({"email": "new@example.com", "password": "short", "name": "N"}))
    );
    assert_eq!(
        en.json()["error"]["field_errors"]["password"][0]["code"],
        "too_short"
    );
    both!(
        seen,
        c::MALFORMED_JSON,
        app.post("/v1/auth/login")
            .body("application/json", "{\"email\": ")
    );
    both!(
        seen,
        c::UNSUPPORTED_MEDIA_TYPE,
        app.post("/v1/auth/login")
            .body("text/plain", "email=a&password=b")
    );
    both!(
        seen,
        c::PAYLOAD_TOO_LARGE,
        app.post("/v1/uploads/images")
            .token(student)
            .body("application/json", vec![b' '; 10 * 1024 * 1024 + 1])
    );
    both!(
        seen,
        c::REQUEST_TIMEOUT,
        app.post("/v1/auth/login")
            .body("application/json", stalled_body())
    );

    // ── the framework's own ──
    both!(seen, c::ROUTE_NOT_FOUND, app.get("/v1/no-such-thing"));
    let en = both!(
        seen,
        c::METHOD_NOT_ALLOWED,
        app.req(reqwest::Method::PUT, "/v1/lectures").token(student)
    );
    let allow = en.header("allow").expect("Allow on 405");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let long = format!("/v1/lectures?q={}", "a".repeat(9000));
    both!(seen, c::URI_TOO_LONG, app.get(&long));
    let cookie = format!("c={}", "x".repeat(40 * 1024));
    both!(
        seen,
        c::REQUEST_HEADERS_TOO_LARGE,
        app.get("/v1/lectures").header("cookie", &cookie)
    );

    // ── Kakao ──
    let kakao_req = |token: &'static str| {
        app.get("/v1/user/kakao-channel-added")
            .token(student)
            .header("x-kakao-token", token)
    };
    both!(
        seen,
        c::KAKAO_ACCOUNT_NOT_AVAILABLE,
        kakao_req("not-linked")
    );
    both!(seen, c::KAKAO_QUOTA_EXCEEDED, kakao_req("quota"));
    both!(seen, c::SERVICE_UNAVAILABLE, kakao_req("maintenance"));
    both!(seen, c::UPSTREAM_ERROR, kakao_req("html"));
    both!(seen, c::UPSTREAM_TIMEOUT, kakao_req("hang"));

    // ── rate limits (their own app: a limit of two a minute) ──
    let limited = spawn_with(&[("CLASSROOM_RATE_BURST", "2/min")]).await;
    for _ in 0..2 {
        limited.get("/v1/lectures").send().await; // AUTH_REQUIRED, but counted
    }
    let en = both!(seen, c::RATE_LIMIT_EXCEEDED, limited.get("/v1/lectures"));
    let wait: u64 = en
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");

    // ── every password hashing slot busy (their own app: no waiting for a slot) ──
    let busy = spawn_with(&[("CLASSROOM_HASH_WAIT_MS", "0")]).await;
    let held = busy.state.passwords.occupy_all().await;
    let en = both!(
        seen,
        c::AUTH_BUSY,
        busy.post("/v1/auth/login")
            .json(&json!({"email": "a@example.com", "password": "whatever1"}))
    );
    assert_eq!(en.header("retry-after"), Some("1"));
    drop(held);

    // ── the server's own failure, with nothing of it in the body ──
    sqlx::query("DROP TABLE images")
        .execute(&app.state.db)
        .await
        .expect("drop");
    let en = both!(
        seen,
        c::SERVER_ERROR,
        app.get("/v1/uploads/images/1").token(student)
    );
    assert!(
        !en.text.contains("images") && !en.text.contains("table"),
        "{}",
        en.text
    );

    let missing: Vec<String> = all_codes()
        .into_iter()
        .filter(|code| !seen.contains(code))
        .collect();
    assert!(
        missing.is_empty(),
        "codes of the catalog no test produced: {missing:?}"
    );
}

/// A body that sends one byte and then nothing.
fn stalled_body() -> reqwest::Body {
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok::<_, std::io::Error>(bytes_of("{")), 1)),
            _ => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                None
            }
        }
    });
    reqwest::Body::wrap_stream(stream)
}

fn bytes_of(s: &'static str) -> Vec<u8> {
    s.as_bytes().to_vec()
}
