//! The `errata` binary end to end: exit codes, `-o`, and every output format parsed back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn classroom() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/classroom/errors.toml")
}

fn errata(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(args)
        .output()
        .unwrap()
}

fn with_catalog(command: &str, catalog: &Path, extra: &[&str]) -> Output {
    let catalog = catalog.to_str().unwrap();
    let mut args = vec![command, catalog];
    args.extend_from_slice(extra);
    errata(&args)
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn json(out: &Output) -> Value {
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => panic!("output is not JSON ({e}):\n{}", stdout(out)),
    }
}

/// Every code of the classroom catalog, from the library.
fn classroom_codes() -> Vec<String> {
    let catalog = errata_catalog::Catalog::load(classroom()).unwrap();
    catalog.entries.iter().map(|e| e.code.clone()).collect()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SMALL: &str = r#"
[catalog]
name = "shop"
version = "2.1.0"
default_locale = "en"
locales = ["en", "ko"]

[errors.OUT_OF_STOCK]
status = 409
message.en = "{sku} is out of stock."
message.ko = "{sku} 상품은 품절입니다."
params = { sku = "string" }
aliases = ["SOLD_OUT"]
description = "Shown when <script>alert(1)</script> the `sku` is **gone**."
"#;

const BROKEN: &str = r#"
[catalog]
name = "shop"
default_locale = "en"
locales = ["en"]

[errors.outOfStock]
status = 409
message.en = "Out of stock."
"#;

// ── check ───────────────────────────────────────────────────────────────────────────────────

#[test]
fn check_of_the_classroom_catalog_exits_0_with_a_summary() {
    let out = with_catalog("check", &classroom(), &[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("0 errors, 0 warnings"), "{text}");
    assert!(text.contains("locales ko, en"), "{text}");
}

#[test]
fn check_of_a_broken_catalog_renders_every_diagnostic_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "errors.toml", BROKEN);
    let out = with_catalog("check", &path, &[]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(
        text.contains("error: code `outOfStock` is not UPPER_SNAKE_CASE"),
        "{text}"
    );
    assert!(text.contains("errors.toml:7:9"), "{text}");
    assert!(text.contains("hint: rename it to `OUT_OF_STOCK`"), "{text}");
    assert!(text.contains("1 error, 0 warnings"), "{text}");
}

#[test]
fn check_with_warnings_only_exits_0_and_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace(
        "params = { sku = \"string\" }",
        "params = { sku = \"string\", unused = \"integer\" }",
    );
    let path = write(dir.path(), "errors.toml", &text);
    let out = with_catalog("check", &path, &[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("warning: parameter `unused`"));
    assert!(stdout(&out).contains("0 errors, 1 warning"));
}

#[test]
fn check_of_invalid_toml_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "errors.toml", "[catalog\nname = ");
    let out = with_catalog("check", &path, &[]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("invalid TOML"), "{}", stdout(&out));
}

#[test]
fn a_file_that_is_not_utf8_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("errors.toml");
    std::fs::write(&path, [0x5b, 0xff, 0xfe, 0x5d]).unwrap();
    let out = with_catalog("check", &path, &[]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("not UTF-8"), "{}", stderr(&out));
}

#[test]
fn a_missing_catalog_exits_2_naming_the_path_for_every_command() {
    let missing = Path::new("no/such/errors.toml");
    for (command, extra) in [
        ("check", &[][..]),
        ("docs", &[][..]),
        ("openapi", &[][..]),
        ("codegen", &["--lang", "ts"][..]),
        ("bundle", &[][..]),
    ] {
        let out = with_catalog(command, missing, extra);
        assert_eq!(code(&out), 2, "{command}");
        assert!(
            stderr(&out).contains("no/such/errors.toml"),
            "{command}: {}",
            stderr(&out)
        );
        assert!(stdout(&out).is_empty(), "{command}");
    }
    let out = errata(&["explain", "X", "--catalog", "no/such/errors.toml"]);
    assert_eq!(code(&out), 2);
}

