//! The upstream client against a local fake upstream, and database constraint mapping on SQLite.

use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use errata::UpstreamMapper;
use errata_axum::db::ConstraintViolationExt;
use errata_axum::upstream::UpstreamClient;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

async fn fake_upstream() -> String {
    let app = Router::new()
        .route("/ok", get(|| async { r#"{"result": 1}"# }))
        .route(
            "/inactive",
            get(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    r#"{"msg":"the account is inactive.","code":-1}"#,
                )
            }),
        )
        .route(
            "/not-linked",
            get(|| async { (StatusCode::UNAUTHORIZED, r#"{"msg":"x","code":-101}"#) }),
        )
        .route(
            "/quota",
            get(|| async { (StatusCode::BAD_REQUEST, r#"{"msg":"quota","code":-10}"#) }),
        )
        .route(
            "/boom",
            get(|| async {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "<html>secret stack trace</html>",
                )
            }),
        )
        .route("/garbage", get(|| async { "{\"result\": " }))
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[derive(serde::Deserialize, Debug)]
struct Answer {
    result: i64,
}

#[tokio::test]
async fn upstream_answers_map_to_catalog_errors() {
    let base = fake_upstream().await;
    let mapper = UpstreamMapper::new(errors::catalog(), "kakao").unwrap();
    let client = UpstreamClient::new(mapper, Duration::from_millis(300));
    let call = |path: &str| client.send_json::<Answer>(client.http().get(format!("{base}{path}")));

    assert_eq!(call("/ok").await.unwrap().result, 1);
    for (path, code, status) in [
        ("/inactive", "KAKAO_ACCOUNT_NOT_AVAILABLE", 400),
        ("/not-linked", "KAKAO_ACCOUNT_NOT_AVAILABLE", 400),
        ("/quota", "KAKAO_QUOTA_EXCEEDED", 503),
        ("/boom", "UPSTREAM_ERROR", 502),
        ("/garbage", "UPSTREAM_ERROR", 502),
        ("/hang", "UPSTREAM_TIMEOUT", 504),
    ] {
        let err = call(path).await.unwrap_err();
        assert_eq!((err.code(), err.status()), (code, status), "{path}");
        let detail = err.upstream().expect("upstream detail kept");
        assert_eq!(detail.name, "kakao");
        assert_eq!(detail.timed_out, path == "/hang");
    }
    let err = call("/boom").await.unwrap_err();
    assert!(
        err.upstream().unwrap().body.contains("secret stack trace"),
        "kept for logs"
    );
    let closed = client
        .send(client.http().get("http://127.0.0.1:9/"))
        .await
        .unwrap_err();
    assert_eq!(closed.code(), "UPSTREAM_ERROR");
}

#[tokio::test]
async fn unique_violations_map_to_the_chosen_code() {
    let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
    sqlx::query("CREATE TABLE enrollments (user_id INTEGER NOT NULL, lecture_id INTEGER NOT NULL, UNIQUE (user_id, lecture_id))")
        .execute(&pool)
        .await
        .unwrap();
    let enroll = || {
        sqlx::query("INSERT INTO enrollments (user_id, lecture_id) VALUES (1, 2)").execute(&pool)
    };
    enroll()
        .await
        .on_unique_violation(errors::already_enrolled)
        .unwrap();
    let err = enroll()
        .await
        .on_unique_violation(errors::already_enrolled)
        .unwrap_err();
    assert_eq!(err.code(), errors::codes::ALREADY_ENROLLED);
    assert!(err.cause().is_some());

    let null = sqlx::query("INSERT INTO enrollments (user_id, lecture_id) VALUES (NULL, 2)")
        .execute(&pool)
        .await;
    assert_eq!(
        null.on_integrity_violation(errors::integrity_error)
            .unwrap_err()
            .code(),
        "INTEGRITY_ERROR"
    );

    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE lectures (id INTEGER PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE sessions (lecture_id INTEGER REFERENCES lectures(id) ON DELETE RESTRICT)",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO lectures (id) VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sessions (lecture_id) VALUES (1)")
        .execute(&pool)
        .await
        .unwrap();
    let restricted = sqlx::query("DELETE FROM lectures WHERE id = 1")
        .execute(&pool)
        .await;
    assert_eq!(
        restricted
            .on_integrity_violation(errors::integrity_error)
            .unwrap_err()
            .code(),
        "INTEGRITY_ERROR"
    );

    let other = sqlx::query("SELECT * FROM no_such_table")
        .execute(&pool)
        .await;
    assert_eq!(
        other
            .on_unique_violation(errors::already_enrolled)
            .unwrap_err()
            .code(),
        "SERVER_ERROR"
    );
}
