//! The compatibility gate, one pair of catalogs per kind of change.
//!
//! Every case checks the exact kinds `errata_catalog::diff::diff` reports, then runs
//! `errata diff` on the same pair in text and JSON and checks its exit code (1 when any change
//! is breaking) and that JSON lists the same kinds.

use std::path::Path;
use std::process::Command;

use errata_catalog::diff::{diff, ChangeKind};
use errata_catalog::Catalog;
use serde_json::Value;

use ChangeKind::*;

const BASE: &str = r#"
[catalog]
name = "shop"
version = "1.0.0"
default_locale = "en"
locales = ["en", "ko"]

[errors.OUT_OF_STOCK]
status = 409
number = "1001"
title = "Out of stock"
message.en = "{sku} is out of stock."
message.ko = "{sku} 상품은 품절입니다."
params = { sku = "string" }
description = "The item sold out."
aliases = ["SOLD_OUT"]
ws_close = 4009

[errors.CART_EMPTY]
status = 400
message.en = "The cart is empty."
message.ko = "장바구니가 비어 있습니다."

[fields.bad_sku]
message.en = "Unknown SKU {sku}."
message.ko = "알 수 없는 SKU {sku}."
params = { sku = "string" }
"#;

/// A catalog serving `en` and `ja`, where built-ins (which ship `ko` and `en`) lack `ja`
/// unless the file overrides them.
const JA_BASE: &str = r#"
[catalog]
name = "shop"
version = "1.0.0"
default_locale = "en"
locales = ["en", "ja"]

[errors.CART_EMPTY]
status = 400
message.en = "The cart is empty."
message.ja = "カートは空です。"
"#;

const ROUTE_NOT_FOUND_JA: &str = r#"
[errors.ROUTE_NOT_FOUND]
message.en = "No route matches this path."
message.ja = "パスが見つかりません。"
"#;

const REQUIRED_JA: &str = r#"
[fields.required]
message.en = "This field is required."
message.ja = "必須項目です。"
"#;

/// `text` with `from` replaced by `to`; `from` must be there, so a case cannot silently
/// compare a catalog with itself.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "`{from}` is not in the catalog");
    text.replacen(from, to, 1)
}

fn load(text: &str) -> Catalog {
    match Catalog::from_toml(text) {
        Ok(c) => c,
        Err(e) => panic!("test catalog does not load: {e}\n{text}"),
    }
}

fn kinds(old: &str, new: &str) -> Vec<ChangeKind> {
    diff(&load(old), &load(new))
        .into_iter()
        .map(|c| c.kind)
        .collect()
}

fn run_diff(dir: &Path, old: &str, new: &str, format: &str) -> (i32, String) {
    let (old_path, new_path) = (dir.join("old.toml"), dir.join("new.toml"));
    std::fs::write(&old_path, old).unwrap();
    std::fs::write(&new_path, new).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(["diff", "--format", format])
        .arg(&old_path)
        .arg(&new_path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The kinds that break clients, written out here independently of the library.
const BREAKING_KINDS: &[&str] = &[
    "code_removed",
    "alias_removed",
    "status_changed",
    "number_changed",
    "number_removed",
    "locale_removed",
    "message_removed",
    "param_removed",
    "param_added",
    "param_type_changed",
    "ws_close_changed",
    "field_removed",
    "field_param_changed",
    "field_message_removed",
];

/// A pair whose changes include a breaking one.
fn breaking(old: &str, new: &str, expected: &[ChangeKind]) {
    case(old, new, expected, true);
}

/// A pair whose changes are all compatible.
fn compatible(old: &str, new: &str, expected: &[ChangeKind]) {
    case(old, new, expected, false);
}

/// Checks one pair: exact kinds from the library, exit codes and JSON from the binary.
fn case(old: &str, new: &str, expected: &[ChangeKind], breaking: bool) {
    assert_eq!(kinds(old, new), expected, "kinds reported");
    let want_exit = i32::from(breaking);
    let dir = tempfile::tempdir().unwrap();

    let (code, text) = run_diff(dir.path(), old, new, "text");
    assert_eq!(code, want_exit, "exit code of `errata diff`:\n{text}");
    for kind in expected {
        assert!(text.contains(kind.as_str()), "text lists {kind}:\n{text}");
    }
    assert_eq!(
        text.contains("BREAKING"),
        breaking,
        "BREAKING mark:\n{text}"
    );

    let (code, json) = run_diff(dir.path(), old, new, "json");
    assert_eq!(code, want_exit, "exit code of `errata diff --format json`");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["breaking"], Value::Bool(breaking));
    let changes = doc["changes"].as_array().unwrap();
    let listed: Vec<&str> = changes
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = expected.iter().map(|k| k.as_str()).collect();
    assert_eq!(listed, want, "kinds in JSON");
    for change in changes {
        let kind = change["kind"].as_str().unwrap();
        assert_eq!(
            change["breaking"],
            Value::Bool(BREAKING_KINDS.contains(&kind)),
            "breaking flag of {kind}"
        );
    }
}

// ── identical ───────────────────────────────────────────────────────────────────────────────

#[test]
fn identical_catalogs_have_no_changes_and_exit_0() {
    compatible(BASE, BASE, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (_, text) = run_diff(dir.path(), BASE, BASE, "text");
    assert!(text.contains("no changes"), "{text}");
}

#[test]
fn version_and_name_alone_are_not_changes() {
    let new = edit(BASE, "version = \"1.0.0\"", "version = \"2.0.0\"");
    compatible(BASE, &new, &[]);
}

// ── breaking ────────────────────────────────────────────────────────────────────────────────

#[test]
fn removed_code_is_breaking() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\nmessage.en = \"The cart is empty.\"\nmessage.ko = \"장바구니가 비어 있습니다.\"\n",
        "",
    );
    breaking(BASE, &new, &[CodeRemoved]);
}

