//! A new user's first hour with the `errata` command: `init`, the `./errors.toml` default,
//! diagnostics in `check`, and `diff` reading the catalog's version.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn errata_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_errata"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
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

// ── init and the default catalog ────────────────────────────────────────────────────────────

#[test]
fn init_writes_a_catalog_that_check_passes_and_every_command_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = errata_in(dir.path(), &["init", "--name", "shop"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("errors.toml")).unwrap();
    assert!(text.contains("name = \"shop\""), "{text}");
    // The built-ins are shown, commented.
    for builtin in [
        "# [errors.ROUTE_NOT_FOUND]",
        "# [errors.RATE_LIMIT_EXCEEDED]",
    ] {
        assert!(text.contains(builtin), "{builtin} in\n{text}");
    }

    // No catalog named: ./errors.toml.
    let out = errata_in(dir.path(), &["check"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("errors.toml: 0 errors, 0 warnings"),
        "{}",
        stdout(&out)
    );
    let out = errata_in(dir.path(), &["explain", "ITEM_NOT_FOUND"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("404"), "{}", stdout(&out));
    for args in [
        &["docs"][..],
        &["openapi"],
        &["bundle"],
        &["codegen", "--lang", "ts"],
    ] {
        let out = errata_in(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("ITEM_NOT_FOUND"), "{args:?}");
    }

    // A second init does not overwrite it.
    let out = errata_in(dir.path(), &["init"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = errata_in(dir.path(), &["init", "--force", "--name", "other"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("errors.toml")).unwrap();
    assert!(text.contains("name = \"other\""));
}

#[test]
fn init_with_each_scheme_numbers_the_examples_and_passes_check() {
    for (scheme, number) in [("domain-kind-seq", "1301"), ("status-seq", "E404001")] {
        let dir = tempfile::tempdir().unwrap();
        let out = errata_in(dir.path(), &["init", "--scheme", scheme, "api.toml"]);
        assert_eq!(code(&out), 0, "{scheme}: {}", stderr(&out));
        let out = errata_in(dir.path(), &["check", "api.toml"]);
        assert_eq!(code(&out), 0, "{scheme}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("0 errors, 0 warnings"),
            "{}",
            stdout(&out)
        );
        let out = errata_in(
            dir.path(),
            &["explain", "ITEM_NOT_FOUND", "--catalog", "api.toml"],
        );
        assert!(stdout(&out).contains(number), "{scheme}: {}", stdout(&out));
    }
}

#[test]
fn a_missing_default_catalog_says_so_and_points_at_init() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["check"][..], &["explain", "X"], &["docs"]] {
        let out = errata_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("`errors.toml`"), "{args:?}: {err}");
        assert!(err.contains("errata init"), "{args:?}: {err}");
    }
    // A path the user named gets the plain hint.
    let out = errata_in(dir.path(), &["check", "api.toml"]);
    assert!(!stderr(&out).contains("errata init"), "{}", stderr(&out));
}

// ── diagnostics in check ────────────────────────────────────────────────────────────────────

#[test]
fn check_reports_a_duplicate_table_with_the_files_other_problems() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("errors.toml"),
        "[catalog]\nname = \"t\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n\n\
         [errors.A]\nstatus = 400\nmessage.en = \"Only {availble}.\"\nparams = { available = \"integer\" }\n\n\
         [errors.A]\nstatus = 400\nmessage.en = \"a\"\n\n\
         [errors.route_not_found]\nstatus = 404\nmessage.en = \"x\"\n",
    )
    .unwrap();
    let out = errata_in(dir.path(), &["check"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(text.contains("duplicate key `A`"), "{text}");
    assert!(text.contains("did you mean `{available}`?"), "{text}");
    assert!(
        text.contains("`ROUTE_NOT_FOUND` is already taken"),
        "{text}"
    );
    assert!(text.contains("errors.toml: 3 errors"), "{text}");
}

// ── diff and versions ───────────────────────────────────────────────────────────────────────

fn shop(version: &str, status: u16, extra: &str) -> String {
    format!(
        "[catalog]\nname = \"shop\"\nversion = \"{version}\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n\n\
         [errors.OUT_OF_STOCK]\nstatus = {status}\nmessage.en = \"Sold out.\"\n{extra}"
    )
}

const UPSTREAM: &str = "\n[errors.PAY_DECLINED]\nstatus = 402\nmessage.en = \"Declined.\"\n\n\
    [upstreams.pay]\non_unmatched = \"UPSTREAM_ERROR\"\non_timeout = \"UPSTREAM_TIMEOUT\"\n\n\
    [[upstreams.pay.rules]]\njson = { error.code = [\"card_declined\"] }\nraise = \"PAY_DECLINED\"\n";

fn diff(dir: &Path, old: &str, new: &str, format: &str) -> (i32, String) {
    std::fs::write(dir.join("old.toml"), old).unwrap();
    std::fs::write(dir.join("new.toml"), new).unwrap();
    let out = errata_in(dir, &["diff", "--format", format, "old.toml", "new.toml"]);
    (code(&out), stdout(&out))
}

#[test]
fn breaking_changes_under_a_major_bump_pass_and_are_still_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, text) = diff(
        dir.path(),
        &shop("1.4.0", 409, ""),
        &shop("2.0.0", 410, ""),
        "text",
    );
    assert_eq!(exit, 0, "{text}");
    assert!(text.contains("BREAKING  status_changed"), "{text}");
    assert!(
        text.contains("ok: 1 breaking change allowed by the major version bump 1.4.0 → 2.0.0"),
        "{text}"
    );
    // Under 0.x, the minor bump is the breaking one.
    let (exit, _) = diff(
        dir.path(),
        &shop("0.3.1", 409, ""),
        &shop("0.4.0", 410, ""),
        "text",
    );
    assert_eq!(exit, 0);
}

