//! `errata conformance`: the corpus every renderer of a catalog must pass, in any language.
//!
//! Every code × locale × envelope × parameter case, with the exact status, headers and body
//! expected. The expected bodies are built here from the catalog model and the envelope rules
//! (not by [`errata::Renderer`]), so the corpus checks the Rust renderer too: `--check` renders
//! every case with it and compares after JSON normalization. The generated Python handler is
//! checked against the same file (`examples/drf_classroom/tests/test_conformance.py`). A wording
//! change in the catalog changes the corpus, hence both.

use std::collections::BTreeMap;

use errata::{ApiError, FieldError, ParamValue, RenderContext, Renderer};
use errata_catalog::template::{Segment, Template};
use errata_catalog::{Catalog, Entry, Envelope, ParamType};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::args::ConformanceArgs;
use crate::error::CliError;
use crate::Outcome;

/// The corpus of one catalog.
#[derive(Debug, Serialize, Deserialize)]
pub struct Corpus {
    /// Catalog name.
    pub catalog: String,
    /// Catalog version.
    pub version: String,
    /// Every case.
    pub cases: Vec<Case>,
}

/// A field error of a case's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseFieldError {
    /// Field path.
    pub path: String,
    /// Field code.
    pub code: String,
    /// Parameters of the field code's message.
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Message used when the catalog has none for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One error to render and what must come out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Case {
    /// `CODE/locale/envelope/variant`.
    pub name: String,
    /// The error's code.
    pub code: String,
    /// Its parameters (integers, numbers with a fraction or `.0`, strings, booleans).
    #[serde(default)]
    pub params: Map<String, Value>,
    /// Field errors, in order.
    #[serde(default)]
    pub field_errors: Vec<CaseFieldError>,
    /// `details`, when the error carries any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
    /// An explicit `Retry-After` in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// The request's `Accept-Language` (absent: none sent).
    #[serde(default)]
    pub accept_language: Option<String>,
    /// The envelope to render.
    pub envelope: String,
    /// The request id to echo.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The request path (problem details' `instance`).
    #[serde(default)]
    pub instance: Option<String>,
    /// What the renderer must produce.
    pub expect: Expected,
}

/// The response a case must produce.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Expected {
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lower case, in order: `content-type` first.
    pub headers: Vec<(String, String)>,
    /// The body, compared after JSON normalization.
    pub body: Value,
}

/// Runs `errata conformance`.
pub fn run(args: &ConformanceArgs, output: Option<&std::path::Path>) -> Result<Outcome, CliError> {
    let catalog = crate::source::load(&args.catalog)?;
    let corpus = build(&catalog);
    if args.check {
        let failures = check_rust(&catalog, &corpus);
        for f in failures.iter().take(20) {
            eprintln!("{f}");
        }
        let summary = format!(
            "conformance: the Rust renderer passes {} of {} cases of {}\n",
            corpus.cases.len() - failures.len(),
            corpus.cases.len(),
            catalog.info.name
        );
        crate::output::emit(&summary, output)?;
        return Ok(if failures.is_empty() {
            Outcome::Clean
        } else {
            Outcome::ProblemsFound
        });
    }
    let text = serde_json::to_string_pretty(&corpus).unwrap_or_default();
    crate::output::emit(&crate::output::with_newline(text), output)?;
    Ok(Outcome::Clean)
}

/// Sample values of a parameter: typical, then the values that trip formatters.
fn samples(ty: ParamType, name: &str) -> [Value; 2] {
    match ty {
        ParamType::String => [json!(format!("{name}-1")), json!("\"q\" \\ {x} 한글 \n")],
        ParamType::Integer => [json!(3), json!(-9007199254740993_i64)],
        ParamType::Number => [json!(1.5), json!(2.0)],
        ParamType::Boolean => [json!(true), json!(false)],
    }
}

