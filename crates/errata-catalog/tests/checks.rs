//! Every catalog check, each proven on a small broken catalog: the message, the severity, the
//! line and column the caret points at, and the hint.
//!
//! Each source starts with `[catalog]` on line 1, so line numbers can be read off the text.

use errata_catalog::{check, Diagnostic, Location, Severity};

/// Checks `source`, asserts that it was rejected with exactly one diagnostic, an error, and
/// returns it with its location.
fn only_error(source: &str) -> (Diagnostic, Location) {
    let checked = check(source);
    assert!(
        checked.catalog.is_none(),
        "a catalog with an error must not load"
    );
    assert_eq!(
        checked.diagnostics.len(),
        1,
        "expected exactly one diagnostic, got {:#?}",
        checked.diagnostics
    );
    let d = checked.diagnostics.into_iter().next().unwrap();
    assert_eq!(d.severity, Severity::Error, "{d:#?}");
    let loc = d.location(source);
    (d, loc)
}

/// Asserts that `d` says `message` (a substring) at `line`:`column` of `source`, with `hint`.
#[track_caller]
fn assert_diag(
    source: &str,
    d: &Diagnostic,
    message: &str,
    (line, column): (usize, usize),
    hint: Option<&str>,
) {
    assert!(
        d.message.contains(message),
        "message {:?} does not contain {message:?}",
        d.message
    );
    assert_eq!(
        d.location(source),
        Location { line, column },
        "location of {:?}",
        d.message
    );
    assert!(
        d.span.start <= d.span.end && d.span.end <= source.len(),
        "span {:?} out of the source",
        d.span
    );
    assert_eq!(d.hint.as_deref(), hint, "hint of {:?}", d.message);
}

/// Asserts that `source` is rejected with exactly one error, as described.
#[track_caller]
fn assert_only_error(source: &str, message: &str, at: (usize, usize), hint: Option<&str>) {
    let (d, _) = only_error(source);
    assert_diag(source, &d, message, at, hint);
}

// ── 1. codes ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn code_not_upper_snake_case_points_at_the_code_in_the_header() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.alreadyEnrolled]
status = 409
message.en = "Already enrolled."
"#;
    assert_only_error(
        source,
        "code `alreadyEnrolled` is not UPPER_SNAKE_CASE",
        (6, 9),
        Some("rename it to `ALREADY_ENROLLED`"),
    );

    let quoted = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors."already-enrolled"]
status = 409
message.en = "Already enrolled."
"#;
    assert_only_error(
        quoted,
        "code `already-enrolled` is not UPPER_SNAKE_CASE",
        (6, 9),
        Some("rename it to `ALREADY_ENROLLED`"),
    );
}

// ── 2. duplicates ─────────────────────────────────────────────────────────────────────────────

#[test]
fn duplicated_entry_table_is_invalid_toml_at_the_second_header() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NOT_FOUND]
status = 404
message.en = "Not found."

[errors.NOT_FOUND]
status = 410
message.en = "Gone."
"#;
    let (d, _) = only_error(source);
    assert_diag(
        source,
        &d,
        "invalid TOML: invalid table header: duplicate key `NOT_FOUND` in table `errors`",
        (10, 1),
        Some("a key or table may be declared only once; merge the two"),
    );
    assert!(!d.message.contains('\n'), "one line: {:?}", d.message);
}

#[test]
fn alias_equal_to_another_code_points_at_the_alias() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.LECTURE_NOT_FOUND]
status = 404
message.en = "No such lecture."
aliases = ["COURSE_NOT_FOUND"]

[errors.COURSE_NOT_FOUND]
status = 404
message.en = "No such course."
"#;
    assert_only_error(
        source,
        "alias `COURSE_NOT_FOUND` of `LECTURE_NOT_FOUND` is already the code `COURSE_NOT_FOUND`",
        (9, 12),
        Some("codes and aliases share one namespace; pick another name"),
    );

    // Built-in codes are codes too.
    let builtin = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.LECTURE_NOT_FOUND]
