//! `errata bundle`: message templates per locale, for clients that render messages themselves.
//!
//! One locale: `{"ALREADY_ENROLLED": "…", …, "fields": {"required": "…", …}}`. Every locale:
//! `{"ko": {…}, "en": {…}}`, or one file per locale when `-o` names a directory. An entry
//! without a message in a locale gets the one the server would send: the default locale's.

use std::path::Path;

use errata_catalog::Catalog;
use serde_json::{Map, Value};

use crate::args::BundleArgs;
use crate::envelope::message_in;
use crate::error::CliError;
use crate::output::{emit, with_newline, write_file};
use crate::source::load;
use crate::Outcome;

/// The key under which field codes are listed; error codes are UPPER_SNAKE_CASE, so it cannot
/// clash with one.
pub const FIELDS_KEY: &str = "fields";

/// The bundle of one locale: every code's template, field codes under [`FIELDS_KEY`].
pub fn bundle(catalog: &Catalog, locale: &str) -> Value {
    let mut out = Map::new();
    for entry in &catalog.entries {
        if let Some(m) = message_in(catalog, &entry.messages, locale) {
            out.insert(entry.code.clone(), Value::String(m.to_owned()));
        }
    }
    let mut fields = Map::new();
    for field in &catalog.fields {
        if let Some(m) = message_in(catalog, &field.messages, locale) {
            fields.insert(field.code.clone(), Value::String(m.to_owned()));
        }
    }
    out.insert(FIELDS_KEY.to_owned(), Value::Object(fields));
    Value::Object(out)
}

/// Every locale's bundle, keyed by locale, default locale first.
pub fn bundles(catalog: &Catalog) -> Value {
    Value::Object(
        catalog
            .info
            .locales
            .iter()
            .map(|l| (l.clone(), bundle(catalog, l)))
            .collect(),
    )
}

/// Runs `errata bundle`.
pub fn run(args: &BundleArgs, output: Option<&Path>) -> Result<Outcome, CliError> {
    let catalog = load(&args.catalog)?;
    let locales: Vec<&str> = match &args.locale {
        Some(l) if catalog.info.locales.contains(l) => vec![l.as_str()],
        Some(l) => {
            return Err(CliError::Usage(format!(
                "the catalog has no locale `{l}`; its locales are: {}",
                catalog.info.locales.join(", ")
            )))
        }
        None => catalog.info.locales.iter().map(String::as_str).collect(),
    };
    match output.filter(|p| is_directory(p)) {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| CliError::Io {
                action: "create directory",
                path: dir.to_owned(),
                source,
            })?;
            for locale in locales {
                let text = with_newline(crate::pretty(&bundle(&catalog, locale)));
                write_file(&dir.join(format!("{locale}.json")), &text)?;
            }
        }
        None => {
            let value = match &args.locale {
                Some(l) => bundle(&catalog, l),
                None => bundles(&catalog),
            };
            emit(&with_newline(crate::pretty(&value)), output)?;
        }
    }
    Ok(Outcome::Clean)
}

/// Whether `-o` names a directory: an existing one, or a path ending with a separator.
fn is_directory(path: &Path) -> bool {
    path.is_dir() || path.as_os_str().to_string_lossy().ends_with(['/', '\\'])
}
