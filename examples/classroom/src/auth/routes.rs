//! `/v1/auth/*` and `/v1/user/me`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use errata::{ApiError, Code, FieldError};
use errata_axum::db::ConstraintViolationExt;
use errata_axum::{Json, Valid};
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::jwt::{TokenKind, ACCESS_TTL_SECS};
use super::AuthUser;
use crate::app::AppState;
use crate::db;
use crate::errors::{self, codes};

/// Errors of `POST /v1/auth/signup` (besides the body errors every JSON route has).
pub const SIGNUP_ERRORS: &[Code] = &[codes::VALIDATION_ERROR, codes::AUTH_BUSY];
errata_axum::error_set! {
    /// The codes of [`SIGNUP_ERRORS`] (errors of `POST /v1/auth/signup` (besides the body errors every JSON route has)).
    pub struct SignupErrors for crate::errors::catalog = SIGNUP_ERRORS;
}
/// Errors of `POST /v1/auth/login`.
pub const LOGIN_ERRORS: &[Code] = &[codes::AUTH_FAILED, codes::AUTH_BUSY];
errata_axum::error_set! {
    /// The codes of [`LOGIN_ERRORS`] (errors of `POST /v1/auth/login`).
    pub struct LoginErrors for crate::errors::catalog = LOGIN_ERRORS;
}
/// Errors of `POST /v1/auth/refresh`.
pub const REFRESH_ERRORS: &[Code] = &[
    codes::TOKEN_EXPIRED,
    codes::TOKEN_INVALID,
    codes::TOKEN_BLACKLISTED,
];
errata_axum::error_set! {
    /// The codes of [`REFRESH_ERRORS`] (errors of `POST /v1/auth/refresh`).
    pub struct RefreshErrors for crate::errors::catalog = REFRESH_ERRORS;
}
/// Errors of `POST /v1/auth/logout`.
pub const LOGOUT_ERRORS: &[Code] = REFRESH_ERRORS;
errata_axum::error_set! {
    /// The codes of [`LOGOUT_ERRORS`] (errors of `POST /v1/auth/logout`).
    pub struct LogoutErrors for crate::errors::catalog = LOGOUT_ERRORS;
}
/// Errors of `GET /v1/user/me`.
pub const ME_ERRORS: &[Code] = &[
    codes::AUTH_REQUIRED,
    codes::TOKEN_EXPIRED,
    codes::TOKEN_INVALID,
];
errata_axum::error_set! {
    /// The codes of [`ME_ERRORS`] (errors of `GET /v1/user/me`).
    pub struct MeErrors for crate::errors::catalog = ME_ERRORS;
}

/// A role chosen at signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Enrolls in lectures and joins sessions.
    #[default]
    Student,
    /// Creates lectures and runs their sessions.
    Instructor,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Student => "student",
            Role::Instructor => "instructor",
        }
    }
}

/// `POST /v1/auth/signup` body.
#[derive(Debug, Deserialize, Validate, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Login email, unique.
    #[validate(email, length(max = 254))]
    pub email: String,
    /// At least 8 characters.
    #[validate(length(min = 8, max = 128))]
    pub password: String,
    /// Display name (not only whitespace).
    #[validate(length(min = 1, max = 50), custom(function = "crate::not_blank"))]
    pub name: String,
    /// `student` (default) or `instructor`.
    #[serde(default)]
    pub role: Role,
}

/// `POST /v1/auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Login email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token.
    pub refresh: String,
}

/// A new pair of tokens.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// Access token (one hour).
    pub access: String,
    /// Refresh token (single use, 14 days).
    pub refresh: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// A user, as the API shows it.
#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// `student` or `instructor`.
    pub role: String,
    /// Signup time (UTC).
    pub created_at: String,
}

/// Answer of `signup`: the new user and its first token pair.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignupResponse {
    /// The new user.
    user: User,
    /// Its tokens, beside `user`.
    #[serde(flatten)]
    tokens: TokenPair,
}

