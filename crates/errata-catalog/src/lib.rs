//! The errata error catalog: one TOML file declares every error an HTTP API can return.
//!
//! This crate is pure data: the [`Catalog`] model, a loader that reports every problem of a file
//! in one run with a precise location ([`check`]), the built-in entries every framework needs, and
//! the compatibility [`diff`] between two versions. It knows no HTTP framework and no runtime.
//!
//! ```
//! let source = r#"
//! [catalog]
//! name = "classroom"
//! version = "1.0.0"
//! default_locale = "ko"
//! locales = ["ko", "en"]
//!
//! [errors.ALREADY_ENROLLED]
//! status = 409
//! message.ko = "이미 수강 중인 강의입니다."
//! message.en = "You are already enrolled in this lecture."
//! "#;
//! let catalog = errata_catalog::Catalog::from_toml(source).unwrap();
//! assert_eq!(catalog.get("ALREADY_ENROLLED").unwrap().status, 409);
//! // Built-in entries are always there.
//! assert_eq!(catalog.get("ROUTE_NOT_FOUND").unwrap().status, 404);
//! ```

mod builtin;
pub mod diagnostic;
pub mod diff;
pub mod envelope;
mod load;
mod model;
pub mod template;
pub mod text;

use std::fmt;
use std::path::{Path, PathBuf};

pub use builtin::{
    builtin_codes, builtin_field_codes, builtin_status, is_status_generic, response_status,
};
pub use diagnostic::{Diagnostic, Location, Severity};
pub use envelope::{Envelope, EnvelopeConfig, FlatCode};
pub use load::{
    check, is_upper_snake, parse_duration_secs, to_upper_snake, Checked, MAX_SPIKE_COUNT,
    MAX_SPIKE_WINDOW_SECS,
};
pub use model::{
    reason_phrase, AlertPolicy, AlertingConfig, Catalog, CatalogInfo, Entry, FieldCode, Param,
    ParamType, Scheme, SpikeRule, Upstream, UpstreamRule,
};

/// A catalog that could not be loaded: the file could not be read, or it has errors.
#[derive(Debug)]
#[non_exhaustive]
pub enum CatalogError {
    /// The file could not be read.
    Io {
        /// The path that was read.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file was read but has problems.
    Invalid {
        /// Name shown in rendered diagnostics.
        path: String,
        /// The source text, kept to render locations.
        source: String,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogError::Io { path, source } => {
                write!(f, "cannot read catalog {}: {source}", path.display())
            }
            CatalogError::Invalid {
                path,
                source,
                diagnostics,
            } => {
                let errors = diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count();
                writeln!(f, "catalog {path} has {errors} error(s):")?;
                for d in diagnostics {
                    write!(f, "{}", d.render(path, source))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogError::Io { source, .. } => Some(source),
            CatalogError::Invalid { .. } => None,
        }
    }
}

impl Catalog {
    /// Parses and checks a catalog from TOML text.
    pub fn from_toml(source: &str) -> Result<Catalog, CatalogError> {
        Self::from_toml_named(source, "<catalog>")
    }

    /// Like [`Catalog::from_toml`], naming the source `path` in diagnostics.
    pub fn from_toml_named(source: &str, path: &str) -> Result<Catalog, CatalogError> {
        let checked = check(source);
        match checked.catalog {
            Some(c) => Ok(c),
            None => Err(CatalogError::Invalid {
                path: path.to_owned(),
                source: source.to_owned(),
                diagnostics: checked.diagnostics,
            }),
        }
    }

    /// Reads, parses and checks the catalog file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_named(&source, &path.display().to_string())
    }
}