#[test]
fn removed_alias_is_breaking() {
    let new = edit(BASE, "aliases = [\"SOLD_OUT\"]\n", "");
    breaking(BASE, &new, &[AliasRemoved]);
}

#[test]
fn changed_status_is_breaking() {
    let new = edit(BASE, "status = 409", "status = 410");
    breaking(BASE, &new, &[StatusChanged]);
}

#[test]
fn changed_number_is_breaking() {
    let new = edit(BASE, "number = \"1001\"", "number = \"1002\"");
    breaking(BASE, &new, &[NumberChanged]);
}

#[test]
fn removed_number_is_breaking() {
    let new = edit(BASE, "number = \"1001\"\n", "");
    breaking(BASE, &new, &[NumberRemoved]);
}

#[test]
fn locale_dropped_from_the_catalog_is_breaking_once() {
    let mut new = edit(BASE, "locales = [\"en\", \"ko\"]", "locales = [\"en\"]");
    for line in [
        "message.ko = \"{sku} 상품은 품절입니다.\"\n",
        "message.ko = \"장바구니가 비어 있습니다.\"\n",
        "message.ko = \"알 수 없는 SKU {sku}.\"\n",
    ] {
        new = edit(&new, line, "");
    }
    breaking(BASE, &new, &[LocaleRemoved]);
}

#[test]
fn locale_dropped_from_an_entry_is_breaking() {
    // The file stops overriding a built-in, whose messages have no `ja`.
    let old = format!("{JA_BASE}{ROUTE_NOT_FOUND_JA}");
    breaking(&old, JA_BASE, &[MessageRemoved]);
}

#[test]
fn removed_parameter_is_breaking() {
    let mut new = edit(
        BASE,
        "message.en = \"{sku} is out of stock.\"",
        "message.en = \"Out of stock.\"",
    );
    new = edit(
        &new,
        "message.ko = \"{sku} 상품은 품절입니다.\"",
        "message.ko = \"품절입니다.\"",
    );
    new = edit(
        &new,
        "params = { sku = \"string\" }\ndescription",
        "description",
    );
    breaking(BASE, &new, &[ParamRemoved, MessageChanged, MessageChanged]);
}

#[test]
fn added_parameter_is_breaking() {
    let mut new = edit(
        BASE,
        "message.en = \"The cart is empty.\"",
        "message.en = \"Cart {cart_id} is empty.\"",
    );
    new = edit(
        &new,
        "message.ko = \"장바구니가 비어 있습니다.\"",
        "message.ko = \"장바구니 {cart_id}가 비어 있습니다.\"\nparams = { cart_id = \"integer\" }",
    );
    breaking(BASE, &new, &[ParamAdded, MessageChanged, MessageChanged]);
}

#[test]
fn retyped_parameter_is_breaking() {
    let new = edit(
        BASE,
        "params = { sku = \"string\" }\ndescription",
        "params = { sku = \"integer\" }\ndescription",
    );
    breaking(BASE, &new, &[ParamTypeChanged]);
}

