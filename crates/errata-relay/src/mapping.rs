//! A Sentry event becomes an errata [`Event`]: the code from the `error_code` tag, else the
//! relay's exception mapping, else the catalog code the exception type names, else a code
//! derived from the exception type; route from `transaction`; method, user, environment,
//! release and request id from the event; the SDK's `fingerprint` honoured (with
//! `{{ default }}`).
//!
//! Before anything is read, [`scrub_sentry`] applies Sentry's default server-side rules to the
//! whole event (values under keys naming a password, secret, token, session, cookie,
//! authorization...; credit-card-like numbers); errata's own scrubber runs on the result in the
//! pipeline.
//!
//! ```
//! use errata_relay::mapping::Mapper;
//!
//! let mapper = Mapper::new(None, Default::default());
//! let mut ev: serde_json::Value = serde_json::from_str(r#"{
//!   "exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero"}]},
//!   "transaction": "/api/orders/{id}",
//!   "request": {"method": "POST", "headers": {"Authorization": "Bearer s3cr3t"}}
//! }"#).unwrap();
//! let event = mapper.map(&mut ev);
//! assert_eq!(event.code, "ZERO_DIVISION_ERROR");
//! assert_eq!(event.route.as_deref(), Some("/api/orders/{id}"));
//! assert_eq!(ev["request"]["headers"]["Authorization"], "[Filtered]");
//! ```

use std::collections::BTreeMap;
use std::sync::OnceLock;

use errata_alert::fingerprint;
use errata_alert::Event;
use errata_catalog::Catalog;
use regex::Regex;
use serde_json::Value;

/// What replaces a scrubbed value (Sentry's own marker, also errata's).
pub const FILTERED: &str = "[Filtered]";

/// Sentry's default sensitive key fragments (matched case-insensitively, `-` read as `_`).
pub const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "secret",
    "passwd",
    "api_key",
    "apikey",
    "auth",
    "credentials",
    "mysql_pwd",
    "privatekey",
    "private_key",
    "token",
    "session",
    "csrf",
    "cookie",
];

/// Whether a key names a secret by Sentry's default rules.
pub fn is_sensitive_key(key: &str) -> bool {
    // Byte windows compared folded: the fragments are ASCII, so a byte match is a match of
    // the lowercased key with `-` read as `_`, without building it.
    let k = key.as_bytes();
    let fold = |b: u8| {
        if b == b'-' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        }
    };
    SENSITIVE_KEYS.iter().any(|s| {
        let s = s.as_bytes();
        k.windows(s.len())
            .any(|w| w.iter().zip(s).all(|(&a, &b)| fold(a) == b))
    })
}

fn card_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(?:\d[ -]?){12,18}\d\b").unwrap_or_else(|_| Regex::new("$^").unwrap())
    })
}

fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(*d);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Replaces credit-card-like numbers (13 to 19 digits passing the Luhn check) in `s`.
pub fn scrub_cards(s: &str) -> Option<String> {
    if s.bytes().filter(u8::is_ascii_digit).count() < 13 {
        return None;
    }
    let re = card_regex();
    let mut changed = false;
    let out = re.replace_all(s, |c: &regex::Captures<'_>| {
        let m = &c[0];
        let digits: Vec<u8> = m
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect();
        if (13..=19).contains(&digits.len()) && luhn(&digits) {
            changed = true;
            FILTERED.to_owned()
        } else {
            m.to_owned()
        }
    });
    changed.then(|| out.into_owned())
}

/// `a=1&token=x` → `a=1&token=[Filtered]`.
fn scrub_query(q: &str) -> Option<String> {
    let mut changed = false;
    let parts: Vec<String> = q
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if is_sensitive_key(k) => {
                changed = true;
                format!("{k}={FILTERED}")
            }
            _ => kv.to_owned(),
        })
        .collect();
    changed.then(|| parts.join("&"))
}

/// Applies Sentry's default scrubbing rules to a whole event, in place.
pub fn scrub_sentry(v: &mut Value) {
    scrub_value(v, None);
}