status = 404
message.en = "No such lecture."
aliases = ["OLD_LECTURE_MISSING", "ROUTE_NOT_FOUND"]
"#;
    assert_only_error(
        builtin,
        "alias `ROUTE_NOT_FOUND` of `LECTURE_NOT_FOUND` is already the code `ROUTE_NOT_FOUND`",
        (9, 35),
        Some("codes and aliases share one namespace; pick another name"),
    );
}

#[test]
fn alias_used_twice_points_at_the_second_use() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.LECTURE_NOT_FOUND]
status = 404
message.en = "No such lecture."
aliases = ["COURSE_MISSING"]

[errors.SESSION_NOT_FOUND]
status = 404
message.en = "No such session."
aliases = ["COURSE_MISSING"]
"#;
    assert_only_error(
        source,
        "alias `COURSE_MISSING` of `SESSION_NOT_FOUND` is already an alias of `LECTURE_NOT_FOUND`",
        (14, 12),
        Some("codes and aliases share one namespace; pick another name"),
    );
}

#[test]
fn number_used_twice_points_at_the_second_number() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NAME_TAKEN]
status = 409
number = "C-7"
message.en = "The name is taken."

[errors.EMAIL_TAKEN]
status = 409
number = "C-7"
message.en = "The email is taken."
"#;
    assert_only_error(
        source,
        "number `C-7` of `EMAIL_TAKEN` is already used by `NAME_TAKEN`",
        (13, 10),
        Some("numbers must be unique; take the next free sequence"),
    );
}

#[test]
fn integer_and_string_numbers_collide_under_domain_kind_seq() {
    // `0101` written as an integer is 101, which the scheme reads as `0101`.
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[scheme]
kind = "domain-kind-seq"
domains = { auth = 0 }
kinds = { rule = 1 }

[errors.ONE]
status = 400
number = "0101"
domain = "auth"
kind = "rule"
message.en = "One."

[errors.TWO]
status = 400
number = 101
domain = "auth"
kind = "rule"
message.en = "Two."
"#;
    assert_only_error(
        source,
        "number `0101` of `TWO` is already used by `ONE`",
        (20, 10),
        Some("numbers must be unique; take the next free sequence"),
    );
}

// ── 3. numbering schemes ──────────────────────────────────────────────────────────────────────

/// A catalog with a `domain-kind-seq` scheme and one entry whose `number`, `domain` and `kind`
/// lines are lines 13, 14 and 15.
fn domain_kind_seq(number: &str, domain: &str, kind: &str) -> String {
    format!(
        r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[scheme]
kind = "domain-kind-seq"
domains = {{ auth = 0, enrollment = 3 }}
kinds = {{ invalid = 0, rule = 1 }}

[errors.ALREADY_ENROLLED]
status = 409
number = {number}
domain = {domain}
kind = {kind}
message.en = "Already enrolled."
"#
    )
}

