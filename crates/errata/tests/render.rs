//! Rendering through the three envelopes, locales, field errors and the 5xx guard.

use errata::{ApiError, Envelope, FieldError, RenderContext, Renderer};
use serde_json::{json, Value};

mod classroom {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

fn renderer(envelope: Envelope) -> Renderer {
    Renderer::new(classroom::catalog().clone()).with_envelope(envelope)
}

fn body(r: &Renderer, err: &ApiError, accept_language: Option<&str>) -> (u16, Value) {
    let ctx = RenderContext {
        locale: r.negotiate(accept_language),
        request_id: Some("req-1"),
        instance: Some("/v1/lectures/7/enroll"),
        envelope: None,
    };
    let out = r.render(err, &ctx);
    (
        out.status,
        serde_json::from_slice(&out.body).expect("valid JSON"),
    )
}

#[test]
fn nested_envelope_in_korean_by_default_and_english_on_request() {
    let r = renderer(Envelope::Nested);
    let (status, ko) = body(&r, &classroom::already_enrolled(), None);
    assert_eq!(status, 409);
    assert_eq!(
        ko,
        json!({"error": {"code": "ALREADY_ENROLLED", "message": "이미 수강 중인 강의입니다."}, "status": 409, "request_id": "req-1"})
    );
    let (_, en) = body(
        &r,
        &classroom::already_enrolled(),
        Some("en-US,en;q=0.9,ko;q=0.8"),
    );
    assert_eq!(
        en["error"]["message"],
        "You are already enrolled in this lecture."
    );
}

#[test]
fn problem_envelope_follows_rfc_9457() {
    let r = renderer(Envelope::Problem);
    let err = classroom::validation_error()
        .with_field_error(
            "password",
            FieldError::new("too_short").with_param("min", 8),
        )
        .with_field_error("email", FieldError::new("email_taken"));
    let ctx = RenderContext {
        locale: r.negotiate(Some("en")),
        request_id: Some("r"),
        instance: Some("/v1/auth/signup"),
        envelope: None,
    };
    let out = r.render(&err, &ctx);
    assert_eq!(out.content_type, "application/problem+json");
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        v["type"],
        "https://errors.classroom.example.com/VALIDATION_ERROR"
    );
    assert_eq!(v["title"], "Bad Request");
    assert_eq!(v["status"], 400);
    assert_eq!(v["detail"], "The request data is invalid.");
    assert_eq!(v["instance"], "/v1/auth/signup");
    assert_eq!(v["code"], "VALIDATION_ERROR");
    assert_eq!(v["request_id"], "r");
    assert_eq!(
        v["errors"],
        json!([
            {"field": "password", "code": "too_short", "message": "Must be at least 8 characters."},
            {"field": "email", "code": "email_taken", "message": "This email is already in use."}
        ])
    );
}

#[test]
fn flat_envelope() {
    let r = renderer(Envelope::Flat);
    let (_, v) = body(&r, &classroom::lecture_not_found(), Some("en"));
    assert_eq!(
        v,
        json!({"status": 404, "code": "LECTURE_NOT_FOUND", "message": "The lecture does not exist.", "request_id": "req-1"})
    );
}

#[test]
fn field_errors_group_by_path_and_never_have_a_null_message() {
    let r = renderer(Envelope::Nested);
    let err = classroom::validation_error()
        .with_field_error(
            "password",
            FieldError::new("too_short").with_param("min", 8),
        )
        .with_field_error("password", FieldError::new("no_such_field_code"))
        .with_field_error(
            "image",
            FieldError::new("image_too_large").with_param("max_mb", 5),
        );
    let (_, v) = body(&r, &err, None);
    assert_eq!(
        v["error"]["field_errors"],
        json!({
            "password": [
                {"code": "too_short", "message": "8자 이상이어야 합니다."},
                {"code": "no_such_field_code", "message": "올바르지 않은 값입니다."}
            ],
            "image": [{"code": "image_too_large", "message": "이미지 크기는 5MB 이하여야 합니다."}]
        })
    );
}

#[test]
fn server_errors_never_render_their_cause() {
    let r = renderer(Envelope::Nested);
    let secret = std::io::Error::other("password=hunter2 at db.internal:5432");
    let err = ApiError::internal(secret).with_param("ignored", "x");
    for envelope in [Envelope::Nested, Envelope::Problem, Envelope::Flat] {
        let r = renderer(envelope);
        let out = r.render(&err, &RenderContext::default());
        let text = String::from_utf8(out.body).unwrap();
        assert_eq!(out.status, 500);
        assert!(
            !text.contains("hunter2") && !text.contains("db.internal"),
            "{text}"
        );
    }
    let report = r.report(err, &RenderContext::default());
    assert_eq!(
        report.cause_chain(),
        vec!["password=hunter2 at db.internal:5432".to_owned()]
    );
    assert_eq!(report.alert, errata::AlertPolicy::Always);
}

