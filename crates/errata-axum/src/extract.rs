//! Extractors whose rejections are catalog errors.
//!
//! | failure | code |
//! |---|---|
//! | body is not JSON at all (syntax, truncated, invalid UTF-8, nested too deep) | `MALFORMED_JSON` |
//! | JSON of the wrong shape: missing, unknown or mistyped fields, numbers out of range | `VALIDATION_ERROR` with the field path |
//! | wrong `Content-Type` | `UNSUPPORTED_MEDIA_TYPE` |
//! | body over the limit, sized or chunked | `PAYLOAD_TOO_LARGE` |
//! | body arriving too slowly (`serve`'s body deadline, or `RequestBodyTimeoutLayer`) | `REQUEST_TIMEOUT` |
//! | query string, form or path parameter that does not parse | `VALIDATION_ERROR` with the field |
//!
//! Every failure of a body that *is* JSON is a `VALIDATION_ERROR` naming the field, whatever
//! serde calls it: `"role": null` for an enum is the wrong type at `role`, never
//! `MALFORMED_JSON`. The field codes are `required`, `unknown_field`, `invalid_type` (with
//! `expected`), `out_of_range` (with `min` and `max`, the bounds of the integer type) and
//! `invalid`.
//!
//! **Unknown fields** are ignored, as serde does by default. A type with
//! `#[serde(deny_unknown_fields)]` refuses them: `VALIDATION_ERROR` with `unknown_field` at the
//! field's full path (`user.nmae`).
//!
//! **Path parameters** are named by the route: `Path<u64>` on `/lectures/{id}` reports `id`,
//! and a tuple reports the name of the failing position.
//!
//! [`Json`] is also an answer: `Json(value)` returned from a handler is `application/json`; a
//! value that cannot be serialized is `SERVER_ERROR`, never a half-written body.

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, PathRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use errata::{builtin, ApiError, FieldError};
use serde::de::DeserializeOwned;

/// A JSON body to read, or a JSON answer to write. Rejections are catalog errors (see the
/// module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(err) => ApiError::internal(Rejected(format!(
                "the answer could not be serialized as JSON: {}",
                err.classify_name()
            )))
            .into_response(),
        }
    }
}

/// serde_json's error category, without the message (which may quote the value).
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "an I/O error",
            serde_json::error::Category::Syntax => "a syntax error",
            serde_json::error::Category::Data => "a value it cannot represent",
            serde_json::error::Category::Eof => "an early end",
        }
    }
}

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// A URL-encoded form body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

/// Path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(req.headers(), is_json) {
            return Err(builtin::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(Json)
    }
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        if !has_content_type(req.headers(), |m| m == "application/x-www-form-urlencoded") {
            return Err(builtin::unsupported_media_type());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_urlencoded(&bytes).map(Form)
    }
}

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_urlencoded(parts.uri.query().unwrap_or("").as_bytes()).map(Query)
    }
}

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => {
                // The route's own names for the parameters, so that a single value or a tuple
                // position is reported by name.
                let names: Vec<String> =
                    match axum::extract::RawPathParams::from_request_parts(parts, state).await {
                        Ok(raw) => raw.iter().map(|(k, _)| k.to_owned()).collect(),
                        Err(_) => Vec::new(),
                    };
                Err(path_error(rejection, &names))
            }
        }
    }
}

fn has_content_type(headers: &HeaderMap, accept: impl Fn(&str) -> bool) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| accept(&m))
}

fn is_json(mime: &str) -> bool {
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Maps a failure to read the body.
pub fn body_error(rejection: BytesRejection) -> ApiError {
    match rejection {
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(e)) => {
            builtin::payload_too_large().with_cause(e)
        }
        BytesRejection::FailedToBufferBody(FailedToBufferBody::UnknownBodyError(e)) => {
            if source_chain_has::<tower_http::timeout::TimeoutError>(&e) || body_deadline_passed(&e)
            {
                builtin::request_timeout().with_cause(e)
            } else if source_chain_has::<http_body_util::LengthLimitError>(&e) {
                builtin::payload_too_large().with_cause(e)
            } else {
                // The client went away or sent a broken body: its fault, not ours.
                builtin::malformed_json().with_cause(e)
            }
        }
        other => builtin::malformed_json().with_cause(other),
    }
}

