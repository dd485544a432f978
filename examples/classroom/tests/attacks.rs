//! The service tried as an attacker would, one test per hole found: a flood of logins, reading
//! and watching other people's sessions, probing `/ws` for codes, taking over another
//! student's device, blank names, sniffable downloads, WebSocket protocol violations.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_logins_runs_at_most_the_slots_and_every_admitted_login_succeeds() {
    let app = Arc::new(spawn_with(&[("CLASSROOM_HASH_CONCURRENCY", "2")]).await);
    app.user("victim@example.com", "student").await;
    let before = app.state.passwords.stats();
    assert_eq!(before.capacity, 2);
    let logins: Vec<_> = (0..150)
        .map(|i| {
            let app = Arc::clone(&app);
            tokio::spawn(async move {
                // Known and unknown emails alike cost a hash.
                let email = if i % 3 == 0 {
                    "nobody@example.com"
                } else {
                    "victim@example.com"
                };
                let r = app
                    .post("/v1/auth/login")
                    .json(&json!({"email": email, "password": "password123"}))
                    .send()
                    .await;
                (i % 3 == 0, r.status.as_u16())
            })
        })
        .collect();
    for login in logins {
        let (unknown, status) = login.await.unwrap();
        assert_eq!(status, if unknown { 401 } else { 200 });
    }
    let after = app.state.passwords.stats();
    assert_eq!(after.admitted - before.admitted, 150, "{after:?}");
    assert_eq!(after.refused, 0);
    assert!(
        after.peak_running <= 2,
        "more hashes at once than slots: {after:?}"
    );
    assert!(
        after.buffers_allocated <= 2,
        "more Argon2 memory than slots: {after:?}"
    );
}

#[tokio::test]
async fn logins_beyond_the_slots_wait_then_get_auth_busy_and_nothing_is_hashed() {
    let app = spawn_with(&[
        ("CLASSROOM_HASH_CONCURRENCY", "2"),
        ("CLASSROOM_HASH_WAIT_MS", "50"),
    ])
    .await;
    let user = app.user("victim@example.com", "student").await;
    let held = app.state.passwords.occupy_all().await;
    let login = || {
        app.post("/v1/auth/login")
            .json(&json!({"email": "victim@example.com", "password": "password123"}))
    };
    for _ in 0..5 {
        let r = login().send().await;
        r.err(c::AUTH_BUSY);
        assert_eq!(r.header("retry-after"), Some("1"));
    }
    let signup = app
        .post("/v1/auth/signup")
        .json(&json!({"email": "new@example.com", "password": "password123", "name": "New"}))
        .send()
        .await;
    signup.err(c::AUTH_BUSY);
    assert_eq!(app.state.passwords.stats().refused, 6);
    // Other routes are not held up.
    app.get("/v1/user/me")
        .token(&user.access)
        .send()
        .await
        .ok(200);
    drop(held);
    login().send().await.ok(200);
}

#[tokio::test]
async fn a_signed_in_outsider_cannot_read_a_session() {
    let app = spawn().await;
    let room = app.classroom().await;
    let outsider = app.user("outsider@example.com", "student").await;
    let path = format!("/v1/sessions/{}", room.session);
    app.get(&path)
        .token(&outsider.access)
        .send()
        .await
        .err(c::NOT_ENROLLED);
    // Members still can.
    app.get(&path)
        .token(&room.student.access)
        .send()
        .await
        .ok(200);
    app.get(&path)
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    // Unenrolling takes the right away.
    app.delete(&format!("/v1/lectures/{}/enroll", room.lecture))
        .token(&room.student.access)
        .send()
        .await
        .ok(204);
    app.get(&path)
        .token(&room.student.access)
        .send()
        .await
        .err(c::NOT_ENROLLED);
}

