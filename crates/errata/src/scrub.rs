//! Scrubbing: secrets out of headers, query strings and free text, before anything is logged,
//! stored or sent. The edge layer's logs and the alert pipeline use the same [`Scrubber`].
//!
//! ```
//! use errata::scrub::Scrubber;
//!
//! let s = Scrubber::default();
//! assert_eq!(s.scrub_path("/ws?room=1&token=eyJabc"), "/ws?room=1&token=[Filtered]");
//! assert_eq!(
//!     s.scrub_text(r#"upstream said {"password":"hunter2","user":"kim"}"#),
//!     r#"upstream said {"password":"[Filtered]","user":"kim"}"#
//! );
//! assert_eq!(s.scrub_text("Authorization: Bearer abc.def"), "Authorization: [Filtered]");
//! ```

use regex::Regex;

/// What a scrubbed value is replaced with.
pub const FILTERED: &str = "[Filtered]";

/// Header names that are always sensitive.
const HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
];

/// Fragments that make a field or header name sensitive wherever they appear in it.
const FRAGMENTS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "api-key",
    "apikey",
    "authorization",
    "cookie",
    "session",
    "credential",
    "private_key",
    "private-key",
    "privatekey",
    "passcode",
    "signature",
];

/// Field names that are sensitive when they are the whole name.
const EXACT: &[&str] = &["pwd", "pw", "auth", "jwt", "key", "sig", "pass", "otp"];

/// Lowercase names; names come from configuration, so a fast hasher is safe.
type NameSet = std::collections::HashSet<String, foldhash::fast::RandomState>;

/// Whether `set` (of lowercase names) holds `name` in any case; allocates only for a name with
/// uppercase letters (header names from `http` never have any).
fn in_lowercase(set: &NameSet, name: &str) -> bool {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        set.contains(&name.to_ascii_lowercase())
    } else {
        set.contains(name)
    }
}

/// Removes secrets from text, paths and headers.
///
/// The defaults cover `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`, API-key
/// headers; and fields (query parameters, JSON and form fields, `key=value` and `key: value`
/// text) whose name contains `password`, `secret`, `token`, `api_key`, `session`, …; bearer and
/// basic credentials; JWTs; passwords in URLs. Add names with [`Scrubber::field`] and
/// [`Scrubber::header`].
#[derive(Clone)]
pub struct Scrubber {
    headers: Vec<String>,
    exact: Vec<String>,
    fragments: Vec<String>,
    rules: Vec<(Regex, String)>,
    /// `headers` and `exact`, for one lookup per name.
    header_names: NameSet,
    field_names: NameSet,
    /// Every fragment in one automaton, ASCII case-insensitive: one pass per name.
    fragment_matcher: Option<aho_corasick::AhoCorasick>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("headers", &self.headers)
            .field("exact", &self.exact)
            .field("fragments", &self.fragments)
            .finish_non_exhaustive()
    }
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::build(
            HEADERS.iter().map(|s| s.to_string()).collect(),
            EXACT.iter().map(|s| s.to_string()).collect(),
            FRAGMENTS.iter().map(|s| s.to_string()).collect(),
        )
    }
}

impl Scrubber {
    /// The default scrubber.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also treats the header `name` as sensitive.
    pub fn header(self, name: &str) -> Self {
        let mut headers = self.headers;
        headers.push(name.to_ascii_lowercase());
        Scrubber::build(headers, self.exact, self.fragments)
    }

    /// Also treats fields called exactly `name` (any case) as sensitive.
    pub fn field(self, name: &str) -> Self {
        let mut exact = self.exact;
        exact.push(name.to_ascii_lowercase());
        Scrubber::build(self.headers, exact, self.fragments)
    }

    /// Also treats fields and headers whose name contains `fragment` as sensitive.
    pub fn fragment(self, fragment: &str) -> Self {
        let mut fragments = self.fragments;
        fragments.push(fragment.to_ascii_lowercase());
        Scrubber::build(self.headers, self.exact, fragments)
    }