#[cfg(feature = "server")]
fn body_deadline_passed(e: &(dyn std::error::Error + 'static)) -> bool {
    source_chain_has::<crate::serve::BodyDeadlineExceeded>(e)
}

#[cfg(not(feature = "server"))]
fn body_deadline_passed(_: &(dyn std::error::Error + 'static)) -> bool {
    false
}

fn source_chain_has<T: std::error::Error + 'static>(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(err) = next {
        if err.is::<T>() {
            return true;
        }
        next = err.source();
    }
    false
}

/// Parses a JSON body into `T`: `MALFORMED_JSON` when it is not JSON, `VALIDATION_ERROR` with
/// the failing field's path when it does not fit `T`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|err| (err.path().to_string(), err.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (".".to_owned(), e)));
    value.map_err(|(path, inner)| {
        // A data error is reported before trailing garbage would be: make sure the body is JSON.
        let is_json = || serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok();
        // A body that is JSON failed on its shape, whatever serde's category (an enum from
        // `null` is a "syntax" error to serde_json): the field is wrong, not the JSON. (`Value`
        // here, not `IgnoredAny`: skipping checks neither UTF-8 nor number ranges.)
        let is_strict_json = || serde_json::from_slice::<serde_json::Value>(bytes).is_ok();
        let shape_error = match inner.classify() {
            serde_json::error::Category::Data => is_json(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                is_strict_json()
            }
            serde_json::error::Category::Io => false,
        };
        match inner.classify() {
            _ if shape_error => {
                let (field, error) = field_error(&path, &inner.to_string());
                let cause = Rejected(format!(
                    "JSON body does not fit at `{field}`: {}",
                    error.code
                ));
                builtin::validation_error()
                    .with_field_error(field, error)
                    .with_cause(cause)
            }
            category => builtin::malformed_json().with_cause(Rejected(format!(
                "body is not JSON ({category:?} error at line {}, column {})",
                inner.line(),
                inner.column()
            ))),
        }
    })
}

/// Parses `a=1&b=x` into `T`; failures are `VALIDATION_ERROR` on the field.
pub fn parse_urlencoded<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(bytes));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let (field, error) = field_error(&path, &err.into_inner().to_string());
        let cause = Rejected(format!(
            "parameters do not fit at `{field}`: {}",
            error.code
        ));
        builtin::validation_error()
            .with_field_error(field, error)
            .with_cause(cause)
    })
}

/// Turns a serde message at `path` into a field path and a field error. Only the shape of the
/// message is used: user input quoted in it never reaches the response.
fn field_error(path: &str, message: &str) -> (String, FieldError) {
    let parent = if path == "." { "" } else { path };
    // serde_path_to_error's path ends at the unknown key itself, but before a missing one.
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_owned()
        } else if parent == name || parent.ends_with(&format!(".{name}")) {
            parent.to_owned()
        } else {
            format!("{parent}.{name}")
        }
    };
    let quoted = |m: &str| m.split('`').nth(1).map(str::to_owned);
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = quoted(rest).unwrap_or_default();
        return (join(&name), FieldError::new("required"));
    }
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = quoted(rest).unwrap_or_default();
        return (join(&name), FieldError::new("unknown_field"));
    }
    let field = if parent.is_empty() {
        "body".to_owned()
    } else {
        parent.to_owned()
    };
    if message.starts_with("invalid type:") {
        let expected = expected_of(message);
        return (
            field,
            FieldError::new("invalid_type").with_param("expected", expected),
        );
    }
    if message.starts_with("invalid value:") && message.contains("integer") {
        return (field, out_of_range(&expected_of_raw(message)));
    }
    if message.starts_with("number too large") || message.starts_with("number too small") {
        return (
            field,
            FieldError::new("invalid_type").with_param("expected", "a smaller number"),
        );
    }
    if message.starts_with("invalid digit") || message.starts_with("cannot parse") {
        let expected = expected_of(message);
        return (
            field,
            FieldError::new("invalid_type").with_param("expected", expected),
        );
    }
    (field, FieldError::new("invalid"))
}

/// `out_of_range` with the bounds of the integer type serde expected (`u8`: 0 and 255).
fn out_of_range(ty: &str) -> FieldError {
    use errata::ParamValue::{Int, Num};
    let (min, max) = match ty {
        "u8" => (Int(0), Int(u8::MAX.into())),
        "u16" => (Int(0), Int(u16::MAX.into())),
        "u32" => (Int(0), Int(u32::MAX.into())),
        "u64" | "usize" => (Int(0), Num(u64::MAX as f64)),
        "i8" => (Int(i8::MIN.into()), Int(i8::MAX.into())),
        "i16" => (Int(i16::MIN.into()), Int(i16::MAX.into())),
        "i32" => (Int(i32::MIN.into()), Int(i32::MAX.into())),
        "i64" | "isize" => (Int(i64::MIN), Int(i64::MAX)),
        _ => return FieldError::new("invalid"),
    };
    FieldError::new("out_of_range")
        .with_param("min", min)
        .with_param("max", max)
}

