//! `/ws/sessions/{code}?token=`: close codes from the catalog, then live session state.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(app: &TestApp, code: &str, token: Option<&str>, lang: Option<&str>) -> Socket {
    let query = token.map(|t| format!("?token={t}")).unwrap_or_default();
    let mut request = format!("ws://{}/ws/sessions/{code}{query}", app.addr)
        .into_client_request()
        .expect("request");
    if let Some(lang) = lang {
        request
            .headers_mut()
            .insert("accept-language", lang.parse().expect("header"));
    }
    let (socket, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrade");
    assert!(response.headers().get("x-request-id").is_some());
    socket
}

async fn next(socket: &mut Socket) -> Message {
    tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .expect("a message within 5 s")
        .expect("socket open")
        .expect("a frame")
}

/// Reads until a state message, skipping pings.
async fn state(socket: &mut Socket) -> Value {
    loop {
        match next(socket).await {
            Message::Text(text) => {
                let v: Value = serde_json::from_str(text.as_str()).expect("JSON");
                assert_eq!(v["type"], "session");
                return v["session"].clone();
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a state, got {other:?}"),
        }
    }
}

async fn closed_with(socket: &mut Socket) -> (u16, String) {
    match next(socket).await {
        Message::Close(Some(frame)) => (u16::from(frame.code), frame.reason.to_string()),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_tokens_close_with_4001_and_the_message_in_the_client_language() {
    let app = spawn().await;
    let room = app.classroom().await;
    let code = &room.session;

    let mut s = open(&app, code, None, None).await;
    assert_eq!(
        closed_with(&mut s).await,
        (4001, "인증이 필요합니다.".to_owned())
    );

    let expired = app.mint(&json!({"sub": room.student.id.to_string(), "exp": now() - 60, "iat": now() - 3660, "jti": "e", "typ": "access"}));
    let mut s = open(&app, code, Some(&expired), None).await;
    assert_eq!(
        closed_with(&mut s).await,
        (4001, "토큰이 만료되었습니다.".to_owned())
    );
    let mut s = open(&app, code, Some(&expired), Some("en-US,en;q=0.9")).await;
    assert_eq!(
        closed_with(&mut s).await,
        (4001, "The token has expired.".to_owned())
    );

    let mut s = open(&app, code, Some("forged.token.here"), Some("en")).await;
    assert_eq!(
        closed_with(&mut s).await,
        (4001, "The token is invalid.".to_owned())
    );
    // A refresh token is not an access token.
    let mut s = open(&app, code, Some(&room.student.refresh), None).await;
    assert_eq!(closed_with(&mut s).await.0, 4001);

    let mut s = open(&app, "ZZZZZZ", Some(&room.student.access), Some("en")).await;
    assert_eq!(
        closed_with(&mut s).await,
        (4004, "The session does not exist.".to_owned())
    );
}

#[tokio::test]
async fn session_changes_are_pushed_until_the_session_ends() {
    let app = spawn().await;
    let room = app.classroom().await;
    let code = room.session.clone();
    let (teacher, student) = (&room.instructor.access, &room.student.access);

    let mut s = open(&app, &code, Some(student), None).await;
    let first = state(&mut s).await;
    assert_eq!(
        (first["status"].as_str(), first["code"].as_str()),
        (Some("WAITING"), Some(code.as_str()))
    );

    app.post(&format!("/v1/sessions/{code}/join"))
        .token(student)
        .json(&json!({"device_id": "tablet-1"}))
        .send()
        .await
        .ok(201);
    assert_eq!(state(&mut s).await["participant_count"], 1);
    // Joining again changes nothing and pushes nothing.
    app.post(&format!("/v1/sessions/{code}/join"))
        .token(student)
        .json(&json!({"device_id": "tablet-1"}))
        .send()
        .await
        .ok(200);

    app.post(&format!("/v1/sessions/{code}/start"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    let started = state(&mut s).await;
    assert_eq!(
        (
            started["status"].as_str(),
            started["participant_count"].as_i64()
        ),
        (Some("IN_PROGRESS"), Some(1))
    );

    app.post(&format!("/v1/sessions/{code}/complete"))
        .token(student)
        .json(&json!({"device_id": "tablet-1"}))
        .send()
        .await
        .ok(200);
    assert_eq!(state(&mut s).await["completed_count"], 1);

    app.post(&format!("/v1/sessions/{code}/next-step"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    let stepped = state(&mut s).await;
    assert_eq!(
        (
            stepped["current_step"].as_i64(),
            stepped["completed_count"].as_i64()
        ),
        (Some(1), Some(0))
    );

    app.post(&format!("/v1/sessions/{code}/end"))
        .token(teacher)
        .send()
        .await
        .ok(200);
    assert_eq!(state(&mut s).await["status"], "ENDED");
    assert_eq!(closed_with(&mut s).await.0, 1000);
}

#[tokio::test]
async fn a_client_that_leaves_is_forgotten() {
    let app = spawn().await;
    let room = app.classroom().await;
    let mut s = open(&app, &room.session, Some(&room.student.access), None).await;
    state(&mut s).await;
    assert_eq!(app.state.hub.watched(), 1);
    s.send(Message::Close(None)).await.expect("close");
    drop(s);
    // The next change finds nobody watching and drops the channel.
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.post(&format!("/v1/sessions/{}/start", room.session))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    assert_eq!(app.state.hub.watched(), 0);
}

#[tokio::test]
async fn a_plain_http_request_to_the_socket_is_an_error_in_the_envelope() {
    let app = spawn().await;
    let r = app.get("/ws/sessions/ABCDEF").send().await;
    assert!(r.status.is_client_error(), "{}", r.text);
    let body = r.json();
    assert!(
        body["error"]["code"].is_string() && body["status"] == r.status.as_u16(),
        "{body}"
    );
}
