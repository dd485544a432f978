//! Reading a catalog file: a missing file is an I/O error, a broken catalog is a problem.

use std::path::Path;

use errata_catalog::{check, Catalog, Checked, Diagnostic, Severity};

use crate::error::CliError;

/// A catalog file read into memory, with the name its diagnostics show.
#[derive(Debug, Clone)]
pub struct CatalogFile {
    /// The path as the user wrote it.
    pub name: String,
    /// The file's text.
    pub text: String,
}

impl CatalogFile {
    /// Reads `path`: exit 2 when it cannot be read, exit 1 when it is not UTF-8 text.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let bytes = std::fs::read(path).map_err(|source| CliError::Io {
            action: "read catalog",
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self { name, text }),
            Err(e) => Err(CliError::Problem(format!(
                "catalog `{name}` is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))),
        }
    }

    /// Checks the text: the catalog (if it has no error) and every diagnostic.
    pub fn check(&self) -> Checked {
        check(&self.text)
    }

    /// Renders `diagnostics` the way compilers do, each pointing into this file.
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        let mut out = String::new();
        for d in diagnostics {
            out.push_str(&d.render(&self.name, &self.text));
            out.push('\n');
        }
        out
    }

    /// One line counting errors and warnings: `errors.toml: 2 errors, 1 warning`.
    pub fn summary(&self, diagnostics: &[Diagnostic]) -> String {
        let errors = count(diagnostics, Severity::Error);
        let warnings = count(diagnostics, Severity::Warning);
        format!(
            "{}: {}, {}",
            self.name,
            plural(errors, "error"),
            plural(warnings, "warning")
        )
    }
}

/// Reads and checks the catalog at `path`. Warnings go to stderr; errors become
/// [`CliError::InvalidCatalog`] with every diagnostic rendered.
pub fn load(path: &Path) -> Result<Catalog, CliError> {
    load_file(&CatalogFile::read(path)?)
}

/// Checks a catalog file already read. Warnings go to stderr; errors become
/// [`CliError::InvalidCatalog`] with every diagnostic rendered.
pub fn load_file(file: &CatalogFile) -> Result<Catalog, CliError> {
    let checked = file.check();
    match checked.catalog {
        Some(catalog) => {
            if !checked.diagnostics.is_empty() {
                eprint!("{}", file.render(&checked.diagnostics));
            }
            Ok(catalog)
        }
        None => {
            let mut rendered = file.render(&checked.diagnostics);
            rendered.push_str(&file.summary(&checked.diagnostics));
            Err(CliError::InvalidCatalog { rendered })
        }
    }
}

fn count(diagnostics: &[Diagnostic], severity: Severity) -> usize {
    diagnostics
        .iter()
        .filter(|d| d.severity == severity)
        .count()
}

/// `1 error`, `2 errors`, `0 warnings`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
