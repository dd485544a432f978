//! Lectures and enrollment.
//!
//! | route | errors |
//! |---|---|
//! | `POST /v1/lectures` | `PERMISSION_DENIED` (students cannot create lectures) |
//! | `GET /v1/lectures/{id}` | `LECTURE_NOT_FOUND` |
//! | `PATCH`/`DELETE /v1/lectures/{id}` | `LECTURE_NOT_FOUND`, `INSTRUCTOR_ONLY`, `INTEGRITY_ERROR` (delete with sessions) |
//! | `POST /v1/lectures/{id}/enroll` | `LECTURE_NOT_FOUND`, `ALREADY_ENROLLED` (unique constraint), `PERMISSION_DENIED` (own lecture) |
//! | `DELETE /v1/lectures/{id}/enroll` | `LECTURE_NOT_FOUND`, `NOT_ENROLLED` |
//! | `GET /v1/lectures/{id}/students` | `LECTURE_NOT_FOUND`, `INSTRUCTOR_ONLY` |

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use errata::{ApiError, Code};
use errata_axum::db::ConstraintViolationExt;
use errata_axum::{Json, Path, Query, Valid};
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db;
use crate::errors::{self, codes};

/// Errors of `POST /v1/lectures`.
pub const CREATE_ERRORS: &[Code] = &[codes::PERMISSION_DENIED, codes::VALIDATION_ERROR];
errata_axum::error_set! {
    /// The codes of [`CREATE_ERRORS`] (errors of `POST /v1/lectures`).
    pub struct CreateErrors for crate::errors::catalog = CREATE_ERRORS;
}
/// Errors of `GET /v1/lectures`.
pub const LIST_ERRORS: &[Code] = &[codes::VALIDATION_ERROR];
errata_axum::error_set! {
    /// The codes of [`LIST_ERRORS`] (errors of `GET /v1/lectures`).
    pub struct ListErrors for crate::errors::catalog = LIST_ERRORS;
}
/// Errors of `GET /v1/lectures/{id}`.
pub const GET_ERRORS: &[Code] = &[codes::LECTURE_NOT_FOUND, codes::VALIDATION_ERROR];
errata_axum::error_set! {
    /// The codes of [`GET_ERRORS`] (errors of `GET /v1/lectures/{id}`).
    pub struct GetErrors for crate::errors::catalog = GET_ERRORS;
}
/// Errors of `PATCH /v1/lectures/{id}`.
pub const UPDATE_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`UPDATE_ERRORS`] (errors of `PATCH /v1/lectures/{id}`).
    pub struct UpdateErrors for crate::errors::catalog = UPDATE_ERRORS;
}
/// Errors of `DELETE /v1/lectures/{id}`.
pub const DELETE_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::INTEGRITY_ERROR,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`DELETE_ERRORS`] (errors of `DELETE /v1/lectures/{id}`).
    pub struct DeleteErrors for crate::errors::catalog = DELETE_ERRORS;
}
/// Errors of `POST /v1/lectures/{id}/enroll`.
pub const ENROLL_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::ALREADY_ENROLLED,
    codes::PERMISSION_DENIED,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`ENROLL_ERRORS`] (errors of `POST /v1/lectures/{id}/enroll`).
    pub struct EnrollErrors for crate::errors::catalog = ENROLL_ERRORS;
}
/// Errors of `DELETE /v1/lectures/{id}/enroll`.
pub const UNENROLL_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::NOT_ENROLLED,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`UNENROLL_ERRORS`] (errors of `DELETE /v1/lectures/{id}/enroll`).
    pub struct UnenrollErrors for crate::errors::catalog = UNENROLL_ERRORS;
}
/// Errors of `GET /v1/lectures/{id}/students`.
pub const STUDENTS_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`STUDENTS_ERRORS`] (errors of `GET /v1/lectures/{id}/students`).
    pub struct StudentsErrors for crate::errors::catalog = STUDENTS_ERRORS;
}

/// A lecture.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Lecture {
    /// Id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The instructor's user id.
    pub instructor_id: i64,
    /// The instructor's name.
    pub instructor_name: String,
    /// Number of enrolled students.
    pub student_count: i64,
    /// Creation time (UTC).
    pub created_at: String,
}

const LECTURE_SELECT: &str =
    "SELECT l.id, l.title, l.description, l.instructor_id, u.name AS instructor_name, \
     (SELECT COUNT(*) FROM enrollments e WHERE e.lecture_id = l.id) AS student_count, l.created_at \
     FROM lectures l JOIN users u ON u.id = l.instructor_id";

