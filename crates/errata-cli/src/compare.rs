//! `errata diff`: the compatibility gate, as text for people or JSON for tools.

use std::path::Path;

use errata_catalog::diff::{diff, Change};
use errata_catalog::Catalog;
use serde_json::json;

use crate::args::{DiffArgs, DiffFormat};
use crate::error::CliError;
use crate::output::{emit, with_newline};
use crate::source::{load, plural};
use crate::Outcome;

/// Compares two catalogs; exit 1 when any change is breaking.
pub fn run(args: &DiffArgs, output: Option<&Path>) -> Result<Outcome, CliError> {
    let old = load(&args.old)?;
    let new = load(&args.new)?;
    let changes = diff(&old, &new);
    let text = match args.format {
        DiffFormat::Text => text(&old, &new, &changes),
        DiffFormat::Json => with_newline(crate::pretty(&document(&old, &new, &changes))),
    };
    emit(&text, output)?;
    Ok(if changes.iter().any(|c| c.breaking) {
        Outcome::ProblemsFound
    } else {
        Outcome::Clean
    })
}

fn counts(changes: &[Change]) -> (usize, usize) {
    let breaking = changes.iter().filter(|c| c.breaking).count();
    (breaking, changes.len() - breaking)
}

/// One line per change, breaking ones first and marked `BREAKING`, then a summary.
fn text(old: &Catalog, new: &Catalog, changes: &[Change]) -> String {
    let mut out = format!(
        "{} {} → {} {}\n",
        old.info.name, old.info.version, new.info.name, new.info.version
    );
    if changes.is_empty() {
        out.push_str("no changes\n");
        return out;
    }
    let width = changes
        .iter()
        .map(|c| c.kind.as_str().len())
        .max()
        .unwrap_or(0);
    for c in changes {
        let mark = if c.breaking { "BREAKING" } else { "        " };
        out.push_str(&format!(
            "{mark}  {:<width$}  {}\n",
            c.kind.as_str(),
            c.message
        ));
    }
    let (breaking, compatible) = counts(changes);
    out.push_str(&format!(
        "{}, {}\n",
        plural(breaking, "breaking change"),
        plural(compatible, "compatible change")
    ));
    if breaking > 0 {
        out.push_str("clients and servers built against the old catalog may break: keep old codes as `aliases`, or ship the change as a new major version\n");
    }
    out
}

/// `{"old", "new", "breaking", "summary", "changes"}`.
fn document(old: &Catalog, new: &Catalog, changes: &[Change]) -> serde_json::Value {
    let (breaking, compatible) = counts(changes);
    json!({
        "old": { "name": old.info.name, "version": old.info.version },
        "new": { "name": new.info.name, "version": new.info.version },
        "breaking": breaking > 0,
        "summary": { "breaking": breaking, "compatible": compatible },
        "changes": changes,
    })
}
