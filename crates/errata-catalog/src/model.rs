//! The catalog as data: what one file declares once it has passed every check.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use serde::Serialize;

use crate::template::Template;

/// A checked error catalog: every error an API can return, with the built-in ones included.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// The `[catalog]` table.
    pub info: CatalogInfo,
    /// The optional numbering scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Every entry: the file's in file order, then the built-ins the file did not override.
    pub entries: Vec<Entry>,
    /// Codes for field-level (validation) errors, built-ins included.
    pub fields: Vec<FieldCode>,
    /// Declarative mappings of upstream API failures to catalog errors.
    pub upstreams: Vec<Upstream>,
    /// The `[envelope]` table: body format and the names of its optional members.
    pub envelope: crate::envelope::EnvelopeConfig,
    /// The `[alerting]` table: timing and locale of alerts (environment variables win).
    #[serde(skip_serializing_if = "AlertingConfig::is_empty")]
    pub alerting: AlertingConfig,
    #[serde(skip)]
    pub(crate) index: HashMap<String, usize>,
    #[serde(skip)]
    pub(crate) field_index: HashMap<String, usize>,
}

/// The `[alerting]` table: how errata-alert groups and writes this API's alerts. Every value is
/// optional; `ERRATA_*` variables win over it, and it wins over the defaults in code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AlertingConfig {
    /// Wait after a new group's first event before its first notice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<std::time::Duration>,
    /// Least time between two notices of one group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<std::time::Duration>,
    /// Quiet time after which a group closes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<std::time::Duration>,
    /// Quiet time after which a group that alerted gets a resolved notice; `Some(None)` is
    /// `resolve_after = "off"` (no resolved notices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve_after: Option<Option<std::time::Duration>>,
    /// Locale alerts are written in (one of the catalog's locales).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl AlertingConfig {
    /// Whether the table sets nothing.
    pub fn is_empty(&self) -> bool {
        *self == AlertingConfig::default()
    }
}

/// The `[catalog]` table: name, version and locales of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogInfo {
    /// Name of the API (used in titles and generated identifiers).
    pub name: String,
    /// Version of the catalog (free text, usually semver).
    pub version: String,
    /// The locale used when the client asks for none the catalog has.
    pub default_locale: String,
    /// Every locale each entry must have a message for, default first.
    pub locales: Vec<String>,
    /// Documentation URL template with `{code}`; feeds RFC 9457 `type` and doc links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docs_url: Option<String>,
}

/// A numbering scheme that every numbered entry must follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Scheme {
    /// Four digits: domain, kind, two-digit sequence (`3101` = domain 3, kind 1, #01).
    DomainKindSeq {
        /// Domain name → digit.
        domains: BTreeMap<String, u8>,
        /// Kind name → digit.
        kinds: BTreeMap<String, u8>,
    },
    /// A prefix, the entry's HTTP status, a three-digit sequence (`E409001`).
    StatusSeq {
        /// The letters before the status (default `E`).
        prefix: String,
    },
}

/// When an error of this code should raise an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AlertPolicy {
    /// Never alert (counted all the same).
    #[default]
    Never,
    /// Alert on every new group of these errors.
    Always,
    /// Alert when the code exceeds a threshold within a window.
    Spike,
}

impl AlertPolicy {
    /// The default for a status: 5xx always, 4xx never.
    pub fn default_for(status: u16) -> Self {
        if status >= 500 {
            AlertPolicy::Always
        } else {
            AlertPolicy::Never
        }
    }

    /// The catalog spelling (`never`, `always`, `spike`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertPolicy::Never => "never",
            AlertPolicy::Always => "always",
            AlertPolicy::Spike => "spike",
        }
    }
}

/// A spike rule: alert when more than `count` events arrive within `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct SpikeRule {
    /// Events in the window above which the alert fires.
    pub count: u32,
    /// Length of the sliding window in seconds.
    pub window_secs: u64,
}

/// The type of a message parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Text.
    String,
    /// A whole number (`i64`).
    Integer,
    /// A floating-point number (`f64`).
    Number,
    /// `true` or `false`.
    Boolean,
}

impl ParamType {
    /// Parses the catalog spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "string" => ParamType::String,
            "integer" => ParamType::Integer,
            "number" => ParamType::Number,
            "boolean" => ParamType::Boolean,
            _ => return None,
        })
    }

    /// The catalog spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Integer => "integer",
            ParamType::Number => "number",
            ParamType::Boolean => "boolean",
        }
    }
}

/// A typed message parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Param {
    /// Placeholder name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: ParamType,
}

