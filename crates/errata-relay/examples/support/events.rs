//! Realistic Sentry envelopes for the relay's load generator and profile: a Django exception
//! event as sentry-python sends it, and the encodings the SDKs use.

#![allow(dead_code)]

use std::io::Write;

use serde_json::{json, Value};

pub fn frame(i: usize, pad: usize) -> Value {
    json!({
        "filename": format!("shop/views/module_{i}.py"),
        "abs_path": format!("/srv/shop/shop/views/module_{i}.py"),
        "function": format!("handler_{i}"),
        "module": format!("shop.views.module_{i}"),
        "lineno": 40 + i,
        "pre_context": ["    try:", "        account = kakao.fetch_account(token)", "    except HTTPError as exc:"],
        "context_line": "        raise KakaoAccountNotAvailableError(account_id) from exc",
        "post_context": ["    return Response(serializer.data)", "", ""],
        "in_app": true,
        "vars": {
            "request": "<WSGIRequest: POST '/api/login/kakao'>",
            "account_id": format!("'{}'", 100 + i),
            "self": "<shop.views.KakaoLoginView object at 0x7f3a2c1d5e50>",
            "padding": "x".repeat(pad),
        }
    })
}

/// A Django event as sentry-python sends it; `pad` grows the frames' variables.
pub fn django_event(variant: usize, frames: usize, pad: usize, breadcrumbs: usize) -> Value {
    let code = variant % 20;
    json!({
        "event_id": format!("{:032x}", variant + 1),
        "level": "error",
        "platform": "python",
        "timestamp": "2026-12-01T13:00:00.123456Z",
        "server_name": "web-1",
        "environment": "production",
        "release": "shop@2.14.0",
        "sdk": {"name": "sentry.python.django", "version": "2.19.0",
                "packages": [{"name": "pypi:sentry-sdk", "version": "2.19.0"}],
                "integrations": ["django", "logging", "stdlib", "excepthook", "threading", "argv", "atexit", "dedupe", "modules"]},
        "exception": {"values": [
            {"type": "HTTPError", "module": "requests.exceptions",
             "value": "503 Server Error: Service Unavailable for url: https://kapi.kakao.com/v2/user/me",
             "mechanism": {"type": "chained", "handled": true},
             "stacktrace": {"frames": (0..frames / 2).map(|i| frame(i, pad)).collect::<Vec<_>>()}},
            {"type": format!("KakaoError{code}"), "module": "kakao.errors",
             "value": format!("account {} is not available", 1000 + variant),
             "mechanism": {"type": "django", "handled": false},
             "stacktrace": {"frames": (0..frames).map(|i| frame(i, pad)).collect::<Vec<_>>()}}
        ]},
        "transaction": format!("/api/login/kakao/{code}"),
        "transaction_info": {"source": "route"},
        "request": {
            "url": format!("https://shop.example.com/api/login/kakao/{code}"),
            "method": "POST",
            "query_string": "next=%2Fhome",
            "headers": {"Host": "shop.example.com", "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
                        "Content-Type": "application/json", "Content-Length": "87",
                        "Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.planted", "Cookie": "sessionid=planted; csrftoken=planted",
                        "X-Forwarded-For": "203.0.113.7", "X-Request-Id": format!("req-{variant}")},
            "data": {"access_token": "planted", "device": "ios"},
            "env": {"SERVER_NAME": "web-1", "SERVER_PORT": "8000"}
        },
        "contexts": {
            "trace": {"trace_id": "4c79f60c11214eb38604f4ae0781bfb2", "span_id": "fa90fdead5f74052", "op": "http.server", "status": "internal_error"},
            "runtime": {"name": "CPython", "version": "3.12.3"},
            "os": {"name": "Linux"}
        },
        "breadcrumbs": {"values": (0..breadcrumbs).map(|i| json!({
            "type": "default", "category": "query", "level": "info",
            "message": format!("SELECT \"accounts_user\".\"id\" FROM \"accounts_user\" WHERE \"accounts_user\".\"kakao_id\" = {i} LIMIT 21"),
            "timestamp": "2026-12-01T12:59:59.9Z", "data": {"db.system": "postgresql"}
        })).collect::<Vec<_>>()},
        "tags": {"url.path": "/api/login/kakao"},
        "extra": {"sys.argv": ["gunicorn", "shop.wsgi"]}
    })
}

pub fn envelope(ev: &Value) -> Vec<u8> {
    let payload = serde_json::to_vec(ev).unwrap();
    let mut b = serde_json::to_vec(
        &json!({"event_id": ev["event_id"], "sent_at": "2026-12-01T13:00:00Z",
        "sdk": {"name": "sentry.python.django", "version": "2.19.0"}}),
    )
    .unwrap();
    b.push(b'\n');
    b.extend_from_slice(
        format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes(),
    );
    b.extend_from_slice(&payload);
    b.push(b'\n');
    b
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn brotli(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 4, 22);
        w.write_all(b).unwrap();
    }
    out
}

/// The typical event (~13 KB uncompressed): 8 frames, 12 breadcrumbs.
pub fn typical(variant: usize) -> Value {
    django_event(variant, 8, 120, 12)
}

/// The large event (~50 KB uncompressed): 20 frames with larger variables, 40 breadcrumbs.
pub fn large(variant: usize) -> Value {
    django_event(variant, 20, 900, 40)
}

/// `n` envelopes of `make`'s events, encoded alternately br and gzip (`both`) or gzip only.
pub fn bodies(n: usize, make: fn(usize) -> Value, both: bool) -> Vec<(&'static str, Vec<u8>)> {
    (0..n)
        .map(|v| {
            let env = envelope(&make(v));
            if both && v % 2 == 0 {
                ("br", brotli(&env))
            } else {
                ("gzip", gzip(&env))
            }
        })
        .collect()
}
