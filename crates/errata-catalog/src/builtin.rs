//! The errors every HTTP framework produces, shipped with every catalog.
//!
//! A catalog may override their messages, numbers, docs and policy, but not remove them or change
//! their status: the framework integration raises them by code.

use std::collections::BTreeMap;

use crate::model::{AlertPolicy, Entry, FieldCode, Param, ParamType};

/// A built-in entry: code, status, retryable, Korean and English messages, parameters.
struct Builtin {
    code: &'static str,
    status: u16,
    retryable: bool,
    ko: &'static str,
    en: &'static str,
    params: &'static [(&'static str, ParamType)],
    description: &'static str,
}

const BUILTINS: &[Builtin] = &[
    Builtin { code: "ROUTE_NOT_FOUND", status: 404, retryable: false, ko: "요청한 경로를 찾을 수 없습니다.", en: "No route matches this path.", params: &[], description: "No route of the API matches the request path. Check the URL and the API version." },
    Builtin { code: "METHOD_NOT_ALLOWED", status: 405, retryable: false, ko: "허용되지 않은 HTTP 메서드입니다.", en: "This HTTP method is not allowed here.", params: &[], description: "The path exists but not with this method. The `Allow` response header lists the methods it takes." },
    Builtin { code: "UNSUPPORTED_MEDIA_TYPE", status: 415, retryable: false, ko: "지원하지 않는 콘텐츠 형식입니다.", en: "This content type is not supported.", params: &[], description: "The request body has a `Content-Type` the endpoint does not accept (usually: send `application/json`)." },
    Builtin { code: "MALFORMED_JSON", status: 400, retryable: false, ko: "요청 본문이 올바른 JSON이 아닙니다.", en: "The request body is not valid JSON.", params: &[], description: "The body could not be parsed as JSON at all (syntax error, truncated body, invalid UTF-8). Fix the client's serialization." },
    Builtin { code: "VALIDATION_ERROR", status: 400, retryable: false, ko: "입력 데이터가 유효하지 않습니다.", en: "The request data is invalid.", params: &[], description: "The body, query or path was well-formed but some fields are missing, of the wrong type or out of range. `field_errors` lists each field with its own code and message." },
    Builtin { code: "PAYLOAD_TOO_LARGE", status: 413, retryable: false, ko: "요청 본문이 너무 큽니다.", en: "The request body is too large.", params: &[], description: "The body is over the server's size limit, whether sent with `Content-Length` or chunked." },
    Builtin { code: "REQUEST_TIMEOUT", status: 408, retryable: true, ko: "요청 전송 시간이 초과되었습니다.", en: "The request took too long to arrive.", params: &[], description: "The client was too slow sending its request. Distinct from UPSTREAM_TIMEOUT, where the server waited on a dependency." },
    Builtin { code: "RATE_LIMIT_EXCEEDED", status: 429, retryable: true, ko: "요청 한도를 초과했습니다. {retry_after}초 후에 다시 시도해주세요.", en: "Too many requests. Try again in {retry_after} seconds.", params: &[("retry_after", ParamType::Integer)], description: "The client sent more requests than its limit allows. Wait for the number of seconds in the `Retry-After` header before retrying." },
    Builtin { code: "SERVER_ERROR", status: 500, retryable: true, ko: "서버 내부 오류가 발생했습니다.", en: "An internal server error occurred.", params: &[], description: "An unexpected failure on the server. Nothing of its cause is in the response; the server has logged it under the request id." },
    Builtin { code: "UPSTREAM_ERROR", status: 502, retryable: true, ko: "외부 서비스 응답을 처리할 수 없습니다.", en: "An upstream service failed.", params: &[], description: "A service this API depends on answered with an error the API could not map to anything more specific." },
    Builtin { code: "SERVICE_UNAVAILABLE", status: 503, retryable: true, ko: "서비스를 일시적으로 사용할 수 없습니다.", en: "The service is temporarily unavailable.", params: &[], description: "The service is overloaded or in maintenance. Retry later, honoring `Retry-After` when present." },
    Builtin { code: "UPSTREAM_TIMEOUT", status: 504, retryable: true, ko: "외부 서비스 응답 시간이 초과되었습니다.", en: "An upstream service did not answer in time.", params: &[], description: "A service this API depends on did not answer in time. Distinct from REQUEST_TIMEOUT, where the client was slow." },
    // Statuses the framework and foreign layers answer that no specific built-in covers: a
    // re-wrapped response keeps its status, always.
    Builtin { code: "UNAUTHENTICATED", status: 401, retryable: false, ko: "인증이 필요합니다.", en: "Authentication is required.", params: &[], description: "The request carries no valid credentials (a missing or rejected `Authorization` header, an expired session). Authenticate, then retry." },
    Builtin { code: "FORBIDDEN", status: 403, retryable: false, ko: "이 요청을 수행할 권한이 없습니다.", en: "You are not allowed to do this.", params: &[], description: "The credentials are valid but do not allow this request (or a CORS check refused its origin). Retrying does not help." },
    Builtin { code: "CONFLICT", status: 409, retryable: false, ko: "요청이 현재 상태와 충돌합니다.", en: "The request conflicts with the current state.", params: &[], description: "The request conflicts with the current state of the resource (a duplicate, a concurrent change). Reload the resource before retrying." },
    Builtin { code: "GONE", status: 410, retryable: false, ko: "더 이상 제공되지 않는 리소스입니다.", en: "This resource is no longer available.", params: &[], description: "The resource existed and was removed for good. Do not retry." },
    Builtin { code: "UNPROCESSABLE", status: 422, retryable: false, ko: "요청을 처리할 수 없습니다.", en: "The request could not be processed.", params: &[], description: "The request was well-formed but its content could not be processed. Unlike VALIDATION_ERROR, no field errors are known." },
    Builtin { code: "CLIENT_ERROR", status: 400, retryable: false, ko: "요청을 처리할 수 없습니다.", en: "The request was rejected.", params: &[], description: "Status-generic: a 4xx response from a layer or handler outside the catalog whose status has no built-in of its own (418, 451, ...). The response keeps that status." },
    Builtin { code: "HANDLER_TIMEOUT", status: 503, retryable: true, ko: "요청 처리 시간이 초과되었습니다.", en: "The server did not finish the request in time.", params: &[], description: "The server took longer than its deadline to handle the request (a hung dependency, a slow query). Distinct from REQUEST_TIMEOUT (the client was slow) and UPSTREAM_TIMEOUT (a named upstream was slow). Alerted by default." },

    // The server's own request limits (errata_axum::RequestLimitsLayer).
    Builtin { code: "URI_TOO_LONG", status: 414, retryable: false, ko: "요청 URI가 너무 깁니다.", en: "The request URI is too long.", params: &[], description: "The request's path and query are longer than the server accepts. Send large inputs in the body instead of the query string." },
    Builtin { code: "REQUEST_HEADERS_TOO_LARGE", status: 431, retryable: false, ko: "요청 헤더가 너무 큽니다.", en: "The request headers are too large.", params: &[], description: "The request has more headers, or larger ones, than the server accepts (often an oversized cookie or token). Send fewer or smaller headers." },
];

