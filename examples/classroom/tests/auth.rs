//! Signup, login and the life of tokens.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn signup_field_errors_in_both_languages() {
    let app = spawn().await;
    app.user("taken@example.com", "student").await;

    let body = json!({"email": "TAKEN@example.com", "password": "1234567", "name": "Kim"});
    let ko = app
        .post("/v1/auth/signup")
        .json(&body)
        .send()
        .await
        .err(c::VALIDATION_ERROR);
    let fields = &ko["error"]["field_errors"];
    // The password is checked before the database: only the length error here.
    assert_eq!(
        fields["password"],
        json!([{"code": "too_short", "message": "8자 이상이어야 합니다."}])
    );

    let body = json!({"email": "TAKEN@example.com", "password": "12345678", "name": "Kim"});
    let ko = app
        .post("/v1/auth/signup")
        .json(&body)
        .send()
        .await
        .err(c::VALIDATION_ERROR);
    assert_eq!(
        ko["error"]["field_errors"]["email"],
        json!([{"code": "email_taken", "message": "이미 사용 중인 이메일입니다."}])
    );
    let en = app
        .post("/v1/auth/signup")
        .en()
        .json(&body)
        .send()
        .await
        .err_in(c::VALIDATION_ERROR, "en");
    assert_eq!(
        en["error"]["field_errors"]["email"],
        json!([{"code": "email_taken", "message": "This email is already in use."}])
    );

    let body = json!({"email": "not-an-email", "password": "1234", "name": ""});
    let en = app
        .post("/v1/auth/signup")
        .en()
        .json(&body)
        .send()
        .await
        .err_in(c::VALIDATION_ERROR, "en");
    let fields = &en["error"]["field_errors"];
    assert_eq!(fields["email"][0]["code"], "invalid_email");
    assert_eq!(
        fields["password"],
        json!([{"code": "too_short", "message": "Must be at least 8 characters."}])
    );
    assert_eq!(fields["name"][0]["code"], "too_short");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_answer() {
    let app = spawn().await;
    app.user("kim@example.com", "student").await;
    let wrong = app
        .post("/v1/auth/login")
        .json(&json!({"email": "kim@example.com", "password": "nope-nope"}))
        .send()
        .await;
    let unknown = app
        .post("/v1/auth/login")
        .json(&json!({"email": "lee@example.com", "password": "nope-nope"}))
        .send()
        .await;
    let (a, b) = (wrong.err(c::AUTH_FAILED), unknown.err(c::AUTH_FAILED));
    assert_eq!(a["error"], b["error"]);
    let ok = app
        .post("/v1/auth/login")
        .json(&json!({"email": "KIM@example.com", "password": "password123"}))
        .send()
        .await
        .ok(200);
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 3600);
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_retires_the_whole_login() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let first = app
        .post("/v1/auth/refresh")
        .json(&json!({"refresh": user.refresh}))
        .send()
        .await
        .ok(200);
    let second_refresh = first["refresh"].as_str().expect("refresh").to_owned();
    assert_ne!(second_refresh, user.refresh);
    app.get("/v1/user/me")
        .token(first["access"].as_str().expect("access"))
        .send()
        .await
        .ok(200);

    // The rotated token again: blacklisted, and the login it belongs to is retired with it.
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": user.refresh}))
        .send()
        .await
        .err(c::TOKEN_BLACKLISTED);
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": second_refresh}))
        .send()
        .await
        .err(c::TOKEN_BLACKLISTED);

    // Another login is untouched.
    let other = app
        .post("/v1/auth/login")
        .json(&json!({"email": "kim@example.com", "password": "password123"}))
        .send()
        .await
        .ok(200);
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": other["refresh"]}))
        .send()
        .await
        .ok(200);
}

#[tokio::test]
async fn logout_blacklists_and_a_second_logout_says_so() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    app.post("/v1/auth/logout")
        .json(&json!({"refresh": user.refresh}))
        .send()
        .await
        .ok(204);
    app.post("/v1/auth/logout")
        .json(&json!({"refresh": user.refresh}))
        .send()
        .await
        .err(c::TOKEN_BLACKLISTED);
    app.post("/v1/auth/refresh")
        .en()
        .json(&json!({"refresh": user.refresh}))
        .send()
        .await
        .err_in(c::TOKEN_BLACKLISTED, "en");
}

#[tokio::test]
async fn expired_forged_malformed_and_wrong_kind_tokens() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "student").await;
    let sub = user.id.to_string();

    let expired = app.mint(
        &json!({"sub": sub, "exp": now() - 10, "iat": now() - 3610, "jti": "a", "typ": "access"}),
    );
    app.get("/v1/user/me")
        .token(&expired)
        .send()
        .await
        .err(c::TOKEN_EXPIRED);
    let expired_refresh = app.mint(
        &json!({"sub": sub, "exp": now() - 10, "iat": now() - 3610, "jti": "b", "typ": "refresh"}),
    );
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": expired_refresh}))
        .send()
        .await
        .err(c::TOKEN_EXPIRED);

    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": sub, "exp": now() + 600, "iat": now(), "jti": "c", "typ": "access"}),
        &jsonwebtoken::EncodingKey::from_secret(b"someone-else's-secret-0123456789"),
    )
    .expect("forged");
    app.get("/v1/user/me")
        .token(&forged)
        .send()
        .await
        .err(c::TOKEN_INVALID);

    // alg=none, garbage, a refresh token used as an access token, an access token as refresh,
    // a token for a user id that is not a number, a signed refresh token never issued here.
    let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwiZXhwIjo5OTk5OTk5OTk5fQ.";
    for token in [
        none,
        "a.b.c",
        "Bearer",
        "x".repeat(5000).as_str(),
        user.refresh.as_str(),
    ] {
        app.get("/v1/user/me")
            .token(token)
            .send()
            .await
            .err(c::TOKEN_INVALID);
    }
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": user.access}))
        .send()
        .await
        .err(c::TOKEN_INVALID);
    let weird = app.mint(
        &json!({"sub": "admin", "exp": now() + 600, "iat": now(), "jti": "d", "typ": "access"}),
    );
    app.get("/v1/user/me")
        .token(&weird)
        .send()
        .await
        .err(c::TOKEN_INVALID);
    let unissued = app.mint(&json!({"sub": sub, "exp": now() + 600, "iat": now(), "jti": "never-issued", "typ": "refresh"}));
    app.post("/v1/auth/refresh")
        .json(&json!({"refresh": unissued}))
        .send()
        .await
        .err(c::TOKEN_INVALID);

    // Another scheme, or no token after Bearer.
    app.get("/v1/user/me")
        .header("authorization", "Basic a2ltOnB3")
        .send()
        .await
        .err(c::TOKEN_INVALID);
    app.get("/v1/user/me")
        .header("authorization", "Bearer ")
        .send()
        .await
        .err(c::AUTH_REQUIRED);
    app.get("/v1/user/me").send().await.err(c::AUTH_REQUIRED);
}

#[tokio::test]
async fn me_shows_the_user_without_secrets() {
    let app = spawn().await;
    let user = app.user("kim@example.com", "instructor").await;
    let me = app
        .get("/v1/user/me")
        .token(&user.access)
        .send()
        .await
        .ok(200);
    assert_eq!(me["email"], "kim@example.com");
    assert_eq!(me["role"], "instructor");
    assert!(me.get("password_hash").is_none());
}