#[test]
fn domain_kind_seq_accepts_a_matching_number() {
    let source = domain_kind_seq(r#""3101""#, r#""enrollment""#, r#""rule""#);
    let checked = check(&source);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let catalog = checked.catalog.unwrap();
    let entry = catalog.get("ALREADY_ENROLLED").unwrap();
    assert_eq!(entry.number.as_deref(), Some("3101"));
}

#[test]
fn domain_kind_seq_wrong_domain_digit() {
    let source = domain_kind_seq(r#""1101""#, r#""enrollment""#, r#""rule""#);
    assert_only_error(
        &source,
        "number `1101` of `ALREADY_ENROLLED` says domain 1 but `enrollment` is domain 3",
        (13, 10),
        Some("the number should start like `31`"),
    );
}

#[test]
fn domain_kind_seq_wrong_kind_digit() {
    let source = domain_kind_seq(r#""3001""#, r#""enrollment""#, r#""rule""#);
    assert_only_error(
        &source,
        "number `3001` of `ALREADY_ENROLLED` says kind 0 but `rule` is kind 1",
        (13, 10),
        Some("the number should start like `31`"),
    );
}

#[test]
fn domain_kind_seq_unknown_domain() {
    let source = domain_kind_seq(r#""3101""#, r#""enrolment""#, r#""rule""#);
    assert_only_error(
        &source,
        "unknown domain `enrolment`",
        (14, 10),
        Some("did you mean `enrollment`?"),
    );

    let far = domain_kind_seq(r#""3101""#, r#""billing""#, r#""rule""#);
    assert_only_error(
        &far,
        "unknown domain `billing`",
        (14, 10),
        Some("declared domains: auth, enrollment"),
    );
}

#[test]
fn domain_kind_seq_number_not_four_digits() {
    let source = domain_kind_seq(r#""31001""#, r#""enrollment""#, r#""rule""#);
    assert_only_error(
        &source,
        "number `31001` of `ALREADY_ENROLLED` is not four digits",
        (13, 10),
        Some("write the domain digit, the kind digit and a two-digit sequence, like `3101`"),
    );

    let letters = domain_kind_seq(r#""31a1""#, r#""enrollment""#, r#""rule""#);
    assert_only_error(
        &letters,
        "number `31a1` of `ALREADY_ENROLLED` is not four digits",
        (13, 10),
        Some("write the domain digit, the kind digit and a two-digit sequence, like `3101`"),
    );
}

/// A catalog with a `status-seq` scheme and one 400 entry whose `number` is line 11.
fn status_seq(number: &str) -> String {
    format!(
        r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[scheme]
kind = "status-seq"

[errors.BAD_INPUT]
status = 400
number = {number}
message.en = "Bad input."
"#
    )
}

#[test]
fn status_seq_number_embedding_another_status() {
    assert!(check(&status_seq(r#""E400001""#)).diagnostics.is_empty());
    assert_only_error(
        &status_seq(r#""E409001""#),
        "number `E409001` of `BAD_INPUT` embeds status 409 but the status is 400",
        (11, 10),
        Some("renumber it `E400…`, and keep the old code readable with `aliases`"),
    );
}

#[test]
fn status_seq_number_of_the_wrong_shape() {
    assert_only_error(
        &status_seq(r#""E40001""#),
        "number `E40001` of `BAD_INPUT` does not follow `E` + status + three digits",
        (11, 10),
        Some("for example `E400001`"),
    );
    assert_only_error(
        &status_seq(r#""X400001""#),
        "number `X400001` of `BAD_INPUT` does not follow `E` + status + three digits",
        (11, 10),
        Some("for example `E400001`"),
    );
}

// ── 4. statuses ───────────────────────────────────────────────────────────────────────────────

#[test]
fn status_outside_the_error_range() {
    for (status, column) in [("200", 10), ("600", 10), ("99", 10)] {
        let source = format!(
            r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.ODD_STATUS]
status = {status}
message.en = "Odd."
"#
        );
        assert_only_error(
            &source,
            &format!("status {status} is not an error status"),
            (7, column),
            Some("errors use 4xx (client) or 5xx (server) statuses, 400 to 599"),
        );
    }
}

#[test]
fn builtin_code_overridden_with_another_status() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.ROUTE_NOT_FOUND]
status = 410
"#;
    assert_only_error(
        source,
        "`ROUTE_NOT_FOUND` is built in with status 404; a catalog may not change it",
        (7, 10),
        Some("remove `status` or set it to 404"),
    );
}

#[test]
fn entry_without_status() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NO_STATUS]
message.en = "No status."
"#;
    assert_only_error(
        source,
        "`NO_STATUS` has no `status`",
        (6, 9),
        Some("add `status = 400` (or the right 4xx/5xx)"),
    );
}

// ── 5. locales ────────────────────────────────────────────────────────────────────────────────

#[test]
fn locale_without_a_message() {
    let source = r#"[catalog]
name = "t"
default_locale = "ko"
locales = ["ko", "en"]

[errors.ALREADY_ENROLLED]
status = 409
message.ko = "이미 수강 중인 강의입니다."
"#;
    assert_only_error(
        source,
        "`ALREADY_ENROLLED` has no `en` message",
        (6, 9),
        Some("add `message.en = \"...\"`: every locale in `locales` needs one"),
    );
}

#[test]
fn entry_without_any_message() {
    let source = r#"[catalog]
name = "t"
default_locale = "ko"
locales = ["ko", "en"]

[errors.ALREADY_ENROLLED]
status = 409
"#;
    assert_only_error(
        source,
        "`ALREADY_ENROLLED` has no message",
        (6, 9),
        Some("add `message.ko = \"...\"`"),
    );
}

#[test]
fn message_for_a_locale_not_in_locales() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.BAD_INPUT]
status = 400
message.en = "Bad input."
message.fr = "Entrée invalide."
"#;
    assert_only_error(
        source,
        "message for locale `fr`, which is not in `locales`",
        (9, 9),
        Some("add `fr` to `[catalog] locales`"),
    );
}

#[test]
fn default_locale_not_in_locales() {
    let source = r#"[catalog]
name = "t"
default_locale = "fr"
locales = ["en", "ko"]
"#;
    assert_only_error(
        source,
        "default locale `fr` is not in `locales`",
        (3, 18),
        Some("add `fr` to `locales` or pick one of: en, ko"),
    );
}

// ── 6. placeholders and parameters ────────────────────────────────────────────────────────────

#[test]
fn placeholder_used_in_one_locale_only() {
    // The caret column counts characters, not bytes: `잠시 후 ` is five characters.
    let source = r#"[catalog]
name = "t"
default_locale = "ko"
locales = ["ko", "en"]

[errors.RATE_LIMITED]
status = 429
message.ko = "잠시 후 {seconds}초 뒤에 다시 시도하세요."
message.en = "Try again later."
params = { seconds = "integer" }
"#;
    assert_only_error(
        source,
        "placeholder `{seconds}` is used in the `ko` message of `RATE_LIMITED` but not in the `en` one",
        (8, 20),
        Some("use `{seconds}` in every locale, or in none"),
    );
}

#[test]
fn placeholder_not_declared_in_params() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.GREETING_FAILED]
status = 400
message.en = "Hello {name}, try again."
"#;
    assert_only_error(
        source,
        "placeholder `{name}` in the `en` message of `GREETING_FAILED` is not declared in `params`",
        (8, 21),
        Some("add `params = { name = \"string\" }` (or integer, number, boolean)"),
    );
}

#[test]
fn placeholder_location_survives_escapes_and_multiline_strings() {
    // `\"` before the placeholder makes the raw text longer than the message.
    let escaped = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.GREETING_FAILED]
status = 400
message.en = "\"Hi\" {name}"
"#;
    assert_only_error(
        escaped,
        "placeholder `{name}` in the `en` message of `GREETING_FAILED` is not declared",
        (8, 22),
        Some("add `params = { name = \"string\" }` (or integer, number, boolean)"),
    );

    let multiline = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.GREETING_FAILED]
status = 400
message.en = """
Hello,
dear {name}."""
"#;
    assert_only_error(
        multiline,
        "placeholder `{name}` in the `en` message of `GREETING_FAILED` is not declared",
        (10, 6),
        Some("add `params = { name = \"string\" }` (or integer, number, boolean)"),
    );
}

#[test]
fn invalid_param_type() {
    let close = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.RATE_LIMITED]
status = 429
message.en = "Try again in {seconds} s."
params = { seconds = "intger" }
"#;
    assert_only_error(
        close,
        "parameter `seconds` has an invalid type",
        (9, 22),
        Some("did you mean `integer`?"),
    );

    let far = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.RATE_LIMITED]
status = 429
message.en = "Try again in {seconds} s."
params = { seconds = 3 }
"#;
    assert_only_error(
        far,
        "parameter `seconds` has an invalid type",
        (9, 22),
        Some("parameter types are `string`, `integer`, `number` and `boolean`"),
    );
}

