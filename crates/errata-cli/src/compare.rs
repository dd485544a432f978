//! `errata diff`: the compatibility gate, as text for people, JSON for tools, or GitHub Actions
//! annotations for CI.
//!
//! The gate reads `[catalog].version` of both files (semver): breaking changes under a major
//! bump pass (still listed), breaking changes without one fail and name the version to ship,
//! and a major bump with no breaking change is a warning. Under `0.x`, a minor bump counts as
//! the major one, as in Cargo.

use std::fmt::Write as _;
use std::path::Path;

use errata_catalog::diff::{diff, Change};
use errata_catalog::{Catalog, Location};
use serde_json::json;

use crate::args::{DiffArgs, DiffFormat};
use crate::error::CliError;
use crate::output::{emit, with_newline};
use crate::source::{load_file, plural, CatalogFile};
use crate::Outcome;

/// Compares two catalogs; exit 1 when a breaking change ships without a major version bump.
pub fn run(args: &DiffArgs, output: Option<&Path>) -> Result<Outcome, CliError> {
    let old_file = CatalogFile::read(&args.old)?;
    let new_file = CatalogFile::read(&args.new)?;
    let old = load_file(&old_file)?;
    let new = load_file(&new_file)?;
    let changes = diff(&old, &new);
    let verdict = Verdict::of(&old, &new, &changes);
    let files = Files {
        old: (&old_file, &old),
        new: (&new_file, &new),
    };
    let text = match args.format {
        DiffFormat::Text => text(&old, &new, &changes, &verdict),
        DiffFormat::Json => with_newline(crate::pretty(&document(&old, &new, &changes, &verdict))),
        DiffFormat::Github => github(&files, &changes, &verdict),
    };
    emit(&text, output)?;
    Ok(if verdict.passes {
        Outcome::Clean
    } else {
        Outcome::ProblemsFound
    })
}

/// A parsed `major.minor.patch` (a leading `v` and any pre-release or build suffix ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Version(u64, u64, u64);

