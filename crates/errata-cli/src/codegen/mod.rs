//! `errata codegen`: client code that knows every code and survives codes it does not know.
//!
//! Each generator writes one file with the code constants, the parameter types per code, and a
//! parser from an error body (nested, problem or flat envelope) to a typed value. A code the
//! client was not generated with becomes an `Unknown` value carrying the raw code, never an
//! exception. Parameter values are read from the body's `details` when the server puts them
//! there; otherwise a code's `params` is null.

pub mod kotlin;
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

/// Hands out names that are unique among themselves and distinct from reserved ones.
#[derive(Debug, Default)]
pub struct Names {
    taken: HashSet<String>,
}

impl Names {
    /// A registry where `reserved` names are already taken.
    pub fn with_reserved(reserved: &[&str]) -> Self {
        Self {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// `wanted` if free, else `wanted_2`, `wanted_3`, …; the result is taken from then on.
    pub fn claim(&mut self, wanted: &str) -> String {
        let mut name = wanted.to_owned();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{wanted}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
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
