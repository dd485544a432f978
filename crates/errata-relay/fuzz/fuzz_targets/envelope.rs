//! The relay's envelope path on arbitrary bytes, as `POST /api/{id}/envelope/` runs it after
//! decoding: `Envelope::parse` with the event cap, then, for every `event` item, the JSON
//! payload (an object only), `Mapper::map` (Sentry's scrubbing, then the errata event) and the
//! group key. Checked: never a panic; payloads are slices of the body; the cap holds (an
//! envelope parsed under one cap is refused under a smaller one exactly when an event-like item
//! is larger); no value under a sensitive key survives the scrubbing; the mapped event's fields
//! stay within their bounds.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use errata_relay::envelope::{Envelope, EnvelopeError};
use errata_relay::mapping::{is_sensitive_key, Mapper, FILTERED};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// The relay's default `ERRATA_RELAY_MAX_EVENT`.
const MAX_EVENT: usize = 1 << 20;

const EVENT_LIKE: &[&str] = &[
    "event",
    "transaction",
    "security",
    "raw_security",
    "client_report",
];

/// A relay configured as in production: the classroom catalog and an `[exceptions]` table.
fn mapper() -> &'static Mapper {
    static M: OnceLock<Mapper> = OnceLock::new();
    M.get_or_init(|| {
        let catalog = errata_catalog::Catalog::from_toml(include_str!(
            "../../../../examples/classroom/errors.toml"
        ))
        .expect("the classroom catalog loads");
        let exceptions = BTreeMap::from([
            ("app.errors.Expired".to_owned(), "TOKEN_EXPIRED".to_owned()),
            ("KeyError".to_owned(), "LECTURE_NOT_FOUND".to_owned()),
        ]);
        Mapper::new(Some(catalog), exceptions)
    })
}

/// `part` is a slice of `body` (an empty payload may point anywhere).
fn within(body: &[u8], part: &[u8]) -> bool {
    if part.is_empty() {
        return true;
    }
    let (b, p) = (body.as_ptr() as usize, part.as_ptr() as usize);
    p >= b && p + part.len() <= b + body.len()
}

/// Every object member under a sensitive key is null or `[Filtered]`.
fn assert_scrubbed(v: &Value) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if is_sensitive_key(k) {
                    assert!(
                        child.is_null() || child.as_str() == Some(FILTERED),
                        "`{k}` kept {child}"
                    );
                } else {
                    assert_scrubbed(child);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(assert_scrubbed),
        _ => {}
    }
}

fn ingest_event(payload: &[u8]) {
    let Ok(mut v) = serde_json::from_slice::<Value>(payload) else {
        return;
    };
    if !v.is_object() {
        return;
    }
    let event = mapper().map(&mut v);
    assert_scrubbed(&v);
    assert!(!event.code.is_empty());
    assert!(event.cause_chain.len() <= 10);
    assert!(event.method.chars().count() <= 16);
    assert!(event
        .route
        .as_ref()
        .is_none_or(|r| r.chars().count() <= 301));
    assert!(event.headers.len() <= 10);
    assert!(event.headers.iter().all(|(_, h)| h.chars().count() <= 501));
    let group = errata_alert::fingerprint::of_event(&event, None);
    assert!(!group.is_empty());
    // What an upstream forward would send.
    let _ = serde_json::to_vec(&v);
}

fuzz_target!(|data: &[u8]| {
    let Ok(env) = Envelope::parse(data, MAX_EVENT) else {
        return;
    };
    let mut largest = None;
    for item in &env.items {
        assert!(within(data, item.payload));
        if EVENT_LIKE.contains(&item.kind.as_str()) {
            assert!(item.payload.len() <= MAX_EVENT);
            largest = largest.max(Some(item.payload.len()));
        }
    }
    // The same body under a smaller cap: refused exactly when an event-like item passes it.
    let cap = match largest {
        Some(n) if n > 0 => n - 1,
        _ => data.len() / 2,
    };
    match Envelope::parse(data, cap) {
        Ok(again) => {
            assert!(largest.is_none_or(|n| n <= cap));
            assert_eq!(again, env);
        }
        Err(EnvelopeError::ItemTooLarge { size, limit, .. }) => {
            assert!(largest.is_some_and(|n| n > cap));
            assert!(size > limit && limit == cap);
        }
        Err(e) => panic!("parsed under {MAX_EVENT} but {e} under {cap}"),
    }
    for item in &env.items {
        if item.kind == "event" {
            ingest_event(item.payload);
        }
    }
});
