//! Mapping an upstream API's failures to catalog errors, as the catalog's `[upstreams]` declare.
//!
//! Rules are compiled once: every `message_contains` text of every rule goes into one
//! Aho-Corasick automaton, so a body is scanned once however many rules there are; the body is
//! parsed as JSON at most once, and only when some rule looks at a JSON field.

use aho_corasick::AhoCorasick;
use errata_catalog::{Catalog, Upstream};

use crate::error::{ApiError, UpstreamDetail};

struct CompiledRule {
    status: Vec<u16>,
    has_text: bool,
    json: Vec<(Vec<String>, Vec<serde_json::Value>)>,
    raise: usize,
}

/// A compiled `[upstreams.NAME]` mapping.
///
/// ```
/// use errata::{Catalog, UpstreamMapper};
///
/// let catalog = Catalog::from_toml(r#"
///     [catalog]
///     name = "demo"
///     default_locale = "en"
///     locales = ["en"]
///     [errors.KAKAO_ACCOUNT_NOT_AVAILABLE]
///     status = 400
///     message.en = "The Kakao account cannot be used."
///     [upstreams.kakao]
///     [[upstreams.kakao.rules]]
///     json = { code = [-101, -103] }
///     raise = "KAKAO_ACCOUNT_NOT_AVAILABLE"
/// "#).unwrap();
/// let kakao = UpstreamMapper::new(&catalog, "kakao").unwrap();
/// let err = kakao.map_failure(400, br#"{"code":-101,"msg":"not linked"}"#);
/// assert_eq!((err.code(), err.status()), ("KAKAO_ACCOUNT_NOT_AVAILABLE", 400));
/// let err = kakao.map_failure(500, b"<html>oops</html>");
/// assert_eq!((err.code(), err.status()), ("UPSTREAM_ERROR", 502));
/// assert!(err.upstream().unwrap().body.contains("oops")); // kept for logs, never rendered
/// ```
pub struct UpstreamMapper {
    name: String,
    codes: Vec<(String, u16)>,
    rules: Vec<CompiledRule>,
    automaton: Option<AhoCorasick>,
    /// Pattern index → rule index.
    pattern_rule: Vec<usize>,
    needs_json: bool,
    unmatched: usize,
    timeout: usize,
}

impl std::fmt::Debug for UpstreamMapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamMapper")
            .field("name", &self.name)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

impl UpstreamMapper {
    /// Compiles the mapping called `name`, or `None` when the catalog has none.
    pub fn new(catalog: &Catalog, name: &str) -> Option<Self> {
        catalog.upstream(name).map(|u| Self::compile(catalog, u))
    }

    /// Compiles `upstream` against the statuses of `catalog`.
    pub fn compile(catalog: &Catalog, upstream: &Upstream) -> Self {
        let mut codes: Vec<(String, u16)> = Vec::new();
        let mut code_index = |code: &str| -> usize {
            let (canonical, status) = catalog
                .get(code)
                .map_or((code.to_owned(), 502), |e| (e.code.clone(), e.status));
            match codes.iter().position(|(c, _)| *c == canonical) {
                Some(i) => i,
                None => {
                    codes.push((canonical, status));
                    codes.len() - 1
                }
            }
        };
        let unmatched = code_index(&upstream.on_unmatched);
        let timeout = code_index(&upstream.on_timeout);
        let mut patterns: Vec<&str> = Vec::new();
        let mut pattern_rule = Vec::new();
        let mut rules = Vec::with_capacity(upstream.rules.len());
        for (i, r) in upstream.rules.iter().enumerate() {
            for p in &r.message_contains {
                patterns.push(p);
                pattern_rule.push(i);
            }
            rules.push(CompiledRule {
                status: r.status.clone(),
                has_text: !r.message_contains.is_empty(),
                json: r
                    .json
                    .iter()
                    .map(|(path, values)| {
                        (path.split('.').map(str::to_owned).collect(), values.clone())
                    })
                    .collect(),
                raise: code_index(&r.raise),
            });
        }
        let automaton = if patterns.is_empty() {
            None
        } else {
            AhoCorasick::new(&patterns).ok()
        };
        let needs_json = rules.iter().any(|r| !r.json.is_empty());
        Self {
            name: upstream.name.clone(),
            codes,
            rules,
            automaton,
            pattern_rule,
            needs_json,
            unmatched,
            timeout,
        }
    }