#[test]
fn changed_ws_close_is_breaking() {
    let new = edit(BASE, "ws_close = 4009", "ws_close = 4010");
    breaking(BASE, &new, &[WsCloseChanged]);
}

#[test]
fn removed_ws_close_is_breaking() {
    let new = edit(BASE, "ws_close = 4009\n", "");
    breaking(BASE, &new, &[WsCloseChanged]);
}

#[test]
fn removed_field_code_is_breaking() {
    let start = BASE.find("[fields.bad_sku]").unwrap();
    let new = BASE[..start].to_owned();
    breaking(BASE, &new, &[FieldRemoved]);
}

#[test]
fn retyped_field_parameter_is_breaking() {
    let new = edit(BASE, "Unknown SKU {sku}.\"\nmessage.ko = \"알 수 없는 SKU {sku}.\"\nparams = { sku = \"string\" }", "Unknown SKU {sku}.\"\nmessage.ko = \"알 수 없는 SKU {sku}.\"\nparams = { sku = \"integer\" }");
    breaking(BASE, &new, &[FieldParamChanged]);
}

#[test]
fn field_message_dropped_is_breaking() {
    let old = format!("{JA_BASE}{REQUIRED_JA}");
    breaking(&old, JA_BASE, &[FieldMessageRemoved]);
}

// ── compatible ──────────────────────────────────────────────────────────────────────────────

#[test]
fn added_code_is_compatible() {
    let new = format!("{BASE}\n[errors.COUPON_EXPIRED]\nstatus = 410\nmessage.en = \"Expired.\"\nmessage.ko = \"만료되었습니다.\"\n");
    compatible(BASE, &new, &[CodeAdded]);
}

#[test]
fn removed_code_kept_as_alias_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.BASKET_EMPTY]\nstatus = 400\naliases = [\"CART_EMPTY\"]\n",
    );
    compatible(BASE, &new, &[CodeAliased, CodeAdded]);
}

#[test]
fn added_alias_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\naliases = [\"EMPTY_CART\"]\n",
    );
    compatible(BASE, &new, &[AliasAdded]);
}

#[test]
fn moved_alias_is_compatible() {
    let mut new = edit(BASE, "aliases = [\"SOLD_OUT\"]\n", "");
    new = edit(
        &new,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\naliases = [\"SOLD_OUT\"]\n",
    );
    compatible(BASE, &new, &[AliasMoved]);
}

#[test]
fn added_number_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\nnumber = \"1002\"\n",
    );
    compatible(BASE, &new, &[NumberAdded]);
}

#[test]
fn added_locale_is_compatible_and_reported_once() {
    let mut new = edit(
        BASE,
        "locales = [\"en\", \"ko\"]",
        "locales = [\"en\", \"ko\", \"ja\"]",
    );
    new = edit(
        &new,
        "message.ko = \"{sku} 상품은 품절입니다.\"\n",
        "message.ko = \"{sku} 상품은 품절입니다.\"\nmessage.ja = \"{sku}は在庫切れです。\"\n",
    );
    new = edit(
        &new,
        "message.ko = \"장바구니가 비어 있습니다.\"\n",
        "message.ko = \"장바구니가 비어 있습니다.\"\nmessage.ja = \"カートは空です。\"\n",
    );
    new = edit(
        &new,
        "message.ko = \"알 수 없는 SKU {sku}.\"\n",
        "message.ko = \"알 수 없는 SKU {sku}.\"\nmessage.ja = \"不明なSKU {sku}。\"\n",
    );
    compatible(BASE, &new, &[LocaleAdded]);
}

#[test]
fn changed_default_locale_is_compatible() {
    let new = edit(BASE, "default_locale = \"en\"", "default_locale = \"ko\"");
    compatible(BASE, &new, &[DefaultLocaleChanged]);
}

#[test]
fn message_added_in_a_served_locale_is_compatible() {
    let new = format!("{JA_BASE}{ROUTE_NOT_FOUND_JA}");
    compatible(JA_BASE, &new, &[MessageAdded]);
}

#[test]
fn changed_message_text_is_compatible() {
    let new = edit(BASE, "The cart is empty.", "Your cart is empty.");
    compatible(BASE, &new, &[MessageChanged]);
}

#[test]
fn changed_description_is_compatible() {
    let new = edit(
        BASE,
        "The item sold out.",
        "The item sold out; try another size.",
    );
    compatible(BASE, &new, &[DescriptionChanged]);
}