fn scrub_value(v: &mut Value, key: Option<&str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if is_sensitive_key(k) && !child.is_null() {
                    *child = Value::String(FILTERED.into());
                } else {
                    scrub_value(child, Some(k));
                }
            }
        }
        Value::Array(items) => {
            // `[["Authorization", "Bearer x"], ...]`: pairs whose first element is the key.
            for item in items.iter_mut() {
                if let Value::Array(pair) = item {
                    if pair.len() == 2 {
                        if let Some(k) = pair[0].as_str().map(str::to_owned) {
                            if is_sensitive_key(&k) && !pair[1].is_null() {
                                pair[1] = Value::String(FILTERED.into());
                            } else {
                                scrub_value(&mut pair[1], Some(&k));
                            }
                            continue;
                        }
                    }
                }
                scrub_value(item, key);
            }
        }
        Value::String(s) => {
            if matches!(key, Some("query_string") | Some("url") | Some("data")) {
                if let Some(t) = scrub_urlish(s) {
                    *s = t;
                }
            }
            if let Some(t) = scrub_cards(s) {
                *s = t;
            }
        }
        _ => {}
    }
}

/// A query string, a URL with one, or form data.
fn scrub_urlish(s: &str) -> Option<String> {
    match s.split_once('?') {
        Some((base, q)) => scrub_query(q).map(|q| format!("{base}?{q}")),
        None if s.contains('=') => scrub_query(s),
        None => None,
    }
}

/// `KakaoAccountNotAvailableError` → `KAKAO_ACCOUNT_NOT_AVAILABLE_ERROR`.
pub fn screaming_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
                if (prev.is_ascii_lowercase() || prev.is_ascii_digit())
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push('_');
                }
            }
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("UNKNOWN_EXCEPTION");
    }
    out
}

/// What [`Mapper::map_payload`] reads from a payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The errata event.
    pub event: Event,
    /// The payload's `event_id`, as sent (unscrubbed, unchecked).
    pub event_id: Option<String>,
}

/// Maps Sentry events to errata events.
#[derive(Debug, Clone, Default)]
pub struct Mapper {
    catalog: Option<Catalog>,
    exceptions: BTreeMap<String, String>,
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().filter(|s| !s.is_empty())
}

/// A tag's value; `tags` is an object or a list of `[key, value]` pairs.
fn tag<'v>(ev: &'v Value, name: &str) -> Option<&'v str> {
    match ev.get("tags")? {
        Value::Object(m) => m.get(name)?.as_str(),
        Value::Array(a) => a.iter().find_map(|p| {
            let p = p.as_array()?;
            (p.first()?.as_str()? == name).then(|| p.get(1)?.as_str())?
        }),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}

/// A header's value; `headers` is an object or a list of `[name, value]` pairs.
fn header<'v>(headers: &'v Value, name: &str) -> Option<&'v str> {
    match headers {
        Value::Object(m) => m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str()),
        Value::Array(a) => a.iter().find_map(|p| {
            let p = p.as_array()?;
            p.first()?
                .as_str()?
                .eq_ignore_ascii_case(name)
                .then(|| p.get(1)?.as_str())?
        }),
        _ => None,
    }
}

/// The headers an errata event keeps (who sent the request, from where); never credentials.
const KEPT_HEADERS: &[&str] = &[
    "user-agent",
    "referer",
    "origin",
    "host",
    "content-type",
    "content-length",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-real-ip",
    "x-request-id",
];

fn first_line(s: &str, max: usize) -> String {
    let l = s.lines().next().unwrap_or("");
    match l.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &l[..i]),
        None => l.to_owned(),
    }
}

fn clean_code(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'))
    .then(|| t.to_owned())
}

impl Mapper {
    /// A mapper using `catalog` (codes and statuses) and `exceptions` (type → code).
    pub fn new(catalog: Option<Catalog>, exceptions: BTreeMap<String, String>) -> Self {
        Mapper {
            catalog,
            exceptions,
        }
    }

    fn catalog_code(&self, candidate: &str) -> Option<String> {
        let c = self.catalog.as_ref()?;
        c.get(candidate).map(|e| e.code.clone())
    }

    /// The code for an exception type (`module.Type` or `Type`).
    pub fn code_for_exception(&self, full: &str) -> String {
        let bare = full.rsplit(['.', ':', '$']).next().unwrap_or(full);
        if let Some(c) = self
            .exceptions
            .get(full)
            .or_else(|| self.exceptions.get(bare))
        {
            return c.clone();
        }
        let snake = screaming_snake(bare);
        if let Some(c) = self.catalog_code(&snake) {
            return c;
        }
        for suffix in ["_ERROR", "_EXCEPTION"] {
            if let Some(stem) = snake.strip_suffix(suffix) {
                if let Some(c) = self.catalog_code(stem) {
                    return c;
                }
            }
        }
        snake
    }

