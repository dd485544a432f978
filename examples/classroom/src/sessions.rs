//! Live sessions of a lecture: `WAITING` → `IN_PROGRESS` → `ENDED`, participants by
//! `device_id`, and completion reports per step.
//!
//! Every change runs in a `BEGIN IMMEDIATE` transaction and leans on unique constraints:
//! `participants (session_id, device_id)` and `completions (session_id, step, participant_id)`
//! with `INSERT … ON CONFLICT DO NOTHING`, so a hundred simultaneous joins and reports leave
//! exactly one participant per device and one completion per participant and step.
//! After each committed change the new state is pushed to the session's WebSocket clients.

use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use errata::{ApiError, Code, FieldError};
use errata_axum::{Json, Path, Valid};
use rand::Rng;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::db;
use crate::errors::{self, codes};
use crate::lectures::{self, LectureId};

/// Errors of `POST /v1/lectures/{id}/sessions`.
pub const CREATE_ERRORS: &[Code] = &[
    codes::LECTURE_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`CREATE_ERRORS`] (errors of `POST /v1/lectures/{id}/sessions`).
    pub struct CreateErrors for crate::errors::catalog = CREATE_ERRORS;
}
/// Errors of `GET /v1/sessions/{code}`.
pub const GET_ERRORS: &[Code] = &[codes::SESSION_NOT_FOUND, codes::NOT_ENROLLED];
errata_axum::error_set! {
    /// The codes of [`GET_ERRORS`] (errors of `GET /v1/sessions/{code}`).
    pub struct GetErrors for crate::errors::catalog = GET_ERRORS;
}
/// Errors of `POST /v1/sessions/{code}/start`.
pub const START_ERRORS: &[Code] = &[
    codes::SESSION_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::SESSION_ALREADY_STARTED,
    codes::SESSION_ENDED,
];
errata_axum::error_set! {
    /// The codes of [`START_ERRORS`] (errors of `POST /v1/sessions/{code}/start`).
    pub struct StartErrors for crate::errors::catalog = START_ERRORS;
}
/// Errors of `POST /v1/sessions/{code}/next-step`.
pub const NEXT_STEP_ERRORS: &[Code] = &[
    codes::SESSION_NOT_FOUND,
    codes::INSTRUCTOR_ONLY,
    codes::SESSION_NOT_STARTED,
    codes::SESSION_ENDED,
];
errata_axum::error_set! {
    /// The codes of [`NEXT_STEP_ERRORS`] (errors of `POST /v1/sessions/{code}/next-step`).
    pub struct NextStepErrors for crate::errors::catalog = NEXT_STEP_ERRORS;
}
/// Errors of `POST /v1/sessions/{code}/end`.
pub const END_ERRORS: &[Code] = NEXT_STEP_ERRORS;
errata_axum::error_set! {
    /// The codes of [`END_ERRORS`] (errors of `POST /v1/sessions/{code}/end`).
    pub struct EndErrors for crate::errors::catalog = END_ERRORS;
}
/// Errors of `POST /v1/sessions/{code}/join`.
pub const JOIN_ERRORS: &[Code] = &[
    codes::SESSION_NOT_FOUND,
    codes::SESSION_ENDED,
    codes::NOT_ENROLLED,
    codes::DEVICE_ID_REQUIRED,
    codes::DEVICE_ID_TAKEN,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`JOIN_ERRORS`] (errors of `POST /v1/sessions/{code}/join`).
    pub struct JoinErrors for crate::errors::catalog = JOIN_ERRORS;
}
/// Errors of `POST /v1/sessions/{code}/complete`.
pub const COMPLETE_ERRORS: &[Code] = &[
    codes::SESSION_NOT_FOUND,
    codes::SESSION_NOT_STARTED,
    codes::SESSION_ENDED,
    codes::NOT_ENROLLED,
    codes::DEVICE_ID_REQUIRED,
    codes::DEVICE_ID_TAKEN,
    codes::NOT_FOUND,
    codes::VALIDATION_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`COMPLETE_ERRORS`] (errors of `POST /v1/sessions/{code}/complete`).
    pub struct CompleteErrors for crate::errors::catalog = COMPLETE_ERRORS;
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Created; participants may join, nothing else happens yet.
    Waiting,
    /// Started by the instructor; steps advance and participants report completion.
    InProgress,
    /// Over; nothing changes any more.
    Ended,
}

