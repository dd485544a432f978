//! `errata openapi`: an OpenAPI 3.1 document describing the API's errors.
//!
//! `components.schemas` holds the three envelopes (`ErrorEnvelope`, `ProblemDetails`,
//! `FlatError`), `FieldError` and `ErrorCode` (a string enum of every code).
//! `components.responses` holds one response per status (`Error409`), whose content references
//! the chosen envelope and has one named example per code of that status, its message in the
//! default locale with sample parameter values. `paths` is empty: merge the components into the
//! API's own document and reference them (`$ref: '#/components/responses/Error409'`).

use errata::Renderer;
use errata_catalog::Catalog;
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
            "schemas": errata::openapi::schemas(catalog),
            "responses": responses(catalog, envelope),
        },
    })
}

/// `Error{status}` → the response of every code with that status.
fn responses(catalog: &Catalog, envelope: Envelope) -> Value {
    let renderer = Renderer::new(catalog.clone()).with_envelope(envelope.into());
    let responses: Map<String, Value> = errata::openapi::all_responses(&renderer)
        .into_iter()
        .map(|(status, response)| (format!("Error{status}"), response))
        .collect();
    Value::Object(responses)
}
