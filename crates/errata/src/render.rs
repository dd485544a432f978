//! Rendering an [`ApiError`] into one of three envelopes, in the client's locale.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use errata_catalog::template::Template;
use errata_catalog::{reason_phrase, AlertPolicy, Catalog, SpikeRule};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::error::{ApiError, FieldError, ParamValue};
use crate::locale::{negotiate_locale, LocaleId};
use crate::report::ErrorReport;

/// The JSON shape of error bodies (the catalog's `[envelope] format` picks the default).
pub use errata_catalog::Envelope;

/// What the renderer needs to know about the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderContext<'a> {
    /// The negotiated locale.
    pub locale: LocaleId,
    /// The request id, echoed in the body.
    pub request_id: Option<&'a str>,
    /// The request path (RFC 9457 `instance`).
    pub instance: Option<&'a str>,
    /// An envelope other than the renderer's own, e.g. when the client asked for
    /// `application/problem+json`.
    pub envelope: Option<Envelope>,
}

/// A rendered error response, independent of any HTTP framework.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'static str,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Headers to add (`Retry-After`, and those the error carries).
    pub headers: Vec<(Cow<'static, str>, String)>,
}

/// The static body used when an error cannot be rendered (it never should be).
pub const FALLBACK_BODY: &str = r#"{"error":{"code":"SERVER_ERROR","message":"An internal server error occurred."},"status":500}"#;

/// Code → index into `compiled`. Codes come from the service's own code, never from clients,
/// so a fast non-cryptographic hasher is safe here.
type CodeMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

struct CompiledEntry {
    code: Arc<str>,
    status: u16,
    /// A status-generic built-in: its responses keep the error's own status.
    status_generic: bool,
    title: Box<str>,
    type_uri: Box<str>,
    templates: Vec<Template>,
    alert: AlertPolicy,
    spike: Option<SpikeRule>,
    docs_url: Option<Arc<str>>,
    ws_close: Option<u16>,
    /// The entry's number, rendered under the catalog's `[envelope] number` member.
    number: Option<Box<str>>,
    /// The flat envelope's `code`: the number under `flat_code = "number"`, else the code.
    flat_code: Arc<str>,
    /// The declared parameters, rendered under the `[envelope] params` member.
    params: Box<[Box<str>]>,
    /// Per catalog locale, when the message has no parameter: the message and the envelopes'
    /// fixed beginnings, serialized once here instead of on every response.
    fixed: Vec<Option<Fixed>>,
}

/// A message without parameters and the JSON that starts every plain body carrying it.
struct Fixed {
    message: Arc<str>,
    /// `{"error":{"code":…,"message":…},"status":…` (nested envelope).
    nested: Box<[u8]>,
    /// `{"status":…,"code":…,"message":…` (flat envelope).
    flat: Box<[u8]>,
}

impl Fixed {
    fn new(
        code: &str,
        flat_code: &str,
        number: Option<(&str, &str)>,
        status: u16,
        template: &Template,
    ) -> Option<Self> {
        let mut message = String::new();
        for seg in &template.segments {
            match seg {
                errata_catalog::template::Segment::Text(s) => message.push_str(s),
                errata_catalog::template::Segment::Param(_) => return None,
            }
        }
        let no_fields = FieldErrors::NONE;
        let mut nested = serde_json::to_vec(&NestedBody {
            error: NestedError {
                code,
                number,
                message: &message,
                params: None,
                details: None,
                field_errors: &no_fields,
            },
            status,
            request_id: None,
        })
        .ok()?;
        let mut flat = serde_json::to_vec(&FlatBody {
            status,
            code: flat_code,
            number,
            message: &message,
            params: None,
            field_errors: &no_fields,
            request_id: None,
        })
        .ok()?;
        // Drop the closing brace: a request id may follow.
        nested.pop();
        flat.pop();
        Some(Self {
            message: message.into(),
            nested: nested.into(),
            flat: flat.into(),
        })
    }
}

struct CompiledField {
    templates: Vec<Template>,
}