/// Builds the corpus of `catalog`.
pub fn build(catalog: &Catalog) -> Corpus {
    let mut cases = Vec::new();
    let locales = &catalog.info.locales;
    let mut n = 0usize;
    for entry in &catalog.entries {
        let mut variants: Vec<(String, Map<String, Value>, Vec<CaseFieldError>)> = Vec::new();
        if entry.params.is_empty() {
            variants.push(("plain".into(), Map::new(), Vec::new()));
        } else {
            for i in 0..2 {
                let params = entry
                    .params
                    .iter()
                    .map(|p| (p.name.clone(), samples(p.ty, &p.name)[i].clone()))
                    .collect();
                variants.push((format!("params{}", i + 1), params, Vec::new()));
            }
            // A parameter the handler forgot: the placeholder stays, the member lists the rest.
            let mut partial: Map<String, Value> = Map::new();
            if let Some(p) = entry.params.get(1) {
                partial.insert(p.name.clone(), samples(p.ty, &p.name)[0].clone());
            }
            variants.push(("missing-param".into(), partial, Vec::new()));
        }
        if entry.code == "VALIDATION_ERROR" {
            variants.push(("fields".into(), Map::new(), field_cases(catalog)));
        }
        for (li, locale) in locales.iter().enumerate() {
            for envelope in Envelope::ALL {
                for (variant, params, field_errors) in &variants {
                    n += 1;
                    // Headers that need real negotiation: q-values, case, a range that matches
                    // nothing; every other case has none (the default locale).
                    let accept_language = (li > 0 || n.is_multiple_of(2))
                        .then(|| format!("xx;q=1, {};q=0.5, *;q=0.1", locale.to_ascii_uppercase()));
                    let request_id = match n % 3 {
                        0 => None,
                        1 => Some(format!("req-{n:04}")),
                        _ => Some(format!("weird \"id\" {n}")),
                    };
                    let instance = (envelope == Envelope::Problem && n % 2 == 1)
                        .then(|| "/v1/things/7".into());
                    let details = (variant == "plain" && n.is_multiple_of(5))
                        .then(|| json!({"lecture_id": 7, "tags": ["a"]}))
                        .and_then(|v| v.as_object().cloned());
                    let retry_after = ((entry.status == 503 || entry.status == 429)
                        && variant != "params1")
                        .then_some(120);
                    let mut case = Case {
                        name: format!("{}/{locale}/{}/{variant}", entry.code, envelope.as_str()),
                        code: entry.code.clone(),
                        params: params.clone(),
                        field_errors: field_errors.clone(),
                        details,
                        retry_after,
                        accept_language,
                        envelope: envelope.as_str().into(),
                        request_id,
                        instance,
                        expect: Expected {
                            status: 0,
                            headers: Vec::new(),
                            body: Value::Null,
                        },
                    };
                    case.expect = expected(catalog, entry, li, envelope, &case);
                    cases.push(case);
                }
            }
        }
        // An alias renders as its entry.
        if let Some(alias) = entry.aliases.first() {
            let mut case = Case {
                name: format!("{alias}/alias"),
                code: alias.clone(),
                params: variants[0].1.clone(),
                field_errors: Vec::new(),
                details: None,
                retry_after: None,
                accept_language: None,
                envelope: "nested".into(),
                request_id: None,
                instance: None,
                expect: Expected {
                    status: 0,
                    headers: Vec::new(),
                    body: Value::Null,
                },
            };
            case.expect = expected(catalog, entry, 0, Envelope::Nested, &case);
            cases.push(case);
        }
    }
    Corpus {
        catalog: catalog.info.name.clone(),
        version: catalog.info.version.clone(),
        cases,
    }
}

/// Field errors covering every field code, a path with two problems, a code the catalog does
/// not have (with and without a message).
fn field_cases(catalog: &Catalog) -> Vec<CaseFieldError> {
    let mut out: Vec<CaseFieldError> = catalog
        .fields
        .iter()
        .map(|f| CaseFieldError {
            path: format!("field_{}", f.code),
            code: f.code.clone(),
            params: f
                .params
                .iter()
                .map(|p| (p.name.clone(), samples(p.ty, &p.name)[0].clone()))
                .collect(),
            message: None,
        })
        .collect();
    if let Some(first) = out.first().cloned() {
        out.push(CaseFieldError {
            code: "invalid".into(),
            ..first
        });
    }
    out.push(CaseFieldError {
        path: "items[0].name".into(),
        code: "no_such_code".into(),
        params: Map::new(),
        message: Some("Custom message.".into()),
    });
    out.push(CaseFieldError {
        path: "items[1].name".into(),
        code: "no_such_code".into(),
        params: Map::new(),
        message: None,
    });
    out
}

