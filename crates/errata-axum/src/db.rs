//! Database constraint violations as catalog errors (sqlx), on PostgreSQL and SQLite alike.
//!
//! ```no_run
//! # async fn enroll(pool: sqlx::SqlitePool) -> Result<(), errata::ApiError> {
//! use errata_axum::db::ConstraintViolationExt;
//! sqlx::query("INSERT INTO enrollments (user_id, lecture_id) VALUES (?, ?)")
//!     .bind(1)
//!     .bind(2)
//!     .execute(&pool)
//!     .await
//!     .on_unique_violation(|| errata::ApiError::from_code("ALREADY_ENROLLED", 409))?;
//! # Ok(()) }
//! ```

use errata::ApiError;

/// Maps constraint violations of a sqlx result to the error the caller chooses; every other
/// database error becomes `SERVER_ERROR` with the database error as its internal cause.
pub trait ConstraintViolationExt<T> {
    /// A unique-constraint violation becomes `on_violation()`.
    fn on_unique_violation(self, on_violation: impl FnOnce() -> ApiError) -> Result<T, ApiError>;

    /// Any integrity violation (unique, foreign key, check, not null) becomes `on_violation()`.
    fn on_integrity_violation(self, on_violation: impl FnOnce() -> ApiError)
        -> Result<T, ApiError>;
}

/// An integrity violation, as either driver reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A unique or primary key constraint (PostgreSQL `23505`; SQLite `2067`, `1555`).
    Unique,
    /// A foreign key (PostgreSQL `23503` and `23001`; SQLite `787`, and `1811` for `ON DELETE
    /// RESTRICT`, which SQLite runs as a trigger).
    ForeignKey,
    /// A check constraint (PostgreSQL `23514`; SQLite `275`).
    Check,
    /// A not-null constraint (PostgreSQL `23502`; SQLite `1299`).
    NotNull,
    /// Any other integrity constraint (PostgreSQL class `23`, e.g. an exclusion `23P01`; any
    /// SQLite `SQLITE_CONSTRAINT_*`).
    Other,
}

/// The integrity violation of a database error, if it is one, on PostgreSQL or SQLite.
///
/// PostgreSQL reports SQLSTATE codes, five characters whose class `23` is "integrity
/// constraint violation"; SQLite reports extended result codes, numbers whose low byte is
/// `SQLITE_CONSTRAINT` (19). The two never collide: SQLite's codes have at most four digits.
pub fn violation(db: &dyn sqlx::error::DatabaseError) -> Option<Violation> {
    let code = db.code();
    let code = code.as_deref().unwrap_or("");
    if code.len() == 5 {
        return match code {
            "23505" => Some(Violation::Unique),
            "23503" | "23001" => Some(Violation::ForeignKey),
            "23514" => Some(Violation::Check),
            "23502" => Some(Violation::NotNull),
            _ if code.starts_with("23") => Some(Violation::Other),
            _ => None,
        };
    }
    if let Ok(n) = code.parse::<u32>() {
        return match n {
            2067 | 1555 => Some(Violation::Unique),
            787 | 1811 => Some(Violation::ForeignKey),
            275 => Some(Violation::Check),
            1299 => Some(Violation::NotNull),
            _ if n & 0xff == 19 => Some(Violation::Other),
            _ => None,
        };
    }
    // A driver without codes: what sqlx itself recognizes.
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => Some(Violation::Unique),
        sqlx::error::ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
        sqlx::error::ErrorKind::CheckViolation => Some(Violation::Check),
        sqlx::error::ErrorKind::NotNullViolation => Some(Violation::NotNull),
        _ => None,
    }
}

fn violation_of(e: &sqlx::Error) -> Option<Violation> {
    match e {
        sqlx::Error::Database(db) => violation(db.as_ref()),
        _ => None,
    }
}

impl<T> ConstraintViolationExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, on_violation: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match violation_of(&e) {
            Some(Violation::Unique) => on_violation().with_cause(e),
            _ => ApiError::internal(e),
        })
    }

    fn on_integrity_violation(
        self,
        on_violation: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError> {
        self.map_err(|e| match violation_of(&e) {
            Some(_) => on_violation().with_cause(e),
            None => ApiError::internal(e),
        })
    }
}