/// Renders errors of one catalog. Build it once at start-up and share it (it is `Send + Sync`).
///
/// ```
/// use errata::{Catalog, Envelope, RenderContext, Renderer};
///
/// let catalog = Catalog::from_toml(r#"
///     [catalog]
///     name = "demo"
///     default_locale = "en"
///     locales = ["en", "ko"]
///     [errors.ALREADY_ENROLLED]
///     status = 409
///     message.en = "You are already enrolled."
///     message.ko = "이미 수강 중인 강의입니다."
/// "#).unwrap();
/// let renderer = Renderer::new(catalog);
/// let err = errata::ApiError::from_code("ALREADY_ENROLLED", 409);
/// let ctx = RenderContext { locale: renderer.negotiate(Some("ko-KR")), ..Default::default() };
/// let out = renderer.render(&err, &ctx);
/// assert_eq!(out.status, 409);
/// assert_eq!(
///     std::str::from_utf8(&out.body).unwrap(),
///     r#"{"error":{"code":"ALREADY_ENROLLED","message":"이미 수강 중인 강의입니다."},"status":409}"#
/// );
/// ```
pub struct Renderer {
    catalog: Arc<Catalog>,
    envelope: Envelope,
    entries: CodeMap<usize>,
    compiled: Vec<CompiledEntry>,
    fields: CodeMap<CompiledField>,
    locale_tags: Vec<Arc<str>>,
    server_error: usize,
    /// `[envelope] params`: the member carrying typed parameters.
    params_member: Box<str>,
    /// `[envelope] number`: the member carrying the entry's number, if numbers are rendered.
    number_member: Option<Box<str>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("catalog", &self.catalog.info.name)
            .field("envelope", &self.envelope)
            .finish_non_exhaustive()
    }
}

/// Templates per catalog locale; a locale without a message falls back to the default, then `en`.
fn compile_templates(
    messages: &std::collections::BTreeMap<String, String>,
    locales: &[String],
) -> Vec<Template> {
    locales
        .iter()
        .map(|l| {
            messages
                .get(l)
                .or_else(|| locales.first().and_then(|d| messages.get(d)))
                .or_else(|| messages.get("en"))
                .or_else(|| messages.values().next())
                .and_then(|m| Template::parse(m).ok())
                .unwrap_or_default()
        })
        .collect()
}

impl Renderer {
    /// A renderer for `catalog`, in the envelope its `[envelope]` table declares (nested by
    /// default).
    pub fn new(catalog: impl Into<Arc<Catalog>>) -> Self {
        let catalog: Arc<Catalog> = catalog.into();
        let locales = &catalog.info.locales;
        let config = &catalog.envelope;
        let number_member = config.number.as_deref();
        let mut entries = CodeMap::default();
        let mut compiled = Vec::with_capacity(catalog.entries.len());
        for (i, e) in catalog.entries.iter().enumerate() {
            entries.insert(e.code.clone().into_boxed_str(), i);
            for a in &e.aliases {
                entries.entry(a.clone().into_boxed_str()).or_insert(i);
            }
            let docs_url = catalog.docs_link(&e.code);
            let templates = compile_templates(&e.messages, locales);
            let number = number_member.zip(e.number.as_deref());
            let flat_code: Arc<str> = match (&e.number, config.flat_code_is_number()) {
                (Some(n), true) => n.as_str().into(),
                _ => e.code.as_str().into(),
            };
            let status_generic = errata_catalog::is_status_generic(&e.code);
            // Entries with parameters render them in every body, and a status-generic body's
            // status is the error's: no fixed prefix for either.
            let fixed = templates
                .iter()
                .map(|t| {
                    if e.params.is_empty() && !status_generic {
                        Fixed::new(&e.code, &flat_code, number, e.status, t)
                    } else {
                        None
                    }
                })
                .collect();
            compiled.push(CompiledEntry {
                code: e.code.clone().into(),
                status: e.status,
                status_generic,
                title: e
                    .title
                    .clone()
                    .unwrap_or_else(|| reason_phrase(e.status).to_owned())
                    .into(),
                type_uri: docs_url
                    .clone()
                    .unwrap_or_else(|| "about:blank".to_owned())
                    .into(),
                templates,
                alert: e.alert,
                spike: e.spike,
                docs_url: docs_url.map(Into::into),
                ws_close: e.ws_close,
                number: e.number.as_deref().map(Into::into),
                flat_code,
                params: e.params.iter().map(|p| p.name.as_str().into()).collect(),
                fixed,
            });
        }
        let fields = catalog
            .fields
            .iter()
            .map(|f| {
                (
                    f.code.clone().into_boxed_str(),
                    CompiledField {
                        templates: compile_templates(&f.messages, locales),
                    },
                )
            })
            .collect();
        let server_error = entries.get("SERVER_ERROR").copied().unwrap_or(0);
        let locale_tags = locales.iter().map(|l| Arc::from(l.as_str())).collect();
        let params_member = config.params.as_str().into();
        let number_member = number_member.map(Into::into);
        let envelope = config.format;
        Self {
            params_member,
            number_member,
            catalog,
            envelope,
            entries,
            compiled,
            fields,
            locale_tags,
            server_error,
        }
    }