    /// The upstream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The code and status a failure maps to: the first rule whose conditions all hold, else
    /// `on_unmatched`.
    pub fn classify(&self, status: u16, body: &[u8]) -> (&str, u16) {
        let mut text_hits = vec![false; self.rules.len()];
        if let Some(ac) = &self.automaton {
            for m in ac.find_overlapping_iter(body) {
                text_hits[self.pattern_rule[m.pattern().as_usize()]] = true;
            }
        }
        let json: Option<serde_json::Value> = if self.needs_json {
            serde_json::from_slice(body).ok()
        } else {
            None
        };
        let hit = self.rules.iter().enumerate().find(|(i, r)| {
            (r.status.is_empty() || r.status.contains(&status))
                && (!r.has_text || text_hits[*i])
                && r.json.iter().all(|(path, values)| {
                    json.as_ref()
                        .and_then(|j| lookup(j, path))
                        .is_some_and(|v| values.iter().any(|want| loosely_equal(v, want)))
                })
        });
        let (code, status) = &self.codes[hit.map_or(self.unmatched, |(_, r)| r.raise)];
        (code, *status)
    }

    /// The error for a failed upstream answer, with the answer kept as internal detail.
    pub fn map_failure(&self, status: u16, body: &[u8]) -> ApiError {
        let (code, code_status) = self.classify(status, body);
        ApiError::from_code(code.to_owned(), code_status).with_upstream(UpstreamDetail::new(
            self.name.clone(),
            Some(status),
            body,
            false,
        ))
    }

    /// The error for an upstream that did not answer in time.
    pub fn map_timeout(&self) -> ApiError {
        let (code, status) = &self.codes[self.timeout];
        ApiError::from_code(code.clone(), *status).with_upstream(UpstreamDetail::new(
            self.name.clone(),
            None,
            b"",
            true,
        ))
    }

    /// The error for an upstream that could not be reached or sent an unreadable answer.
    pub fn map_transport_error(&self, cause: impl std::fmt::Display) -> ApiError {
        let (code, status) = &self.codes[self.unmatched];
        ApiError::from_code(code.clone(), *status).with_upstream(UpstreamDetail::new(
            self.name.clone(),
            None,
            cause.to_string().as_bytes(),
            false,
        ))
    }
}

fn lookup<'a>(json: &'a serde_json::Value, path: &[String]) -> Option<&'a serde_json::Value> {
    path.iter().try_fold(json, |v, key| v.get(key.as_str()))
}

/// Equal, or a number and a string spelling the same number (`"024"` matches `24`): some
/// upstreams send the same code either way.
fn loosely_equal(got: &serde_json::Value, want: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (got, want) {
        (Value::String(s), Value::Number(n)) | (Value::Number(n), Value::String(s)) => {
            match (s.trim().parse::<i64>(), n.as_i64()) {
                (Ok(a), Some(b)) => a == b,
                _ => s
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .zip(n.as_f64())
                    .is_some_and(|(a, b)| a == b),
            }
        }
        (Value::String(a), Value::String(b)) => {
            a == b
                || a.trim_start_matches('0') == b.trim_start_matches('0')
                    && !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().all(|c| c.is_ascii_digit())
                    && b.bytes().all(|c| c.is_ascii_digit())
        }
        _ => got == want,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn loose_equality_of_codes() {
        assert!(loosely_equal(&json!("024"), &json!(24)));
        assert!(loosely_equal(&json!(-101), &json!(-101)));
        assert!(loosely_equal(&json!("024"), &json!("24")));
        assert!(!loosely_equal(&json!("abc"), &json!(24)));
        assert!(!loosely_equal(&json!(true), &json!("true")));
    }
}
