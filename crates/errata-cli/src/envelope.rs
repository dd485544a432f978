//! The three JSON shapes of an error body, and example bodies with sample parameter values.
//!
//! The shapes are the ones the `errata` renderer produces:
//!
//! - nested: `{"error": {"code", "message", "details", "field_errors"}, "status", "request_id"}`
//! - problem (RFC 9457): `{"type", "title", "status", "detail", "instance", "code", "errors",
//!   "details", "request_id"}`, served as `application/problem+json`
//! - flat: `{"status", "code", "message", "field_errors", "request_id"}`

use std::collections::HashMap;

use clap::ValueEnum;
use errata_catalog::template::Template;
use errata_catalog::{reason_phrase, Catalog, Entry, FieldCode, ParamType};
use serde_json::{json, Map, Value};

/// The code whose examples carry field errors.
pub const VALIDATION_CODE: &str = "VALIDATION_ERROR";

/// The JSON shape of error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Envelope {
    /// `{"error": {"code", "message", "details", "field_errors"}, "status"}`.
    Nested,
    /// RFC 9457 problem details with the extensions `code`, `errors`, `request_id`.
    Problem,
    /// `{"status", "code", "message"}`.
    Flat,
}

impl Envelope {
    /// The name of its schema under `components.schemas`.
    pub fn schema_name(self) -> &'static str {
        match self {
            Envelope::Nested => "ErrorEnvelope",
            Envelope::Problem => "ProblemDetails",
            Envelope::Flat => "FlatError",
        }
    }

    /// The content type of bodies in this envelope.
    pub fn media_type(self) -> &'static str {
        match self {
            Envelope::Problem => "application/problem+json",
            Envelope::Nested | Envelope::Flat => "application/json",
        }
    }

    /// An example body of `entry` in `locale`, placeholders filled with sample values.
    pub fn example(self, catalog: &Catalog, entry: &Entry, locale: &str) -> Value {
        let message = sample_message(catalog, entry, locale);
        let fields = (entry.code == VALIDATION_CODE)
            .then(|| sample_field_error(catalog, locale))
            .flatten();
        match self {
            Envelope::Nested => {
                let mut error = Map::new();
                error.insert("code".into(), json!(entry.code));
                error.insert("message".into(), json!(message));
                if let Some((path, code, text)) = &fields {
                    error.insert(
                        "field_errors".into(),
                        json!({ path: [{ "code": code, "message": text }] }),
                    );
                }
                json!({ "error": error, "status": entry.status })
            }
            Envelope::Problem => {
                let mut body = Map::new();
                let type_uri = catalog
                    .docs_link(&entry.code)
                    .unwrap_or_else(|| "about:blank".to_owned());
                body.insert("type".into(), json!(type_uri));
                body.insert("title".into(), json!(title(entry)));
                body.insert("status".into(), json!(entry.status));
                body.insert("detail".into(), json!(message));
                body.insert("code".into(), json!(entry.code));
                if let Some((path, code, text)) = &fields {
                    body.insert(
                        "errors".into(),
                        json!([{ "field": path, "code": code, "message": text }]),
                    );
                }
                Value::Object(body)
            }
            Envelope::Flat => {
                let mut body = Map::new();
                body.insert("status".into(), json!(entry.status));
                body.insert("code".into(), json!(entry.code));
                body.insert("message".into(), json!(message));
                if let Some((path, code, text)) = &fields {
                    body.insert(
                        "field_errors".into(),
                        json!({ path: [{ "code": code, "message": text }] }),
                    );
                }
                Value::Object(body)
            }
        }
    }
}

/// The entry's title, or the reason phrase of its status (RFC 9457 `title`).
pub fn title(entry: &Entry) -> &str {
    entry
        .title
        .as_deref()
        .unwrap_or_else(|| reason_phrase(entry.status))
}

/// The template of `messages` in `locale`, falling back to the catalog's default locale, then
/// to any locale (built-in entries ship `ko` and `en` whatever the catalog's locales are).
pub fn message_in<'a>(
    catalog: &Catalog,
    messages: &'a std::collections::BTreeMap<String, String>,
    locale: &str,
) -> Option<&'a str> {
    messages
        .get(locale)
        .or_else(|| messages.get(&catalog.info.default_locale))
        .or_else(|| messages.values().next())
        .map(String::as_str)
}

/// A sample value of a parameter type.
pub fn sample_value(ty: ParamType) -> Value {
    match ty {
        ParamType::String => json!("example"),
        ParamType::Integer => json!(30),
        ParamType::Number => json!(2.5),
        ParamType::Boolean => json!(true),
    }
}

/// Sample values for every parameter of `params`, keyed by name.
pub fn sample_params(params: &[errata_catalog::Param]) -> Map<String, Value> {
    params
        .iter()
        .map(|p| (p.name.clone(), sample_value(p.ty)))
        .collect()
}

/// Renders `template` with `values`; placeholders without a value stay as written.
pub fn render(template: &str, values: &Map<String, Value>) -> String {
    let texts: HashMap<&str, String> = values
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.as_str(), text)
        })
        .collect();
    match Template::parse(template) {
        Ok(t) => {
            let mut out = String::new();
            t.render_with(&mut out, |name| texts.get(name).map(String::as_str));
            out
        }
        Err(_) => template.to_owned(),
    }
}

/// The entry's message in `locale` with sample parameter values.
pub fn sample_message(catalog: &Catalog, entry: &Entry, locale: &str) -> String {
    let template = message_in(catalog, &entry.messages, locale).unwrap_or_default();
    render(template, &sample_params(&entry.params))
}

/// A sample field error for validation examples: `(path, field code, message)`.
fn sample_field_error(catalog: &Catalog, locale: &str) -> Option<(String, String, String)> {
    let field: &FieldCode = catalog
        .field("required")
        .or_else(|| catalog.fields.first())?;
    let template = message_in(catalog, &field.messages, locale).unwrap_or_default();
    let message = render(template, &sample_params(&field.params));
    Some(("email".to_owned(), field.code.clone(), message))
}