    /// Uses `envelope` for every response instead of the catalog's (unless a request asks for
    /// problem details).
    #[must_use]
    pub fn with_envelope(mut self, envelope: Envelope) -> Self {
        self.envelope = envelope;
        self
    }

    /// The catalog being rendered.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The configured envelope.
    pub fn envelope(&self) -> Envelope {
        self.envelope
    }

    /// Chooses a locale for an `Accept-Language` header value.
    pub fn negotiate(&self, accept_language: Option<&str>) -> LocaleId {
        negotiate_locale(&self.catalog.info.locales, accept_language)
    }

    /// The tag of a locale (`ko`).
    pub fn locale_tag(&self, locale: LocaleId) -> &str {
        self.catalog
            .info
            .locales
            .get(locale.index())
            .map_or(self.catalog.info.default_locale.as_str(), String::as_str)
    }

    /// The status `entry` answers for `err`: its declared one, or for a status-generic
    /// built-in the error's own (in the same class).
    fn status_of(entry: &CompiledEntry, err: &ApiError) -> u16 {
        if entry.status_generic {
            errata_catalog::response_status(&entry.code, entry.status, err.status())
        } else {
            entry.status
        }
    }

    fn entry(&self, err: &ApiError) -> &CompiledEntry {
        self.lookup(err).0
    }

    /// The entry rendering `err` (`SERVER_ERROR` for an unknown code) and whether the code is
    /// known.
    fn lookup(&self, err: &ApiError) -> (&CompiledEntry, bool) {
        match self.entries.get(err.code()) {
            Some(&i) => (&self.compiled[i], true),
            None => (&self.compiled[self.server_error], false),
        }
    }

    /// Whether the renderer's catalog knows `code` (or it is an alias).
    pub fn knows(&self, code: &str) -> bool {
        self.entries.contains_key(code)
    }

    /// The public message of `err` in `locale`.
    pub fn message(&self, err: &ApiError, locale: LocaleId) -> String {
        self.message_of(self.entry(err), err, locale)
    }

    /// The WebSocket close code and reason for `err`, when its entry declares `ws_close`.
    pub fn ws_close(&self, err: &ApiError, locale: LocaleId) -> Option<(u16, String)> {
        let code = self.entry(err).ws_close?;
        let mut reason = self.message(err, locale);
        // A close frame's reason is at most 123 bytes.
        errata_catalog::text::truncate_on_char_boundary(&mut reason, 123);
        Some((code, reason))
    }

    /// Renders `err` for a request.
    pub fn render(&self, err: &ApiError, ctx: &RenderContext<'_>) -> Rendered {
        let (entry, _) = self.lookup(err);
        let envelope = ctx.envelope.unwrap_or(self.envelope);
        let fixed = self.fixed(entry, err, ctx.locale);
        match fixed {
            Some(f) => self.render_body(entry, err, ctx, envelope, &f.message, Some(f)),
            None => {
                let message = self.message_of(entry, err, ctx.locale);
                self.render_body(entry, err, ctx, envelope, &message, None)
            }
        }
    }

    /// Renders `err` and builds its report in one pass (the message is rendered once). The
    /// report shares `err`.
    pub fn render_with_report(
        &self,
        err: impl Into<Arc<ApiError>>,
        ctx: &RenderContext<'_>,
    ) -> (Rendered, ErrorReport) {
        let err = err.into();
        let (entry, known) = self.lookup(&err);
        let envelope = ctx.envelope.unwrap_or(self.envelope);
        let fixed = self.fixed(entry, &err, ctx.locale);
        let message = self.shared_message(entry, fixed, &err, ctx.locale);
        let rendered = self.render_body(entry, &err, ctx, envelope, &message, fixed);
        let report = self.report_of(entry, known, err, ctx, message);
        (rendered, report)
    }