#[test]
fn unclosed_brace_in_a_message() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.RATE_LIMITED]
status = 429
message.en = "Try again in {seconds s."
params = { seconds = "integer" }
"#;
    assert_only_error(
        source,
        "unclosed `{` in message",
        (8, 28),
        Some("placeholders are written `{name}`; write `{{` and `}}` for literal braces"),
    );

    // In a multi-line string the text starts three quotes after the value.
    let multiline = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.RATE_LIMITED]
status = 429
message.en = """Try again in {seconds s."""
params = { seconds = "integer" }
"#;
    assert_only_error(
        multiline,
        "unclosed `{` in message",
        (8, 30),
        Some("placeholders are written `{name}`; write `{{` and `}}` for literal braces"),
    );
}

#[test]
fn unused_param_is_a_warning() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.RATE_LIMITED]
status = 429
message.en = "Try again later."
params = { seconds = "integer" }
"#;
    let checked = check(source);
    assert!(
        checked.catalog.is_some(),
        "a warning does not block loading"
    );
    assert_eq!(checked.diagnostics.len(), 1, "{:#?}", checked.diagnostics);
    let d = &checked.diagnostics[0];
    assert_eq!(d.severity, Severity::Warning);
    assert_diag(
        source,
        d,
        "parameter `seconds` of `RATE_LIMITED` is used by no message",
        (9, 12),
        Some("use `{seconds}` in a message, or remove it from `params`"),
    );
}

