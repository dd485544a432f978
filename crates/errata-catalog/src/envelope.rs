//! The `[envelope]` table: the shape of error bodies on the wire, read by the server's renderer,
//! the OpenAPI schemas and every generated client alike.
//!
//! ```toml
//! [envelope]
//! format = "flat"            # nested (default) | problem | flat
//! params = "params"          # the member carrying the code's typed parameters (default `params`)
//! number = "code_number"     # the member carrying the entry's number (absent: not rendered)
//! flat_code = "number"       # the flat envelope's `code` is the number (default `code`)
//! ```

use serde::Serialize;

/// The JSON shape of error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Envelope {
    /// `{"error": {"code", "message", "details", "field_errors"}, "status"}`.
    #[default]
    Nested,
    /// RFC 9457 problem details: `type`, `title`, `status`, `detail`, `instance` and the
    /// extensions `code`, `errors`, `request_id`; served as `application/problem+json`.
    Problem,
    /// `{"status", "code", "message"}`.
    Flat,
}

impl Envelope {
    /// Every envelope, in the order they are documented.
    pub const ALL: [Envelope; 3] = [Envelope::Nested, Envelope::Problem, Envelope::Flat];

    /// The content type of bodies in this envelope.
    pub fn content_type(self) -> &'static str {
        match self {
            Envelope::Problem => "application/problem+json",
            Envelope::Nested | Envelope::Flat => "application/json",
        }
    }

    /// The catalog spelling (`nested`, `problem`, `flat`).
    pub fn as_str(self) -> &'static str {
        match self {
            Envelope::Nested => "nested",
            Envelope::Problem => "problem",
            Envelope::Flat => "flat",
        }
    }

    /// Parses the catalog spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "nested" => Envelope::Nested,
            "problem" => Envelope::Problem,
            "flat" => Envelope::Flat,
            _ => return None,
        })
    }

    /// The members the envelope itself uses at the level where `params` and the number go
    /// (inside `error` for the nested envelope, the top level for the others).
    pub fn reserved_members(self) -> &'static [&'static str] {
        match self {
            Envelope::Nested => &["code", "message", "details", "field_errors"],
            Envelope::Problem => &[
                "type",
                "title",
                "status",
                "detail",
                "instance",
                "code",
                "errors",
                "details",
                "request_id",
            ],
            Envelope::Flat => &["status", "code", "message", "field_errors", "request_id"],
        }
    }
}

/// What the flat envelope puts in its `code` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FlatCode {
    /// The entry's code (`ALREADY_ENROLLED`).
    #[default]
    Code,
    /// The entry's number (`E409001`, seed 004's shape); entries without a number keep their
    /// code.
    Number,
}

/// The `[envelope]` table of a catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvelopeConfig {
    /// The envelope a renderer built from the catalog uses (clients asking for
    /// `application/problem+json` still get problem details).
    pub format: Envelope,
    /// Name of the member carrying the typed parameters of the code (`{"retry_after": 30}`);
    /// rendered when the error has any of the parameters its entry declares.
    pub params: String,
    /// Name of the member carrying the entry's number, when numbers go on the wire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// What the flat envelope's `code` member holds.
    pub flat_code: FlatCode,
}

impl Default for EnvelopeConfig {
    fn default() -> Self {
        Self {
            format: Envelope::Nested,
            params: "params".to_owned(),
            number: None,
            flat_code: FlatCode::Code,
        }
    }
}

impl EnvelopeConfig {
    /// Whether the flat envelope's `code` is the number.
    pub fn flat_code_is_number(&self) -> bool {
        self.flat_code == FlatCode::Number
    }
}

/// Whether `name` can name an envelope member: 1–64 ASCII letters, digits, `_` or `-`,
/// starting with a letter or `_`.
pub(crate) fn is_member_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