/// `POST /v1/lectures` body.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLecture {
    /// Title, 1 to 200 characters, not only whitespace.
    #[validate(length(min = 1, max = 200), custom(function = "crate::not_blank"))]
    pub title: String,
    /// Description, at most 5000 characters.
    #[serde(default)]
    #[validate(length(max = 5000))]
    pub description: String,
}

/// `PATCH /v1/lectures/{id}` body: the fields to change.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateLecture {
    /// New title (not only whitespace).
    #[validate(length(min = 1, max = 200), custom(function = "crate::not_blank"))]
    pub title: Option<String>,
    /// New description.
    #[validate(length(max = 5000))]
    pub description: Option<String>,
}

/// `GET /v1/lectures` query.
#[derive(Debug, Deserialize, Validate, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// How many lectures (1–100, default 20).
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<u32>,
    /// How many to skip.
    pub offset: Option<u32>,
}

/// Path of `/v1/lectures/{id}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct LectureId {
    /// The lecture id.
    pub id: i64,
}

/// Loads a lecture or answers `LECTURE_NOT_FOUND`.
pub async fn load<'e>(executor: impl sqlx::AnyExecutor<'e>, id: i64) -> Result<Lecture, ApiError> {
    sqlx::query_as::<_, Lecture>(&format!("{LECTURE_SELECT} WHERE l.id = $1"))
        .bind(id)
        .fetch_optional(executor)
        .await?
        .ok_or_else(errors::lecture_not_found)
}

/// Loads a lecture and checks that `user` is its instructor (`INSTRUCTOR_ONLY` otherwise).
pub async fn load_as_instructor<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    id: i64,
    user: AuthUser,
) -> Result<Lecture, ApiError> {
    let lecture = load(executor, id).await?;
    if lecture.instructor_id != user.id {
        return Err(errors::instructor_only());
    }
    Ok(lecture)
}

/// `POST /v1/lectures`: instructors create lectures; students get `PERMISSION_DENIED`.
#[utoipa::path(post, path = "/v1/lectures", operation_id = "create_lecture", tag = "lectures", security(("bearer" = [])), request_body = CreateLecture,
    responses((status = 201, description = "Created", body = Lecture), CreateErrors))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Valid(Json(req)): Valid<Json<CreateLecture>>,
) -> Result<impl IntoResponse, ApiError> {
    let role: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE id = $1")
        .bind(user.id)
        .fetch_optional(&state.db)
        .await?;
    match role {
        None => return Err(errors::token_invalid()),
        Some((role,)) if role != "instructor" => return Err(errors::permission_denied()),
        Some(_) => {}
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO lectures (title, description, instructor_id) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(req.title.trim())
    .bind(&req.description)
    .bind(user.id)
    .fetch_one(&state.db)
    .await?;
    let lecture = load(&state.db, id).await?;
    Ok((StatusCode::CREATED, axum::Json(lecture)))
}

/// `GET /v1/lectures`: newest first.
#[utoipa::path(get, path = "/v1/lectures", params(Page), tag = "lectures", security(("bearer" = [])),
    responses((status = 200, description = "Lectures, newest first", body = Vec<Lecture>), ListErrors))]
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Valid(Query(page)): Valid<Query<Page>>,
) -> Result<axum::Json<Vec<Lecture>>, ApiError> {
    let lectures = sqlx::query_as::<_, Lecture>(&format!(
        "{LECTURE_SELECT} ORDER BY l.id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(i64::from(page.limit.unwrap_or(20)))
    .bind(i64::from(page.offset.unwrap_or(0)))
    .fetch_all(&state.db)
    .await?;
    Ok(axum::Json(lectures))
}

/// `GET /v1/lectures/{id}`.
#[utoipa::path(get, path = "/v1/lectures/{id}", operation_id = "get_lecture", params(LectureId), tag = "lectures", security(("bearer" = [])),
    responses((status = 200, description = "The lecture", body = Lecture), GetErrors))]
pub async fn get(
    State(state): State<AppState>,
    _user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
) -> Result<axum::Json<Lecture>, ApiError> {
    load(&state.db, id).await.map(axum::Json)
}

