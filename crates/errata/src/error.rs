//! [`ApiError`]: one error of the API, as a handler returns it.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;

/// A catalog code, as generated constants carry it (`codes::ALREADY_ENROLLED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    /// Wraps a code string; generated code calls this for every catalog entry.
    pub const fn new(code: &'static str) -> Self {
        Code(code)
    }

    /// The code as text.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Code> for str {
    fn eq(&self, other: &Code) -> bool {
        self == other.0
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.0
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// The value of a message parameter.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParamValue {
    /// Text.
    Str(Cow<'static, str>),
    /// A whole number.
    Int(i64),
    /// A floating-point number.
    Num(f64),
    /// A boolean.
    Bool(bool),
}

impl ParamValue {
    /// Appends the value's text form to `out`.
    pub fn write_to(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            ParamValue::Str(s) => out.push_str(s),
            ParamValue::Int(i) => {
                let _ = write!(out, "{i}");
            }
            ParamValue::Num(n) => {
                let _ = write!(out, "{n}");
            }
            ParamValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
    }
}

impl From<&'static str> for ParamValue {
    fn from(v: &'static str) -> Self {
        ParamValue::Str(Cow::Borrowed(v))
    }
}
impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Str(Cow::Owned(v))
    }
}
impl From<Cow<'static, str>> for ParamValue {
    fn from(v: Cow<'static, str>) -> Self {
        ParamValue::Str(v)
    }
}
impl From<i64> for ParamValue {
    fn from(v: i64) -> Self {
        ParamValue::Int(v)
    }
}
impl From<i32> for ParamValue {
    fn from(v: i32) -> Self {
        ParamValue::Int(v.into())
    }
}
impl From<u32> for ParamValue {
    fn from(v: u32) -> Self {
        ParamValue::Int(v.into())
    }
}
impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Num(v)
    }
}
impl From<bool> for ParamValue {
    fn from(v: bool) -> Self {
        ParamValue::Bool(v)
    }
}

/// One problem with one field of the request, like `password: too_short {min: 8}`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Field code from the catalog's `[fields]` (built-ins: `required`, `too_short`, …).
    pub code: Cow<'static, str>,
    /// Parameters of the field code's message.
    pub params: Vec<(Cow<'static, str>, ParamValue)>,
    /// The message to show when the catalog has none for the code.
    pub message: Option<String>,
}

impl FieldError {
    /// A field error with the catalog's message for `code`.
    pub fn new(code: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code: code.into(),
            params: Vec::new(),
            message: None,
        }
    }

    /// Adds a message parameter.
    #[must_use]
    pub fn with_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<ParamValue>,
    ) -> Self {
        self.params.push((name.into(), value.into()));
        self
    }

    /// Sets the message shown when the catalog has none for the code.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// What an upstream API answered, kept for logs and alerts (never for the response body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamDetail {
    /// The upstream's name in the catalog (`kakao`).
    pub name: String,
    /// Its HTTP status, when it answered.
    pub status: Option<u16>,
    /// The start of its body (at most 2 KiB).
    pub body: String,
    /// Whether it failed to answer in time.
    pub timed_out: bool,
}

/// Longest upstream body kept in an [`UpstreamDetail`].
pub const UPSTREAM_BODY_LIMIT: usize = 2048;

impl UpstreamDetail {
    /// Builds a detail, truncating the body on a character boundary.
    pub fn new(name: impl Into<String>, status: Option<u16>, body: &[u8], timed_out: bool) -> Self {
        let text = String::from_utf8_lossy(&body[..body.len().min(UPSTREAM_BODY_LIMIT + 4)]);
        let end = errata_catalog::text::floor_char_boundary(&text, UPSTREAM_BODY_LIMIT);
        Self {
            name: name.into(),
            status,
            body: text[..end].to_owned(),
            timed_out,
        }
    }
}

impl fmt::Display for UpstreamDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.timed_out, self.status) {
            (true, _) => write!(f, "upstream {} timed out", self.name),
            (false, Some(s)) => write!(f, "upstream {} answered {s}: {}", self.name, self.body),
            (false, None) => write!(f, "upstream {} failed: {}", self.name, self.body),
        }
    }
}

type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// One error of the API: a catalog code with its parameters, field errors, details, headers and
/// the internal cause, which is logged and alerted but never rendered into a response.
///
/// Handlers return `Result<T, ApiError>`. Typed constructors are generated from the catalog
/// (`errors::already_enrolled()`); any `std::error::Error` converts with `?` into `SERVER_ERROR`
/// carrying it as the cause.
///
/// ```
/// use errata::{ApiError, FieldError};
///
/// let err = ApiError::from_code("VALIDATION_ERROR", 400)
///     .with_field_error("password", FieldError::new("too_short").with_param("min", 8));
/// assert_eq!(err.code(), "VALIDATION_ERROR");
/// assert_eq!(err.field_errors().len(), 1);
///
/// fn load() -> Result<(), ApiError> {
///     let _n: i32 = "x".parse()?; // becomes SERVER_ERROR with the parse error as its cause
///     Ok(())
/// }
/// let err = load().unwrap_err();
/// assert_eq!((err.code(), err.status()), ("SERVER_ERROR", 500));
/// assert!(err.cause().is_some());
/// ```
pub struct ApiError {
    inner: Box<Inner>,
}