impl Status {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "WAITING",
            Status::InProgress => "IN_PROGRESS",
            Status::Ended => "ENDED",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "WAITING" => Some(Status::Waiting),
            "IN_PROGRESS" => Some(Status::InProgress),
            "ENDED" => Some(Status::Ended),
            _ => None,
        }
    }

    /// `start`: only from `WAITING`.
    pub fn start(self) -> Result<Status, ApiError> {
        match self {
            Status::Waiting => Ok(Status::InProgress),
            Status::InProgress => Err(errors::session_already_started()),
            Status::Ended => Err(errors::session_ended()),
        }
    }

    /// Checks that the session is running (for `next-step`, `end` and completion reports).
    pub fn require_running(self) -> Result<(), ApiError> {
        match self {
            Status::InProgress => Ok(()),
            Status::Waiting => Err(errors::session_not_started()),
            Status::Ended => Err(errors::session_ended()),
        }
    }

    /// `end`: only from `IN_PROGRESS`.
    pub fn end(self) -> Result<Status, ApiError> {
        self.require_running().map(|()| Status::Ended)
    }

    /// Checks that devices may still join (`WAITING` or `IN_PROGRESS`).
    pub fn require_open(self) -> Result<(), ApiError> {
        match self {
            Status::Ended => Err(errors::session_ended()),
            Status::Waiting | Status::InProgress => Ok(()),
        }
    }
}

/// A session as clients see it (over HTTP and pushed over the WebSocket).
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SessionView {
    /// Internal id.
    #[serde(skip)]
    pub id: i64,
    /// The join code (six letters and digits).
    pub code: String,
    /// The lecture.
    pub lecture_id: i64,
    /// Title.
    pub title: String,
    /// `WAITING`, `IN_PROGRESS` or `ENDED`.
    #[sqlx(try_from = "String")]
    pub status: StatusText,
    /// The current step, from 0; advanced by `next-step`.
    pub current_step: i64,
    /// Devices that joined.
    pub participant_count: i64,
    /// Participants that reported the current step complete.
    pub completed_count: i64,
    /// Creation time (UTC).
    pub created_at: String,
    /// Start time (UTC).
    pub started_at: Option<String>,
    /// End time (UTC).
    pub ended_at: Option<String>,
}

/// A [`Status`] read from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct StatusText(pub Status);

impl TryFrom<String> for StatusText {
    type Error = UnknownStatus;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Status::parse(&text).map(StatusText).ok_or(UnknownStatus)
    }
}

/// A status the schema's CHECK constraint should have made impossible.
#[derive(Debug)]
pub struct UnknownStatus;

impl std::fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unknown session status in the database")
    }
}

impl std::error::Error for UnknownStatus {}

const VIEW_SELECT: &str = "SELECT s.id, s.code, s.lecture_id, s.title, s.status, s.current_step, \
     (SELECT COUNT(*) FROM participants p WHERE p.session_id = s.id) AS participant_count, \
     (SELECT COUNT(*) FROM completions c WHERE c.session_id = s.id AND c.step = s.current_step) AS completed_count, \
     s.created_at, s.started_at, s.ended_at FROM sessions s";

/// Loads a session by code, or `SESSION_NOT_FOUND`.
pub async fn load<'e>(
    executor: impl sqlx::AnyExecutor<'e>,
    code: &str,
) -> Result<SessionView, ApiError> {
    if !is_code(code) {
        return Err(errors::session_not_found());
    }
    sqlx::query_as::<_, SessionView>(&format!("{VIEW_SELECT} WHERE s.code = $1"))
        .bind(code)
        .fetch_optional(executor)
        .await?
        .ok_or_else(errors::session_not_found)
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 6;

fn new_code() -> String {
    let mut rng = rand::thread_rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Whether `code` has the shape of a session code.
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))
}

/// Path of `/v1/sessions/{code}`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionCode {
    /// The join code.
    pub code: String,
}

/// `POST /v1/lectures/{id}/sessions` body.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// Title, 1 to 200 characters, not only whitespace.
    #[validate(length(min = 1, max = 200), custom(function = "crate::not_blank"))]
    pub title: String,
}