/// `PATCH /v1/lectures/{id}`: only its instructor.
#[utoipa::path(patch, path = "/v1/lectures/{id}", params(LectureId), tag = "lectures", security(("bearer" = [])), request_body = UpdateLecture,
    responses((status = 200, description = "The edited lecture", body = Lecture), UpdateErrors))]
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
    Valid(Json(req)): Valid<Json<UpdateLecture>>,
) -> Result<axum::Json<Lecture>, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    load_as_instructor(&mut *tx, id, user).await?;
    sqlx::query("UPDATE lectures SET title = COALESCE($1, title), description = COALESCE($2, description) WHERE id = $3")
        .bind(req.title.as_deref().map(str::trim))
        .bind(req.description.as_deref())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let lecture = load(&mut *tx, id).await?;
    tx.commit().await?;
    Ok(axum::Json(lecture))
}

/// `DELETE /v1/lectures/{id}`: only its instructor, and only while it has no sessions (the
/// foreign key refuses otherwise: `INTEGRITY_ERROR`).
#[utoipa::path(delete, path = "/v1/lectures/{id}", params(LectureId), tag = "lectures", security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), DeleteErrors))]
pub async fn delete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
) -> Result<StatusCode, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    load_as_instructor(&mut *tx, id, user).await?;
    sqlx::query("DELETE FROM lectures WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .on_integrity_violation(|| {
            errors::integrity_error()
                .with_details(serde_json::json!({"reason": "lecture_has_sessions"}))
        })?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/lectures/{id}/enroll`: a second enrollment hits the primary key of
/// `enrollments`: `ALREADY_ENROLLED`, however many arrive at once.
#[utoipa::path(post, path = "/v1/lectures/{id}/enroll", params(LectureId), tag = "lectures", security(("bearer" = [])),
    responses((status = 201, description = "Enrolled", body = Enrollment), EnrollErrors))]
pub async fn enroll(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
) -> Result<impl IntoResponse, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    let lecture = load(&mut *tx, id).await?;
    if lecture.instructor_id == user.id {
        return Err(
            errors::permission_denied().with_details(serde_json::json!({"reason": "own_lecture"}))
        );
    }
    sqlx::query("INSERT INTO enrollments (lecture_id, user_id) VALUES ($1, $2)")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await
        .on_unique_violation(errors::already_enrolled)?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Enrollment {
            lecture_id: id,
            enrolled: true,
        }),
    ))
}

/// Answer of `enroll`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    /// The lecture.
    pub lecture_id: i64,
    /// Always `true`.
    pub enrolled: bool,
}

/// `DELETE /v1/lectures/{id}/enroll`: `NOT_ENROLLED` when there was nothing to delete.
#[utoipa::path(delete, path = "/v1/lectures/{id}/enroll", params(LectureId), tag = "lectures", security(("bearer" = [])),
    responses((status = 204, description = "Left the lecture"), UnenrollErrors))]
pub async fn unenroll(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
) -> Result<StatusCode, ApiError> {
    load(&state.db, id).await?;
    let done = sqlx::query("DELETE FROM enrollments WHERE lecture_id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&state.db)
        .await?;
    if done.rows_affected() == 0 {
        return Err(errors::not_enrolled());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A student of a lecture.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Student {
    /// User id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Enrollment time (UTC).
    pub enrolled_at: String,
}

/// `GET /v1/lectures/{id}/students`: only its instructor.
#[utoipa::path(get, path = "/v1/lectures/{id}/students", params(LectureId), tag = "lectures", security(("bearer" = [])),
    responses((status = 200, description = "Its students", body = Vec<Student>), StudentsErrors))]
pub async fn students(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
) -> Result<axum::Json<Vec<Student>>, ApiError> {
    load_as_instructor(&state.db, id, user).await?;
    let students = sqlx::query_as::<_, Student>(
        "SELECT u.id, u.name, u.email, e.created_at AS enrolled_at FROM enrollments e JOIN users u ON u.id = e.user_id \
         WHERE e.lecture_id = $1 ORDER BY e.created_at, u.id",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    Ok(axum::Json(students))
}

/// Whether `user` may take part in the lecture's sessions: enrolled, or its instructor.
pub async fn is_member<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    lecture: &Lecture,
    user: AuthUser,
) -> Result<bool, ApiError> {
    if lecture.instructor_id == user.id {
        return Ok(true);
    }
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM enrollments WHERE lecture_id = $1 AND user_id = $2")
            .bind(lecture.id)
            .bind(user.id)
            .fetch_optional(executor)
            .await?;
    Ok(row.is_some())
}
