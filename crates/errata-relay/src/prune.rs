//! A Sentry event parsed to the parts the mapping reads, the rest skipped: the stack traces,
//! breadcrumbs, frame variables and contexts that make up most of an event are checked for
//! syntax but never built into a [`Value`].
//!
//! Every kept part is whole, under the same keys, so Sentry's scrubbing and the mapping give
//! on the pruned event exactly what they give on the whole one. Skipped parts still go through
//! the parser's `deserialize_any` (syntax, UTF-8, escapes, numbers, nesting limit), so a payload
//! is refused, with the same located reason, exactly when parsing it into a [`Value`] fails.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;
use serde_json::{Map, Value};

/// A node of the event and which of its children the mapping reads.
#[derive(Clone, Copy)]
enum Keep {
    /// The whole subtree.
    All,
    /// The event itself.
    Event,
    /// `exception`: `{"values": [...]}` or `[...]`.
    Exception,
    /// A list of exceptions.
    Exceptions,
    /// One exception: `type`, `module`, `value`.
    ExceptionItem,
    /// `request`: `method`, `url`, `query_string`, `headers`.
    Request,
    /// `contexts`: `response`.
    Contexts,
    /// `contexts.response`: `status_code`.
    Response,
    /// `logentry`: `formatted`, `message`.
    Logentry,
    /// `user`: `id`, `username`.
    User,
}

impl Keep {
    /// What is kept of the child `key` of an object of this kind (`None`: skipped).
    fn child(self, key: &str) -> Option<Keep> {
        use Keep::*;
        match (self, key) {
            (
                Event,
                "event_id" | "transaction" | "tags" | "message" | "environment" | "release"
                | "fingerprint",
            ) => Some(All),
            (Event, "exception") => Some(Exception),
            (Event, "request") => Some(Request),
            (Event, "contexts") => Some(Contexts),
            (Event, "logentry") => Some(Logentry),
            (Event, "user") => Some(User),
            (Exception, "values") => Some(Exceptions),
            (ExceptionItem, "type" | "module" | "value") => Some(All),
            (Request, "method" | "url" | "query_string" | "headers") => Some(All),
            (Contexts, "response") => Some(Response),
            (Response, "status_code") => Some(All),
            (Logentry, "formatted" | "message") => Some(All),
            (User, "id" | "username") => Some(All),
            _ => None,
        }
    }

    /// The element kind of an array of this kind (`None`: the array is read as nothing).
    fn element(self) -> Option<Keep> {
        match self {
            Keep::Exception | Keep::Exceptions => Some(Keep::ExceptionItem),
            _ => None,
        }
    }
}

/// Parses `payload` (one JSON value) keeping what the mapping reads; a top-level value that
/// is not an object comes back as `Null`.
pub(crate) fn parse(payload: &[u8]) -> Result<Value, serde_json::Error> {
    match Quick::parse(payload) {
        Some(v) => Ok(v),
        None => exact(payload),
    }
}

/// [`parse`] through serde_json's deserializer: the reference, and the answer on anything the
/// quick walk leaves to it.
pub(crate) fn exact(payload: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(payload);
    let v = Keep::Event.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
}

/// Containers nested deeper than this make the quick walk give up (serde_json refuses past 128).
const QUICK_MAX_DEPTH: usize = 100;

/// A walk of the payload that builds the kept parts and only checks the skipped ones, over the
/// bytes, without serde's machinery. It is stricter than serde_json: it gives up (`None`) on
/// anything it does not check itself as serde_json would (syntax errors, lone surrogate escapes,
/// numbers with many digits or exponents, keys with escapes, deep nesting, a top level that is
/// not an object), and the exact parse decides then. So whatever it returns is what the exact
/// parse returns.
struct Quick<'a> {
    b: &'a [u8],
    i: usize,
}

/// Eight copies of `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