/// The bare `expected …` word of a serde message (`u8`).
fn expected_of_raw(message: &str) -> String {
    let expected = message.rsplit_once("expected ").map_or("", |(_, e)| e);
    expected
        .split(|c: char| !c.is_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_owned()
}

/// The `expected …` part of a serde message, reduced to a type name.
fn expected_of(message: &str) -> String {
    let expected = message
        .rsplit_once("expected ")
        .map(|(_, e)| e)
        .unwrap_or("a valid value");
    let expected = expected.split(" at line ").next().unwrap_or(expected);
    let clean: String = expected
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-'))
        .take(64)
        .collect();
    let clean = clean.trim();
    match clean {
        "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
            "an integer".to_owned()
        }
        "f32" | "f64" => "a number".to_owned(),
        "" => "a valid value".to_owned(),
        other => other.to_owned(),
    }
}

/// Why input was rejected, for logs: the place and the kind of problem, never the input's values
/// (serde's own messages quote them, and a body may hold a password).
#[derive(Debug)]
struct Rejected(String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

fn path_error(rejection: PathRejection, names: &[String]) -> ApiError {
    use axum::extract::path::ErrorKind;
    match rejection {
        PathRejection::FailedToDeserializePathParams(e) => {
            let (field, error) = match e.kind() {
                ErrorKind::ParseErrorAtKey {
                    key, expected_type, ..
                } => (
                    key.clone(),
                    FieldError::new("invalid_type").with_param(
                        "expected",
                        expected_of(&format!("expected {expected_type}")),
                    ),
                ),
                ErrorKind::ParseErrorAtIndex {
                    index,
                    expected_type,
                    ..
                } => (
                    names
                        .get(*index)
                        .cloned()
                        .unwrap_or_else(|| format!("path[{index}]")),
                    FieldError::new("invalid_type").with_param(
                        "expected",
                        expected_of(&format!("expected {expected_type}")),
                    ),
                ),
                ErrorKind::ParseError { expected_type, .. } => (
                    match names {
                        [only] => only.clone(),
                        _ => "path".to_owned(),
                    },
                    FieldError::new("invalid_type").with_param(
                        "expected",
                        expected_of(&format!("expected {expected_type}")),
                    ),
                ),
                ErrorKind::InvalidUtf8InPathParam { key } => {
                    (key.clone(), FieldError::new("invalid"))
                }
                _ => (
                    match names {
                        [only] => only.clone(),
                        _ => "path".to_owned(),
                    },
                    FieldError::new("invalid"),
                ),
            };
            let cause = Rejected(format!(
                "path parameter `{field}` does not parse: {}",
                error.code
            ));
            builtin::validation_error()
                .with_field_error(field, error)
                .with_cause(cause)
        }
        // The route and the extractor disagree: a bug in the service.
        other => ApiError::internal(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_field_errors() {
        let (f, e) = field_error(".", "missing field `email` at line 1 column 2");
        assert_eq!((f.as_str(), e.code.as_ref()), ("email", "required"));
        let (f, e) = field_error("user.nmae", "unknown field `nmae`, expected `name`");
        assert_eq!(
            (f.as_str(), e.code.as_ref()),
            ("user.nmae", "unknown_field")
        );
        let (f, e) = field_error(
            "age",
            "invalid type: string \"<script>\", expected u32 at line 1 column 9",
        );
        assert_eq!((f.as_str(), e.code.as_ref()), ("age", "invalid_type"));
        assert_eq!(
            e.params[0].1,
            errata::ParamValue::from("an integer".to_owned())
        );
        let (_, e) = field_error("age", "invalid value: integer `-1`, expected u32");
        assert_eq!(e.code, "out_of_range");
    }

    #[test]
    fn rejections_never_quote_the_input_in_their_cause() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Login {
            password: String,
        }
        for body in [
            &br#"{"password": 31337999}"#[..],
            br#"{"password": "hunter2""#,
            b"password=hunter2",
        ] {
            let err = parse_json::<Login>(body).unwrap_err();
            let logged = err.to_string();
            assert!(
                !logged.contains("31337999") && !logged.contains("hunter2"),
                "{logged}"
            );
        }
        let err = parse_urlencoded::<Login>(b"password=1&password=hunter2").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