struct Inner {
    code: Cow<'static, str>,
    status: u16,
    params: Vec<(Cow<'static, str>, ParamValue)>,
    details: Option<serde_json::Map<String, serde_json::Value>>,
    field_errors: Vec<(String, FieldError)>,
    retry_after: Option<u64>,
    headers: Vec<(Cow<'static, str>, String)>,
    cause: Option<Cause>,
    upstream: Option<UpstreamDetail>,
}

impl ApiError {
    /// An error of `code` with `status`. Prefer the constructors generated from the catalog,
    /// which cannot name a code that does not exist.
    pub fn from_code(code: impl Into<Cow<'static, str>>, status: u16) -> Self {
        Self {
            inner: Box::new(Inner {
                code: code.into(),
                status,
                params: Vec::new(),
                details: None,
                field_errors: Vec::new(),
                retry_after: None,
                headers: Vec::new(),
                cause: None,
                upstream: None,
            }),
        }
    }

    /// `SERVER_ERROR` with `cause` as the internal cause.
    pub fn internal(cause: impl Into<Cause>) -> Self {
        crate::builtin::server_error().with_cause(cause)
    }

    /// The catalog code.
    pub fn code(&self) -> &str {
        &self.inner.code
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.inner.status
    }

    /// Message parameters.
    pub fn params(&self) -> &[(Cow<'static, str>, ParamValue)] {
        &self.inner.params
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&ParamValue> {
        self.inner
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// The `details` object, when set.
    pub fn details(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.inner.details.as_ref()
    }

    /// Field errors as (path, error) pairs, in the order they were added.
    pub fn field_errors(&self) -> &[(String, FieldError)] {
        &self.inner.field_errors
    }

    /// Seconds after which the client may retry (the `Retry-After` header).
    pub fn retry_after(&self) -> Option<u64> {
        self.inner.retry_after
    }

    /// Extra response headers.
    pub fn headers(&self) -> &[(Cow<'static, str>, String)] {
        &self.inner.headers
    }

    /// The internal cause, if any. Never rendered into a response.
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.inner.cause.as_deref()
    }

    /// What an upstream answered, when this error maps an upstream failure.
    pub fn upstream(&self) -> Option<&UpstreamDetail> {
        self.inner.upstream.as_ref()
    }

    /// The cause chain as text, outermost first (for logs and alerts).
    pub fn cause_chain(&self) -> Vec<String> {
        let mut chain = Vec::new();
        let mut next: Option<&(dyn StdError + 'static)> =
            self.cause().map(|c| c as &(dyn StdError + 'static));
        while let Some(e) = next {
            chain.push(e.to_string());
            next = e.source();
        }
        if let Some(u) = &self.inner.upstream {
            chain.push(u.to_string());
        }
        chain
    }

    /// Sets a message parameter (replacing one of the same name).
    #[must_use]
    pub fn with_param(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<ParamValue>,
    ) -> Self {
        let name = name.into();
        let value = value.into();
        match self.inner.params.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.inner.params.push((name, value)),
        }
        self
    }

    /// Sets the `details` object (a JSON object; other values are wrapped as `{"value": …}`).
    #[must_use]
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.inner.details = Some(match details {
            serde_json::Value::Object(map) => map,
            other => serde_json::Map::from_iter([("value".to_owned(), other)]),
        });
        self
    }

    /// Adds a field error at `path` (`email`, `items[2].name`).
    #[must_use]
    pub fn with_field_error(mut self, path: impl Into<String>, error: FieldError) -> Self {
        self.inner.field_errors.push((path.into(), error));
        self
    }

    /// Sets the `Retry-After` seconds.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.inner.retry_after = Some(seconds);
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<String>,
    ) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the internal cause.
    #[must_use]
    pub fn with_cause(mut self, cause: impl Into<Cause>) -> Self {
        self.inner.cause = Some(cause.into());
        self
    }

    /// Records what an upstream answered.
    #[must_use]
    pub fn with_upstream(mut self, detail: UpstreamDetail) -> Self {
        self.inner.upstream = Some(detail);
        self
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("code", &self.inner.code)
            .field("status", &self.inner.status)
            .field("params", &self.inner.params)
            .field("field_errors", &self.inner.field_errors)
            .field("cause", &self.cause_chain())
            .finish_non_exhaustive()
    }
}

/// For logs: the code, the status and the internal cause chain.
impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.inner.code, self.inner.status)?;
        for cause in self.cause_chain() {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl<E> From<E> for ApiError
where
    E: StdError + Send + Sync + 'static,
{
    fn from(cause: E) -> Self {
        ApiError::internal(cause)
    }
}

/// Any primitive integer, accepted where the catalog declares an `integer` parameter, so that
/// callers pass a `u32`, a `usize` or an `i64` without a cast.
///
/// Integer parameters travel as `i64`: a value beyond `i64`'s range (only possible from
/// `u64`, `usize`, `i128` or `u128`) is clamped to `i64::MIN` or `i64::MAX`.
///
/// ```
/// use errata::IntegerParam;
/// assert_eq!(7u8.to_i64(), 7);
/// assert_eq!(30usize.to_i64(), 30);
/// assert_eq!(u64::MAX.to_i64(), i64::MAX);
/// ```
pub trait IntegerParam: Copy {
    /// The value as the `i64` a parameter holds.
    fn to_i64(self) -> i64;
}

macro_rules! integer_param_lossless {
    ($($t:ty),*) => {$(
        impl IntegerParam for $t {
            fn to_i64(self) -> i64 {
                i64::from(self)
            }
        }
    )*};
}
integer_param_lossless!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! integer_param_clamped {
    ($($t:ty),*) => {$(
        impl IntegerParam for $t {
            fn to_i64(self) -> i64 {
                #[allow(unused_comparisons)]
                let negative = self < 0;
                i64::try_from(self).unwrap_or(if negative { i64::MIN } else { i64::MAX })
            }
        }
    )*};
}
integer_param_clamped!(isize, u64, usize, i128, u128);
