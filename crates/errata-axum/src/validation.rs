//! [`Valid`]: runs `validator::Validate` after extraction and maps its errors to catalog field
//! codes with localized messages.

use std::borrow::Cow;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{request::Parts, Request};
use errata::{builtin, ApiError, FieldError};
use validator::{Validate, ValidationError, ValidationErrors, ValidationErrorsKind};

use crate::extract::{Form, Json, Query};

/// Extracts `E`, then validates what it holds; failures are `VALIDATION_ERROR` with one field
/// error per failed rule.
///
/// validator's codes map to catalog field codes: `length` → `too_short`/`too_long` (with
/// `min`/`max`), `email` → `invalid_email`, `range` → `out_of_range` with `min` and `max` (or
/// `too_small` / `too_large` with the one bound it has), `required` → `required`;
/// any other code (a custom one such as `email_taken`) is kept as is, its message taken from the
/// catalog's `[fields]`, else from the rule's own message, else the catalog's `invalid`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Valid<E>(pub E);

/// Extractors whose payload can be validated: errata's [`Json`], [`Query`] and [`Form`].
#[diagnostic::on_unimplemented(
    message = "`Valid` cannot validate `{Self}`: use errata's extractors inside it",
    label = "`Valid` needs `errata_axum::Json`, `errata_axum::Query` or `errata_axum::Form` here",
    note = "write `Valid<errata_axum::Json<T>>` (not `Valid<axum::Json<T>>`): errata's extractors answer rejections in the catalog's envelope, and `T` must derive `validator::Validate`"
)]
pub trait Validatable {
    /// The validated payload.
    type Payload: Validate;
    /// A reference to it.
    fn payload(&self) -> &Self::Payload;
}

impl<T: Validate> Validatable for Json<T> {
    type Payload = T;
    fn payload(&self) -> &T {
        &self.0
    }
}
impl<T: Validate> Validatable for Query<T> {
    type Payload = T;
    fn payload(&self) -> &T {
        &self.0
    }
}
impl<T: Validate> Validatable for Form<T> {
    type Payload = T;
    fn payload(&self) -> &T {
        &self.0
    }
}

impl<E, S> FromRequest<S> for Valid<E>
where
    E: FromRequest<S, Rejection = ApiError> + Validatable,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let inner = E::from_request(req, state).await?;
        inner
            .payload()
            .validate()
            .map_err(|e| validation_error(&e))?;
        Ok(Valid(inner))
    }
}

impl<E, S> FromRequestParts<S> for Valid<E>
where
    E: FromRequestParts<S, Rejection = ApiError> + Validatable,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let inner = E::from_request_parts(parts, state).await?;
        inner
            .payload()
            .validate()
            .map_err(|e| validation_error(&e))?;
        Ok(Valid(inner))
    }
}

/// `VALIDATION_ERROR` with every failure of `errors`, nested paths as `a.b` and `items[2].name`.
pub fn validation_error(errors: &ValidationErrors) -> ApiError {
    let mut out = Vec::new();
    collect("", errors, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.into_iter()
        .fold(builtin::validation_error(), |err, (path, fe)| {
            err.with_field_error(path, fe)
        })
}

fn collect(prefix: &str, errors: &ValidationErrors, out: &mut Vec<(String, FieldError)>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                out.extend(list.iter().map(|e| (path.clone(), field_error(e))));
            }
            ValidationErrorsKind::Struct(inner) => collect(&path, inner, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(&format!("{path}[{i}]"), inner, out);
                }
            }
        }
    }
}

fn int_param(e: &ValidationError, name: &str) -> Option<i64> {
    e.params.get(name).and_then(serde_json::Value::as_i64)
}

fn value_len(e: &ValidationError) -> Option<i64> {
    match e.params.get("value")? {
        serde_json::Value::String(s) => Some(s.chars().count() as i64),
        serde_json::Value::Array(a) => Some(a.len() as i64),
        _ => None,
    }
}

/// A bound of a `range` rule, kept whole when it is a whole number.
fn bound(e: &ValidationError, names: [&str; 2]) -> Option<errata::ParamValue> {
    let value = names.iter().find_map(|n| e.params.get(*n))?;
    match (value.as_i64(), value.as_f64()) {
        (Some(i), _) => Some(errata::ParamValue::Int(i)),
        (None, Some(f)) => Some(errata::ParamValue::Num(f)),
        _ => None,
    }
}

/// `range` → `out_of_range` with both bounds, or `too_small` / `too_large` with the one it has.
fn range_error(e: &ValidationError) -> FieldError {
    let min = bound(e, ["min", "exclusive_min"]);
    let max = bound(e, ["max", "exclusive_max"]);
    match (min, max) {
        (Some(min), Some(max)) => FieldError::new("out_of_range")
            .with_param("min", min)
            .with_param("max", max),
        (Some(min), None) => FieldError::new("too_small").with_param("min", min),
        (None, Some(max)) => FieldError::new("too_large").with_param("max", max),
        (None, None) => FieldError::new("invalid"),
    }
}

/// Maps one validator failure to a catalog field error.
pub fn field_error(e: &ValidationError) -> FieldError {
    let fe = match e.code.as_ref() {
        "length" => match (int_param(e, "min"), int_param(e, "max"), value_len(e)) {
            (Some(min), _, Some(len)) if len < min => {
                FieldError::new("too_short").with_param("min", min)
            }
            (_, Some(max), Some(len)) if len > max => {
                FieldError::new("too_long").with_param("max", max)
            }
            (Some(min), None, _) => FieldError::new("too_short").with_param("min", min),
            (None, Some(max), _) => FieldError::new("too_long").with_param("max", max),
            _ => FieldError::new("invalid"),
        },
        "email" => FieldError::new("invalid_email"),
        "range" => range_error(e),
        "required" => FieldError::new("required"),
        other => FieldError::new(Cow::Owned(other.to_owned())),
    };
    // Used only when the catalog has no message for the code.
    match &e.message {
        Some(message) => fe.with_message(message.to_string()),
        None => fe,
    }
}