#[tokio::test]
async fn a_signed_in_outsider_cannot_watch_a_session() {
    let app = spawn().await;
    let room = app.classroom().await;
    let outsider = app.user("outsider@example.com", "student").await;
    for (lang, expected) in [("ko", "ko"), ("en", "en")] {
        let path = format!("/ws/sessions/{}?token={}", room.session, outsider.access);
        let mut ws = RawSocket::open(&app, &path, Some(lang)).await;
        assert_eq!(
            ws.close_frame().await,
            Some((4003, message_of(c::NOT_ENROLLED, expected))),
            "no state, a close frame"
        );
    }
    let path = format!(
        "/ws/sessions/{}?token={}",
        room.session, room.student.access
    );
    let mut ws = RawSocket::open(&app, &path, None).await;
    let (opcode, payload) = ws.frame().await.expect("the state");
    assert_eq!(opcode, 0x1);
    assert!(String::from_utf8_lossy(&payload).contains(&room.session));
}

#[tokio::test]
async fn probing_ws_for_session_codes_is_rate_limited_like_v1() {
    let app = spawn_with(&[("CLASSROOM_RATE_BURST", "5/min")]).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let r = app.get(&format!("/ws/sessions/AAAAA{i}")).send().await;
        statuses.push(r.status.as_u16());
        if r.status.as_u16() == 429 {
            r.err(c::RATE_LIMIT_EXCEEDED);
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
    // One budget for /ws and /v1: the same client is limited on /v1 now.
    app.get("/v1/lectures")
        .send()
        .await
        .err(c::RATE_LIMIT_EXCEEDED);
}

#[tokio::test]
async fn ws_probes_with_a_token_count_against_the_user() {
    let app = spawn_with(&[("CLASSROOM_RATE_USER", "3/min")]).await;
    let room = app.classroom().await;
    let mut limited = 0;
    for i in 0..5 {
        let r = app
            .get(&format!(
                "/ws/sessions/AAAAA{i}?token={}",
                room.student.access
            ))
            .send()
            .await;
        if r.status.as_u16() == 429 {
            r.err(c::RATE_LIMIT_EXCEEDED);
            limited += 1;
        }
    }
    assert!(limited >= 2, "the user's limit applies to /ws: {limited}");
    // Another user is not affected.
    app.get(&format!("/v1/sessions/{}", room.session))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
}

#[tokio::test]
async fn a_student_cannot_take_over_another_students_device() {
    let app = spawn().await;
    let room = app.classroom().await;
    let thief = app.user("thief@example.com", "student").await;
    app.post(&format!("/v1/lectures/{}/enroll", room.lecture))
        .token(&thief.access)
        .send()
        .await
        .ok(201);
    let join = format!("/v1/sessions/{}/join", room.session);
    let complete = format!("/v1/sessions/{}/complete", room.session);
    app.post(&join)
        .token(&room.student.access)
        .json(&json!({"device_id": "victim-phone"}))
        .send()
        .await
        .ok(201);
    app.post(&join)
        .token(&thief.access)
        .json(&json!({"device_id": "victim-phone"}))
        .send()
        .await
        .err(c::DEVICE_ID_TAKEN);
    app.post(&format!("/v1/sessions/{}/start", room.session))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    app.post(&complete)
        .token(&thief.access)
        .json(&json!({"device_id": "victim-phone"}))
        .send()
        .await
        .err(c::DEVICE_ID_TAKEN);
    // The owner keeps the device.
    let done = app
        .post(&complete)
        .token(&room.student.access)
        .json(&json!({"device_id": "victim-phone"}))
        .send()
        .await
        .ok(200);
    assert_eq!(done["created"], true);
    assert_eq!(done["session"]["participant_count"], 1);
    assert_eq!(done["session"]["completed_count"], 1);
    // Joining again as the owner is still harmless.
    let again = app
        .post(&join)
        .token(&room.student.access)
        .json(&json!({"device_id": " victim-phone "}))
        .send()
        .await
        .ok(200);
    assert_eq!(again["created"], false);
}

#[tokio::test]
async fn whitespace_only_names_and_titles_are_validation_errors() {
    let app = spawn().await;
    let room = app.classroom().await;
    let field_code = |body: serde_json::Value, field: &str| {
        body["error"]["field_errors"][field][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let r = app
        .post("/v1/auth/signup")
        .json(&json!({"email": "blank@example.com", "password": "password123", "name": "   "}))
        .send()
        .await;
    assert_eq!(field_code(r.err(c::VALIDATION_ERROR), "name"), "blank");
    for title in [" ", "\t\n", "\u{3000}"] {
        let r = app
            .post("/v1/lectures")
            .token(&room.instructor.access)
            .json(&json!({"title": title}))
            .send()
            .await;
        assert_eq!(field_code(r.err(c::VALIDATION_ERROR), "title"), "blank");
        let r = app
            .patch(&format!("/v1/lectures/{}", room.lecture))
            .token(&room.instructor.access)
            .json(&json!({"title": title}))
            .send()
            .await;
        assert_eq!(field_code(r.err(c::VALIDATION_ERROR), "title"), "blank");
        let r = app
            .post(&format!("/v1/lectures/{}/sessions", room.lecture))
            .token(&room.instructor.access)
            .json(&json!({"title": title}))
            .send()
            .await;
        assert_eq!(field_code(r.err(c::VALIDATION_ERROR), "title"), "blank");
    }
    let en = app
        .post("/v1/lectures")
        .token(&room.instructor.access)
        .json(&json!({"title": "  "}))
        .en()
        .send()
        .await;
    assert_eq!(
        en.err_in(c::VALIDATION_ERROR, "en")["error"]["field_errors"]["title"][0]["message"],
        "This cannot be only whitespace."
    );
    // Nothing was stored.
    let (blank,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM lectures WHERE trim(title) = ''")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(blank, 0);
}

#[tokio::test]
async fn downloads_are_never_content_sniffed() {
    let app = spawn().await;
    let user = app.user("u@example.com", "student").await;
    // An "image" that is a PNG header followed by HTML: a browser sniffing it could render it.
    let mut polyglot = PNG.to_vec();
    polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
    let b64 = base64::engine::general_purpose::STANDARD.encode(&polyglot);
    let id = app
        .post("/v1/uploads/images")
        .token(&user.access)
        .json(&json!({"image": b64}))
        .send()
        .await
        .ok(201)["id"]
        .as_i64()
        .unwrap();
    let r = app
        .get(&format!("/v1/uploads/images/{id}"))
        .token(&user.access)
        .send()
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn websocket_protocol_errors_close_with_a_frame_and_the_catalog_code() {
    let app = spawn().await;
    let room = app.classroom().await;
    let path = format!(
        "/ws/sessions/{}?token={}",
        room.session, room.student.access
    );
    // (what a hostile client sends, why it is a protocol error)
    let masked_text = |payload: &[u8]| {
        let mut frame = vec![0x81, 0x80 | payload.len() as u8, 1, 2, 3, 4];
        frame.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
        );
        frame
    };
    let mut oversized = vec![0x82, 0xFF];
    oversized.extend_from_slice(&(1u64 << 40).to_be_bytes());
    oversized.extend_from_slice(&[0, 0, 0, 0]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x81, 0x02, b'h', b'i'], "an unmasked frame"),
        (
            vec![0xC1, 0x80, 0, 0, 0, 0],
            "reserved bits without an extension",
        ),
        (vec![0x83, 0x80, 0, 0, 0, 0], "an unknown opcode"),
        (masked_text(&[0xff, 0xfe]), "text that is not UTF-8"),
        (oversized, "a frame of a terabyte"),
    ];
    for (bytes, what) in cases {
        let mut ws = RawSocket::open(&app, &path, None).await;
        assert_eq!(ws.frame().await.expect("the state").0, 0x1, "{what}");
        ws.send_raw(&bytes).await;
        assert_eq!(
            ws.close_frame().await,
            Some((4000, message_of(c::WS_PROTOCOL_ERROR, "ko"))),
            "{what}: a close frame, not a dropped connection"
        );
    }
    // A well-behaved client is unaffected.
    let mut ws = RawSocket::open(&app, &path, None).await;
    assert_eq!(ws.frame().await.expect("the state").0, 0x1);
    ws.send_raw(&masked_text(b"hello")).await;
    app.post(&format!("/v1/sessions/{}/start", room.session))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    let (opcode, payload) = ws.frame().await.expect("the next state");
    assert_eq!(opcode, 0x1);
    assert!(String::from_utf8_lossy(&payload).contains("IN_PROGRESS"));
}
