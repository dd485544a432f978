//! Error responses in a utoipa OpenAPI document: the envelope schemas once, and for each route
//! the codes it declares, grouped by status with one named example per code (rendered by the
//! catalog's renderer, so the examples are what the server sends).
//!
//! ```
//! use errata_axum::openapi::{add_error_schemas, error_responses};
//! use utoipa::openapi::{path::{HttpMethod, OperationBuilder}, OpenApiBuilder, PathItem, PathsBuilder, ResponsesBuilder};
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//! use errors::codes;
//!
//! /// Declared once, next to the handler.
//! const ENROLL_ERRORS: &[errata::Code] = &[codes::LECTURE_NOT_FOUND, codes::ALREADY_ENROLLED];
//!
//! let renderer = errata::Renderer::new(errors::catalog().clone());
//! let mut responses = ResponsesBuilder::new();
//! for (status, response) in error_responses(&renderer, ENROLL_ERRORS) {
//!     responses = responses.response(status, response);
//! }
//! let op = OperationBuilder::new().responses(responses.build()).build();
//! let mut doc = OpenApiBuilder::new()
//!     .paths(PathsBuilder::new().path("/v1/lectures/{id}/enroll", PathItem::new(HttpMethod::Post, op)))
//!     .build();
//! add_error_schemas(&mut doc, &renderer);
//! let json = serde_json::to_value(&doc).unwrap();
//! assert!(json["paths"]["/v1/lectures/{id}/enroll"]["post"]["responses"]["409"].is_object());
//! assert!(json["components"]["schemas"]["ErrorEnvelope"].is_object());
//! ```

use errata::{Code, Renderer};
use utoipa::openapi::{Components, OpenApi, RefOr, Response, Schema};

/// The error responses of a route declaring `codes`: `(status, response)` pairs, each in the
/// renderer's envelope and as `application/problem+json`, each listing its codes in
/// `x-error-codes`.
pub fn error_responses(renderer: &Renderer, codes: &[Code]) -> Vec<(String, RefOr<Response>)> {
    let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    error_responses_named(renderer, &codes)
}

/// [`error_responses`] for codes given as text.
pub fn error_responses_named(
    renderer: &Renderer,
    codes: &[&str],
) -> Vec<(String, RefOr<Response>)> {
    errata::openapi::responses(renderer, codes)
        .into_iter()
        .filter_map(|(status, value)| {
            serde_json::from_value::<Response>(value)
                .ok()
                .map(|r| (status.to_string(), RefOr::T(r)))
        })
        .collect()
}

/// Adds `ErrorCode`, `FieldError` and the three envelope schemas to the document's components.
pub fn add_error_schemas(doc: &mut OpenApi, renderer: &Renderer) {
    let components = doc.components.get_or_insert_with(Components::new);
    for (name, value) in errata::openapi::schemas(renderer.catalog()) {
        if let Ok(schema) = serde_json::from_value::<Schema>(value) {
            components.schemas.insert(name, RefOr::T(schema));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod errors {
        errata::catalog!("../../../examples/classroom/errors.toml");
    }

    #[test]
    fn every_status_and_schema_converts_to_utoipa() {
        let renderer = Renderer::new(errors::catalog().clone());
        let codes: Vec<Code> = errors::catalog()
            .entries
            .iter()
            .map(|e| Code::new(Box::leak(e.code.clone().into_boxed_str())))
            .collect();
        let core = errata::openapi::all_responses(&renderer);
        assert_eq!(error_responses(&renderer, &codes).len(), core.len());
        let mut doc = OpenApi::default();
        add_error_schemas(&mut doc, &renderer);
        let schemas = doc.components.expect("components").schemas;
        assert_eq!(
            schemas.len(),
            errata::openapi::schemas(errors::catalog()).len()
        );
    }
}