impl Version {
    fn parse(text: &str) -> Option<Self> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
        let major = parts.next()??;
        let minor = parts.next().unwrap_or(Some(0))?;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts
            .next()
            .is_none()
            .then_some(Version(major, minor, patch))
    }

    /// The smallest version after `self` that may break (the next major; under 0.x the next
    /// minor).
    fn next_breaking(self) -> Self {
        if self.0 == 0 {
            Version(0, self.1 + 1, 0)
        } else {
            Version(self.0 + 1, 0, 0)
        }
    }

    /// Whether going from `self` to `to` announces breaking changes.
    fn breaking_bump(self, to: Self) -> bool {
        to >= self.next_breaking()
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What the versions say about the changes.
#[derive(Debug)]
struct Verdict {
    /// Whether the gate passes (exit 0).
    passes: bool,
    /// How the version moved: `major`, `minor`, `patch`, `none`, `downgrade` or `unknown`.
    bump: &'static str,
    /// The version that must ship, when the gate fails for want of a bump.
    required: Option<String>,
    /// Why the gate fails, when it does.
    error: Option<String>,
    /// Things worth a look that do not fail the gate.
    warnings: Vec<String>,
    /// A note on breaking changes the version allows.
    note: Option<String>,
}

impl Verdict {
    fn of(old: &Catalog, new: &Catalog, changes: &[Change]) -> Self {
        let breaking = changes.iter().filter(|c| c.breaking).count();
        let (ov, nv) = (&old.info.version, &new.info.version);
        let mut v = Verdict {
            passes: true,
            bump: "unknown",
            required: None,
            error: None,
            warnings: Vec::new(),
            note: None,
        };
        let (Some(a), Some(b)) = (Version::parse(ov), Version::parse(nv)) else {
            if breaking > 0 {
                v.passes = false;
                v.error = Some(format!(
                    "{} but the versions `{ov}` → `{nv}` are not semver: set `[catalog].version` to `MAJOR.MINOR.PATCH` and ship the change as a new major version",
                    plural(breaking, "breaking change")
                ));
            }
            return v;
        };
        v.bump = if b < a {
            "downgrade"
        } else if a.breaking_bump(b) {
            "major"
        } else if b.1 != a.1 {
            "minor"
        } else if b.2 != a.2 {
            "patch"
        } else {
            "none"
        };
        if b < a {
            v.warnings.push(format!(
                "the version goes down, {a} → {b}: is OLD the catalog clients know?"
            ));
        }
        match (breaking > 0, a.breaking_bump(b)) {
            (true, true) => {
                v.note = Some(format!(
                    "{} allowed by the major version bump {a} → {b}",
                    plural(breaking, "breaking change")
                ));
            }
            (true, false) => {
                let need = a.next_breaking();
                v.passes = false;
                v.required = Some(need.to_string());
                v.error = Some(format!(
                    "versioning mistake: {} under version {a} → {b}; breaking changes need a major bump: set `[catalog].version` to `{need}` (or keep old codes as `aliases` and undo the other breaking changes)",
                    plural(breaking, "breaking change")
                ));
            }
            (false, true) => v.warnings.push(format!(
                "major version bump {a} → {b} with no breaking change: a minor bump ({}) is enough",
                if a.0 == 0 {
                    Version(0, a.1, a.2 + 1)
                } else {
                    Version(a.0, a.1 + 1, 0)
                }
            )),
            (false, false) => {}
        }
        v
    }
}

fn counts(changes: &[Change]) -> (usize, usize) {
    let breaking = changes.iter().filter(|c| c.breaking).count();
    (breaking, changes.len() - breaking)
}

/// One line per change, breaking ones first and marked `BREAKING`, then a summary and the
/// version verdict.
fn text(old: &Catalog, new: &Catalog, changes: &[Change], verdict: &Verdict) -> String {
    let mut out = format!(
        "{} {} → {} {}\n",
        old.info.name, old.info.version, new.info.name, new.info.version
    );
    if changes.is_empty() {
        out.push_str("no changes\n");
    } else {
        let width = changes
            .iter()
            .map(|c| c.kind.as_str().len())
            .max()
            .unwrap_or(0);
        for c in changes {
            let mark = if c.breaking { "BREAKING" } else { "        " };
            let _ = writeln!(out, "{mark}  {:<width$}  {}", c.kind.as_str(), c.message);
        }
        let (breaking, compatible) = counts(changes);
        let _ = writeln!(
            out,
            "{}, {}",
            plural(breaking, "breaking change"),
            plural(compatible, "compatible change")
        );
    }
    if let Some(note) = &verdict.note {
        let _ = writeln!(out, "ok: {note}");
    }
    for w in &verdict.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(e) = &verdict.error {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

/// `{"old", "new", "breaking", "summary", "version", "passed", "changes"}`.
fn document(old: &Catalog, new: &Catalog, changes: &[Change], v: &Verdict) -> serde_json::Value {
    let (breaking, compatible) = counts(changes);
    json!({
        "old": { "name": old.info.name, "version": old.info.version },
        "new": { "name": new.info.name, "version": new.info.version },
        "breaking": breaking > 0,
        "summary": { "breaking": breaking, "compatible": compatible },
        "version": {
            "bump": v.bump,
            "required": v.required,
            "error": v.error,
            "warnings": v.warnings,
        },
        "passed": v.passes,
        "changes": changes,
    })
}

struct Files<'a> {
    old: (&'a CatalogFile, &'a Catalog),
    new: (&'a CatalogFile, &'a Catalog),
}

impl Files<'_> {
    /// Where a change shows best: its entry in the new file, else in the old one (a removed
    /// code), else the `[catalog]` table of the new file.
    fn locate(&self, change: &Change) -> (&str, Location) {
        for (file, catalog) in [self.new, self.old] {
            let span = catalog
                .get(&change.code)
                .filter(|e| e.code == change.code)
                .and_then(|e| e.span.clone());
            if let Some(span) = span {
                return (&file.name, location(&file.text, span.start));
            }
        }
        let (file, _) = self.new;
        let at = file.text.find("[catalog]").unwrap_or(0);
        (&file.name, location(&file.text, at))
    }
}

fn location(text: &str, offset: usize) -> Location {
    errata_catalog::Diagnostic::error("", offset..offset).location(text)
}

/// GitHub Actions workflow commands: one annotation per change (`error` for a breaking change
/// the version does not allow, `warning` for one it allows, `notice` for a compatible one),
/// then the verdict.
fn github(files: &Files<'_>, changes: &[Change], v: &Verdict) -> String {
    let mut out = String::new();
    let allowed = v.passes;
    for c in changes {
        let level = match (c.breaking, allowed) {
            (true, false) => "error",
            (true, true) => "warning",
            (false, _) => "notice",
        };
        let (file, loc) = files.locate(c);
        let title = if c.breaking {
            format!("breaking: {}", c.kind)
        } else {
            c.kind.to_string()
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},title={}::{}",
            property(file),
            loc.line,
            loc.column,
            property(&title),
            data(&c.message)
        );
    }
    let (file, _) = files.new;
    let at = location(&file.text, file.text.find("version").unwrap_or(0));
    let head = format!(
        "file={},line={},title={}",
        property(&file.name),
        at.line,
        property("catalog version")
    );
    for w in &v.warnings {
        let _ = writeln!(out, "::warning {head}::{}", data(w));
    }
    if let Some(e) = &v.error {
        let _ = writeln!(out, "::error {head}::{}", data(e));
    }
    if let Some(note) = &v.note {
        let _ = writeln!(out, "::notice {head}::{}", data(note));
    }
    out
}

/// Escapes a workflow command's message.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn versions() {
        assert_eq!(Version::parse("1.2.3"), Some(Version(1, 2, 3)));
        assert_eq!(Version::parse("v2.0.0-rc.1"), Some(Version(2, 0, 0)));
        assert_eq!(Version::parse("1.2"), Some(Version(1, 2, 0)));
        assert_eq!(Version::parse("one"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        let v = Version(1, 4, 2);
        assert!(v.breaking_bump(Version(2, 0, 0)));
        assert!(!v.breaking_bump(Version(1, 5, 0)));
        assert!(Version(0, 3, 1).breaking_bump(Version(0, 4, 0)));
        assert!(!Version(0, 3, 1).breaking_bump(Version(0, 3, 2)));
    }
}