/// Issues an access token and a refresh token of `family`, recording the refresh token.
async fn issue_pair(
    state: &AppState,
    tx: &mut db::Tx,
    user_id: i64,
    family: &str,
) -> Result<TokenPair, ApiError> {
    let now = db::unix_now();
    let access = state
        .tokens
        .issue(user_id, TokenKind::Access, now)
        .map_err(ApiError::internal)?;
    let refresh = state
        .tokens
        .issue(user_id, TokenKind::Refresh, now)
        .map_err(ApiError::internal)?;
    sqlx::query(
        "INSERT INTO refresh_tokens (jti, user_id, family, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&refresh.jti)
    .bind(user_id)
    .bind(family)
    .bind(refresh.exp)
    .execute(&mut **tx)
    .await?;
    Ok(TokenPair {
        access: access.token,
        refresh: refresh.token,
        token_type: "Bearer".to_owned(),
        expires_in: ACCESS_TTL_SECS,
    })
}

/// `POST /v1/auth/signup`: creates an account and logs it in. A taken email is a field error
/// (`email_taken`) found by the database's unique constraint.
#[utoipa::path(post, path = "/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, description = "Created and logged in", body = SignupResponse), SignupErrors))]
pub async fn signup(
    State(state): State<AppState>,
    Valid(Json(req)): Valid<Json<SignupRequest>>,
) -> Result<impl IntoResponse, ApiError> {
    let hash = state.passwords.hash(req.password).await?;
    let mut tx = db::begin_write(&state.db).await?;
    let user: User = sqlx::query_as(
        "INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4) \
         RETURNING id, email, name, role, created_at",
    )
    .bind(req.email.trim())
    .bind(&hash)
    .bind(req.name.trim())
    .bind(req.role.as_str())
    .fetch_one(&mut *tx)
    .await
    .on_unique_violation(|| {
        errors::validation_error().with_field_error("email", FieldError::new("email_taken"))
    })?;
    let family = uuid::Uuid::new_v4().to_string();
    let tokens = issue_pair(&state, &mut tx, user.id, &family).await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, role = %user.role, "signed up");
    Ok((
        StatusCode::CREATED,
        axum::Json(SignupResponse { user, tokens }),
    ))
}

/// `POST /v1/auth/login`: a wrong password and an unknown email both answer `AUTH_FAILED`,
/// after the same amount of work.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth",
    responses((status = 200, description = "Logged in", body = TokenPair), LoginErrors))]
pub async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE lower(email) = lower($1)")
            .bind(req.email.trim())
            .fetch_optional(&state.db)
            .await?;
    let (id, hash) = row.map_or((None, None), |(id, hash)| (Some(id), Some(hash)));
    let ok = state.passwords.verify(req.password, hash).await?;
    let Some(id) = id.filter(|_| ok) else {
        return Err(errors::auth_failed());
    };
    let mut tx = db::begin_write(&state.db).await?;
    let family = uuid::Uuid::new_v4().to_string();
    let tokens = issue_pair(&state, &mut tx, id, &family).await?;
    tx.commit().await?;
    Ok(axum::Json(tokens))
}

/// `POST /v1/auth/refresh`: exchanges a refresh token for a new pair. The old token is retired
/// in the same transaction; presenting it again is `TOKEN_BLACKLISTED` and also retires every
/// token descended from the same login, since a reused token means it leaked.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth",
    responses((status = 200, description = "A new token pair", body = TokenPair), RefreshErrors))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<axum::Json<TokenPair>, ApiError> {
    let claims = state.tokens.verify(&req.refresh, TokenKind::Refresh)?;
    let user_id = claims.user_id()?;
    let now = db::unix_now();
    let mut tx = db::begin_write(&state.db).await?;
    let rotated: Option<(String,)> = sqlx::query_as(
        "UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = 'rotated' \
         WHERE jti = $2 AND user_id = $3 AND revoked_at IS NULL RETURNING family",
    )
    .bind(now)
    .bind(&claims.jti)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((family,)) = rotated else {
        let known: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT family, revoked_reason FROM refresh_tokens WHERE jti = $1 AND user_id = $2",
        )
        .bind(&claims.jti)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, reason)) = known else {
            // Signed with our key but never issued by this database.
            return Err(errors::token_invalid());
        };
        if reason.as_deref() == Some("rotated") {
            sqlx::query(
                "UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = 'reuse' WHERE family = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&family)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::warn!(
                user_id,
                "a rotated refresh token was presented again; its login is retired"
            );
        }
        return Err(errors::token_blacklisted());
    };
    let tokens = issue_pair(&state, &mut tx, user_id, &family).await?;
    tx.commit().await?;
    Ok(axum::Json(tokens))
}

/// `POST /v1/auth/logout`: retires the refresh token and every token of its login.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Logged out"), LogoutErrors))]
pub async fn logout(
    State(state): State<AppState>,
    Json(req): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    let claims = state.tokens.verify(&req.refresh, TokenKind::Refresh)?;
    let user_id = claims.user_id()?;
    let mut tx = db::begin_write(&state.db).await?;
    let family: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT family, revoked_at FROM refresh_tokens WHERE jti = $1 AND user_id = $2",
    )
    .bind(&claims.jti)
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    match family {
        None => Err(errors::token_invalid()),
        Some((_, Some(_))) => Err(errors::token_blacklisted()),
        Some((family, None)) => {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $1, revoked_reason = 'logout' WHERE family = $2 AND revoked_at IS NULL")
                .bind(db::unix_now())
                .bind(&family)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(StatusCode::NO_CONTENT)
        }
    }
}

/// `GET /v1/user/me`: the authenticated user.
#[utoipa::path(get, path = "/v1/user/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, description = "The current user", body = User), MeErrors))]
pub async fn me(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<axum::Json<User>, ApiError> {
    let found: Option<User> =
        sqlx::query_as("SELECT id, email, name, role, created_at FROM users WHERE id = $1")
            .bind(user.id)
            .fetch_optional(&state.db)
            .await?;
    found.map(axum::Json).ok_or_else(errors::token_invalid)
}