#[test]
fn a_broken_catalog_makes_every_command_print_diagnostics_to_stderr_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "errors.toml", BROKEN);
    for (command, extra) in [
        ("docs", &["--format", "html"][..]),
        ("openapi", &[][..]),
        ("codegen", &["--lang", "kotlin"][..]),
        ("bundle", &[][..]),
    ] {
        let out = with_catalog(command, &path, extra);
        assert_eq!(code(&out), 1, "{command}");
        assert!(stdout(&out).is_empty(), "{command}");
        let err = stderr(&out);
        assert!(err.contains("is not UPPER_SNAKE_CASE"), "{command}: {err}");
        assert!(err.contains("1 error"), "{command}: {err}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["frobnicate"][..],
        &[][..],
        &["check"][..],
        &["docs", "x.toml", "--format", "pdf"][..],
        &["codegen", "x.toml"][..],
        &["openapi", "x.toml", "--envelope", "soap"][..],
        &["explain", "X"][..],
    ] {
        let out = errata(args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_and_version_exit_0() {
    let out = errata(&["--help"]);
    assert_eq!(code(&out), 0);
    for command in [
        "check", "docs", "openapi", "codegen", "bundle", "diff", "explain",
    ] {
        assert!(stdout(&out).contains(command), "{command}");
    }
    let out = errata(&["bundle", "--help"]);
    assert!(
        stdout(&out).contains("one file per locale"),
        "{}",
        stdout(&out)
    );
    assert_eq!(code(&errata(&["--version"])), 0);
}

#[test]
fn dash_o_writes_the_file_and_nothing_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("check.txt");
    let out = with_catalog("check", &classroom(), &["-o", target.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).is_empty());
    assert!(std::fs::read_to_string(&target)
        .unwrap()
        .contains("0 errors"));

    let broken = write(dir.path(), "broken.toml", BROKEN);
    let report = dir.path().join("report.txt");
    let out = with_catalog("check", &broken, &["-o", report.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "problems still exit 1 with -o");
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .contains("UPPER_SNAKE_CASE"));
}

#[test]
fn an_unwritable_output_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no/such/dir/out.md");
    let out = with_catalog("docs", &classroom(), &["-o", target.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("out.md"), "{}", stderr(&out));
}

// ── docs ────────────────────────────────────────────────────────────────────────────────────

#[test]
fn docs_markdown_has_every_code_grouped_by_status() {
    let out = with_catalog("docs", &classroom(), &["--format", "md"]);
    assert_eq!(code(&out), 0);
    let md = stdout(&out);
    for code in classroom_codes() {
        assert!(md.contains(&format!("### {code}\n")), "{code}");
        assert!(md.contains(&format!("<a id=\"{code}\"></a>")), "{code}");
    }
    assert!(md.contains("## 409 Conflict"));
    assert!(md.contains("| `retry_after` | integer |"));
    assert!(md.contains("spike: more than 100 in 5m"));
    assert!(md.contains("| WebSocket close code | 4001 |"));
    assert!(md.contains("## Field codes"));
    // Grouped by status: 400 before 409 before 503.
    let at = |s: &str| md.find(s).unwrap();
    assert!(at("## 400 ") < at("## 409 ") && at("## 409 ") < at("## 503 "));
}

#[test]
fn docs_html_is_one_page_with_anchors_search_and_no_external_requests() {
    let out = with_catalog("docs", &classroom(), &["--format", "html"]);
    assert_eq!(code(&out), 0);
    let html = stdout(&out);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for code in classroom_codes() {
        assert!(
            html.contains(&format!("id=\"{code}\"")),
            "anchor for {code}"
        );
        assert!(
            html.contains(&format!("href=\"#{code}\"")),
            "link to {code}"
        );
    }
    assert!(html.contains("<input type=\"search\" id=\"search\""));
    assert!(html.contains("<script>") && html.contains("addEventListener(\"input\""));
    assert!(html.contains("<style>"));
    for external in ["<script src", "<link", "@import", "url(", "<img"] {
        assert!(!html.contains(external), "page must not load {external}");
    }
    assert!(html.contains("id=\"status-409\""));
    assert!(
        html.contains("<code>POST /v1/auth/refresh</code>"),
        "code spans"
    );
}

#[test]
fn docs_html_escapes_catalog_text() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace(
        "\"{sku} is out of stock.\"",
        "\"{sku} is <b>out</b> of stock & \\\"gone\\\".\"",
    );
    let path = write(dir.path(), "errors.toml", &text);
    let out = with_catalog("docs", &path, &["--format", "html"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let html = stdout(&out);
    assert!(
        !html.contains("<script>alert"),
        "description injected a script"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<b>out</b>"), "message injected markup");
    assert!(html.contains("is &lt;b&gt;out&lt;/b&gt; of stock &amp; &quot;gone&quot;."));
    assert!(
        html.contains("<strong>gone</strong>"),
        "Markdown still renders"
    );
    assert!(html.contains("id=\"SOLD_OUT\""), "aliases have anchors too");
}

#[test]
fn docs_json_is_a_stable_machine_format() {
    let out = with_catalog("docs", &classroom(), &["--format", "json"]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert_eq!(doc["format"], "errata-docs/1");
    assert_eq!(doc["catalog"]["name"], "classroom");
    assert_eq!(doc["catalog"]["locales"], serde_json::json!(["ko", "en"]));
    let errors = doc["errors"].as_array().unwrap();
    let codes: Vec<&str> = errors.iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, classroom_codes());
    let kakao = errors
        .iter()
        .find(|e| e["code"] == "KAKAO_ACCOUNT_NOT_AVAILABLE")
        .unwrap();
    assert_eq!(kakao["status"], 400);
    assert_eq!(kakao["number"], "5001");
    assert_eq!(kakao["alert"]["policy"], "spike");
    assert_eq!(kakao["alert"]["spike"]["window_secs"], 300);
    assert_eq!(
        kakao["deprecated"],
        Value::Null,
        "absent values are null, not missing"
    );
    let limit = errors
        .iter()
        .find(|e| e["code"] == "RATE_LIMIT_EXCEEDED")
        .unwrap();
    assert_eq!(
        limit["params"],
        serde_json::json!([{ "name": "retry_after", "type": "integer" }])
    );
    assert_eq!(limit["builtin"], true);
    assert!(doc["fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["code"] == "image_too_large"));
}

// ── openapi ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn openapi_has_envelopes_codes_and_one_response_per_status() {
    let out = with_catalog("openapi", &classroom(), &[]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "classroom");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert_eq!(doc["paths"], serde_json::json!({}));
    let schemas = &doc["components"]["schemas"];
    for name in ["ErrorEnvelope", "ProblemDetails", "FlatError", "FieldError"] {
        assert!(schemas[name].is_object(), "{name}");
    }
    let codes: Vec<String> = schemas["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, classroom_codes());
    assert_eq!(
        schemas["ErrorEnvelope"]["properties"]["error"]["properties"]["field_errors"]["$ref"],
        "#/components/schemas/FieldErrors"
    );
    assert_eq!(
        schemas["FieldErrors"]["additionalProperties"]["items"]["$ref"],
        "#/components/schemas/FieldError"
    );

    let conflict = &doc["components"]["responses"]["Error409"]["content"]["application/json"];
    assert_eq!(
        conflict["schema"]["$ref"],
        "#/components/schemas/ErrorEnvelope"
    );
    let examples = conflict["examples"].as_object().unwrap();
    let mut names: Vec<&String> = examples.keys().collect();
    names.sort();
    // The built-in CONFLICT: what the edge layer answers for a foreign 409.
    assert_eq!(
        names,
        [
            "ALREADY_ENROLLED",
            "CONFLICT",
            "DEVICE_ID_TAKEN",
            "SESSION_ALREADY_STARTED"
        ]
    );
    assert_eq!(
        examples["ALREADY_ENROLLED"]["value"],
        serde_json::json!({
            "error": { "code": "ALREADY_ENROLLED", "message": "이미 수강 중인 강의입니다." },
            "status": 409,
        })
    );
    let limited = &doc["components"]["responses"]["Error429"]["content"]["application/json"]
        ["examples"]["RATE_LIMIT_EXCEEDED"]["value"]["error"]["message"];
    assert_eq!(
        limited,
        "요청 한도를 초과했습니다. 60초 후에 다시 시도해주세요."
    );
    let validation = &doc["components"]["responses"]["Error400"]["content"]["application/json"]
        ["examples"]["VALIDATION_ERROR"]["value"]["error"]["field_errors"];
    assert_eq!(
        validation,
        &serde_json::json!({ "email": [{ "code": "required", "message": "필수 항목입니다." }] })
    );
    // One response per status, each example under its own status.
    let responses = doc["components"]["responses"].as_object().unwrap();
    let total: usize = responses
        .values()
        .map(|r| {
            r["content"]["application/json"]["examples"]
                .as_object()
                .unwrap()
                .len()
        })
        .sum();
    assert_eq!(total, codes.len());
}

#[test]
fn openapi_envelope_flag_chooses_the_referenced_schema() {
    let out = with_catalog("openapi", &classroom(), &["--envelope", "problem"]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    let content =
        &doc["components"]["responses"]["Error409"]["content"]["application/problem+json"];
    assert_eq!(
        content["schema"]["$ref"],
        "#/components/schemas/ProblemDetails"
    );
    let example = &content["examples"]["ALREADY_ENROLLED"]["value"];
    assert_eq!(
        example["type"],
        "https://errors.classroom.example.com/ALREADY_ENROLLED"
    );
    assert_eq!(example["title"], "Conflict");
    assert_eq!(example["code"], "ALREADY_ENROLLED");
    assert_eq!(example["detail"], "이미 수강 중인 강의입니다.");

    let out = with_catalog("openapi", &classroom(), &["--envelope", "flat"]);
    let doc = json(&out);
    let content = &doc["components"]["responses"]["Error404"]["content"]["application/json"];
    assert_eq!(content["schema"]["$ref"], "#/components/schemas/FlatError");
    assert_eq!(
        content["examples"]["NOT_FOUND"]["value"],
        serde_json::json!({ "status": 404, "code": "NOT_FOUND", "message": "리소스를 찾을 수 없습니다." })
    );
}

// ── codegen ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn codegen_typescript_has_codes_types_and_a_tolerant_parser() {
    let out = with_catalog("codegen", &classroom(), &["--lang", "ts"]);
    assert_eq!(code(&out), 0);
    let ts = stdout(&out);
    assert!(ts.contains("export function parseApiError(body: unknown): ApiError | null"));
    assert!(ts.contains("export interface UnknownApiError"));
    assert!(ts.contains(
        "export interface RateLimitExceededParams {\n  readonly retry_after: number;\n}"
    ));
    for code in classroom_codes() {
        assert!(
            ts.contains(&format!("  | \"{code}\"\n")),
            "{code} in the union"
        );
        assert!(
            ts.contains(&format!("  \"{code}\": \"{code}\",")),
            "{code} constant"
        );
    }
    assert!(!ts.contains(": any") && !ts.contains("<any>") && !ts.contains("as any"));
}

#[test]
fn codegen_kotlin_has_a_sealed_class_with_unknown_in_the_chosen_package() {
    let out = with_catalog("codegen", &classroom(), &["--lang", "kotlin"]);
    assert_eq!(code(&out), 0);
    let kt = stdout(&out);
    assert!(kt.contains("\npackage errata.generated\n"));
    assert!(kt.contains("sealed class ApiError"));
    assert!(kt.contains(
        "data class Unknown(override val code: String, override val body: ErrorBody) : ApiError()"
    ));
    assert!(kt.contains("data class Params(val retryAfter: Long)"));
    assert!(kt.contains("fun parseApiError(json: Map<String, Any?>): ApiError?"));
    for code in classroom_codes() {
        assert!(
            kt.contains(&format!("    {code}(\"{code}\", ")),
            "{code} enum entry"
        );
    }

    let out = with_catalog(
        "codegen",
        &classroom(),
        &["--lang", "kotlin", "--package", "com.example.api"],
    );
    assert!(stdout(&out).contains("\npackage com.example.api\n"));
}

#[test]
fn codegen_kotlin_rejects_an_invalid_package_with_exit_2() {
    for package in ["com.example.", "com.class.x", "1abc", "a-b", ""] {
        let out = with_catalog(
            "codegen",
            &classroom(),
            &["--lang", "kotlin", "--package", package],
        );
        assert_eq!(code(&out), 2, "{package:?}");
        assert!(stderr(&out).contains("Kotlin package"), "{}", stderr(&out));
    }
}

#[test]
fn codegen_escapes_catalog_text_in_strings_and_comments() {
    let dir = tempfile::tempdir().unwrap();
    let text = SMALL.replace(
        "\"{sku} is out of stock.\"",
        "\"{sku} */ is /* out $of \\\"stock\\\".\"",
    );
    let path = write(dir.path(), "errors.toml", &text);
    let kt = stdout(&with_catalog("codegen", &path, &["--lang", "kotlin"]));
    assert!(kt.contains("{sku} * / is / * out $of \"stock\"."), "{kt}");
    let ts = stdout(&with_catalog("codegen", &path, &["--lang", "ts"]));
    assert!(!ts.contains("*/ is"), "a message must not close a comment");
    assert!(
        ts.contains("  \"SOLD_OUT\": \"OUT_OF_STOCK\","),
        "aliases resolve"
    );
}

// ── bundle ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn bundle_without_locale_is_keyed_by_locale() {
    let out = with_catalog("bundle", &classroom(), &[]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    let locales: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(locales.len(), 2);
    assert_eq!(doc["ko"]["ALREADY_ENROLLED"], "이미 수강 중인 강의입니다.");
    assert_eq!(
        doc["en"]["ALREADY_ENROLLED"],
        "You are already enrolled in this lecture."
    );
    assert_eq!(
        doc["en"]["fields"]["image_too_large"],
        "The image must be at most {max_mb} MB."
    );
    for code in classroom_codes() {
        assert!(doc["ko"][&code].is_string(), "{code}");
    }
}

#[test]
fn bundle_with_locale_is_keyed_by_code() {
    let out = with_catalog("bundle", &classroom(), &["--locale", "en"]);
    assert_eq!(code(&out), 0);
    let doc = json(&out);
    assert_eq!(
        doc["RATE_LIMIT_EXCEEDED"],
        "Too many requests. Try again in {retry_after} seconds."
    );
    assert_eq!(doc["fields"]["required"], "This field is required.");
    assert!(doc.get("ko").is_none());

    let out = with_catalog("bundle", &classroom(), &["--locale", "fr"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("ko, en"), "{}", stderr(&out));
}

#[test]
fn bundle_into_a_directory_writes_one_file_per_locale() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().to_str().unwrap();
    let out = with_catalog("bundle", &classroom(), &["-o", target]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for locale in ["ko", "en"] {
        let text = std::fs::read_to_string(dir.path().join(format!("{locale}.json"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert!(doc["ALREADY_ENROLLED"].is_string(), "{locale}");
    }
    let fresh = dir.path().join("bundles/");
    let out = with_catalog(
        "bundle",
        &classroom(),
        &["--locale", "ko", "-o", fresh.to_str().unwrap()],
    );
    assert_eq!(code(&out), 0);
    assert!(fresh.join("ko.json").is_file());
    assert!(!fresh.join("en.json").exists());
}

// ── explain ─────────────────────────────────────────────────────────────────────────────────

#[test]
fn explain_shows_everything_about_a_code() {
    let catalog = classroom();
    let out = errata(&[
        "explain",
        "KAKAO_ACCOUNT_NOT_AVAILABLE",
        "--catalog",
        catalog.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "KAKAO_ACCOUNT_NOT_AVAILABLE — 400 Bad Request",
        "5001 (domain upstream, kind invalid)",
        "spike: more than 100 in 5m",
        "카카오톡 계정 상태를 확인할 수 없습니다.",
        "The Kakao account cannot be used.",
        "kakao (2 rules)",
        "\"status\": 400",
    ] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
}

#[test]
fn explain_accepts_an_alias_and_a_field_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "errors.toml", SMALL);
    let path = path.to_str().unwrap();
    let out = errata(&["explain", "SOLD_OUT", "--catalog", path]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("`SOLD_OUT` is an alias of `OUT_OF_STOCK`"));
    assert!(stdout(&out).contains("OUT_OF_STOCK — 409 Conflict"));

    let out = errata(&["explain", "too_short", "--catalog", path]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("too_short — field code (built in)"));
}

#[test]
fn explain_of_an_unknown_code_exits_1_with_a_suggestion() {
    let catalog = classroom();
    let catalog = catalog.to_str().unwrap();
    let out = errata(&["explain", "ALREADY_ENROLED", "--catalog", catalog]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("did you mean `ALREADY_ENROLLED`?"),
        "{}",
        stderr(&out)
    );
    let out = errata(&["explain", "already-enrolled", "--catalog", catalog]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("did you mean `ALREADY_ENROLLED`?"));
    let out = errata(&["explain", "ZZZZZZZZZZ", "--catalog", catalog]);
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("did you mean"));
}

// ── robustness ──────────────────────────────────────────────────────────────────────────────

#[test]
fn no_input_makes_any_command_panic() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        "",
        "\u{0}",
        "[[[[[[[[",
        "catalog = 5",
        "[catalog]\nname = \"x\"\ndefault_locale = \"en\"\nlocales = []\n",
        "[catalog]\nname = \"x\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n[errors.A]\nstatus = 99999999999999999\nmessage.en = \"{\"\n",
        "[catalog]\nname = \"x\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n[errors.A]\nstatus = 400\nmessage.en = \"{a}\"\nparams = { a = \"integer\" }\nnumber = -1\nws_close = 70000\n[errors.B]\nstatus = 400\nmessage.en = \"b\"\naliases = [\"A\", 5]\n",
        "[catalog]\nname = \"한글\"\ndefault_locale = \"ja\"\nlocales = [\"ja\"]\n[errors.A]\nstatus = 400\nmessage.ja = \"あ\"\n",
    ];
    for (i, input) in inputs.iter().enumerate() {
        let path = write(dir.path(), &format!("c{i}.toml"), input);
        for (command, extra) in [
            ("check", &[][..]),
            ("docs", &["--format", "html"][..]),
            ("docs", &["--format", "md"][..]),
            ("docs", &["--format", "json"][..]),
            ("openapi", &["--envelope", "problem"][..]),
            ("codegen", &["--lang", "ts"][..]),
            ("codegen", &["--lang", "kotlin"][..]),
            ("bundle", &[][..]),
        ] {
            let out = with_catalog(command, &path, extra);
            let c = code(&out);
            assert!(
                c == 0 || c == 1,
                "{command} on input {i} exited {c}: {}",
                stderr(&out)
            );
            assert!(!stderr(&out).contains("panicked"), "{command} on input {i}");
        }
    }
}

#[test]
fn completions_load_in_bash_and_name_every_subcommand() {
    let out = errata(&["completions", "bash"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let script = stdout(&out);
    for sub in [
        "init", "check", "docs", "openapi", "codegen", "diff", "stats", "alerts",
    ] {
        assert!(script.contains(sub), "no {sub} in the bash completions");
    }
    // The script is sourced by a real bash and registers a completion for `errata`.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("errata.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash")
        .arg("-c")
        .arg(format!("source '{}' && complete -p errata", path.display()))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains("errata"), "{}", stdout(&check));
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = errata(&["completions", "cmd.exe"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bash"), "{}", stderr(&out));
}

#[test]
fn the_man_page_is_roff_with_every_subcommand() {
    let out = errata(&["man"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let page = stdout(&out);
    assert!(
        page.starts_with(".ie") || page.contains(".TH errata"),
        "{page}"
    );
    for sub in ["check", "codegen", "stats", "completions"] {
        assert!(page.contains(sub), "no {sub} in the man page");
    }
    // Typeset by groff where it is installed (Debian's `groff-base`, which `man` needs).
    if Command::new("groff").arg("--version").output().is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("errata.1");
        std::fs::write(&path, &page).unwrap();
        let typeset = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(typeset.status.success(), "{}", stderr(&typeset));
        assert_eq!(stderr(&typeset), "", "groff warned");
    }
}