/// Codes of the built-in entries, in the order they are appended to a catalog.
pub fn builtin_codes() -> impl Iterator<Item = &'static str> {
    BUILTINS.iter().map(|b| b.code)
}

struct BuiltinField {
    code: &'static str,
    ko: &'static str,
    en: &'static str,
    params: &'static [(&'static str, ParamType)],
}

const BUILTIN_FIELDS: &[BuiltinField] = &[
    BuiltinField {
        code: "required",
        ko: "필수 항목입니다.",
        en: "This field is required.",
        params: &[],
    },
    BuiltinField {
        code: "invalid_type",
        ko: "{expected} 형식이어야 합니다.",
        en: "Must be {expected}.",
        params: &[("expected", ParamType::String)],
    },
    BuiltinField {
        code: "invalid",
        ko: "올바르지 않은 값입니다.",
        en: "This value is invalid.",
        params: &[],
    },
    BuiltinField {
        code: "unknown_field",
        ko: "알 수 없는 항목입니다.",
        en: "This field is not expected.",
        params: &[],
    },
    BuiltinField {
        code: "too_short",
        ko: "{min}자 이상이어야 합니다.",
        en: "Must be at least {min} characters.",
        params: &[("min", ParamType::Integer)],
    },
    BuiltinField {
        code: "too_long",
        ko: "{max}자 이하여야 합니다.",
        en: "Must be at most {max} characters.",
        params: &[("max", ParamType::Integer)],
    },
    BuiltinField {
        code: "out_of_range",
        ko: "{min} 이상 {max} 이하여야 합니다.",
        en: "Must be between {min} and {max}.",
        params: &[("min", ParamType::Number), ("max", ParamType::Number)],
    },
    BuiltinField {
        code: "invalid_email",
        ko: "올바른 이메일 주소가 아닙니다.",
        en: "This is not a valid email address.",
        params: &[],
    },
    // One-sided numeric bounds (`out_of_range` has both).
    BuiltinField {
        code: "too_small",
        ko: "{min} 이상이어야 합니다.",
        en: "Must be at least {min}.",
        params: &[("min", ParamType::Number)],
    },
    BuiltinField {
        code: "too_large",
        ko: "{max} 이하여야 합니다.",
        en: "Must be at most {max}.",
        params: &[("max", ParamType::Number)],
    },
];

