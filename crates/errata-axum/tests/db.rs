//! Constraint violations of both drivers, against a real SQLite and a real PostgreSQL
//! (127.0.0.1:5432, database `test`; `.ci/run` starts it), directly and through sqlx's `Any`.
#![cfg(feature = "sqlx")]

use errata_axum::db::{violation, ConstraintViolationExt, Violation};
use sqlx::{AnyConnection, Connection, Executor};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The schema both backends share (temporary on PostgreSQL: gone with the connection).
fn schema(temp: &str) -> Vec<String> {
    vec![
        format!("CREATE {temp} TABLE lectures (id BIGINT PRIMARY KEY)"),
        format!(
            "CREATE {temp} TABLE enrollments (user_id BIGINT NOT NULL, \
             lecture_id BIGINT NOT NULL REFERENCES lectures (id), \
             grade BIGINT CHECK (grade >= 0), UNIQUE (user_id, lecture_id))"
        ),
        "INSERT INTO lectures (id) VALUES (1)".to_owned(),
        "INSERT INTO enrollments (user_id, lecture_id) VALUES (1, 1)".to_owned(),
    ]
}

/// Each violation, the statement that commits it, and what it must map to.
const CASES: &[(&str, Violation)] = &[
    (
        "INSERT INTO enrollments (user_id, lecture_id) VALUES (1, 1)",
        Violation::Unique,
    ),
    ("INSERT INTO lectures (id) VALUES (1)", Violation::Unique),
    (
        "INSERT INTO enrollments (user_id, lecture_id) VALUES (2, 99)",
        Violation::ForeignKey,
    ),
    ("DELETE FROM lectures WHERE id = 1", Violation::ForeignKey),
    (
        "INSERT INTO enrollments (user_id, lecture_id, grade) VALUES (3, 1, -1)",
        Violation::Check,
    ),
    (
        "INSERT INTO enrollments (user_id, lecture_id) VALUES (NULL, 1)",
        Violation::NotNull,
    ),
];

/// The error of a statement that must fail.
async fn fails<C>(conn: &mut C, sql: &str) -> sqlx::Error
where
    for<'c> &'c mut C: Executor<'c>,
{
    match conn.execute(sql).await {
        Ok(_) => panic!("{sql} succeeded"),
        Err(e) => e,
    }
}

async fn check_all<C>(conn: &mut C, backend: &str)
where
    for<'c> &'c mut C: Executor<'c>,
{
    for (sql, expected) in CASES {
        let err = fails(conn, sql).await;
        let sqlx::Error::Database(db) = &err else {
            panic!("{backend}: {sql}: not a database error: {err}");
        };
        assert_eq!(
            violation(db.as_ref()),
            Some(*expected),
            "{backend}: {sql} ({:?})",
            db.code()
        );
        let unique = Err::<(), _>(err).on_unique_violation(errors::already_enrolled);
        let unique = unique.unwrap_err();
        let code = unique.code();
        if *expected == Violation::Unique {
            assert_eq!(code, errors::codes::ALREADY_ENROLLED, "{backend}: {sql}");
        } else {
            assert_eq!(code, "SERVER_ERROR", "{backend}: {sql}");
        }
        let err = fails(conn, sql).await;
        let integrity = Err::<(), _>(err).on_integrity_violation(errors::integrity_error);
        assert_eq!(
            integrity.unwrap_err().code(),
            errors::codes::INTEGRITY_ERROR,
            "{backend}: {sql}"
        );
    }
    // Not a violation: the server's own failure.
    let err = fails(conn, "SELECT * FROM no_such_table").await;
    let sqlx::Error::Database(db) = &err else {
        panic!("not a database error")
    };
    assert_eq!(violation(db.as_ref()), None, "{backend}");
    assert_eq!(
        Err::<(), _>(err)
            .on_integrity_violation(errors::integrity_error)
            .unwrap_err()
            .code(),
        "SERVER_ERROR"
    );
}

async fn prepare<C>(conn: &mut C, temp: &str)
where
    for<'c> &'c mut C: Executor<'c>,
{
    for sql in schema(temp) {
        conn.execute(sql.as_str()).await.expect(&sql);
    }
}

#[tokio::test]
async fn sqlite_violations_map_by_their_extended_codes() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
    prepare(&mut conn, "").await;
    check_all(&mut conn, "sqlite").await;
}

#[tokio::test]
async fn postgres_violations_map_by_their_sqlstate() {
    let mut conn = sqlx::PgConnection::connect(PG_URL)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 with a database `test`");
    prepare(&mut conn, "TEMPORARY").await;
    check_all(&mut conn, "postgres").await;
}

#[tokio::test]
async fn through_the_any_driver_both_map_the_same() {
    sqlx::any::install_default_drivers();
    let mut conn = AnyConnection::connect("sqlite::memory:").await.unwrap();
    conn.execute("PRAGMA foreign_keys = ON").await.unwrap();
    prepare(&mut conn, "").await;
    check_all(&mut conn, "any/sqlite").await;

    let mut conn = AnyConnection::connect(PG_URL)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 with a database `test`");
    prepare(&mut conn, "TEMPORARY").await;
    check_all(&mut conn, "any/postgres").await;
}