    /// Parses one event payload, keeping only the parts [`Mapper::map`] reads (the stack
    /// traces, breadcrumbs and contexts that make most of an event are checked and skipped,
    /// never built), then scrubs and maps it: the same event as [`Mapper::map`] on the whole
    /// payload. The error is the one parsing the whole payload into a [`Value`] gives;
    /// `Ok(None)` when the payload is not a JSON object.
    pub fn map_payload(&self, payload: &[u8]) -> Result<Option<Mapped>, serde_json::Error> {
        let mut v = crate::prune::parse(payload)?;
        if !v.is_object() {
            return Ok(None);
        }
        let event_id = v.get("event_id").and_then(Value::as_str).map(str::to_owned);
        let event = self.map(&mut v);
        Ok(Some(Mapped { event, event_id }))
    }

    /// Scrubs `ev` in place (Sentry's default rules) and maps it.
    pub fn map(&self, ev: &mut Value) -> Event {
        scrub_sentry(ev);
        let ev = &*ev;
        let exceptions: Vec<&Value> = match ev.get("exception") {
            Some(Value::Object(o)) => o
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default(),
            Some(Value::Array(a)) => a.iter().collect(),
            _ => Vec::new(),
        };
        let type_of = |x: &Value| -> Option<String> {
            let ty = str_at(x, &["type"])?;
            Some(match str_at(x, &["module"]) {
                Some(m) if !ty.contains('.') => format!("{m}.{ty}"),
                _ => ty.to_owned(),
            })
        };
        let main = exceptions.last().copied();
        let main_type = main.and_then(type_of);

        let code = tag(ev, "error_code")
            .and_then(clean_code)
            .or_else(|| main_type.as_deref().map(|t| self.code_for_exception(t)))
            .unwrap_or_else(|| Event::fallback_code(500));

        let status = self
            .catalog
            .as_ref()
            .and_then(|c| c.get(&code))
            .map(|e| e.status)
            .or_else(|| {
                tag(ev, "status_code")
                    .or_else(|| tag(ev, "http.status_code"))
                    .and_then(|s| s.trim().parse().ok())
                    .or_else(|| {
                        ev.pointer("/contexts/response/status_code")
                            .and_then(Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok())
                    })
                    .filter(|s| (400..=599).contains(s))
            })
            .unwrap_or(500);

        let mut out = Event::new(code, status);
        out.message = match main {
            Some(x) => first_line(str_at(x, &["value"]).unwrap_or(""), 1000),
            None => first_line(
                str_at(ev, &["logentry", "formatted"])
                    .or_else(|| str_at(ev, &["logentry", "message"]))
                    .or_else(|| str_at(ev, &["message", "formatted"]))
                    .or_else(|| str_at(ev, &["message"]))
                    .unwrap_or(""),
                1000,
            ),
        };
        if out.message.is_empty() {
            if let Some(t) = &main_type {
                out.message.clone_from(t);
            }
        }
        for x in exceptions.iter().rev().take(10) {
            let ty = type_of(x).unwrap_or_else(|| "Exception".into());
            let cause = match str_at(x, &["value"]) {
                Some(v) => format!("{ty}: {}", first_line(v, 1000)),
                None => ty,
            };
            out.cause_chain.push(cause);
        }
        out.route = str_at(ev, &["transaction"]).map(|t| first_line(t, 300));
        let request = ev.get("request");
        if let Some(r) = request {
            if let Some(m) = str_at(r, &["method"]) {
                out.method = m.to_ascii_uppercase().chars().take(16).collect();
            }
            let path = str_at(r, &["url"]).map(|u| match u.find("://") {
                Some(i) => u[i + 3..].find('/').map_or("/", |j| &u[i + 3 + j..]),
                None => u,
            });
            let mut p = path
                .unwrap_or("")
                .split('#')
                .next()
                .unwrap_or("")
                .to_owned();
            if let Some(q) = r.get("query_string") {
                let q = match q {
                    Value::String(s) => s.clone(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|kv| {
                            let kv = kv.as_array()?;
                            Some(format!(
                                "{}={}",
                                kv.first()?.as_str()?,
                                kv.get(1)?.as_str()?
                            ))
                        })
                        .collect::<Vec<_>>()
                        .join("&"),
                    _ => String::new(),
                };
                if !q.is_empty() && !p.contains('?') {
                    p.push('?');
                    p.push_str(q.trim_start_matches('?'));
                }
            }
            out.path = p;
            if let Some(h) = r.get("headers") {
                for name in KEPT_HEADERS {
                    if let Some(v) = header(h, name) {
                        out.headers.push(((*name).to_owned(), first_line(v, 500)));
                    }
                }
            }
        }
        out.request_id = tag(ev, "request_id")
            .or_else(|| tag(ev, "request.id"))
            .or_else(|| {
                request
                    .and_then(|r| r.get("headers"))
                    .and_then(|h| header(h, "x-request-id"))
            })
            .map(|s| first_line(s, 200));
        out.user_id = str_at(ev, &["user", "id"])
            .map(str::to_owned)
            .or_else(|| {
                ev.pointer("/user/id")
                    .and_then(Value::as_u64)
                    .map(|n| n.to_string())
            })
            .or_else(|| str_at(ev, &["user", "username"]).map(str::to_owned))
            .filter(|u| u != FILTERED);
        if let Some(e) = str_at(ev, &["environment"]) {
            out.headers
                .push(("sentry-environment".into(), first_line(e, 100)));
        }
        if let Some(r) = str_at(ev, &["release"]) {
            out.headers
                .push(("sentry-release".into(), first_line(r, 200)));
        }
        out.fingerprint = self.fingerprint(ev, &out);
        out
    }