/// Codes of the built-in field codes.
pub fn builtin_field_codes() -> impl Iterator<Item = &'static str> {
    BUILTIN_FIELDS.iter().map(|f| f.code)
}

fn params(list: &[(&str, ParamType)]) -> Vec<Param> {
    list.iter()
        .map(|(n, t)| Param {
            name: (*n).to_owned(),
            ty: *t,
        })
        .collect()
}

fn messages(ko: &str, en: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("ko".to_owned(), ko.to_owned()),
        ("en".to_owned(), en.to_owned()),
    ])
}

/// The built-in entries, as a catalog without overrides would have them.
pub fn builtin_entries() -> Vec<Entry> {
    BUILTINS
        .iter()
        .map(|b| Entry {
            code: b.code.to_owned(),
            status: b.status,
            number: None,
            domain: None,
            kind: None,
            title: None,
            messages: messages(b.ko, b.en),
            params: params(b.params),
            description: Some(b.description.to_owned()),
            retryable: b.retryable,
            alert: AlertPolicy::default_for(b.status),
            spike: None,
            deprecated: None,
            aliases: Vec::new(),
            ws_close: None,
            builtin: true,
            span: None,
        })
        .collect()
}

/// The built-in field codes.
pub fn builtin_fields() -> Vec<FieldCode> {
    BUILTIN_FIELDS
        .iter()
        .map(|f| FieldCode {
            code: f.code.to_owned(),
            messages: messages(f.ko, f.en),
            params: params(f.params),
            builtin: true,
        })
        .collect()
}

/// Built-ins whose responses keep the status they re-wrap instead of their declared one:
/// `CLIENT_ERROR` (any 4xx) and `SERVER_ERROR` (any 5xx).
pub fn is_status_generic(code: &str) -> bool {
    matches!(code, "CLIENT_ERROR" | "SERVER_ERROR")
}

/// The status a response of `code` answers when the error asks for `status`: the error's own
/// status for a status-generic built-in (kept in its class), else `declared`.
pub fn response_status(code: &str, declared: u16, status: u16) -> u16 {
    let same_class = status / 100 == declared / 100;
    if is_status_generic(code) && same_class && (100..600).contains(&status) {
        status
    } else {
        declared
    }
}

/// The built-in status of `code`, if it is a built-in.
pub fn builtin_status(code: &str) -> Option<u16> {
    BUILTINS.iter().find(|b| b.code == code).map(|b| b.status)
}
