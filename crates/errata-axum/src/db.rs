//! Database constraint violations as catalog errors (sqlx).
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

impl<T> ConstraintViolationExt<T> for Result<T, sqlx::Error> {
    fn on_unique_violation(self, on_violation: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => on_violation().with_cause(e),
            _ => ApiError::internal(e),
        })
    }

    fn on_integrity_violation(
        self,
        on_violation: impl FnOnce() -> ApiError,
    ) -> Result<T, ApiError> {
        self.map_err(|e| match &e {
            sqlx::Error::Database(db)
                if db.is_unique_violation()
                    || db.is_foreign_key_violation()
                    || db.is_check_violation()
                    || is_not_null(db.as_ref())
                    || is_other_constraint(db.as_ref()) =>
            {
                on_violation().with_cause(e)
            }
            _ => ApiError::internal(e),
        })
    }
}

fn is_not_null(db: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(db.kind(), sqlx::error::ErrorKind::NotNullViolation)
}

/// SQLite reports `ON DELETE RESTRICT` as `SQLITE_CONSTRAINT_TRIGGER` (1811), which sqlx does not
/// classify; every SQLite constraint code is `19 | (n << 8)`.
fn is_other_constraint(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.code()
        .and_then(|c| c.parse::<u32>().ok())
        .is_some_and(|c| c & 0xff == 19)
}