/// `POST /v1/lectures/{id}/sessions`: the lecture's instructor opens a session (`WAITING`).
#[utoipa::path(post, path = "/v1/lectures/{id}/sessions", operation_id = "create_session", params(LectureId), tag = "sessions", security(("bearer" = [])), request_body = CreateSession,
    responses((status = 201, description = "Opened", body = SessionView), CreateErrors))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Path(LectureId { id }): Path<LectureId>,
    Valid(Json(req)): Valid<Json<CreateSession>>,
) -> Result<impl IntoResponse, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    lectures::load_as_instructor(&mut *tx, id, user).await?;
    let mut attempt = 0;
    let code = loop {
        let code = new_code();
        let inserted = sqlx::query("INSERT INTO sessions (code, lecture_id, title) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING")
            .bind(&code)
            .bind(id)
            .bind(req.title.trim())
            .execute(&mut *tx)
            .await?;
        if inserted.rows_affected() == 1 {
            break code;
        }
        attempt += 1;
        if attempt == 8 {
            return Err(ApiError::internal(std::io::Error::other(
                "no free session code after 8 attempts",
            )));
        }
    };
    let view = load(&mut *tx, &code).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// Loads a session for `user`, who must teach its lecture or be enrolled in it
/// (`NOT_ENROLLED` otherwise): reading and watching a session are for its members only.
pub async fn load_for_member(
    conn: &mut sqlx::AnyConnection,
    code: &str,
    user: AuthUser,
) -> Result<SessionView, ApiError> {
    let session = load(&mut *conn, code).await?;
    let lecture = lectures::load(&mut *conn, session.lecture_id).await?;
    if !lectures::is_member(&mut *conn, &lecture, user).await? {
        return Err(errors::not_enrolled());
    }
    Ok(session)
}

/// `GET /v1/sessions/{code}`: for the lecture's instructor and enrolled students.
#[utoipa::path(get, path = "/v1/sessions/{code}", operation_id = "get_session", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "The session", body = SessionView), GetErrors))]
pub async fn get(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let mut conn = state.db.acquire().await?;
    load_for_member(&mut conn, &code, user)
        .await
        .map(axum::Json)
}

/// A transition by the lecture's instructor: loads, checks, updates, commits, pushes.
async fn transition(
    state: &AppState,
    user: AuthUser,
    code: &str,
    apply: fn(Status) -> Result<&'static str, ApiError>,
) -> Result<axum::Json<SessionView>, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    db::lock_session(&mut tx, code, db::Lock::Update).await?;
    let session = load(&mut *tx, code).await?;
    lectures::load_as_instructor(&mut *tx, session.lecture_id, user).await?;
    let update = apply(session.status.0)?;
    let mut query = sqlx::query(update).bind(session.id);
    if update.contains("$2") {
        query = query.bind(db::now_text());
    }
    query.execute(&mut *tx).await?;
    let view = load(&mut *tx, code).await?;
    tx.commit().await?;
    state.hub.publish(&view);
    Ok(axum::Json(view))
}

/// `POST /v1/sessions/{code}/start`: `WAITING` → `IN_PROGRESS`.
#[utoipa::path(post, path = "/v1/sessions/{code}/start", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "Started", body = SessionView), StartErrors))]
pub async fn start(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
) -> Result<axum::Json<SessionView>, ApiError> {
    transition(&state, user, &code, |status| {
        status.start()?;
        Ok("UPDATE sessions SET status = 'IN_PROGRESS', started_at = $2 WHERE id = $1")
    })
    .await
}

/// `POST /v1/sessions/{code}/next-step`: advances the current step of a running session.
#[utoipa::path(post, path = "/v1/sessions/{code}/next-step", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "Advanced", body = SessionView), NextStepErrors))]
pub async fn next_step(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
) -> Result<axum::Json<SessionView>, ApiError> {
    transition(&state, user, &code, |status| {
        status.require_running()?;
        Ok("UPDATE sessions SET current_step = current_step + 1 WHERE id = $1")
    })
    .await
}