impl<'a> Quick<'a> {
    fn parse(payload: &'a [u8]) -> Option<Value> {
        // Valid UTF-8 as a whole: every string is, skipped or not.
        std::str::from_utf8(payload).ok()?;
        let mut q = Quick { b: payload, i: 0 };
        q.ws();
        if q.peek()? != b'{' {
            return None;
        }
        let v = q.object(Keep::Event, 1)?;
        q.ws();
        (q.i == q.b.len()).then_some(v)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.i += 1)
    }

    /// What follows a container's member, whitespace skipped: `Some(false)` after a comma (and
    /// the whitespace after it), `Some(true)` after the container's `close`, else `None`.
    fn after_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.i += 1;
                self.ws();
                Some(false)
            }
            byte if byte == close => {
                self.i += 1;
                Some(true)
            }
            _ => None,
        }
    }

    /// A value of kind `kind` (not [`Keep::All`]) at nesting `depth` (its container's).
    fn kept(&mut self, kind: Keep, depth: usize) -> Option<Value> {
        match kind {
            Keep::All => {
                let start = self.i;
                self.skip(depth)?;
                serde_json::from_slice(&self.b[start..self.i]).ok()
            }
            _ => match self.peek()? {
                b'{' => self.object(kind, depth + 1),
                b'[' => match kind.element() {
                    Some(element) => self.array(element, depth + 1),
                    None => {
                        self.skip(depth)?;
                        Some(Value::Null)
                    }
                },
                _ => {
                    self.skip(depth)?;
                    Some(Value::Null)
                }
            },
        }
    }

    fn object(&mut self, kind: Keep, depth: usize) -> Option<Value> {
        if depth > QUICK_MAX_DEPTH {
            return None;
        }
        self.eat(b'{')?;
        let mut out = Map::new();
        self.ws();
        if self.eat(b'}').is_some() {
            return Some(Value::Object(out));
        }
        loop {
            let key = self.key()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            match kind.child(key) {
                Some(child) => {
                    let v = self.kept(child, depth)?;
                    out.insert(key.to_owned(), v);
                }
                None => self.skip(depth)?,
            }
            if self.after_member(b'}')? {
                return Some(Value::Object(out));
            }
        }
    }

    fn array(&mut self, element: Keep, depth: usize) -> Option<Value> {
        if depth > QUICK_MAX_DEPTH {
            return None;
        }
        self.eat(b'[')?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(b']').is_some() {
            return Some(Value::Array(out));
        }
        loop {
            out.push(self.kept(element, depth)?);
            if self.after_member(b']')? {
                return Some(Value::Array(out));
            }
        }
    }

    /// An object key without escapes, borrowed.
    fn key(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start
            + self.b[start..]
                .iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        // The whole payload is UTF-8 and `"` is a boundary.
        std::str::from_utf8(&self.b[start..end]).ok()
    }

    /// Checks one value at nesting `depth` (its container's) and steps over it.
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string(),
            b'{' => {
                if depth + 1 > QUICK_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    if self.peek()? != b'"' {
                        return None;
                    }
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip(depth + 1)?;
                    if self.after_member(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                if depth + 1 > QUICK_MAX_DEPTH {
                    return None;
                }
                self.i += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if self.after_member(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.i..]
            .starts_with(word)
            .then(|| self.i += word.len())
    }

    /// A number of JSON's grammar whose value is surely finite (serde_json refuses an infinite
    /// one): at most 100 digits before and after the point, an exponent of at most 2 digits.
    fn number(&mut self) -> Option<()> {
        self.eat(b'-');
        let digits = |q: &mut Self| {
            let n = q.b[q.i..].iter().take_while(|c| c.is_ascii_digit()).count();
            q.i += n;
            n
        };
        if self.peek()? == b'0' {
            self.i += 1;
        } else if !(1..=100).contains(&digits(self)) {
            return None;
        }
        if matches!(self.peek(), Some(b'0'..=b'9')) {
            // A leading zero followed by digits (`01`).
            return None;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !(1..=100).contains(&digits(self)) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !(1..=2).contains(&digits(self)) {
                return None;
            }
        }
        Some(())
    }

    /// A string (at its opening quote): no control character, known escapes, no surrogate
    /// escape (serde_json's rules on those are left to it).
    fn string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            self.skip_plain();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => match *self.b.get(self.i + 1)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                    b'u' => {
                        let hex = self.b.get(self.i + 2..self.i + 6)?;
                        let mut code = 0u32;
                        for &h in hex {
                            code = code * 16 + char::from(h).to_digit(16)?;
                        }
                        if (0xD800..=0xDFFF).contains(&code) {
                            return None;
                        }
                        self.i += 6;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// Steps to the next `"`, `\` or control character (or the end), eight bytes at a time.
    fn skip_plain(&mut self) {
        let b = self.b;
        while let Some(chunk) = b.get(self.i..self.i + 8) {
            let x = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            let found = has_zero(x ^ splat(b'"')) | has_zero(x ^ splat(b'\\')) | has_less(x, 0x20);
            if found != 0 {
                // The lowest flagged byte is always a real one.
                self.i += (found.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while let Some(&c) = b.get(self.i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                return;
            }
            self.i += 1;
        }
    }
}

/// High bit set in (at least) the lowest zero byte of `x`.
const fn has_zero(x: u64) -> u64 {
    x.wrapping_sub(splat(1)) & !x & splat(0x80)
}

/// High bit set in (at least) the lowest byte of `x` below `n` (`n` ≤ 128).
const fn has_less(x: u64, n: u8) -> u64 {
    x.wrapping_sub(splat(n)) & !x & splat(0x80)
}

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self {
            Keep::All => serde::Deserialize::deserialize(d),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Keep {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    // A scalar where the mapping reads an object or a list reads as nothing.
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        match self.element() {
            Some(kind) => {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element_seed(kind)? {
                    out.push(v);
                }
                Ok(Value::Array(out))
            }
            None => {
                while seq.next_element::<Skip>()?.is_some() {}
                Ok(Value::Null)
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(KeyName(key)) = map.next_key::<KeyName<'de>>()? {
            match self.child(&key) {
                Some(kind) => {
                    let v = map.next_value_seed(kind)?;
                    out.insert(key.into_owned(), v);
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object key, borrowed from the payload when it has no escapes.
struct KeyName<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for KeyName<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = KeyName<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<KeyName<'de>, E> {
                Ok(KeyName(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<KeyName<'de>, E> {
                Ok(KeyName(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value parsed and dropped: nothing is built.
struct Skip;

impl<'de> serde::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_key::<Skip>()?.is_some() {
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

#[cfg(test)]
mod tests {
    use crate::mapping::Mapper;
    use serde_json::{json, Value};

    /// The pruned path and the whole-value path give the same event and the same errors.
    fn same(m: &Mapper, payload: &[u8]) {
        let whole = serde_json::from_slice::<Value>(payload);
        let pruned = m.map_payload(payload);
        match (whole, pruned) {
            (Ok(mut v), Ok(Some(mut p))) => {
                assert!(v.is_object());
                let id = v.get("event_id").and_then(Value::as_str).map(str::to_owned);
                let e = m.map(&mut v);
                p.event.time = e.time;
                assert_eq!(p.event, e, "{}", String::from_utf8_lossy(payload));
                assert_eq!(p.event_id, id);
            }
            (Ok(v), Ok(None)) => assert!(!v.is_object()),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!(
                "{}: whole {a:?}, pruned {b:?}",
                String::from_utf8_lossy(payload)
            ),
        }
    }

    fn frames(n: usize) -> Value {
        (0..n)
            .map(|i| {
                json!({"filename": format!("m{i}.py"), "lineno": i, "in_app": true,
                       "vars": {"token": "planted", "card": "4111 1111 1111 1111", "x": [[1, 2], ["a", "b"]]}})
            })
            .collect()
    }

    #[test]
    fn events_of_every_shape_map_the_same() {
        let m = Mapper::default();
        let events = [
            json!({
                "event_id": "9ec79c33ec9942ab8353589fcb2e04dc",
                "exception": {"values": [
                    {"type": "HTTPError", "module": "requests", "value": "502 for 4111 1111 1111 1111",
                     "stacktrace": {"frames": frames(5)}},
                    {"type": "KakaoError", "module": "kakao.errors", "value": "account 42\\nmore",
                     "mechanism": {"type": "django"}, "stacktrace": {"frames": frames(8)}}
                ]},
                "breadcrumbs": {"values": [{"message": "SELECT 1", "data": {"session": "x"}}]},
                "transaction": "/api/login/kakao",
                "request": {"url": "https://h/api/x?token=abc&a=1#frag", "method": "post",
                            "query_string": [["password", "p"], ["next", "/home"]],
                            "headers": [["User-Agent", "curl/8"], ["Cookie", "s=1"], ["X-Request-Id", "r-1"]],
                            "data": {"password": "hunter2"}, "cookies": {"sessionid": "x"}},
                "contexts": {"response": {"status_code": 503}, "trace": {"trace_id": "t"}},
                "tags": [["status_code", "429"], ["request_id", "4111111111111111"]],
                "user": {"id": 42, "username": "kim"},
                "environment": "production", "release": "shop@1",
                "fingerprint": ["{{ default }}", "tenant-1", 7],
                "extra": {"deep": [[[[{"a": "b"}]]]]}
            }),
            json!({"exception": [{"type": "java.lang.NullPointerException"}, "junk", 3, ["type", "x"]],
                   "request": "not an object", "user": ["id", "u"], "contexts": [1, 2],
                   "logentry": {"formatted": "disk 4111-1111-1111-1111 full", "message": "m"}}),
            json!({"exception": {"values": "nope"}, "message": {"formatted": "from message"},
                   "tags": {"error_code": "ORDER_LOCKED", "http.status_code": "409"}}),
            json!({"exception": {"values": [{"type": {"nested": 1}, "value": ["x"]}]},
                   "logentry": "text", "message": "plain", "user": {"id": "u-1"},
                   "request": {"url": "/no/host?session=1", "query_string": 5, "headers": {"Host": "h", "Referer": "r"}}}),
            json!({"transaction": 5, "release": null, "environment": ["e"], "fingerprint": "x"}),
            json!({}),
        ];
        for e in &events {
            same(&m, &serde_json::to_vec(e).unwrap());
        }
        // The last duplicate wins, as in a whole value.
        same(
            &m,
            br#"{"transaction":"/a","exception":{"values":[{"type":"A"}]},"transaction":"/b","exception":[{"type":"B"}]}"#,
        );
        // Escaped keys and values.
        same(
            &m,
            br#"{"trans\u0061ction":"/\u00e9","exception":[{"typ\u0065":"E\"x"}],"st\u0061cktrace":"\ud83d\ude00"}"#,
        );
    }

    /// A small deterministic generator for the mutations.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn the_quick_walk_takes_ordinary_events_and_agrees_with_the_exact_parse() {
        let ev = json!({
            "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "timestamp": 1701432000.123456,
            "exception": {"values": [{"type": "E", "value": "v\u{e9}\n", "stacktrace": {"frames": frames(3)}}]},
            "extra": {"n": [-0, 0.5, -12.25e-3, 1E+2, 18446744073709551616u128 as f64, true, false, null]},
            "breadcrumbs": {"values": [{"message": "caf\u{e9} \"q\" \\ / \u{8}\u{c}\r\t \u{1f600}"}]},
            "request": {"url": "https://h/x", "headers": {"A": "b"}}, "user": {"id": 1}
        });
        // Pretty (whitespace between tokens) and compact, as the SDKs send them.
        let pretty = serde_json::to_vec_pretty(&ev).unwrap();
        let compact = serde_json::to_vec(&ev).unwrap();
        for (seed, mut payload) in [(7, pretty), (8, compact)] {
            // Escapes as other encoders write them.
            let escaped = br#""logentry":{"message":"\u00e9\/\u0041"},"#;
            payload.splice(1..1, escaped.iter().copied());
            let quick = super::Quick::parse(&payload).expect("an ordinary event is walked");
            assert_eq!(quick, super::exact(&payload).unwrap());
            assert_eq!(quick["exception"]["values"][0]["value"], "v\u{e9}\n");
            assert_eq!(quick["logentry"]["message"], "\u{e9}/A");
            mutations(&payload, seed);
        }
    }

    /// Whatever the walk accepts of mutations of `payload`, the exact parse accepts and builds
    /// the same.
    fn mutations(payload: &[u8], seed: u64) {
        let alphabet = b"{}[]\\\",:0123456789.eE+-tfnul \n\x01\xff\xc3\xa9a";
        let mut rng = Lcg(seed);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut p = payload.to_vec();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(p.len());
                let c = alphabet[rng.below(alphabet.len())];
                match rng.below(3) {
                    0 => p[at] = c,
                    1 => p.insert(at, c),
                    _ => {
                        p.remove(at);
                    }
                }
            }
            if let Some(v) = super::Quick::parse(&p) {
                accepted += 1;
                assert_eq!(
                    super::exact(&p).ok(),
                    Some(v),
                    "{}",
                    String::from_utf8_lossy(&p)
                );
            }
        }
        assert!(accepted > 1_000, "{accepted}");
    }

    #[test]
    fn the_quick_walk_leaves_what_it_does_not_settle_to_the_exact_parse() {
        let deep = format!("{{\"extra\":{}1{}}}", "[".repeat(101), "]".repeat(101));
        let cases: [&[u8]; 9] = [
            br#"{"extra":"\ud83d\ude00"}"#,
            br#"{"tr\u0061nsaction":"x"}"#,
            br#"{"extra":1e400}"#,
            br#"{"extra":1e100}"#,
            br#"{"extra":1.5}  x"#,
            b"[1]",
            b" \"x\"",
            b"{\"extra\":\"\xff\"}",
            deep.as_bytes(),
        ];
        for p in cases {
            assert_eq!(
                super::Quick::parse(p),
                None,
                "{}",
                String::from_utf8_lossy(p)
            );
            same(&Mapper::default(), p);
        }
    }

    #[test]
    fn malformed_payloads_fail_the_same() {
        let m = Mapper::default();
        let deep = format!("{{\"extra\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let payloads: Vec<Vec<u8>> = vec![
            b"[1, 2]".to_vec(),
            b"\"text\"".to_vec(),
            b"null".to_vec(),
            b"{\"a\":1".to_vec(),
            b"{\"a\":1} trailing".to_vec(),
            b"{\"extra\":{\"x\":\"\xff\xfe\"}}".to_vec(),
            b"{\"extra\":\"\\q\"}".to_vec(),
            b"{\"extra\":\"\\ud800\"}".to_vec(),
            b"{\"extra\":1e400}".to_vec(),
            b"{\"extra\":01}".to_vec(),
            b"{\"extra\":[1,]}".to_vec(),
            b"{\"extra\":{1:2}}".to_vec(),
            b"{\"extra\":\"a\nb\"}".to_vec(),
            b"{\"transaction\":\"\xff\"}".to_vec(),
            deep.into_bytes(),
            Vec::new(),
        ];
        for p in &payloads {
            same(&m, p);
        }
    }
}
