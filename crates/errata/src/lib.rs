//! Errors of an HTTP API as a contract.
//!
//! One catalog file declares every error the API can return; [`catalog!`] turns it into typed
//! constructors at compile time (a code that does not exist does not compile), and a
//! [`Renderer`] turns an [`ApiError`] into one envelope, in the client's language, with no
//! internal text in it. This crate knows no HTTP framework and no async runtime: see
//! `errata-axum` for the axum integration and `errata-alert` for monitoring.
//!
//! ```
//! mod errors {
//!     errata::catalog!("../../examples/classroom/errors.toml");
//! }
//!
//! let err = errors::already_enrolled();
//! assert_eq!(err.code(), errors::codes::ALREADY_ENROLLED);
//! assert_eq!(err.status(), 409);
//!
//! // Parameters are typed by the catalog: `retry_after = "integer"`.
//! let limited = errors::rate_limit_exceeded(30);
//!
//! let renderer = errata::Renderer::new(errors::catalog().clone());
//! let ctx = errata::RenderContext { locale: renderer.negotiate(Some("en")), ..Default::default() };
//! let out = renderer.render(&limited, &ctx);
//! assert_eq!(out.status, 429);
//! assert_eq!(out.headers[0], ("retry-after".into(), "30".to_string()));
//! assert!(String::from_utf8(out.body).unwrap().contains("Try again in 30 seconds."));
//! ```

#[cfg(feature = "axum")]
mod axum;
pub mod builtin;
mod error;
mod locale;
pub mod openapi;
mod render;
mod report;
pub mod scrub;
mod upstream;

pub use errata_catalog as catalog;
pub use errata_catalog::{AlertPolicy, Catalog, CatalogError, Entry, SpikeRule};
/// Generates typed constructors from a catalog file, whose path is relative to the invoking
/// file (like `include_str!`), or else to the crate's `CARGO_MANIFEST_DIR`.
///
/// In the module where it is invoked it defines `catalog()` (the parsed catalog), a `codes`
/// module with one [`Code`] constant per entry, and one constructor per entry, named after the
/// code in snake case (`r#match` for a Rust keyword). Parameters take what their declared type
/// accepts: `string` → `impl Into<String>`, `integer` → any primitive integer
/// ([`IntegerParam`]), `number` → `impl Into<f64>`, `boolean` → `bool`.
///
/// An entry with one parameter takes it as the argument; an entry with two or more takes one
/// struct, `params::PascalCaseCode`, with a named field per parameter, so that two parameters
/// of one type cannot be swapped:
///
/// ```text
/// errors::rate_limit_exceeded(30u16);
/// errors::item_out_of_stock(errors::params::ItemOutOfStock { item: "pen", left: 3 });
/// ```
///
/// A catalog with errors fails the build with its diagnostics, and so do names Rust cannot
/// use (a code `CATALOG` whose constructor would clash with `catalog()`, a parameter `self`),
/// each located in the catalog file.
pub use errata_macros::catalog;

#[cfg(feature = "axum")]
pub use axum::{default_renderer, set_default_renderer, PendingError};
pub use error::{
    ApiError, Code, FieldError, IntegerParam, ParamValue, UpstreamDetail, UPSTREAM_BODY_LIMIT,
};
pub use locale::{negotiate_locale, LocaleId};
pub use render::{Envelope, RenderContext, Rendered, Renderer, FALLBACK_BODY};
pub use report::{ErrorReport, ReportWanted};
pub use upstream::UpstreamMapper;

#[doc(hidden)]
pub mod __private {
    pub use std::sync::OnceLock;
}