/// One error of the API.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Stable UPPER_SNAKE_CASE code, the thing clients match on.
    pub code: String,
    /// HTTP status, 400–599.
    pub status: u16,
    /// Optional number (canonical text: `3101`, `0102`, `E409001`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Domain name under a `domain-kind-seq` scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Kind name under a `domain-kind-seq` scheme.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Short title (RFC 9457 `title`); defaults to the status's reason phrase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message template per locale.
    pub messages: BTreeMap<String, String>,
    /// Declared parameters, in declaration order.
    pub params: Vec<Param>,
    /// Markdown for the docs page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether retrying the same request may succeed.
    pub retryable: bool,
    /// Monitoring policy.
    pub alert: AlertPolicy,
    /// Threshold for [`AlertPolicy::Spike`], when the entry sets one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spike: Option<SpikeRule>,
    /// Why the code is deprecated, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
    /// Older codes that still resolve to this entry.
    pub aliases: Vec<String>,
    /// WebSocket close code for errors that end a socket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ws_close: Option<u16>,
    /// Shipped by errata (the framework's own errors), possibly overridden by the file.
    pub builtin: bool,
    /// Where the entry's header is in the source, when it came from a file.
    #[serde(skip)]
    pub span: Option<Range<usize>>,
}

impl Entry {
    /// The message template for `locale`, if the entry has one.
    pub fn message(&self, locale: &str) -> Option<&str> {
        self.messages.get(locale).map(String::as_str)
    }

    /// The parsed template for `locale`.
    pub fn template(&self, locale: &str) -> Option<Template> {
        self.message(locale).and_then(|m| Template::parse(m).ok())
    }

    /// The declared parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Whether the status is a server error (5xx).
    pub fn is_server_error(&self) -> bool {
        self.status >= 500
    }
}

/// A code for one field-level (validation) problem, like `too_short`.
#[derive(Debug, Clone, Serialize)]
pub struct FieldCode {
    /// lower_snake_case code.
    pub code: String,
    /// Message template per locale.
    pub messages: BTreeMap<String, String>,
    /// Declared parameters.
    pub params: Vec<Param>,
    /// Shipped by errata.
    pub builtin: bool,
}

/// How failures of one upstream API map to catalog errors.
#[derive(Debug, Clone, Serialize)]
pub struct Upstream {
    /// Upstream name (`kakao`).
    pub name: String,
    /// Code raised when no rule matches a failure.
    pub on_unmatched: String,
    /// Code raised when the upstream does not answer in time.
    pub on_timeout: String,
    /// Rules, tried in order; the first match wins.
    pub rules: Vec<UpstreamRule>,
}

/// One mapping rule: every condition present must hold; within a condition, any value matches.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpstreamRule {
    /// Upstream HTTP statuses that match (empty: any).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<u16>,
    /// Substrings of the upstream body, any of which matches (empty: no text condition).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub message_contains: Vec<String>,
    /// Fields of the upstream's JSON body (dotted paths) and the values that match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub json: Vec<(String, Vec<serde_json::Value>)>,
    /// The catalog code to raise.
    pub raise: String,
}

impl Catalog {
    /// The entry for `code` or one of its aliases.
    pub fn get(&self, code: &str) -> Option<&Entry> {
        self.index.get(code).map(|&i| &self.entries[i])
    }

    /// The field code called `code`.
    pub fn field(&self, code: &str) -> Option<&FieldCode> {
        self.field_index.get(code).map(|&i| &self.fields[i])
    }

    /// The upstream mapping called `name`.
    pub fn upstream(&self, name: &str) -> Option<&Upstream> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// The documentation link of `code`, when the catalog has a `docs_url`.
    pub fn docs_link(&self, code: &str) -> Option<String> {
        self.info
            .docs_url
            .as_ref()
            .map(|u| u.replace("{code}", code))
    }

    /// Entries grouped by status, in ascending status order.
    pub fn by_status(&self) -> BTreeMap<u16, Vec<&Entry>> {
        let mut map: BTreeMap<u16, Vec<&Entry>> = BTreeMap::new();
        for e in &self.entries {
            map.entry(e.status).or_default().push(e);
        }
        map
    }

    pub(crate) fn rebuild_index(&mut self) {
        self.index.clear();
        for (i, e) in self.entries.iter().enumerate() {
            self.index.insert(e.code.clone(), i);
            for a in &e.aliases {
                self.index.entry(a.clone()).or_insert(i);
            }
        }
        self.field_index = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.code.clone(), i))
            .collect();
    }
}

/// The standard reason phrase of an HTTP error status.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        511 => "Network Authentication Required",
        _ if status < 500 => "Client Error",
        _ => "Server Error",
    }
}
