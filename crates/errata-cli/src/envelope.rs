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
use errata_catalog::Entry;
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

pub use errata_docs::message_in;