// ── 7. unknown keys ───────────────────────────────────────────────────────────────────────────

#[test]
fn unknown_top_level_key() {
    let close = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[error.NOT_FOUND]
status = 404
message.en = "Not found."
"#;
    assert_only_error(
        close,
        "unknown key `error` in the catalog file",
        (6, 2),
        Some("did you mean `errors`?"),
    );

    let far = r#"title = "Classroom"

[catalog]
name = "t"
default_locale = "en"
locales = ["en"]
"#;
    assert_only_error(
        far,
        "unknown key `title` in the catalog file",
        (1, 1),
        Some("the catalog file takes: catalog, scheme, errors, fields, upstreams, envelope, alerting"),
    );
}

#[test]
fn unknown_key_in_catalog_table() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]
doc_url = "https://errors.example.com/{code}"
"#;
    assert_only_error(
        source,
        "unknown key `doc_url` in `[catalog]`",
        (5, 1),
        Some("did you mean `docs_url`?"),
    );
}

#[test]
fn unknown_key_in_scheme_table() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[scheme]
kind = "status-seq"
prefx = "E"
"#;
    assert_only_error(
        source,
        "unknown key `prefx` in `[scheme]`",
        (8, 1),
        Some("did you mean `prefix`?"),
    );
}

#[test]
fn unknown_key_in_an_entry() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.SESSION_ENDED]
status = 400
message.en = "The session has ended."
retriable = false
"#;
    assert_only_error(
        source,
        "unknown key `retriable` in `errors.SESSION_ENDED`",
        (9, 1),
        Some("did you mean `retryable`?"),
    );

    let far = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.SESSION_ENDED]
status = 400
message.en = "The session has ended."
color = "red"
"#;
    let (d, _) = only_error(far);
    assert_diag(
        far,
        &d,
        "unknown key `color` in `errors.SESSION_ENDED`",
        (9, 1),
        Some("`errors.SESSION_ENDED` takes: status, number, domain, kind, title, message, params, description, retryable, alert, spike, deprecated, aliases, ws_close"),
    );
}

#[test]
fn unknown_key_in_spike() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.KAKAO_ACCOUNT_NOT_AVAILABLE]
status = 400
message.en = "The Kakao account cannot be used."
alert = "spike"
spike = { count = 100, windw = "5m" }
"#;
    assert_only_error(
        source,
        "unknown key `windw` in `spike`",
        (10, 24),
        Some("did you mean `window`?"),
    );
}

#[test]
fn unknown_key_in_an_upstream() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[upstreams.kakao]
on_unmatch = "UPSTREAM_ERROR"
"#;
    assert_only_error(
        source,
        "unknown key `on_unmatch` in `upstreams.kakao`",
        (7, 1),
        Some("did you mean `on_unmatched`?"),
    );
}

#[test]
fn unknown_key_in_an_upstream_rule() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[upstreams.kakao]

