//! Access and refresh tokens: HS256 JWTs. Refresh tokens carry a `jti` that the database
//! tracks, so that rotation and logout can retire them.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::errors;

/// Lifetime of an access token.
pub const ACCESS_TTL_SECS: i64 = 60 * 60;
/// Lifetime of a refresh token.
pub const REFRESH_TTL_SECS: i64 = 14 * 24 * 60 * 60;

/// What a token is for; an access token is not accepted where a refresh token is expected, and
/// the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// Authenticates API calls, for an hour.
    Access,
    /// Buys a new pair of tokens, once.
    Refresh,
}

/// The claims of both kinds of token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issue time.
    pub iat: i64,
    /// Unique id of the token.
    pub jti: String,
    /// Access or refresh.
    pub typ: TokenKind,
}

impl Claims {
    /// The user id as a number.
    pub fn user_id(&self) -> Result<i64, errata::ApiError> {
        self.sub.parse().map_err(|_| errors::token_invalid())
    }
}

/// A freshly signed token.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The JWT.
    pub token: String,
    /// Its `jti`.
    pub jti: String,
    /// Its expiry.
    pub exp: i64,
}

/// Signs and verifies tokens with one HMAC key.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from the secret's bytes.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a token of `kind` for `user_id`, valid from `now`.
    pub fn issue(&self, user_id: i64, kind: TokenKind, now: i64) -> anyhow::Result<Issued> {
        let ttl = match kind {
            TokenKind::Access => ACCESS_TTL_SECS,
            TokenKind::Refresh => REFRESH_TTL_SECS,
        };
        let claims = Claims {
            sub: user_id.to_string(),
            exp: now + ttl,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: kind,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok(Issued {
            token,
            jti: claims.jti,
            exp: claims.exp,
        })
    }

    /// Verifies a token of `kind`: `TOKEN_EXPIRED` when it is past its expiry (and genuine),
    /// `TOKEN_INVALID` for anything else that is wrong with it.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, errata::ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => errors::token_expired(),
                _ => errors::token_invalid().with_cause(e),
            })?;
        if data.claims.typ != kind {
            return Err(errors::token_invalid());
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::codes;

    #[test]
    fn round_trip_kinds_expiry_and_forgery() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = chrono::Utc::now().timestamp();
        let access = keys.issue(7, TokenKind::Access, now).unwrap();
        assert_eq!(
            keys.verify(&access.token, TokenKind::Access)
                .unwrap()
                .user_id()
                .unwrap(),
            7
        );
        assert_eq!(
            keys.verify(&access.token, TokenKind::Refresh)
                .unwrap_err()
                .code(),
            codes::TOKEN_INVALID
        );

        let old = keys
            .issue(7, TokenKind::Access, now - 2 * ACCESS_TTL_SECS)
            .unwrap();
        assert_eq!(
            keys.verify(&old.token, TokenKind::Access)
                .unwrap_err()
                .code(),
            codes::TOKEN_EXPIRED
        );

        let other = TokenKeys::new(b"another-secret-another-secret-00");
        let forged = other.issue(7, TokenKind::Access, now).unwrap();
        assert_eq!(
            keys.verify(&forged.token, TokenKind::Access)
                .unwrap_err()
                .code(),
            codes::TOKEN_INVALID
        );
        // Forged and expired is still forged.
        let forged_old = other
            .issue(7, TokenKind::Access, now - 2 * ACCESS_TTL_SECS)
            .unwrap();
        assert_eq!(
            keys.verify(&forged_old.token, TokenKind::Access)
                .unwrap_err()
                .code(),
            codes::TOKEN_INVALID
        );

        for junk in ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."] {
            assert_eq!(
                keys.verify(junk, TokenKind::Access).unwrap_err().code(),
                codes::TOKEN_INVALID,
                "{junk}"
            );
        }
    }
}
