//! `GET /v1/user/kakao-channel-added` against a fake Kakao on loopback: every failure Kakao
//! can give maps to the catalog's code, and nothing of Kakao's answer reaches the client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use errata::Code;

async fn ask(app: &TestApp, user: &User, kakao_token: &str) -> Resp {
    app.get("/v1/user/kakao-channel-added")
        .token(&user.access)
        .header("x-kakao-token", kakao_token)
        .send()
        .await
}

#[tokio::test]
async fn every_kakao_failure_maps_to_its_code_and_never_leaks() {
    let kakao = fake_kakao().await;
    let app = spawn_with(&[("KAKAO_API_BASE", &kakao.base), ("KAKAO_TIMEOUT_MS", "300")]).await;
    let user = app.user("kim@example.com", "student").await;

    let cases: &[(&str, Code)] = &[
        // Account state, by Kakao's code (whatever HTTP status Kakao used).
        ("not-linked", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        ("dormant", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        ("under-14", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        ("restricted", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        // Account state, by the three message texts (sent with a 500 or an unrelated code).
        ("inactive", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        ("not-talk-user", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        ("not-registered", c::KAKAO_ACCOUNT_NOT_AVAILABLE),
        // Kakao's own trouble.
        ("quota", c::KAKAO_QUOTA_EXCEEDED),
        ("maintenance", c::SERVICE_UNAVAILABLE),
        ("error-500", c::UPSTREAM_ERROR),
        ("html", c::UPSTREAM_ERROR),
        ("truncated", c::UPSTREAM_ERROR),
        ("truncated-error", c::UPSTREAM_ERROR),
        ("unknown-token", c::UPSTREAM_ERROR),
        ("hang", c::UPSTREAM_TIMEOUT),
    ];
    for (token, code) in cases {
        let r = ask(&app, &user, token).await;
        let body = r.err(*code);
        assert!(
            !r.text.contains(UPSTREAM_MARKER),
            "{token}: Kakao's body leaked: {}",
            r.text
        );
        assert!(body["error"].get("details").is_none(), "{token}: {body}");
        let error = body["error"].to_string();
        for leak in [
            "-101",
            "-103",
            "-406",
            "-10",
            "inactive",
            "Exception",
            "html",
            "127.0.0.1",
        ] {
            assert!(!error.contains(leak), "{token}: {leak} leaked: {error}");
        }
    }
    // The user's Kakao token went to Kakao as a bearer token.
    assert!(kakao
        .seen_tokens
        .lock()
        .expect("lock")
        .iter()
        .any(|t| t == "not-linked"));
}

#[tokio::test]
async fn account_errors_are_400_and_outages_are_5xx_in_english_too() {
    let kakao = fake_kakao().await;
    let app = spawn_with(&[("KAKAO_API_BASE", &kakao.base), ("KAKAO_TIMEOUT_MS", "300")]).await;
    let user = app.user("kim@example.com", "student").await;
    let r = app
        .get("/v1/user/kakao-channel-added")
        .en()
        .token(&user.access)
        .header("x-kakao-token", "inactive")
        .send()
        .await;
    assert_eq!(r.status, 400);
    r.err_in(c::KAKAO_ACCOUNT_NOT_AVAILABLE, "en");
    let r = app
        .get("/v1/user/kakao-channel-added")
        .en()
        .token(&user.access)
        .header("x-kakao-token", "quota")
        .send()
        .await;
    assert_eq!(r.status, 503);
    r.err_in(c::KAKAO_QUOTA_EXCEEDED, "en");
}

#[tokio::test]
async fn a_hanging_kakao_is_cut_at_the_configured_timeout() {
    let kakao = fake_kakao().await;
    let app = spawn_with(&[("KAKAO_API_BASE", &kakao.base), ("KAKAO_TIMEOUT_MS", "250")]).await;
    let user = app.user("kim@example.com", "student").await;
    let started = Instant::now();
    ask(&app, &user, "hang").await.err(c::UPSTREAM_TIMEOUT);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn an_unreachable_kakao_is_an_upstream_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let app = spawn_with(&[("KAKAO_API_BASE", &closed)]).await;
    let user = app.user("kim@example.com", "student").await;
    let r = ask(&app, &user, "ok").await;
    r.err(c::UPSTREAM_ERROR);
    assert!(!r.text.contains("127.0.0.1"), "{}", r.text);
}

#[tokio::test]
async fn channels_when_kakao_answers() {
    let kakao = fake_kakao().await;
    let app = spawn_with(&[("KAKAO_API_BASE", &kakao.base)]).await;
    let user = app.user("kim@example.com", "student").await;
    let body = ask(&app, &user, "ok").await.ok(200);
    assert_eq!(body["added"], true);
    assert_eq!(body["channels"][0]["channel_public_id"], "_ZeUTxl");
    let body = app
        .get("/v1/user/kakao-channel-added?channel_public_id=_other")
        .token(&user.access)
        .header("x-kakao-token", "ok")
        .send()
        .await
        .ok(200);
    assert_eq!(body["added"], false);
    assert_eq!(ask(&app, &user, "none").await.ok(200)["added"], false);
}

#[tokio::test]
async fn the_kakao_token_header_and_our_own_token_are_required() {
    let kakao = fake_kakao().await;
    let app = spawn_with(&[("KAKAO_API_BASE", &kakao.base)]).await;
    let user = app.user("kim@example.com", "student").await;
    let body = app
        .get("/v1/user/kakao-channel-added")
        .token(&user.access)
        .send()
        .await
        .err(c::VALIDATION_ERROR);
    assert_eq!(
        body["error"]["field_errors"]["X-Kakao-Token"][0]["code"],
        "required"
    );
    app.get("/v1/user/kakao-channel-added")
        .header("x-kakao-token", "ok")
        .send()
        .await
        .err(c::AUTH_REQUIRED);
    assert!(
        kakao.seen_tokens.lock().expect("lock").is_empty(),
        "Kakao is not called for a rejected request"
    );
}
