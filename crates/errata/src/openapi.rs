//! OpenAPI 3.1 pieces for a catalog, as JSON: envelope schemas, the code enum, and per-status
//! error responses whose named examples are rendered by the [`Renderer`] itself, so the
//! documented bodies are byte for byte what the server sends.
//!
//! ```
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//! let renderer = errata::Renderer::new(errors::catalog().clone());
//! let responses = errata::openapi::responses(&renderer, &["LECTURE_NOT_FOUND", "NOT_FOUND", "ALREADY_ENROLLED"]);
//! let not_found = &responses[&404];
//! assert_eq!(not_found["content"]["application/json"]["examples"]["LECTURE_NOT_FOUND"]["value"]["error"]["code"], "LECTURE_NOT_FOUND");
//! assert!(responses.contains_key(&409));
//! // Clients that ask for RFC 9457 problem details get them, documented beside the envelope.
//! assert_eq!(not_found["content"]["application/problem+json"]["examples"]["LECTURE_NOT_FOUND"]["value"]["code"], "LECTURE_NOT_FOUND");
//! assert_eq!(not_found["x-error-codes"], serde_json::json!(["LECTURE_NOT_FOUND", "NOT_FOUND"]));
//! ```

use std::collections::BTreeMap;

use errata_catalog::{reason_phrase, Catalog, Entry, ParamType};
use serde_json::{json, Map, Value};

use crate::{ApiError, Envelope, RenderContext, Renderer};

/// Name of the schema of the renderer's envelope in `components.schemas`.
pub fn envelope_schema_name(envelope: Envelope) -> &'static str {
    match envelope {
        Envelope::Nested => "ErrorEnvelope",
        Envelope::Problem => "ProblemDetails",
        Envelope::Flat => "FlatError",
        _ => "ErrorEnvelope",
    }
}

/// `components.schemas` entries: `ErrorCode` (every code), `FieldError`, `FieldErrors`,
/// `ErrorParams`, and the three envelopes `ErrorEnvelope` (nested), `ProblemDetails`
/// (RFC 9457) and `FlatError`, each with the members the catalog's `[envelope]` table names
/// (the parameters, and the number when it goes on the wire).
pub fn schemas(catalog: &Catalog) -> Map<String, Value> {
    let codes: Vec<&str> = catalog.entries.iter().map(|e| e.code.as_str()).collect();
    let config = &catalog.envelope;
    let field_codes: Vec<&str> = catalog.fields.iter().map(|f| f.code.as_str()).collect();
    let code_ref = json!({"$ref": "#/components/schemas/ErrorCode"});
    let field_errors = json!({"$ref": "#/components/schemas/FieldErrors"});
    let mut out = Map::new();
    out.insert(
        "ErrorCode".into(),
        json!({
            "type": "string",
            "enum": codes,
            "description": "Stable error code. Clients must keep codes they do not know (new codes are not breaking)."
        }),
    );
    out.insert(
        "FieldError".into(),
        json!({
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Field code.", "examples": field_codes},
                "message": {"type": "string"}
            }
        }),
    );
    out.insert(
        "FieldErrors".into(),
        json!({
            "type": "object",
            "description": "Field path → its problems.",
            "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}
        }),
    );
    out.insert("ErrorParams".into(), params_schema(catalog));
    let params_ref = json!({"$ref": "#/components/schemas/ErrorParams"});
    let numbers: Vec<&str> = catalog
        .entries
        .iter()
        .filter_map(|e| e.number.as_deref())
        .collect();
    let mut number_schema = json!({
        "type": "string",
        "description": "The catalog number of the code (look it up in the error reference)."
    });
    if !numbers.is_empty() {
        number_schema["enum"] = json!(numbers);
    }
    // Optional members, in the order the renderer writes them.
    let extra = |props: &mut Value| {
        if let Some(member) = &config.number {
            props[member.as_str()] = number_schema.clone();
        }
        props[config.params.as_str()] = params_ref.clone();
    };
    out.insert(
        "ErrorEnvelope".into(),
        json!({
            "type": "object",
            "required": ["error", "status"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": code_ref,
                        "message": {"type": "string", "description": "For people, in the negotiated language."},
                        "details": {"type": "object"},
                        "field_errors": field_errors
                    }
                },
                "status": {"type": "integer"},
                "request_id": {"type": "string"}
            }
        }),
    );
    out.insert(
        "ProblemDetails".into(),
        json!({
            "type": "object",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "code": code_ref,
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["field", "code", "message"],
                        "properties": {"field": {"type": "string"}, "code": {"type": "string"}, "message": {"type": "string"}}
                    }
                },
                "details": {"type": "object"},
                "request_id": {"type": "string"}
            }
        }),
    );
    if let Some(props) = out["ErrorEnvelope"].pointer_mut("/properties/error/properties") {
        extra(props);
    }
    if let Some(props) = out["ProblemDetails"].pointer_mut("/properties") {
        extra(props);
    }
    out.insert(
        "FlatError".into(),
        json!({
            "type": "object",
            "required": ["status", "code", "message"],
            "properties": {
                "status": {"type": "integer"},
                "code": code_ref,
                "message": {"type": "string"},
                "field_errors": field_errors,
                "request_id": {"type": "string"}
            }
        }),
    );
    if let Some(props) = out["FlatError"].pointer_mut("/properties") {
        extra(props);
        if config.flat_code_is_number() {
            let flat_codes: Vec<&str> = catalog
                .entries
                .iter()
                .map(|e| e.number.as_deref().unwrap_or(&e.code))
                .collect();
            props["code"] = json!({
                "type": "string",
                "description": "The catalog number of the error (its code when it has no number).",
                "enum": flat_codes
            });
        }
    }
    out
}

