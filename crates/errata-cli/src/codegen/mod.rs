//! `errata codegen`: client code that knows every code and survives codes it does not know.
//!
//! Every emitter reads one [`model::Model`]: the codes with their identifiers in the target
//! language (clashes resolved once, case-insensitively), typed parameters, and the envelope's
//! member names from the catalog's `[envelope]` table.
//!
//! The client generators (TypeScript, Kotlin) write one file with the code constants, the
//! parameter types per code, and a parser from an error body (nested, problem or flat
//! envelope) to a typed value. A code the client was not generated with becomes an `Unknown`
//! value carrying the raw code, never an exception. Parameter values are read from the
//! envelope's parameters member (`params` unless the catalog renames it), or else from
//! `details`; a code's `params` is null when neither carries them. The Python generator writes
//! the server side for Django REST Framework: exceptions, an exception handler rendering the
//! same bodies as the Rust renderer, the upstream rules and a drf-spectacular helper.

pub mod kotlin;
pub mod model;
pub mod python;
pub mod ts;

use std::collections::HashSet;

/// `RATE_LIMIT_EXCEEDED` → `RateLimitExceeded`. A segment starting with a digit keeps an
/// underscore (`HTTP_2_ONLY` → `Http_2Only`) so that different codes never share a name.
pub fn pascal_case(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    for segment in code.split('_').filter(|s| !s.is_empty()) {
        let mut chars = segment.chars();
        if let Some(first) = chars.next() {
            if first.is_ascii_digit() {
                out.push('_');
            }
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'E');
    }
    out
}

/// `retry_after` → `retryAfter`; empty when nothing of the name is left.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for segment in name.split('_').filter(|s| !s.is_empty()) {
        let mut chars = segment.chars();
        if let Some(first) = chars.next() {
            if out.is_empty() {
                out.push(first.to_ascii_lowercase());
            } else {
                out.push(first.to_ascii_uppercase());
            }
            out.extend(chars);
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Hands out names that are unique among themselves and distinct from reserved ones, ignoring
/// ASCII case (`Http_2Only` and `Http_2only` would share a class file on a case-insensitive
/// file system).
#[derive(Debug, Default)]
pub struct Names {
    taken: HashSet<String>,
    /// Words taken with their exact spelling only (a language's keywords).
    exact: HashSet<String>,
}

impl Names {
    /// A registry where `reserved` names are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Self {
            taken: reserved.iter().map(|s| s.to_ascii_lowercase()).collect(),
            exact: HashSet::new(),
        }
    }

    /// Takes `word` with its exact spelling only (keywords: `None` is taken, `NONE` is not).
    pub fn reserve_exact(&mut self, word: &str) {
        self.exact.insert(word.to_owned());
    }

    /// Takes `name` without handing it out.
    pub fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_ascii_lowercase());
    }

    /// `wanted` if free, else `wanted_2`, `wanted_3`, …; the result is taken from then on.
    pub fn claim(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut n = 2;
        while self.taken.contains(&name.to_ascii_lowercase()) || self.exact.contains(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        self.taken.insert(name.to_ascii_lowercase());
        name
    }
}

/// Text made safe for a `/** … */` comment: it can neither close nor (in Kotlin) nest one,
/// and stays on one line.
pub fn comment_text(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
        .replace("*/", "* /")
        .replace("/*", "/ *")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pascal_case_is_injective_on_codes() {
        assert_eq!(pascal_case("RATE_LIMIT_EXCEEDED"), "RateLimitExceeded");
        assert_ne!(pascal_case("A_B1"), pascal_case("A_B_1"));
        assert_ne!(pascal_case("AB_C"), pascal_case("A_BC"));
    }

    #[test]
    fn camel_case_of_params() {
        assert_eq!(camel_case("retry_after"), "retryAfter");
        assert_eq!(camel_case("maxMb"), "maxMb");
        assert_eq!(camel_case("_"), "");
        assert_eq!(camel_case("x_1"), "x1");
    }

    #[test]
    fn names_are_unique() {
        let mut names = Names::with_reserved(&["Unknown"]);
        assert_eq!(names.claim("Unknown"), "Unknown_2");
        assert_eq!(names.claim("A"), "A");
        assert_eq!(names.claim("A"), "A_2");
    }

    #[test]
    fn comments_cannot_be_closed_or_nested() {
        assert_eq!(comment_text("a */ b /* c\nd"), "a * / b / * c d");
    }
}