    /// The pre-serialized message of `entry` when `err` can use it: a message without
    /// parameters, and no details or field errors to add.
    fn fixed<'a>(
        &self,
        entry: &'a CompiledEntry,
        err: &ApiError,
        locale: LocaleId,
    ) -> Option<&'a Fixed> {
        if err.details().is_some() || !err.field_errors().is_empty() {
            return None;
        }
        entry
            .fixed
            .get(locale.index())
            .or_else(|| entry.fixed.first())?
            .as_ref()
    }

    /// The message for a report: the pre-rendered one when there is one, else rendered now.
    fn shared_message(
        &self,
        entry: &CompiledEntry,
        fixed: Option<&Fixed>,
        err: &ApiError,
        locale: LocaleId,
    ) -> Arc<str> {
        match fixed {
            Some(f) => Arc::clone(&f.message),
            None => self.message_of(entry, err, locale).into(),
        }
    }

    fn message_of(&self, entry: &CompiledEntry, err: &ApiError, locale: LocaleId) -> String {
        let mut message = String::new();
        render_template(&entry.templates, locale, err.params(), &mut message);
        message
    }

    fn render_body(
        &self,
        entry: &CompiledEntry,
        err: &ApiError,
        ctx: &RenderContext<'_>,
        envelope: Envelope,
        message: &str,
        fixed: Option<&Fixed>,
    ) -> Rendered {
        let prefix = match (fixed, envelope) {
            (Some(f), Envelope::Nested) => Some(&f.nested),
            (Some(f), Envelope::Flat) => Some(&f.flat),
            _ => None,
        };
        let mut body;
        let result = if let Some(prefix) = prefix {
            // The same bytes the serializer writes below, with the fixed part copied.
            // Exact when the id needs no escaping (a body of len == capacity becomes the
            // response's bytes without another allocation).
            let id_len = ctx.request_id.map_or(0, |id| id.len() + 16);
            body = Vec::with_capacity(prefix.len() + id_len + 1);
            body.extend_from_slice(prefix);
            let mut result = Ok(());
            if let Some(id) = ctx.request_id {
                body.extend_from_slice(b",\"request_id\":");
                if id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
                    result = serde_json::to_writer(&mut body, id);
                } else {
                    // Nothing to escape (generated ids, UUIDs): the string as it is.
                    body.push(b'"');
                    body.extend_from_slice(id.as_bytes());
                    body.push(b'"');
                }
            }
            body.push(b'}');
            result
        } else {
            body = Vec::with_capacity(128 + message.len());
            self.serialize_body(entry, err, ctx, envelope, message, &mut body)
        };
        let (status, content_type) = match result {
            Ok(()) => (Self::status_of(entry, err), envelope.content_type()),
            Err(_) => {
                body.clear();
                body.extend_from_slice(FALLBACK_BODY.as_bytes());
                (500, "application/json")
            }
        };
        let mut headers = Vec::new();
        let retry_after = err
            .retry_after()
            .or_else(|| match err.param("retry_after") {
                Some(ParamValue::Int(n)) if *n >= 0 => Some(*n as u64),
                _ => None,
            });
        if let Some(secs) = retry_after {
            headers.push((Cow::Borrowed("retry-after"), secs.to_string()));
        }
        headers.extend(err.headers().iter().cloned());
        Rendered {
            status,
            content_type,
            body,
            headers,
        }
    }

    fn serialize_body(
        &self,
        entry: &CompiledEntry,
        err: &ApiError,
        ctx: &RenderContext<'_>,
        envelope: Envelope,
        message: &str,
        body: &mut Vec<u8>,
    ) -> serde_json::Result<()> {
        let status = Self::status_of(entry, err);
        let field_errors = FieldErrors {
            renderer: Some(self),
            locale: ctx.locale,
            errors: err.field_errors(),
        };
        let number = self.number_member.as_deref().zip(entry.number.as_deref());
        let params = Params {
            member: &self.params_member,
            declared: &entry.params,
            values: err.params(),
        };
        let params = params.any().then_some(&params);
        match envelope {
            Envelope::Problem => serde_json::to_writer(
                body,
                &ProblemBody {
                    type_uri: &entry.type_uri,
                    title: if status == entry.status {
                        &entry.title
                    } else {
                        reason_phrase(status)
                    },
                    status,
                    detail: message,
                    instance: ctx.instance,
                    code: &entry.code,
                    number,
                    params,
                    errors: ProblemErrors(&field_errors),
                    details: err.details(),
                    request_id: ctx.request_id,
                },
            ),
            Envelope::Flat => serde_json::to_writer(
                body,
                &FlatBody {
                    status,
                    code: &entry.flat_code,
                    number,
                    message,
                    params,
                    field_errors: &field_errors,
                    request_id: ctx.request_id,
                },
            ),
            // Nested, and any envelope added later until it has a shape of its own.
            _ => serde_json::to_writer(
                body,
                &NestedBody {
                    error: NestedError {
                        code: &entry.code,
                        number,
                        message,
                        params,
                        details: err.details(),
                        field_errors: &field_errors,
                    },
                    status,
                    request_id: ctx.request_id,
                },
            ),
        }
    }

    /// The report that logs and alerts receive for `err`; it shares `err`.
    pub fn report(&self, err: impl Into<Arc<ApiError>>, ctx: &RenderContext<'_>) -> ErrorReport {
        let err = err.into();
        let (entry, known) = self.lookup(&err);
        let fixed = self.fixed(entry, &err, ctx.locale);
        let message = self.shared_message(entry, fixed, &err, ctx.locale);
        self.report_of(entry, known, err, ctx, message)
    }

    fn report_of(
        &self,
        entry: &CompiledEntry,
        known: bool,
        err: Arc<ApiError>,
        ctx: &RenderContext<'_>,
        message: Arc<str>,
    ) -> ErrorReport {
        let locale = match self.locale_tags.get(ctx.locale.index()) {
            Some(tag) => Arc::clone(tag),
            None => self.locale_tag(ctx.locale).into(),
        };
        ErrorReport {
            code: Arc::clone(&entry.code),
            status: Self::status_of(entry, &err),
            message,
            locale,
            request_id: ctx.request_id.map(Arc::from),
            error: err,
            in_catalog: known,
            alert: entry.alert,
            spike: entry.spike,
            docs_url: entry.docs_url.clone(),
        }
    }

    fn field_message(&self, fe: &FieldError, locale: LocaleId, out: &mut String) {
        match (self.fields.get(fe.code.as_ref()), &fe.message) {
            (Some(f), _) => render_template(&f.templates, locale, &fe.params, out),
            (None, Some(m)) => out.push_str(m),
            (None, None) => match self.fields.get("invalid") {
                Some(f) => render_template(&f.templates, locale, &fe.params, out),
                None => out.push_str("invalid"),
            },
        }
    }
}