#[test]
fn breaking_changes_without_a_major_bump_are_a_versioning_mistake() {
    let dir = tempfile::tempdir().unwrap();
    for new_version in ["1.4.0", "1.5.0", "1.4.1"] {
        let (exit, text) = diff(
            dir.path(),
            &shop("1.4.0", 409, ""),
            &shop(new_version, 410, ""),
            "text",
        );
        assert_eq!(exit, 1, "{text}");
        assert!(text.contains("error: versioning mistake"), "{text}");
        assert!(
            text.contains("set `[catalog].version` to `2.0.0`"),
            "{text}"
        );
    }
    let (exit, json) = diff(
        dir.path(),
        &shop("0.3.1", 409, ""),
        &shop("0.3.2", 410, ""),
        "json",
    );
    assert_eq!(exit, 1);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["passed"], false);
    assert_eq!(doc["version"]["bump"], "patch");
    assert_eq!(doc["version"]["required"], "0.4.0");
}

#[test]
fn a_major_bump_with_no_breaking_change_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, text) = diff(
        dir.path(),
        &shop("1.4.0", 409, ""),
        &shop("2.0.0", 409, ""),
        "text",
    );
    assert_eq!(exit, 0, "{text}");
    assert!(
        text.contains("warning: major version bump 1.4.0 → 2.0.0 with no breaking change"),
        "{text}"
    );
    let (_, json) = diff(
        dir.path(),
        &shop("1.4.0", 409, ""),
        &shop("2.0.0", 409, ""),
        "json",
    );
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["version"]["bump"], "major");
    assert!(doc["version"]["warnings"][0]
        .as_str()
        .unwrap()
        .contains("no breaking change"));
}