    /// The SDK's `fingerprint`: `None` when absent or only `{{ default }}`; otherwise its parts
    /// joined, `{{ default }}` standing for errata's default fingerprint.
    fn fingerprint(&self, ev: &Value, out: &Event) -> Option<String> {
        let parts: Vec<String> = ev
            .get("fingerprint")?
            .as_array()?
            .iter()
            .filter_map(|p| match p {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        let is_default = |p: &str| {
            let t = p.trim();
            t.starts_with("{{") && t.ends_with("}}") && t[2..t.len() - 2].trim() == "default"
        };
        if parts.is_empty() || parts.iter().all(|p| is_default(p)) {
            return None;
        }
        let default = fingerprint::fingerprint(&out.code, out.route.as_deref(), &out.message);
        let joined: Vec<String> = parts
            .into_iter()
            .map(|p| if is_default(&p) { default.clone() } else { p })
            .collect();
        Some(format!("sentry:{}", joined.join("\u{1f}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Catalog {
        Catalog::from_toml(
            r#"
[catalog]
name = "t"
default_locale = "en"
locales = ["en"]
[errors.KAKAO_ACCOUNT_NOT_AVAILABLE]
status = 502
message.en = "Kakao account unavailable."
"#,
        )
        .unwrap()
    }

    fn django_event() -> Value {
        json!({
            "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
            "exception": {"values": [
                {"type": "HTTPError", "module": "requests.exceptions", "value": "502 Server Error"},
                {"type": "KakaoAccountNotAvailableError", "module": "kakao.errors",
                 "value": "account 42 not available\ntraceback...", "mechanism": {"type": "django", "handled": false}}
            ]},
            "transaction": "/api/login/kakao",
            "transaction_info": {"source": "route"},
            "environment": "production",
            "release": "shop@1.2.3",
            "user": {"id": "u-7", "email": "kim@example.com"},
            "tags": {"request_id": "req-1"},
            "request": {
                "url": "http://shop.example/api/login/kakao",
                "method": "post",
                "query_string": "next=/home&token=abc",
                "headers": [["Authorization", "Bearer s3cr3t"], ["Cookie", "sessionid=x"], ["User-Agent", "curl/8"]],
                "cookies": {"sessionid": "x"},
                "data": {"password": "hunter2", "card": "4111 1111 1111 1111", "name": "kim"}
            }
        })
    }

    #[test]
    fn a_django_event_maps_to_the_catalog_code() {
        let m = Mapper::new(Some(catalog()), BTreeMap::new());
        let mut v = django_event();
        let e = m.map(&mut v);
        assert_eq!(e.code, "KAKAO_ACCOUNT_NOT_AVAILABLE");
        assert_eq!(e.status, 502);
        assert_eq!(e.message, "account 42 not available");
        assert_eq!(
            e.cause_chain,
            [
                "kakao.errors.KakaoAccountNotAvailableError: account 42 not available",
                "requests.exceptions.HTTPError: 502 Server Error"
            ]
        );
        assert_eq!(e.route.as_deref(), Some("/api/login/kakao"));
        assert_eq!(e.method, "POST");
        assert_eq!(e.path, "/api/login/kakao?next=/home&token=[Filtered]");
        assert_eq!(e.user_id.as_deref(), Some("u-7"));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(
            e.headers,
            [
                ("user-agent".to_owned(), "curl/8".to_owned()),
                ("sentry-environment".to_owned(), "production".to_owned()),
                ("sentry-release".to_owned(), "shop@1.2.3".to_owned()),
            ]
        );
        assert_eq!(e.fingerprint, None);
        let text = v.to_string();
        for secret in ["s3cr3t", "hunter2", "sessionid=x", "4111 1111"] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert!(text.contains("\"name\":\"kim\""));
    }

    #[test]
    fn codes_by_tag_mapping_and_derivation() {
        let mut ex = BTreeMap::new();
        ex.insert("myapp.Boom".to_owned(), "BOOM".to_owned());
        let m = Mapper::new(Some(catalog()), ex);
        let mut v = json!({"tags": [["error_code", "ORDER_LOCKED"]], "exception": {"values": [{"type": "ValueError"}]}});
        assert_eq!(m.map(&mut v).code, "ORDER_LOCKED");
        let mut v = json!({"exception": {"values": [{"type": "Boom", "module": "myapp"}]}});
        assert_eq!(m.map(&mut v).code, "BOOM");
        let mut v = json!({"exception": [{"type": "java.lang.NullPointerException"}]});
        let e = m.map(&mut v);
        assert_eq!((e.code.as_str(), e.status), ("NULL_POINTER_EXCEPTION", 500));
        let mut v = json!({"message": "disk full", "tags": {"status_code": "503"}});
        let e = m.map(&mut v);
        assert_eq!(
            (e.code.as_str(), e.status, e.message.as_str()),
            ("UNKNOWN_500", 503, "disk full")
        );
        assert_eq!(screaming_snake("HTTPError"), "HTTP_ERROR");
        assert_eq!(screaming_snake("OAuth2Error"), "O_AUTH2_ERROR");
    }

    #[test]
    fn fingerprints_honour_default() {
        let m = Mapper::default();
        let base =
            json!({"exception": {"values": [{"type": "E", "value": "v"}]}, "transaction": "/x"});
        let with = |fp: Value| {
            let mut v = base.clone();
            v["fingerprint"] = fp;
            m.map(&mut v).fingerprint
        };
        assert_eq!(with(json!(["{{ default }}"])), None);
        let a = with(json!(["{{ default }}", "tenant-1"])).unwrap();
        let b = with(json!(["{{default}}", "tenant-2"])).unwrap();
        assert_ne!(a, b);
        assert!(a.ends_with("\u{1f}tenant-1"));
        assert_eq!(
            with(json!(["kakao", "account"])).unwrap(),
            "sentry:kakao\u{1f}account"
        );
    }

    #[test]
    fn sensitive_keys_fold_case_and_dashes() {
        for k in [
            "X-Api-Key",
            "PASSWORD",
            "db_passwd",
            "Set-Cookie",
            "x-csrf-token",
            "Private-Key",
        ] {
            assert!(is_sensitive_key(k), "{k}");
        }
        for k in [
            "user-agent",
            "host",
            "api-ke",
            "tok",
            "é",
            "",
            "X-Request-Id",
        ] {
            assert!(!is_sensitive_key(k), "{k}");
        }
    }

    #[test]
    fn cards_need_luhn() {
        assert_eq!(
            scrub_cards("paid with 4111-1111-1111-1111 ok").as_deref(),
            Some("paid with [Filtered] ok")
        );
        assert_eq!(scrub_cards("order 1234567890123"), None);
    }
}