#[test]
fn changed_title_is_compatible() {
    let new = edit(BASE, "title = \"Out of stock\"", "title = \"Sold out\"");
    compatible(BASE, &new, &[TitleChanged]);
}

#[test]
fn changed_retryable_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\nretryable = true\n",
    );
    compatible(BASE, &new, &[RetryableChanged]);
}

#[test]
fn changed_alert_policy_is_compatible() {
    let new = edit(BASE, "[errors.CART_EMPTY]\nstatus = 400\n", "[errors.CART_EMPTY]\nstatus = 400\nalert = \"spike\"\nspike = { count = 10, window = \"1m\" }\n");
    compatible(BASE, &new, &[AlertChanged]);
}

#[test]
fn deprecation_added_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\ndeprecated = \"the cart is never empty since 2.0\"\n",
    );
    compatible(BASE, &new, &[DeprecationAdded]);
}

#[test]
fn deprecation_removed_and_changed_are_compatible() {
    let deprecated = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\ndeprecated = \"use OUT_OF_STOCK\"\n",
    );
    compatible(&deprecated, BASE, &[DeprecationRemoved]);
    let reworded = edit(&deprecated, "use OUT_OF_STOCK", "use OUT_OF_STOCK instead");
    compatible(&deprecated, &reworded, &[DeprecationChanged]);
}

#[test]
fn added_ws_close_is_compatible() {
    let new = edit(
        BASE,
        "[errors.CART_EMPTY]\nstatus = 400\n",
        "[errors.CART_EMPTY]\nstatus = 400\nws_close = 4000\n",
    );
    compatible(BASE, &new, &[WsCloseAdded]);
}

#[test]
fn added_field_code_is_compatible() {
    let new = format!("{BASE}\n[fields.coupon_used]\nmessage.en = \"Already used.\"\nmessage.ko = \"이미 사용한 쿠폰입니다.\"\n");
    compatible(BASE, &new, &[FieldAdded]);
}

#[test]
fn field_message_added_and_changed_are_compatible() {
    let with_ja = format!("{JA_BASE}{REQUIRED_JA}");
    compatible(JA_BASE, &with_ja, &[FieldMessageAdded]);
    let new = edit(BASE, "Unknown SKU {sku}.", "No product has the SKU {sku}.");
    compatible(BASE, &new, &[FieldMessageChanged]);
}

// ── together ────────────────────────────────────────────────────────────────────────────────

#[test]
fn breaking_changes_come_first_in_text_and_json() {
    let mut new = format!("{BASE}\n[errors.COUPON_EXPIRED]\nstatus = 410\nmessage.en = \"Expired.\"\nmessage.ko = \"만료되었습니다.\"\n");
    new = edit(&new, "The item sold out.", "Gone.");
    new = edit(&new, "status = 400", "status = 422");
    breaking(BASE, &new, &[StatusChanged, DescriptionChanged, CodeAdded]);

    let dir = tempfile::tempdir().unwrap();
    let (_, text) = run_diff(dir.path(), BASE, &new, "text");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].starts_with("BREAKING"), "{text}");
    assert!(
        lines[1].contains("`CART_EMPTY`: status 400 → 422"),
        "{text}"
    );
    assert!(
        text.contains("1 breaking change, 2 compatible changes"),
        "{text}"
    );
}

#[test]
fn json_changes_carry_kind_code_breaking_and_message() {
    let new = edit(BASE, "status = 409", "status = 410");
    let dir = tempfile::tempdir().unwrap();
    let (_, json) = run_diff(dir.path(), BASE, &new, "json");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["old"]["version"], "1.0.0");
    assert_eq!(doc["summary"]["breaking"], 1);
    assert_eq!(
        doc["changes"][0],
        serde_json::json!({
            "kind": "status_changed",
            "code": "OUT_OF_STOCK",
            "breaking": true,
            "message": "`OUT_OF_STOCK`: status 409 → 410",
        })
    );
}

#[test]
fn a_broken_catalog_exits_1_and_a_missing_one_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _) = run_diff(dir.path(), BASE, "[catalog]\nname = 1\n", "text");
    assert_eq!(code, 1);
    let out = Command::new(env!("CARGO_BIN_EXE_errata"))
        .args(["diff", "missing-old.toml", "missing-new.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing-old.toml"));
}
