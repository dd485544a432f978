//! Error responses in a utoipa OpenAPI document.