#[test]
fn removed_and_changed_upstream_rules_are_breaking_and_added_ones_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let old = shop("1.0.0", 409, UPSTREAM);

    // Removing the rule: card declines now raise UPSTREAM_ERROR.
    let without = old.replace(
        "[[upstreams.pay.rules]]\njson = { error.code = [\"card_declined\"] }\nraise = \"PAY_DECLINED\"\n",
        "",
    );
    assert_ne!(without, old);
    let (exit, json) = diff(
        dir.path(),
        &old,
        &without.replace("[upstreams.pay]\n", "[upstreams.pay]\nrules = []\n"),
        "json",
    );
    assert_eq!(exit, 1, "{json}");
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["changes"][0]["kind"], "upstream_rule_removed", "{json}");
    assert_eq!(doc["changes"][0]["breaking"], true);

    // The same conditions raising another code.
    let changed = old.replace("raise = \"PAY_DECLINED\"", "raise = \"OUT_OF_STOCK\"");
    let (exit, text) = diff(dir.path(), &old, &changed, "text");
    assert_eq!(exit, 1, "{text}");
    assert!(
        text.contains("BREAKING  upstream_rule_changed")
            && text.contains("raises `OUT_OF_STOCK` instead of `PAY_DECLINED`"),
        "{text}"
    );

    // A new fallback is breaking; a new rule is not.
    let fallback = old.replace(
        "on_timeout = \"UPSTREAM_TIMEOUT\"",
        "on_timeout = \"PAY_DECLINED\"",
    );
    let (exit, text) = diff(dir.path(), &old, &fallback, "text");
    assert_eq!(exit, 1, "{text}");
    assert!(text.contains("upstream_fallback_changed"), "{text}");
    let added =
        format!("{old}\n[[upstreams.pay.rules]]\nstatus = [429]\nraise = \"OUT_OF_STOCK\"\n");
    let (exit, text) = diff(dir.path(), &old, &added, "text");
    assert_eq!(exit, 0, "{text}");
    assert!(text.contains("upstream_rule_added"), "{text}");

    // Removing the whole upstream.
    let (exit, text) = diff(
        dir.path(),
        &old,
        &shop(
            "1.0.0",
            409,
            "\n[errors.PAY_DECLINED]\nstatus = 402\nmessage.en = \"Declined.\"\n",
        ),
        "text",
    );
    assert_eq!(exit, 1, "{text}");
    assert!(text.contains("BREAKING  upstream_removed"), "{text}");
}

#[test]
fn changed_alert_policies_are_reported_as_compatible() {
    let dir = tempfile::tempdir().unwrap();
    let (exit, text) = diff(
        dir.path(),
        &shop("1.0.0", 409, ""),
        &shop("1.0.0", 409, "alert = \"always\"\n"),
        "text",
    );
    assert_eq!(exit, 0, "{text}");
    assert!(
        text.contains("alert_changed") && text.contains("never → always"),
        "{text}"
    );
}

#[test]
fn github_format_annotates_each_change_at_its_line_and_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let new = shop(
        "1.0.0",
        410,
        "\n[errors.COUPON_GONE]\nstatus = 410\nmessage.en = \"Gone.\"\n",
    );
    let (exit, text) = diff(dir.path(), &shop("1.0.0", 409, ""), &new, "github");
    assert_eq!(exit, 1, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "::error file=new.toml,line=7,col=9,title=breaking%3A status_changed::`OUT_OF_STOCK`: status 409 → 410",
        "{text}"
    );
    assert_eq!(
        lines[1],
        "::notice file=new.toml,line=11,col=9,title=code_added::`COUPON_GONE` (410) was added",
        "{text}"
    );
    assert!(
        lines[2]
            .starts_with("::error file=new.toml,line=3,title=catalog version::versioning mistake"),
        "{text}"
    );
    // Allowed by a major bump: a warning, and a notice saying why.
    let (exit, text) = diff(
        dir.path(),
        &shop("1.0.0", 409, ""),
        &shop("2.0.0", 410, ""),
        "github",
    );
    assert_eq!(exit, 0, "{text}");
    assert!(text.starts_with("::warning file=new.toml,line=7"), "{text}");
    assert!(
        text.contains(
            "::notice file=new.toml,line=3,title=catalog version::1 breaking change allowed"
        ),
        "{text}"
    );
}