/// The message of `messages` for catalog locale `li`: that locale's, else the default
/// locale's, else `en`, else any.
fn template(messages: &BTreeMap<String, String>, locales: &[String], li: usize) -> Template {
    messages
        .get(&locales[li])
        .or_else(|| messages.get(&locales[0]))
        .or_else(|| messages.get("en"))
        .or_else(|| messages.values().next())
        .and_then(|m| Template::parse(m).ok())
        .unwrap_or_default()
}

/// A parameter as text in a message: strings as they are, numbers as Rust prints them.
fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() => n.to_string(),
        Value::Number(n) => n.as_f64().map(|f| f.to_string()).unwrap_or_default(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn fill(t: &Template, params: &Map<String, Value>) -> String {
    t.segments
        .iter()
        .map(|s| match s {
            Segment::Text(text) => text.clone(),
            Segment::Param(name) => params
                .get(name)
                .map_or_else(|| format!("{{{name}}}"), param_text),
        })
        .collect()
}

fn field_message(catalog: &Catalog, fe: &CaseFieldError, li: usize) -> String {
    let locales = &catalog.info.locales;
    match (catalog.field(&fe.code), &fe.message) {
        (Some(f), _) => fill(&template(&f.messages, locales, li), &fe.params),
        (None, Some(m)) => m.clone(),
        (None, None) => catalog.field("invalid").map_or_else(
            || "invalid".to_owned(),
            |f| fill(&template(&f.messages, locales, li), &fe.params),
        ),
    }
}

/// The response the envelope rules give for `case` (entry `entry`, catalog locale `li`).
fn expected(
    catalog: &Catalog,
    entry: &Entry,
    li: usize,
    envelope: Envelope,
    case: &Case,
) -> Expected {
    let config = &catalog.envelope;
    let message = fill(
        &template(&entry.messages, &catalog.info.locales, li),
        &case.params,
    );
    let params: Map<String, Value> = entry
        .params
        .iter()
        .filter_map(|p| Some((p.name.clone(), case.params.get(&p.name)?.clone())))
        .collect();
    let number = config.number.as_ref().zip(entry.number.as_ref());
    let mut body = Map::new();
    let extras = |m: &mut Map<String, Value>| {
        if let Some((member, n)) = number {
            m.insert(member.clone(), json!(n));
        }
    };
    match envelope {
        Envelope::Problem => {
            body.insert(
                "type".into(),
                json!(catalog
                    .docs_link(&entry.code)
                    .unwrap_or_else(|| "about:blank".into())),
            );
            body.insert(
                "title".into(),
                json!(entry
                    .title
                    .clone()
                    .unwrap_or_else(|| errata_catalog::reason_phrase(entry.status).into())),
            );
            body.insert("status".into(), json!(entry.status));
            body.insert("detail".into(), json!(message));
            if let Some(i) = &case.instance {
                body.insert("instance".into(), json!(i));
            }
            body.insert("code".into(), json!(entry.code));
            extras(&mut body);
            if !params.is_empty() {
                body.insert(config.params.clone(), Value::Object(params));
            }
            if !case.field_errors.is_empty() {
                let errors: Vec<Value> = case
                    .field_errors
                    .iter()
                    .map(|fe| json!({"field": fe.path, "code": fe.code, "message": field_message(catalog, fe, li)}))
                    .collect();
                body.insert("errors".into(), Value::Array(errors));
            }
            if let Some(d) = &case.details {
                body.insert("details".into(), Value::Object(d.clone()));
            }
        }
        Envelope::Flat => {
            body.insert("status".into(), json!(entry.status));
            let code = match (&entry.number, config.flat_code_is_number()) {
                (Some(n), true) => n.clone(),
                _ => entry.code.clone(),
            };
            body.insert("code".into(), json!(code));
            extras(&mut body);
            body.insert("message".into(), json!(message));
            if !params.is_empty() {
                body.insert(config.params.clone(), Value::Object(params));
            }
            if !case.field_errors.is_empty() {
                body.insert("field_errors".into(), grouped(catalog, case, li));
            }
        }
        _ => {
            let mut inner = Map::new();
            inner.insert("code".into(), json!(entry.code));
            extras(&mut inner);
            inner.insert("message".into(), json!(message));
            if !params.is_empty() {
                inner.insert(config.params.clone(), Value::Object(params));
            }
            if let Some(d) = &case.details {
                inner.insert("details".into(), Value::Object(d.clone()));
            }
            if !case.field_errors.is_empty() {
                inner.insert("field_errors".into(), grouped(catalog, case, li));
            }
            body.insert("error".into(), Value::Object(inner));
            body.insert("status".into(), json!(entry.status));
        }
    }
    if let Some(id) = &case.request_id {
        body.insert("request_id".into(), json!(id));
    }
    let mut headers = vec![(
        "content-type".to_owned(),
        envelope.content_type().to_owned(),
    )];
    let retry = case.retry_after.or_else(|| {
        case.params
            .get("retry_after")
            .and_then(Value::as_i64)
            .filter(|n| *n >= 0)
            .map(|n| n as u64)
    });
    if let Some(r) = retry {
        headers.push(("retry-after".into(), r.to_string()));
    }
    Expected {
        status: entry.status,
        headers,
        body: Value::Object(body),
    }
}

fn grouped(catalog: &Catalog, case: &Case, li: usize) -> Value {
    let mut map = Map::new();
    for fe in &case.field_errors {
        let item = json!({"code": fe.code, "message": field_message(catalog, fe, li)});
        match map.get_mut(&fe.path) {
            Some(Value::Array(list)) => list.push(item),
            _ => {
                map.insert(fe.path.clone(), Value::Array(vec![item]));
            }
        }
    }
    Value::Object(map)
}

fn param_value(v: &Value) -> Option<ParamValue> {
    Some(match v {
        Value::String(s) => ParamValue::from(s.clone()),
        Value::Number(n) if n.is_i64() => ParamValue::Int(n.as_i64()?),
        Value::Number(n) => ParamValue::Num(n.as_f64()?),
        Value::Bool(b) => ParamValue::Bool(*b),
        _ => return None,
    })
}

/// The error a case describes, as a Rust handler would build it.
pub fn api_error(catalog: &Catalog, case: &Case) -> ApiError {
    let status = catalog.get(&case.code).map_or(500, |e| e.status);
    let mut err = ApiError::from_code(case.code.clone(), status);
    for (name, v) in &case.params {
        if let Some(v) = param_value(v) {
            err = err.with_param(name.clone(), v);
        }
    }
    for fe in &case.field_errors {
        let mut f = FieldError::new(fe.code.clone());
        for (name, v) in &fe.params {
            if let Some(v) = param_value(v) {
                f = f.with_param(name.clone(), v);
            }
        }
        if let Some(m) = &fe.message {
            f = f.with_message(m.clone());
        }
        err = err.with_field_error(fe.path.clone(), f);
    }
    if let Some(d) = &case.details {
        err = err.with_details(Value::Object(d.clone()));
    }
    if let Some(r) = case.retry_after {
        err = err.with_retry_after(r);
    }
    err
}

/// Renders every case with the Rust renderer; one line per case that differs.
pub fn check_rust(catalog: &Catalog, corpus: &Corpus) -> Vec<String> {
    let renderer = Renderer::new(catalog.clone());
    let mut failures = Vec::new();
    for case in &corpus.cases {
        let err = api_error(catalog, case);
        let ctx = RenderContext {
            locale: renderer.negotiate(case.accept_language.as_deref()),
            request_id: case.request_id.as_deref(),
            instance: case.instance.as_deref(),
            envelope: Envelope::parse(&case.envelope),
        };
        let out = renderer.render(&err, &ctx);
        let mut headers = vec![("content-type".to_owned(), out.content_type.to_owned())];
        headers.extend(
            out.headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone())),
        );
        let got = Expected {
            status: out.status,
            headers,
            body: serde_json::from_slice(&out.body).unwrap_or(Value::Null),
        };
        if got != case.expect {
            failures.push(format!(
                "{}: expected {} got {}",
                case.name,
                serde_json::to_string(&case.expect).unwrap_or_default(),
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }
    failures
}