[[upstreams.kakao.rules]]
status = [429]
raise = "SERVICE_UNAVAILABLE"
mesage_contains = ["quota"]
"#;
    assert_only_error(
        source,
        "unknown key `mesage_contains` in a rule",
        (11, 1),
        Some("did you mean `message_contains`?"),
    );
}

#[test]
fn unknown_key_in_a_field_code() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[fields.image_too_large]
message.en = "At most {max_mb} MB."
parms = { max_mb = "integer" }
params = { max_mb = "integer" }
"#;
    assert_only_error(
        source,
        "unknown key `parms` in `fields.image_too_large`",
        (8, 1),
        Some("did you mean `params`?"),
    );
}

// ── 8. alert ──────────────────────────────────────────────────────────────────────────────────

#[test]
fn invalid_alert_value() {
    let close = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.KAKAO_QUOTA_EXCEEDED]
status = 503
message.en = "Quota exhausted."
alert = "allways"
"#;
    assert_only_error(
        close,
        "invalid `alert` value `allways`",
        (9, 9),
        Some("did you mean `always`?"),
    );

    let far = close.replace("allways", "pager");
    assert_only_error(
        &far,
        "invalid `alert` value `pager`",
        (9, 9),
        Some("`alert` is one of `never`, `always`, `spike`"),
    );
}

// ── file-level checks ─────────────────────────────────────────────────────────────────────────

#[test]
fn toml_syntax_error() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NOT_FOUND]
status == 404
"#;
    // `status =` is followed by a second `=` at column 9, where a value should start.
    let (d, _) = only_error(source);
    assert_diag(
        source,
        &d,
        "invalid TOML: invalid string: expected `\"`, `'`",
        (7, 9),
        None,
    );

    let unclosed = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NOT_FOUND
status = 404
"#;
    // The header needs `]` right after the key, at column 18.
    assert_only_error(
        unclosed,
        "invalid TOML: invalid table header: expected `.`, `]`",
        (6, 18),
        None,
    );
}

#[test]
fn value_of_the_wrong_type() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.ALREADY_ENROLLED]
status = "409"
message.en = "Already enrolled."
"#;
    assert_only_error(
        source,
        "`status` must be an integer, found a string",
        (7, 10),
        Some("write the number without quotes: `status = 409`"),
    );

    let boolean = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.ALREADY_ENROLLED]
status = 409
message.en = "Already enrolled."
retryable = "no"
"#;
    assert_only_error(
        boolean,
        "`retryable` must be true or false, found a string",
        (9, 13),
        None,
    );
}

#[test]
fn missing_catalog_table() {
    let source = r#"[errors.BAD_INPUT]
status = 400
message.en = "Bad input."
"#;
    assert_only_error(
        source,
        "the file has no `[catalog]` table",
        (1, 1),
        Some("start the file with `[catalog]` giving `name`, `version`, `default_locale` and `locales`"),
    );
}

#[test]
fn catalog_table_missing_locales() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
"#;
    assert_only_error(
        source,
        "`[catalog]` is missing `locales`",
        (1, 1),
        Some("for example `locales = [\"en\"]`"),
    );
}

#[test]
fn upstream_rule_raising_an_unknown_code() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.KAKAO_QUOTA_EXCEEDED]
status = 503
message.en = "Quota exhausted."

[upstreams.kakao]

[[upstreams.kakao.rules]]
json = { code = [-10] }
raise = "KAKAO_QUOTA_EXCEED"
"#;
    assert_only_error(
        source,
        "`KAKAO_QUOTA_EXCEED` is not a code of this catalog",
        (14, 9),
        Some("did you mean `KAKAO_QUOTA_EXCEEDED`?"),
    );
}

#[test]
fn upstream_rule_without_a_condition_points_at_its_header() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[upstreams.kakao]

[[upstreams.kakao.rules]]
raise = "SERVICE_UNAVAILABLE"
"#;
    assert_only_error(
        source,
        "this rule matches everything",
        (8, 1),
        Some("give it `status`, `message_contains` or `json`; use `on_unmatched` for a catch-all"),
    );

    // The same rule written inline points at its `{`.
    let inline = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[upstreams.kakao]
