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
    let mut de = serde_json::Deserializer::from_slice(payload);
    let v = Keep::Event.deserialize(&mut de)?;
    de.end()?;
    Ok(v)
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