fn render_template(
    templates: &[Template],
    locale: LocaleId,
    params: &[(Cow<'static, str>, ParamValue)],
    out: &mut String,
) {
    let Some(t) = templates.get(locale.index()).or_else(|| templates.first()) else {
        return;
    };
    for seg in &t.segments {
        match seg {
            errata_catalog::template::Segment::Text(s) => out.push_str(s),
            errata_catalog::template::Segment::Param(name) => {
                match params.iter().find(|(n, _)| n == name) {
                    Some((_, v)) => v.write_to(out),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
            }
        }
    }
}

struct FieldErrors<'a> {
    renderer: Option<&'a Renderer>,
    locale: LocaleId,
    errors: &'a [(String, FieldError)],
}

impl FieldErrors<'_> {
    /// No field errors (the pre-serialized bodies have none).
    const NONE: FieldErrors<'static> = FieldErrors {
        renderer: None,
        locale: LocaleId::DEFAULT,
        errors: &[],
    };

    fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    fn message(&self, fe: &FieldError) -> String {
        let mut m = String::new();
        if let Some(renderer) = self.renderer {
            renderer.field_message(fe, self.locale, &mut m);
        }
        m
    }
}

#[derive(Serialize)]
struct FieldItem<'a> {
    code: &'a str,
    message: String,
}

/// `{"path": [{"code", "message"}, …], …}`, paths in first-seen order.
impl Serialize for FieldErrors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (i, (path, _)) in self.errors.iter().enumerate() {
            if self.errors[..i].iter().any(|(p, _)| p == path) {
                continue;
            }
            let items: Vec<FieldItem<'_>> = self.errors[i..]
                .iter()
                .filter(|(p, _)| p == path)
                .map(|(_, fe)| FieldItem {
                    code: &fe.code,
                    message: self.message(fe),
                })
                .collect();
            map.serialize_entry(path, &items)?;
        }
        map.end()
    }
}

/// RFC 9457 `errors`: `[{"field", "code", "message"}, …]`.
struct ProblemErrors<'a>(&'a FieldErrors<'a>);

impl Serialize for ProblemErrors<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item<'a> {
            field: &'a str,
            code: &'a str,
            message: String,
        }
        let mut seq = serializer.serialize_seq(Some(self.0.errors.len()))?;
        for (path, fe) in self.0.errors {
            seq.serialize_element(&Item {
                field: path,
                code: &fe.code,
                message: self.0.message(fe),
            })?;
        }
        seq.end()
    }
}