rules = [{ raise = "SERVICE_UNAVAILABLE" }]
"#;
    assert_only_error(
        inline,
        "this rule matches everything",
        (7, 10),
        Some("give it `status`, `message_contains` or `json`; use `on_unmatched` for a catch-all"),
    );
}

#[test]
fn upstream_rule_without_raise() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[upstreams.kakao]

[[upstreams.kakao.rules]]
status = [429]
"#;
    assert_only_error(
        source,
        "this rule has no `raise`",
        (8, 1),
        Some("add `raise = \"CODE\"`"),
    );
}

#[test]
fn ws_close_outside_the_application_range() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.SESSION_NOT_FOUND]
status = 404
message.en = "No such session."
ws_close = 1008
"#;
    assert_only_error(
        source,
        "WebSocket close code 1008 is outside the application range",
        (9, 12),
        Some("application close codes are 4000 to 4999"),
    );
}

// ── one run, every problem ────────────────────────────────────────────────────────────────────

#[test]
fn every_problem_of_a_file_is_reported_in_one_run() {
    let source = r#"[catalog]
name = "t"
default_locale = "ko"
locales = ["ko", "en"]

[errors.lectureNotFound]
status = 404
message.ko = "강의를 찾을 수 없습니다."
message.en = "The lecture does not exist."

[errors.SESSION_ENDED]
status = 200
message.ko = "이미 종료된 세션입니다."

[errors.RATE_LIMITED]
status = 429
message.ko = "{seconds}초 후에 다시 시도하세요."
message.en = "Try again later."
params = { seconds = "integer" }
alert = "spkie"

[upstreams.kakao]
on_timeout = "UPSTREAM_TIMEOUTS"
"#;
    let checked = check(source);
    assert!(checked.catalog.is_none());
    let found: Vec<(String, Location)> = checked
        .diagnostics
        .iter()
        .map(|d| {
            assert_eq!(d.severity, Severity::Error, "{d:#?}");
            (d.message.clone(), d.location(source))
        })
        .collect();
    let expected = [
        ("code `lectureNotFound` is not UPPER_SNAKE_CASE", 6, 9),
        ("`SESSION_ENDED` has no `en` message", 11, 9),
        ("status 200 is not an error status", 12, 10),
        (
            "placeholder `{seconds}` is used in the `ko` message of `RATE_LIMITED` but not in the `en` one",
            17,
            15,
        ),
        ("invalid `alert` value `spkie`", 20, 9),
        ("`UPSTREAM_TIMEOUTS` is not a code of this catalog", 23, 14),
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for ((message, loc), (want, line, column)) in found.iter().zip(expected) {
        assert!(message.contains(want), "{message:?} vs {want:?}");
        assert_eq!(*loc, Location { line, column }, "{message}");
    }
}

// ── the example catalog and rendering ─────────────────────────────────────────────────────────

#[test]
fn classroom_catalog_is_clean() {
    let source = include_str!("../../../examples/classroom/errors.toml");
    let checked = check(source);
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    let catalog = checked.catalog.unwrap();
    assert_eq!(catalog.info.name, "classroom");
    assert_eq!(catalog.get("ALREADY_ENROLLED").unwrap().status, 409);
    assert_eq!(
        catalog.upstream("kakao").unwrap().rules.len(),
        5,
        "every rule of the kakao upstream is kept"
    );
}

#[test]
fn render_shows_file_line_caret_and_hint() {
    let source = r#"[catalog]
name = "t"
default_locale = "en"
locales = ["en"]

[errors.NAME_TAKEN]
status = 409
number = "C-7"
message.en = "The name is taken."

[errors.EMAIL_TAKEN]
status = 409
number = "C-7"
message.en = "The email is taken."
"#;
    let (d, _) = only_error(source);
    let expected = "\
error: number `C-7` of `EMAIL_TAKEN` is already used by `NAME_TAKEN`
  --> errors.toml:13:10
   |
13 | number = \"C-7\"
   |          ^^^^^
   = hint: numbers must be unique; take the next free sequence
";
    assert_eq!(d.render("errors.toml", source), expected);
}
