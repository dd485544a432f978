//! The reference as a stable machine format, `errata-docs/1`.
//!
//! ```json
//! {
//!   "format": "errata-docs/1",
//!   "catalog": { "name", "version", "default_locale", "locales", "docs_url" },
//!   "errors": [{ "code", "status", "reason", "title", "number", "domain", "kind",
//!                "messages": { "<locale>": "<template>" }, "params": [{ "name", "type" }],
//!                "description", "retryable", "deprecated", "aliases", "ws_close",
//!                "alert": { "policy", "spike": { "count", "window_secs" } },
//!                "builtin", "docs_url" }],
//!   "fields": [{ "code", "messages", "params", "builtin" }]
//! }
//! ```
//!
//! Every key is always present (`null` when the catalog has nothing to say); errors and field
//! codes are in catalog order. New keys may be added; existing ones keep their meaning while
//! the format stays `errata-docs/1`.

use std::collections::BTreeMap;

use errata_catalog::{reason_phrase, Catalog, Entry, FieldCode, Param, SpikeRule};
use serde::Serialize;

/// The value of the `format` key.
pub const FORMAT: &str = "errata-docs/1";

#[derive(Serialize)]
struct Document<'a> {
    format: &'static str,
    catalog: CatalogDoc<'a>,
    errors: Vec<EntryDoc<'a>>,
    fields: Vec<FieldDoc<'a>>,
}

#[derive(Serialize)]
struct CatalogDoc<'a> {
    name: &'a str,
    version: &'a str,
    default_locale: &'a str,
    locales: &'a [String],
    docs_url: Option<&'a str>,
}

#[derive(Serialize)]
struct ParamDoc<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    ty: &'static str,
}

#[derive(Serialize)]
struct AlertDoc {
    policy: &'static str,
    spike: Option<SpikeRule>,
}

#[derive(Serialize)]
struct EntryDoc<'a> {
    code: &'a str,
    status: u16,
    reason: &'static str,
    title: Option<&'a str>,
    number: Option<&'a str>,
    domain: Option<&'a str>,
    kind: Option<&'a str>,
    messages: &'a BTreeMap<String, String>,
    params: Vec<ParamDoc<'a>>,
    description: Option<&'a str>,
    retryable: bool,
    deprecated: Option<&'a str>,
    aliases: &'a [String],
    ws_close: Option<u16>,
    alert: AlertDoc,
    builtin: bool,
    docs_url: Option<String>,
}

#[derive(Serialize)]
struct FieldDoc<'a> {
    code: &'a str,
    messages: &'a BTreeMap<String, String>,
    params: Vec<ParamDoc<'a>>,
    builtin: bool,
}

fn params(params: &[Param]) -> Vec<ParamDoc<'_>> {
    params
        .iter()
        .map(|p| ParamDoc {
            name: &p.name,
            ty: p.ty.as_str(),
        })
        .collect()
}

fn entry<'a>(catalog: &Catalog, e: &'a Entry) -> EntryDoc<'a> {
    EntryDoc {
        code: &e.code,
        status: e.status,
        reason: reason_phrase(e.status),
        title: e.title.as_deref(),
        number: e.number.as_deref(),
        domain: e.domain.as_deref(),
        kind: e.kind.as_deref(),
        messages: &e.messages,
        params: params(&e.params),
        description: e.description.as_deref(),
        retryable: e.retryable,
        deprecated: e.deprecated.as_deref(),
        aliases: &e.aliases,
        ws_close: e.ws_close,
        alert: AlertDoc {
            policy: e.alert.as_str(),
            spike: e.spike,
        },
        builtin: e.builtin,
        docs_url: catalog.docs_link(&e.code),
    }
}

fn field(f: &FieldCode) -> FieldDoc<'_> {
    FieldDoc {
        code: &f.code,
        messages: &f.messages,
        params: params(&f.params),
        builtin: f.builtin,
    }
}

/// Renders the JSON reference of `catalog`, pretty-printed.
pub fn render(catalog: &Catalog) -> String {
    let info = &catalog.info;
    let document = Document {
        format: FORMAT,
        catalog: CatalogDoc {
            name: &info.name,
            version: &info.version,
            default_locale: &info.default_locale,
            locales: &info.locales,
            docs_url: info.docs_url.as_deref(),
        },
        errors: catalog.entries.iter().map(|e| entry(catalog, e)).collect(),
        fields: catalog.fields.iter().map(field).collect(),
    };
    // Plain data with string keys: serialization cannot fail.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
