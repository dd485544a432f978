//! Accounts and tokens: signup, login, refresh with rotation, logout, and the [`AuthUser`]
//! extractor that every protected route takes.
//!
//! | situation | code |
//! |---|---|
//! | no `Authorization` header (or an empty bearer token) | `AUTH_REQUIRED` |
//! | a token past its expiry | `TOKEN_EXPIRED` |
//! | a forged, malformed or wrong-kind token, another scheme than `Bearer` | `TOKEN_INVALID` |
//! | a refresh token already rotated or logged out | `TOKEN_BLACKLISTED` |
//! | wrong password or unknown email (the same answer) | `AUTH_FAILED` |

pub mod jwt;
pub mod password;
pub(crate) mod routes;

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, HeaderMap};
use errata::ApiError;

pub use routes::{
    login, logout, me, refresh, signup, LoginRequest, RefreshRequest, Role, SignupRequest,
    SignupResponse, TokenPair, User, LOGIN_ERRORS, LOGOUT_ERRORS, ME_ERRORS, REFRESH_ERRORS,
    SIGNUP_ERRORS,
};

/// The security scheme of routes that take an [`AuthUser`] (`Authorization: Bearer`).
pub const SECURITY_SCHEME: &str = "bearer";

/// What [`AuthUser`] answers when the request has no valid access token; every route that
/// requires [`SECURITY_SCHEME`] declares them.
pub const AUTH_CODES: &[errata::Code] = &[
    errors::codes::AUTH_REQUIRED,
    errors::codes::TOKEN_EXPIRED,
    errors::codes::TOKEN_INVALID,
];

use crate::app::AppState;
use crate::errors;
use jwt::TokenKind;

/// The authenticated user of a request (from a valid access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthUser {
    /// The user's id.
    pub id: i64,
}

/// The bearer token of a request: `Ok(None)` when there is none, `TOKEN_INVALID` when the
/// `Authorization` header is not a bearer token.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| errors::token_invalid())?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(errors::token_invalid());
    }
    let token = token.trim();
    Ok((!token.is_empty()).then_some(token))
}

/// Verifies an access token and returns its user.
pub fn authenticate(state: &AppState, token: Option<&str>) -> Result<AuthUser, ApiError> {
    let token = token.ok_or_else(errors::auth_required)?;
    let claims = state.tokens.verify(token, TokenKind::Access)?;
    Ok(AuthUser {
        id: claims.user_id()?,
    })
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers)?;
        let user = authenticate(state, token)?;
        // Alerts name the user (kept by errata-alert's capture layer, when it runs).
        errata_alert::CaptureContext::current().set_user(user.id.to_string());
        Ok(user)
    }
}