#[test]
fn rate_limit_sets_retry_after_from_its_parameter() {
    let r = renderer(Envelope::Nested);
    let out = r.render(
        &classroom::rate_limit_exceeded(42),
        &RenderContext::default(),
    );
    assert_eq!(out.status, 429);
    assert!(out.headers.contains(&("retry-after".into(), "42".into())));
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(
        v["error"]["message"],
        "요청 한도를 초과했습니다. 42초 후에 다시 시도해주세요."
    );
}

#[test]
fn unknown_codes_render_as_server_error() {
    let r = renderer(Envelope::Nested);
    let err = ApiError::from_code("NOT_IN_CATALOG", 418);
    let out = r.render(&err, &RenderContext::default());
    assert_eq!(out.status, 500);
    let report = r.report(err, &RenderContext::default());
    assert_eq!(&*report.code, "SERVER_ERROR");
    assert!(report.cause_chain()[0].contains("NOT_IN_CATALOG"));
}

#[test]
fn details_and_extra_headers_pass_through() {
    let r = renderer(Envelope::Nested);
    let err = classroom::session_not_started()
        .with_details(json!({"session_id": 7}))
        .with_header("x-extra", "1");
    let out = r.render(&err, &RenderContext::default());
    assert!(out.headers.contains(&("x-extra".into(), "1".into())));
    let v: Value = serde_json::from_slice(&out.body).unwrap();
    assert_eq!(v["error"]["details"], json!({"session_id": 7}));
}

#[test]
fn ws_close_code_comes_from_the_catalog() {
    let r = renderer(Envelope::Nested);
    let (code, reason) = r
        .ws_close(&classroom::token_expired(), r.negotiate(Some("en")))
        .unwrap();
    assert_eq!((code, reason.as_str()), (4001, "The token has expired."));
    assert!(r
        .ws_close(&classroom::already_enrolled(), r.negotiate(None))
        .is_none());
}

/// Messages without parameters are serialized once, at start-up; every such body must be
/// byte for byte what serializing the envelope field by field gives.
#[test]
fn pre_serialized_bodies_match_the_envelope_for_every_code_and_locale() {
    let catalog = classroom::catalog();
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let mut fast_paths = 0;
    for envelope in [Envelope::Nested, Envelope::Flat] {
        let r = renderer(envelope);
        for entry in &catalog.entries {
            if !entry.params.is_empty() {
                continue;
            }
            for (i, tag) in catalog.info.locales.iter().enumerate() {
                let locale = r.negotiate(Some(tag));
                assert_eq!(r.locale_tag(locale), tag);
                let err =
                    std::sync::Arc::new(ApiError::from_code(entry.code.clone(), entry.status));
                let message = r.message(&err, locale);
                // No id; an id to escape; ids copied as they are (hex, non-ASCII).
                for request_id in [
                    None,
                    Some("req-\"1\"\\x"),
                    Some("0f3a9c-req_7"),
                    Some("요청-1"),
                ] {
                    let ctx = RenderContext {
                        locale,
                        request_id,
                        ..Default::default()
                    };
                    let (out, report) = r.render_with_report(err.clone(), &ctx);
                    assert_eq!(out, r.render(&err, &ctx));
                    let id = request_id.map(|id| format!(",\"request_id\":{}", q(id)));
                    let id = id.as_deref().unwrap_or("");
                    let expected = match envelope {
                        Envelope::Nested => format!(
                            "{{\"error\":{{\"code\":{},\"message\":{}}},\"status\":{}{id}}}",
                            q(&entry.code),
                            q(&message),
                            entry.status
                        ),
                        _ => format!(
                            "{{\"status\":{},\"code\":{},\"message\":{}{id}}}",
                            entry.status,
                            q(&entry.code),
                            q(&message)
                        ),
                    };
                    assert_eq!(
                        std::str::from_utf8(&out.body).unwrap(),
                        expected,
                        "{} in {tag} (locale #{i})",
                        entry.code
                    );
                    assert_eq!(&*report.message, message);
                    assert_eq!(&*report.locale, tag.as_str());
                    fast_paths += 1;
                }
            }
        }
    }
    assert!(fast_paths > 100, "only {fast_paths} bodies checked");
}