/// The declared parameters of an entry that an error carries, as a JSON object.
struct Params<'a> {
    member: &'a str,
    declared: &'a [Box<str>],
    values: &'a [(Cow<'static, str>, ParamValue)],
}

impl Params<'_> {
    fn any(&self) -> bool {
        !self.declared.is_empty()
            && self
                .values
                .iter()
                .any(|(n, _)| self.declared.iter().any(|d| **d == **n))
    }
}

/// A parameter value as JSON (a non-finite number is `null`, as serde_json writes it).
struct ParamJson<'a>(&'a ParamValue);

impl Serialize for ParamJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ParamValue::Str(s) => serializer.serialize_str(s),
            ParamValue::Int(i) => serializer.serialize_i64(*i),
            ParamValue::Num(n) if n.is_finite() => serializer.serialize_f64(*n),
            ParamValue::Num(_) => serializer.serialize_unit(),
            ParamValue::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

/// `{"name": value, …}` in declaration order, the first value of each declared name.
impl Serialize for Params<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for name in self.declared {
            if let Some((_, v)) = self.values.iter().find(|(n, _)| **n == **name) {
                map.serialize_entry(&**name, &ParamJson(v))?;
            }
        }
        map.end()
    }
}

struct NestedBody<'a> {
    error: NestedError<'a>,
    status: u16,
    request_id: Option<&'a str>,
}

impl Serialize for NestedBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("error", &self.error)?;
        map.serialize_entry("status", &self.status)?;
        if let Some(id) = self.request_id {
            map.serialize_entry("request_id", id)?;
        }
        map.end()
    }
}

struct NestedError<'a> {
    code: &'a str,
    number: Option<(&'a str, &'a str)>,
    message: &'a str,
    params: Option<&'a Params<'a>>,
    details: Option<&'a serde_json::Map<String, serde_json::Value>>,
    field_errors: &'a FieldErrors<'a>,
}

impl Serialize for NestedError<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("code", self.code)?;
        if let Some((member, number)) = self.number {
            map.serialize_entry(member, number)?;
        }
        map.serialize_entry("message", self.message)?;
        if let Some(p) = self.params {
            map.serialize_entry(p.member, p)?;
        }
        if let Some(d) = self.details {
            map.serialize_entry("details", d)?;
        }
        if !self.field_errors.is_empty() {
            map.serialize_entry("field_errors", self.field_errors)?;
        }
        map.end()
    }
}

struct ProblemBody<'a> {
    type_uri: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    instance: Option<&'a str>,
    code: &'a str,
    number: Option<(&'a str, &'a str)>,
    params: Option<&'a Params<'a>>,
    errors: ProblemErrors<'a>,
    details: Option<&'a serde_json::Map<String, serde_json::Value>>,
    request_id: Option<&'a str>,
}

impl Serialize for ProblemBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.type_uri)?;
        map.serialize_entry("title", self.title)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("detail", self.detail)?;
        if let Some(i) = self.instance {
            map.serialize_entry("instance", i)?;
        }
        map.serialize_entry("code", self.code)?;
        if let Some((member, number)) = self.number {
            map.serialize_entry(member, number)?;
        }
        if let Some(p) = self.params {
            map.serialize_entry(p.member, p)?;
        }
        if !self.errors.0.is_empty() {
            map.serialize_entry("errors", &self.errors)?;
        }
        if let Some(d) = self.details {
            map.serialize_entry("details", d)?;
        }
        if let Some(id) = self.request_id {
            map.serialize_entry("request_id", id)?;
        }
        map.end()
    }
}

struct FlatBody<'a> {
    status: u16,
    code: &'a str,
    number: Option<(&'a str, &'a str)>,
    message: &'a str,
    params: Option<&'a Params<'a>>,
    field_errors: &'a FieldErrors<'a>,
    request_id: Option<&'a str>,
}

impl Serialize for FlatBody<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &self.status)?;
        map.serialize_entry("code", self.code)?;
        if let Some((member, number)) = self.number {
            map.serialize_entry(member, number)?;
        }
        map.serialize_entry("message", self.message)?;
        if let Some(p) = self.params {
            map.serialize_entry(p.member, p)?;
        }
        if !self.field_errors.is_empty() {
            map.serialize_entry("field_errors", self.field_errors)?;
        }
        if let Some(id) = self.request_id {
            map.serialize_entry("request_id", id)?;
        }
        map.end()
    }
}