/// `ErrorParams`: the typed parameters of the error's code, one object shape per code that
/// declares parameters (the member is absent for codes without parameters).
fn params_schema(catalog: &Catalog) -> Value {
    let shapes: Vec<Value> = catalog
        .entries
        .iter()
        .filter(|e| !e.params.is_empty())
        .map(|e| {
            let props: Map<String, Value> = e
                .params
                .iter()
                .map(|p| (p.name.clone(), json!({"type": json_type(p.ty)})))
                .collect();
            json!({
                "title": format!("{} parameters", e.code),
                "type": "object",
                "properties": props
            })
        })
        .collect();
    let mut schema = json!({
        "type": "object",
        "description": format!(
            "The typed parameters of the error's message, under `{}`, as declared by its code in the catalog.",
            catalog.envelope.params
        ),
        "additionalProperties": {"type": ["string", "number", "boolean", "null"]}
    });
    if !shapes.is_empty() {
        schema["anyOf"] = Value::Array(shapes);
    }
    schema
}

fn json_type(ty: ParamType) -> &'static str {
    match ty {
        ParamType::String => "string",
        ParamType::Integer => "integer",
        ParamType::Number => "number",
        ParamType::Boolean => "boolean",
    }
}

/// A sample value for a parameter of type `ty` (`retry_after` gets a realistic 60).
pub fn sample_param(name: &str, ty: ParamType) -> Value {
    match ty {
        ParamType::Integer if name == "retry_after" => json!(60),
        ParamType::Integer => json!(3),
        ParamType::Number => json!(1.5),
        ParamType::Boolean => json!(true),
        ParamType::String => json!(name),
    }
}

/// `entry` as an error with sample parameters (and, for `VALIDATION_ERROR`, a sample field
/// error).
pub fn sample_error(entry: &Entry) -> ApiError {
    let base = ApiError::from_code(entry.code.clone(), entry.status);
    let base = if entry.code == "VALIDATION_ERROR" {
        base.with_field_error("email", crate::FieldError::new("required"))
    } else {
        base
    };
    entry
        .params
        .iter()
        .fold(base, |err, p| match sample_param(&p.name, p.ty) {
            Value::Number(n) if n.is_i64() => {
                err.with_param(p.name.clone(), n.as_i64().unwrap_or_default())
            }
            Value::Number(n) => err.with_param(p.name.clone(), n.as_f64().unwrap_or_default()),
            Value::Bool(b) => err.with_param(p.name.clone(), b),
            other => err.with_param(
                p.name.clone(),
                other.as_str().unwrap_or_default().to_owned(),
            ),
        })
}