/// `POST /v1/sessions/{code}/end`: `IN_PROGRESS` → `ENDED`.
#[utoipa::path(post, path = "/v1/sessions/{code}/end", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    responses((status = 200, description = "Ended", body = SessionView), EndErrors))]
pub async fn end(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
) -> Result<axum::Json<SessionView>, ApiError> {
    transition(&state, user, &code, |status| {
        status.end()?;
        Ok("UPDATE sessions SET status = 'ENDED', ended_at = $2 WHERE id = $1")
    })
    .await
}

/// Longest accepted `device_id`.
pub const MAX_DEVICE_ID: usize = 128;

/// Body of `join` and `complete`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceRequest {
    /// The participant's device (required: `DEVICE_ID_REQUIRED` without it).
    pub device_id: Option<String>,
}

/// The body of `join`/`complete`: JSON, or nothing at all (which then lacks a `device_id`).
#[derive(Debug)]
pub struct DeviceBody(pub DeviceRequest);

impl<S: Send + Sync> FromRequest<S> for DeviceBody {
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers();
        let no_body = !headers.contains_key(header::CONTENT_TYPE)
            && !headers.contains_key(header::TRANSFER_ENCODING)
            && headers
                .get(header::CONTENT_LENGTH)
                .is_none_or(|v| v.as_bytes() == b"0");
        if no_body {
            return Ok(DeviceBody(DeviceRequest::default()));
        }
        let Json(body) = Json::<DeviceRequest>::from_request(req, state).await?;
        Ok(DeviceBody(body))
    }
}

impl DeviceRequest {
    /// The trimmed device id: `DEVICE_ID_REQUIRED` when missing or blank, a field error when
    /// too long.
    pub fn device_id(&self) -> Result<&str, ApiError> {
        let id = self
            .device_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(errors::device_id_required)?;
        if id.chars().count() > MAX_DEVICE_ID {
            return Err(errors::validation_error().with_field_error(
                "device_id",
                FieldError::new("too_long").with_param("max", MAX_DEVICE_ID as i64),
            ));
        }
        Ok(id)
    }
}

/// A participant.
#[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Participant {
    /// Id.
    pub id: i64,
    /// The device.
    pub device_id: String,
    /// Join time (UTC).
    pub joined_at: String,
}

/// Answer of `join`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Joined {
    /// The participant (the existing one when the device had joined before).
    pub participant: Participant,
    /// Whether this request added it.
    pub created: bool,
    /// The session after the join.
    pub session: SessionView,
}

/// The participant of `device_id` in a session, if the device joined: `DEVICE_ID_TAKEN` when
/// another user joined with it (a device id belongs to the user who registered it first).
async fn participant_of(
    tx: &mut db::Tx,
    session_id: i64,
    device_id: &str,
    user: AuthUser,
) -> Result<Option<Participant>, ApiError> {
    let row: Option<(i64, String, String, i64)> = sqlx::query_as(
        "SELECT id, device_id, joined_at, user_id FROM participants WHERE session_id = $1 AND device_id = $2",
    )
    .bind(session_id)
    .bind(device_id)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        None => Ok(None),
        Some((_, _, _, owner)) if owner != user.id => Err(errors::device_id_taken()),
        Some((id, device_id, joined_at, _)) => Ok(Some(Participant {
            id,
            device_id,
            joined_at,
        })),
    }
}

/// `POST /v1/sessions/{code}/join`: adds the device as a participant; joining again is
/// harmless (`200` with the existing participant instead of `201`).
#[utoipa::path(post, path = "/v1/sessions/{code}/join", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    request_body(content = DeviceRequest, description = "The device (an empty body lacks its `device_id`)"),
    responses((status = 201, description = "Joined", body = Joined), (status = 200, description = "The device had joined", body = Joined), JoinErrors))]
pub async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
    DeviceBody(body): DeviceBody,
) -> Result<impl IntoResponse, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    db::lock_session(&mut tx, &code, db::Lock::Share).await?;
    let session = load_for_member(&mut tx, &code, user).await?;
    session.status.0.require_open()?;
    let device_id = body.device_id()?;
    let inserted = sqlx::query("INSERT INTO participants (session_id, device_id, user_id) VALUES ($1, $2, $3) ON CONFLICT (session_id, device_id) DO NOTHING")
        .bind(session.id)
        .bind(device_id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    let participant = participant_of(&mut tx, session.id, device_id, user)
        .await?
        .ok_or_else(|| {
            ApiError::internal(std::io::Error::other(
                "a participant vanished while joining",
            ))
        })?;
    let view = load(&mut *tx, &code).await?;
    tx.commit().await?;
    let created = inserted.rows_affected() == 1;
    if created {
        state.hub.publish(&view);
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(Joined {
            participant,
            created,
            session: view,
        }),
    ))
}

