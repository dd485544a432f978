//! `errata openapi`: an OpenAPI 3.1 document describing the API's errors.
//!
//! `components.schemas` holds the three envelopes (`ErrorEnvelope`, `ProblemDetails`,
//! `FlatError`), `FieldError` and `ErrorCode` (a string enum of every code).
//! `components.responses` holds one response per status (`Error409`), whose content references
//! the chosen envelope and has one named example per code of that status, its message in the
//! default locale with sample parameter values. `paths` is empty: merge the components into the
//! API's own document and reference them (`$ref: '#/components/responses/Error409'`).

use errata_catalog::{reason_phrase, Catalog};
use serde_json::{json, Map, Value};

use crate::envelope::Envelope;

/// The OpenAPI document of `catalog`, its responses in `envelope`.
pub fn document(catalog: &Catalog, envelope: Envelope) -> Value {
    let info = &catalog.info;
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": info.name,
            "version": info.version,
            "description": format!(
                "Error responses of {}. Every error body carries a stable `code` from `ErrorCode`; \
                 clients should treat codes they do not know as a generic error of the status.",
                info.name
            ),
        },
        "paths": {},
        "components": {
            "schemas": schemas(catalog),
            "responses": responses(catalog, envelope),
        },
    })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn schemas(catalog: &Catalog) -> Value {
    let codes: Vec<&str> = catalog.entries.iter().map(|e| e.code.as_str()).collect();
    let field_errors = json!({
        "type": "object",
        "description": "Field path → the problems of that field.",
        "additionalProperties": { "type": "array", "items": schema_ref("FieldError") },
    });
    json!({
        "ErrorCode": {
            "type": "string",
            "description": "Every error code of the catalog. New codes may appear in later versions: treat unknown ones as a generic error of their status.",
            "enum": codes,
        },
        "FieldError": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": { "type": "string", "description": "A field code such as `required` or `too_short`." },
                "message": { "type": "string", "description": "Localized message for this field." },
            },
        },
        "FieldErrors": field_errors,
        "ErrorEnvelope": {
            "type": "object",
            "description": "The nested envelope: `{\"error\": {...}, \"status\"}`.",
            "required": ["error", "status"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": schema_ref("ErrorCode"),
                        "message": { "type": "string", "description": "Message in the client's locale." },
                        "details": { "type": "object", "additionalProperties": true, "description": "Additional data about this error." },
                        "field_errors": schema_ref("FieldErrors"),
                    },
                },
                "status": { "type": "integer", "description": "The HTTP status, repeated." },
                "request_id": { "type": "string", "description": "Id of the request, for support and logs." },
            },
        },
        "ProblemDetails": {
            "type": "object",
            "description": "RFC 9457 problem details, served as `application/problem+json`.",
            "required": ["type", "title", "status", "code"],
            "properties": {
                "type": { "type": "string", "format": "uri-reference", "description": "Documentation of the error, or `about:blank`." },
                "title": { "type": "string" },
                "status": { "type": "integer" },
                "detail": { "type": "string", "description": "Message in the client's locale." },
                "instance": { "type": "string", "format": "uri-reference", "description": "The request path." },
                "code": schema_ref("ErrorCode"),
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "code", "message"],
                        "properties": {
                            "field": { "type": "string" },
                            "code": { "type": "string" },
                            "message": { "type": "string" },
                        },
                    },
                },
                "details": { "type": "object", "additionalProperties": true },
                "request_id": { "type": "string" },
            },
        },
        "FlatError": {
            "type": "object",
            "description": "The flat envelope: `{\"status\", \"code\", \"message\"}`.",
            "required": ["status", "code", "message"],
            "properties": {
                "status": { "type": "integer" },
                "code": schema_ref("ErrorCode"),
                "message": { "type": "string" },
                "field_errors": schema_ref("FieldErrors"),
                "request_id": { "type": "string" },
            },
        },
    })
}

fn responses(catalog: &Catalog, envelope: Envelope) -> Value {
    let locale = &catalog.info.default_locale;
    let mut responses = Map::new();
    for (status, entries) in catalog.by_status() {
        let mut examples = Map::new();
        for entry in &entries {
            let mut example = Map::new();
            example.insert(
                "summary".into(),
                json!(crate::envelope::sample_message(catalog, entry, locale)),
            );
            if let Some(why) = &entry.deprecated {
                example.insert("description".into(), json!(format!("Deprecated: {why}")));
            }
            example.insert("value".into(), envelope.example(catalog, entry, locale));
            examples.insert(entry.code.clone(), Value::Object(example));
        }
        let codes: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
        responses.insert(
            format!("Error{status}"),
            json!({
                "description": format!("{status} {}: {}", reason_phrase(status), codes.join(", ")),
                "content": {
                    envelope.media_type(): {
                        "schema": schema_ref(envelope.schema_name()),
                        "examples": examples,
                    },
                },
            }),
        );
    }
    Value::Object(responses)
}