/// The body the server sends for `entry` (sample parameters, default locale), as JSON.
pub fn example(renderer: &Renderer, entry: &Entry, envelope: Envelope) -> Value {
    let ctx = RenderContext {
        envelope: Some(envelope),
        ..Default::default()
    };
    let out = renderer.render(&sample_error(entry), &ctx);
    serde_json::from_slice(&out.body).unwrap_or(Value::Null)
}

/// One OpenAPI response object per status for `codes` (unknown codes are skipped), each with a
/// named example per code, in the renderer's envelope and, beside it, as
/// `application/problem+json`; each lists its codes in `x-error-codes`. A 429 documents
/// `Retry-After`, a 405 documents `Allow`.
pub fn responses(renderer: &Renderer, codes: &[&str]) -> BTreeMap<u16, Value> {
    let catalog = renderer.catalog();
    let envelope = renderer.envelope();
    let mut by_status: BTreeMap<u16, Vec<&Entry>> = BTreeMap::new();
    for code in codes {
        if let Some(entry) = catalog.get(code) {
            let list = by_status.entry(entry.status).or_default();
            if !list.iter().any(|e| e.code == entry.code) {
                list.push(entry);
            }
        }
    }
    by_status
        .into_iter()
        .map(|(status, entries)| (status, response(renderer, status, &entries, envelope)))
        .collect()
}

/// Responses for every code of the catalog, one per status.
pub fn all_responses(renderer: &Renderer) -> BTreeMap<u16, Value> {
    let codes: Vec<&str> = renderer
        .catalog()
        .entries
        .iter()
        .map(|e| e.code.as_str())
        .collect();
    responses(renderer, &codes)
}

fn response(renderer: &Renderer, status: u16, entries: &[&Entry], envelope: Envelope) -> Value {
    let listed: Vec<String> = entries.iter().map(|e| format!("`{}`", e.code)).collect();
    let codes: Vec<&str> = entries.iter().map(|e| e.code.as_str()).collect();
    let examples = |envelope: Envelope| -> Map<String, Value> {
        entries
            .iter()
            .map(|e| {
                let mut ex = Map::new();
                let summary = e
                    .message(&renderer.catalog().info.default_locale)
                    .unwrap_or_default();
                ex.insert("summary".into(), Value::String(summary.to_owned()));
                if let Some(d) = &e.description {
                    ex.insert("description".into(), Value::String(d.clone()));
                }
                ex.insert("value".into(), example(renderer, e, envelope));
                (e.code.clone(), Value::Object(ex))
            })
            .collect()
    };
    let media = |envelope: Envelope| {
        json!({
            "schema": {"$ref": format!("#/components/schemas/{}", envelope_schema_name(envelope))},
            "examples": examples(envelope)
        })
    };
    // The renderer's envelope, and RFC 9457 problem details for clients that ask for them
    // (`Accept: application/problem+json`).
    let mut content = Map::new();
    content.insert(envelope.content_type().to_owned(), media(envelope));
    if envelope != Envelope::Problem {
        content.insert(
            Envelope::Problem.content_type().to_owned(),
            media(Envelope::Problem),
        );
    }
    let mut response = json!({
        "description": format!("{}: {}", reason_phrase(status), listed.join(", ")),
        "content": content,
        "x-error-codes": codes,
    });
    let mut headers = Map::new();
    headers.insert(
        "x-request-id".into(),
        json!({"description": "The request id, echoed or generated.", "schema": {"type": "string"}}),
    );
    if status == 429 {
        headers.insert(
            "Retry-After".into(),
            json!({"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}),
        );
    }
    if status == 405 {
        headers.insert(
            "Allow".into(),
            json!({"description": "The methods the path accepts.", "schema": {"type": "string"}}),
        );
    }
    response["headers"] = Value::Object(headers);
    response
}