    fn build(headers: Vec<String>, exact: Vec<String>, fragments: Vec<String>) -> Self {
        let frag = fragments
            .iter()
            .map(|f| regex::escape(f))
            .collect::<Vec<_>>()
            .join("|");
        let ex = exact
            .iter()
            .chain(headers.iter())
            .map(|f| regex::escape(f))
            .collect::<Vec<_>>()
            .join("|");
        // A sensitive name: any name containing a fragment, or exactly one of the names.
        let name = format!(r"(?:[A-Za-z0-9_.\-]*(?:{frag})[A-Za-z0-9_.\-]*|(?:{ex}))");
        let specs: Vec<(String, String)> = vec![
            // Passwords in URLs: scheme://user:pass@host
            (
                r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]+:)[^/\s@]+@".to_string(),
                format!("${{pre}}{FILTERED}@"),
            ),
            // JSON-ish: "name": "value" / 'name': 'value' / "name": 1234
            (
                format!(
                    r#"(?i)(?P<pre>(?P<q>["']){name}["']\s*[:=]\s*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^,}}\]\s]+)"#
                ),
                format!("${{pre}}\"{FILTERED}\""),
            ),
            // Header-like lines: Authorization: Basic xxx
            (
                format!(r"(?i)(?P<pre>\b{name}\s*:\s*)[^\r\n]+"),
                format!("${{pre}}{FILTERED}"),
            ),
            // key=value in queries, forms and logs.
            (
                format!(r#"(?i)(?P<pre>\b{name}=)[^&\s;,"'<>]+"#),
                format!("${{pre}}{FILTERED}"),
            ),
            // Bearer / Basic credentials anywhere.
            (
                r"(?i)(?P<pre>\b(?:bearer|basic|token)\s+)[A-Za-z0-9\-._~+/]+=*".to_string(),
                format!("${{pre}}{FILTERED}"),
            ),
            // JWTs anywhere.
            (
                r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]*)?".to_string(),
                FILTERED.to_string(),
            ),
        ];
        let rules = specs
            .into_iter()
            .filter_map(|(re, rep)| Regex::new(&re).ok().map(|r| (r, rep)))
            .collect();
        let fragment_matcher = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(fragments.iter().filter(|f| !f.is_empty()))
            .ok();
        Scrubber {
            header_names: headers.iter().chain(exact.iter()).cloned().collect(),
            field_names: exact.iter().cloned().collect(),
            headers,
            exact,
            fragments,
            rules,
            fragment_matcher,
        }
    }

    fn contains_fragment(&self, name: &str) -> bool {
        self.fragment_matcher
            .as_ref()
            .is_some_and(|m| m.is_match(name))
    }

    /// Whether a field (query parameter, JSON key) called `name` is sensitive.
    pub fn is_sensitive_field(&self, name: &str) -> bool {
        in_lowercase(&self.field_names, name) || self.contains_fragment(name)
    }

    /// Whether the header `name` is sensitive.
    pub fn is_sensitive_header(&self, name: &str) -> bool {
        in_lowercase(&self.header_names, name) || self.contains_fragment(name)
    }

    /// A header's value as it may be kept: itself, or [`FILTERED`].
    pub fn scrub_header<'a>(&self, name: &str, value: &'a str) -> std::borrow::Cow<'a, str> {
        if self.is_sensitive_header(name) {
            std::borrow::Cow::Borrowed(FILTERED)
        } else {
            std::borrow::Cow::Owned(self.scrub_text(value))
        }
    }

    /// A path with query, with sensitive parameters' values replaced.
    pub fn scrub_path(&self, path_and_query: &str) -> String {
        let Some((path, query)) = path_and_query.split_once('?') else {
            return self.scrub_text(path_and_query);
        };
        let mut out = String::with_capacity(path_and_query.len());
        out.push_str(&self.scrub_text(path));
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((k, _)) if self.is_sensitive_field(&percent_decode(k)) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(FILTERED);
                }
                // A value that is a credential once decoded (`Bearer%20…`) is filtered whole.
                Some((k, v))
                    if v.contains(['%', '+']) && {
                        let decoded = percent_decode(v);
                        self.scrub_text(&decoded) != decoded
                    } =>
                {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(FILTERED);
                }
                _ => out.push_str(&self.scrub_text(pair)),
            }
        }
        out
    }

    /// Free text (a cause, an upstream body) with credentials replaced.
    pub fn scrub_text(&self, text: &str) -> String {
        let mut out = std::borrow::Cow::Borrowed(text);
        for (re, rep) in &self.rules {
            if re.is_match(&out) {
                out = std::borrow::Cow::Owned(re.replace_all(&out, rep.as_str()).into_owned());
            }
        }
        out.into_owned()
    }

    /// Free text made safe for one log line: [`Scrubber::scrub_text`], then every control
    /// character escaped (`\n` → `\\n`, others as `\\u{..}`), so no text can forge a line.
    ///
    /// ```
    /// let s = errata::scrub::Scrubber::default();
    /// assert_eq!(
    ///     s.scrub_for_log("db down: postgres://app:S3cret@db/x\nFAKE level=error"),
    ///     "db down: postgres://app:[Filtered]@db/x\\nFAKE level=error"
    /// );
    /// ```
    pub fn scrub_for_log(&self, text: &str) -> String {
        escape_control(&self.scrub_text(text)).into_owned()
    }
}

