//! Fingerprints: which events are "the same error".
//!
//! The default fingerprint is code + route template + the message *template* + the normalized
//! cause. For a catalog code the template is the catalog's, placeholders unfilled, in the
//! catalog's default locale: the same problem asked for in Korean and in English, or for ten
//! different SKUs, is one group. For a message with no template (a code outside the catalog, an
//! event built in code) the message stands in with its variable parts (numbers, UUIDs, hex,
//! emails, URLs, IPs, dates, quoted strings) replaced by placeholders, so `user 42 not found`
//! and `user 97 not found` group together; causes are normalized the same way.
//!
//! ```
//! use errata_alert::fingerprint::normalize;
//!
//! assert_eq!(
//!     normalize("user 42 (kim@example.com) at 10.0.0.7 since 2026-01-02T03:04:05Z: 'x'"),
//!     "user <num> (<email>) at <ip> since <date>: <str>"
//! );
//! ```

use std::sync::{Arc, OnceLock};

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::event::Event;

/// A custom fingerprint function: return `Some` to override the default for an event.
pub type FingerprintFn = Arc<dyn Fn(&Event) -> Option<String> + Send + Sync>;

fn rules() -> &'static [(Regex, &'static str)] {
    static RULES: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    RULES.get_or_init(|| {
        [
            (r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\x22<>]+", "<url>"),
            (r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", "<email>"),
            (
                r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
                "<uuid>",
            ),
            (
                r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?\b",
                "<date>",
            ),
            (r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b", "<date>"),
            (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", "<ip>"),
            (r"(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{1,4}\b", "<ip>"),
            (r"\b0x[0-9a-fA-F]+\b", "<hex>"),
            (r"\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b", "<hex>"),
            (r"\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b", "<hex>"),
            (r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"#, "<str>"),
            (r"[+\-]?\b\d+(?:[.,]\d+)*\b", "<num>"),
        ]
        .into_iter()
        .filter_map(|(re, rep)| Regex::new(re).ok().map(|r| (r, rep)))
        .collect()
    })
}

/// The message with its variable parts replaced by placeholders.
pub fn normalize(message: &str) -> String {
    let mut out = message.to_string();
    for (re, rep) in rules() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *rep).into_owned();
        }
    }
    out
}

/// Hex digest (16 bytes) of code, route template and normalized message.
pub fn fingerprint(code: &str, route: Option<&str>, message: &str) -> String {
    problem_fingerprint(code, route, None, message, "")
}

/// Hex digest (16 bytes) of one problem: code, route template, the message template (or, when
/// there is none, the normalized message) and the normalized cause (`""` for none).
pub fn problem_fingerprint(
    code: &str,
    route: Option<&str>,
    template: Option<&str>,
    message: &str,
    cause: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(code.as_bytes());
    h.update([0]);
    h.update(route.unwrap_or("").as_bytes());
    h.update([0]);
    match template {
        Some(t) => {
            h.update(b"template:");
            h.update(t.as_bytes());
        }
        None => h.update(normalize(message).as_bytes()),
    }
    if !cause.is_empty() {
        h.update([0]);
        h.update(normalize(cause).as_bytes());
    }
    hex(&h.finalize()[..16])
}

/// The fingerprint of an event: its explicit one, the custom function's, or the default.
pub fn of_event(ev: &Event, custom: Option<&FingerprintFn>) -> String {
    if let Some(fp) = &ev.fingerprint {
        return fp.clone();
    }
    if let Some(f) = custom {
        if let Some(fp) = f(ev) {
            return fp;
        }
    }
    problem_fingerprint(
        &ev.code,
        ev.route.as_deref(),
        None,
        &ev.message,
        &ev.cause_chain.join("\n"),
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let cases = [
            ("order 123 failed", "order <num> failed"),
            ("id 550e8400-e29b-41d4-a716-446655440000", "id <uuid>"),
            ("hash deadbeef12 and 0xFF", "hash <hex> and <hex>"),
            ("see https://x.io/a?b=1 now", "see <url> now"),
            ("from ::1 and fe80::1:2", "from <ip> and <ip>"),
            ("on 2026-03-01", "on <date>"),
            (r#"name "kim" bad"#, "name <str> bad"),
            ("plain words", "plain words"),
        ];
        for (i, want) in cases {
            assert_eq!(normalize(i), want, "{i}");
        }
    }

    #[test]
    fn grouping() {
        let a = fingerprint("E", Some("/u/{id}"), "user 1 gone");
        assert_eq!(a, fingerprint("E", Some("/u/{id}"), "user 2 gone"));
        assert_ne!(a, fingerprint("E", Some("/v/{id}"), "user 2 gone"));
        assert_ne!(a, fingerprint("F", Some("/u/{id}"), "user 2 gone"));
        assert_eq!(a.len(), 32);
        let t = |msg: &str, cause: &str| {
            problem_fingerprint("E", Some("/u"), Some("gone: {sku}"), msg, cause)
        };
        assert_eq!(
            t("gone: A-1", "db 10.0.0.1 down"),
            t("품절: B-2", "db 10.0.0.2 down")
        );
        assert_ne!(t("gone: A-1", "db down"), t("gone: A-1", "cache down"));
        let ev = Event::new("E", 500).with_fingerprint("mine");
        assert_eq!(of_event(&ev, None), "mine");
        let f: FingerprintFn = Arc::new(|e: &Event| Some(format!("c:{}", e.code)));
        assert_eq!(of_event(&Event::new("X", 500), Some(&f)), "c:X");
    }
}
