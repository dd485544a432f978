//! Diagnostics with a precise location: file, line, column, a caret under the culprit, a hint.

use std::fmt;
use std::ops::Range;

/// How serious a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something worth a look; the catalog still loads.
    Warning,
    /// The catalog cannot be used as written.
    Error,
}

impl Severity {
    /// The lowercase word used when rendering (`error`, `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem found in a catalog file, pointing at the bytes that cause it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Byte range in the source that the caret underlines.
    pub span: Range<usize>,
    /// What to do about it, when there is something to say.
    pub hint: Option<String>,
}

/// A 1-based line and column (in characters) in a source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(message: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            severity: Severity::Error,
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(message: impl Into<String>, span: Range<usize>) -> Self {
        Self {
            severity: Severity::Warning,
            message: message.into(),
            span,
            hint: None,
        }
    }

    /// Adds a hint telling the user what to do next.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Where the span starts in `source`, as line and column.
    pub fn location(&self, source: &str) -> Location {
        location_of(source, self.span.start)
    }

    /// Renders the diagnostic the way compilers do:
    ///
    /// ```text
    /// error: code `alreadyEnrolled` is not UPPER_SNAKE_CASE
    ///   --> catalog.toml:12:9
    ///    |
    /// 12 | [errors.alreadyEnrolled]
    ///    |         ^^^^^^^^^^^^^^^
    ///    = hint: rename it to `ALREADY_ENROLLED`
    /// ```
    pub fn render(&self, path: &str, source: &str) -> String {
        let loc = self.location(source);
        let line_start = line_start(source, self.span.start);
        let line_end = source[line_start..]
            .find('\n')
            .map_or(source.len(), |i| line_start + i);
        let line_text = source[line_start..line_end].trim_end_matches('\r');
        let end = self
            .span
            .end
            .clamp(self.span.start, line_end.max(self.span.start));
        let caret_len = source
            .get(self.span.start.min(source.len())..end.min(source.len()))
            .map_or(1, |s| s.chars().count())
            .max(1);
        let gutter = loc.line.to_string().len();
        let pad = " ".repeat(gutter);
        let mut out = format!(
            "{}: {}\n{pad}--> {path}:{loc}\n{pad} |\n{} | {}\n{pad} | {}{}\n",
            self.severity.as_str(),
            self.message,
            loc.line,
            line_text,
            " ".repeat(loc.column - 1),
            "^".repeat(caret_len),
        );
        if let Some(hint) = &self.hint {
            out.push_str(&format!("{pad} = hint: {hint}\n"));
        }
        out
    }
}

fn line_start(source: &str, offset: usize) -> usize {
    let offset = floor_char_boundary(source, offset);
    source[..offset].rfind('\n').map_or(0, |i| i + 1)
}

use crate::text::floor_char_boundary;

/// Converts a byte offset into a 1-based line and character column.
pub fn location_of(source: &str, offset: usize) -> Location {
    let offset = floor_char_boundary(source, offset);
    let before = &source[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let start = line_start(source, offset);
    let column = source[start..offset].chars().count() + 1;
    Location { line, column }
}

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let src = "a = 1\n한글 = 2\n";
        assert_eq!(location_of(src, 0), Location { line: 1, column: 1 });
        let offset = src.find('=').unwrap();
        assert_eq!(location_of(src, offset), Location { line: 1, column: 3 });
        let second = src.rfind('=').unwrap();
        assert_eq!(location_of(src, second), Location { line: 2, column: 4 });
    }

    #[test]
    fn render_puts_a_caret_under_the_span() {
        let src = "[errors.bad_code]\nstatus = 400\n";
        let d = Diagnostic::error("code `bad_code` is not UPPER_SNAKE_CASE", 8..16)
            .with_hint("rename it");
        let out = d.render("c.toml", src);
        assert!(out.contains("--> c.toml:1:9"), "{out}");
        assert!(out.contains("1 | [errors.bad_code]"), "{out}");
        assert!(out.contains("  |         ^^^^^^^^\n"), "{out}");
        assert!(out.contains("= hint: rename it"), "{out}");
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("staus", ["status", "number"]), Some("status"));
        assert_eq!(did_you_mean("zzzzzz", ["status", "number"]), None);
    }
}