/// `text` with control characters escaped: `\n`, `\r`, `\t` as themselves, others as
/// `\u{..}`; borrowed when there is none.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    use std::fmt::Write;
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Decodes `%xx` escapes (lossy), enough to recognise an encoded parameter name.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub_path("/a?token=x&b=2&Access_Token=y&api_key=z&password=p&secret=q"),
            "/a?token=[Filtered]&b=2&Access_Token=[Filtered]&api_key=[Filtered]&password=[Filtered]&secret=[Filtered]"
        );
        assert_eq!(
            s.scrub_path("/a?access%5Ftoken=x"),
            "/a?access%5Ftoken=[Filtered]"
        );
        assert_eq!(s.scrub_path("/plain"), "/plain");
    }

    #[test]
    fn text_forms() {
        let s = Scrubber::default();
        let cases = [
            (r#"{"password":"hunter2"}"#, r#"{"password":"[Filtered]"}"#),
            (
                r#"{"new_password" : "a\"b"}"#,
                r#"{"new_password" : "[Filtered]"}"#,
            ),
            (r#"{'api_key': 'abc'}"#, r#"{'api_key': "[Filtered]"}"#),
            (
                r#"{"pin":1,"token":12345}"#,
                r#"{"pin":1,"token":"[Filtered]"}"#,
            ),
            (
                "grant_type=x&client_secret=abc&scope=y",
                "grant_type=x&client_secret=[Filtered]&scope=y",
            ),
            (
                "auth failed: Bearer abc.DEF-ghi",
                "auth failed: Bearer [Filtered]",
            ),
            ("Cookie: sid=1; other=2", "Cookie: [Filtered]"),
            (
                "postgres://app:s3cret@db/x",
                "postgres://app:[Filtered]@db/x",
            ),
            ("jwt eyJhbGciOi.eyJzdWIi.sig-1", "jwt [Filtered]"),
            ("nothing to see", "nothing to see"),
        ];
        for (input, want) in cases {
            assert_eq!(s.scrub_text(input), want, "input: {input}");
        }
    }

    #[test]
    fn short_and_camel_case_names_and_encoded_bearer_values() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub_path("/login?pw=a&passcode=b&otp=123456&privateKey=c&user=kim"),
            "/login?pw=[Filtered]&passcode=[Filtered]&otp=[Filtered]&privateKey=[Filtered]&user=kim"
        );
        assert_eq!(
            s.scrub_path("/proxy?h=Bearer%20abc.def&next=%2Fhome&q=a+b"),
            "/proxy?h=[Filtered]&next=%2Fhome&q=a+b"
        );
        assert_eq!(
            s.scrub_path("/p?auth_header=Bearer+xyz"),
            "/p?auth_header=[Filtered]"
        );
        assert_eq!(
            s.scrub_text(r#"{"pw":"a","userPasscode":"b","otp":"1","privateKey":"-----BEGIN"}"#),
            r#"{"pw":"[Filtered]","userPasscode":"[Filtered]","otp":"[Filtered]","privateKey":"[Filtered]"}"#
        );
    }

    #[test]
    fn control_characters_cannot_forge_log_lines() {
        let s = Scrubber::default();
        assert_eq!(
            s.scrub_for_log("a\r\nlevel=ERROR\u{1b}[31m token=abc"),
            "a\\r\\nlevel=ERROR\\u{1b}[31m token=[Filtered]"
        );
        assert!(matches!(
            escape_control("plain"),
            std::borrow::Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn headers_and_config() {
        let s = Scrubber::default().field("ssn").header("x-tenant-key");
        for h in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "X-Tenant-Key",
            "x-session-id",
        ] {
            assert!(s.is_sensitive_header(h), "{h}");
        }
        assert!(!s.is_sensitive_header("user-agent"));
        assert_eq!(s.scrub_text(r#"{"ssn":"123"}"#), r#"{"ssn":"[Filtered]"}"#);
        assert_eq!(s.scrub_path("/p?SSN=1"), "/p?SSN=[Filtered]");
        assert_eq!(s.scrub_path("/p?monkey=1"), "/p?monkey=1");
    }
}
