//! The three JSON shapes of an error body, and example bodies with sample parameter values.
//!
//! The shapes are the ones the `errata` renderer produces:
//!
//! - nested: `{"error": {"code", "message", "details", "field_errors"}, "status", "request_id"}`
//! - problem (RFC 9457): `{"type", "title", "status", "detail", "instance", "code", "errors",
//!   "details", "request_id"}`, served as `application/problem+json`
//! - flat: `{"status", "code", "message", "field_errors", "request_id"}`

use clap::ValueEnum;
use errata::Renderer;
use errata_catalog::{Catalog, Entry};
use serde_json::Value;

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

    /// The body the server sends for `entry` in this envelope (default locale, sample
    /// parameters), rendered by errata's own renderer.
    pub fn example(self, renderer: &Renderer, entry: &Entry) -> Value {
        errata::openapi::example(renderer, entry, self.into())
    }
}

impl From<Envelope> for errata::Envelope {
    fn from(e: Envelope) -> Self {
        match e {
            Envelope::Nested => errata::Envelope::Nested,
            Envelope::Problem => errata::Envelope::Problem,
            Envelope::Flat => errata::Envelope::Flat,
        }
    }
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