/// Answer of `complete`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Completed {
    /// The step reported complete.
    pub step: i64,
    /// Whether this request recorded it (`false` for a repeated report).
    pub created: bool,
    /// The session after the report.
    pub session: SessionView,
}

/// `POST /v1/sessions/{code}/complete`: the device reports the current step complete; a
/// repeated report is counted once. The device must have joined, as this user (`NOT_FOUND`
/// otherwise).
#[utoipa::path(post, path = "/v1/sessions/{code}/complete", params(SessionCode), tag = "sessions", security(("bearer" = [])),
    request_body(content = DeviceRequest, description = "The device (an empty body lacks its `device_id`)"),
    responses((status = 200, description = "Recorded", body = Completed), CompleteErrors))]
pub async fn complete(
    State(state): State<AppState>,
    user: AuthUser,
    Path(SessionCode { code }): Path<SessionCode>,
    DeviceBody(body): DeviceBody,
) -> Result<axum::Json<Completed>, ApiError> {
    let mut tx = db::begin_write(&state.db).await?;
    db::lock_session(&mut tx, &code, db::Lock::Share).await?;
    let session = load_for_member(&mut tx, &code, user).await?;
    session.status.0.require_running()?;
    let device_id = body.device_id()?;
    let Some(participant) = participant_of(&mut tx, session.id, device_id, user).await? else {
        return Err(
            errors::not_found().with_details(serde_json::json!({"resource": "participant"}))
        );
    };
    let participant_id = participant.id;
    let inserted = sqlx::query("INSERT INTO completions (session_id, step, participant_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(session.id)
        .bind(session.current_step)
        .bind(participant_id)
        .execute(&mut *tx)
        .await?;
    let view = load(&mut *tx, &code).await?;
    tx.commit().await?;
    let created = inserted.rows_affected() == 1;
    if created {
        state.hub.publish(&view);
    }
    Ok(axum::Json(Completed {
        step: session.current_step,
        created,
        session: view,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::codes;

    #[test]
    fn the_state_machine() {
        use Status::*;
        assert_eq!(Waiting.start().unwrap(), InProgress);
        assert_eq!(
            InProgress.start().unwrap_err().code(),
            codes::SESSION_ALREADY_STARTED
        );
        assert_eq!(Ended.start().unwrap_err().code(), codes::SESSION_ENDED);
        assert_eq!(InProgress.end().unwrap(), Ended);
        assert_eq!(
            Waiting.end().unwrap_err().code(),
            codes::SESSION_NOT_STARTED
        );
        assert_eq!(Ended.end().unwrap_err().code(), codes::SESSION_ENDED);
        assert!(Waiting.require_open().is_ok() && InProgress.require_open().is_ok());
        assert_eq!(
            Ended.require_open().unwrap_err().code(),
            codes::SESSION_ENDED
        );
        for s in [Waiting, InProgress, Ended] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn codes() {
        for _ in 0..100 {
            assert!(is_code(&new_code()));
        }
        assert!(!is_code("abc") && !is_code("ABCDE0") && !is_code("ABCDEFG"));
    }

    #[test]
    fn device_ids() {
        let req = |s: Option<&str>| DeviceRequest {
            device_id: s.map(str::to_owned),
        };
        assert_eq!(
            req(None).device_id().unwrap_err().code(),
            codes::DEVICE_ID_REQUIRED
        );
        assert_eq!(
            req(Some("  ")).device_id().unwrap_err().code(),
            codes::DEVICE_ID_REQUIRED
        );
        assert_eq!(req(Some(" phone-1 ")).device_id().unwrap(), "phone-1");
        assert_eq!(
            req(Some(&"x".repeat(129))).device_id().unwrap_err().code(),
            codes::VALIDATION_ERROR
        );
    }
}
