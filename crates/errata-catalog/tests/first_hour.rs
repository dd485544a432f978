//! Diagnostics a new user meets in their first catalog: a misspelt placeholder, a code renamed
//! onto a taken one, a table declared twice among other problems, and upstream rules written
//! with nested TOML keys.

use errata_catalog::{check, Diagnostic, Severity};

const HEAD: &str = "[catalog]\nname = \"t\"\ndefault_locale = \"en\"\nlocales = [\"en\"]\n";

fn errors(source: &str) -> Vec<Diagnostic> {
    let checked = check(source);
    assert!(checked.catalog.is_none(), "must not load: {source}");
    checked
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

#[test]
fn a_misspelt_placeholder_gets_did_you_mean() {
    let source = format!(
        "{HEAD}\n[errors.OUT_OF_STOCK]\nstatus = 409\nmessage.en = \"Only {{availble}} left.\"\nparams = {{ available = \"integer\" }}\n"
    );
    let found = errors(&source);
    let d = found
        .iter()
        .find(|d| d.message.contains("`{availble}`"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    assert_eq!(
        d.hint.as_deref(),
        Some("did you mean `{available}`? `params` declares `available`")
    );
    assert_eq!(&source[d.span.clone()], "{availble}");
}

#[test]
fn an_undeclared_placeholder_with_no_near_name_is_told_to_declare_it() {
    let source = format!(
        "{HEAD}\n[errors.OUT_OF_STOCK]\nstatus = 409\nmessage.en = \"Only {{left}} left.\"\n"
    );
    let found = errors(&source);
    assert_eq!(
        found[0].hint.as_deref(),
        Some("add `params = { left = \"string\" }` (or integer, number, boolean)")
    );
}

#[test]
fn a_rename_hint_never_proposes_a_taken_code() {
    let source = format!(
        "{HEAD}\n[errors.ORDER_NOT_FOUND]\nstatus = 404\nmessage.en = \"No order.\"\n\n[errors.order_not_found]\nstatus = 404\nmessage.en = \"No order.\"\n"
    );
    let found = errors(&source);
    let d = found
        .iter()
        .find(|d| d.message.contains("not UPPER_SNAKE_CASE"))
        .unwrap_or_else(|| panic!("{found:#?}"));
    let hint = d.hint.as_deref().unwrap_or_default();
    assert!(!hint.contains("rename it to `ORDER_NOT_FOUND`"), "{hint}");
    assert!(hint.contains("already taken"), "{hint}");

    // A built-in code is taken too, and so is an alias.
    let source = format!("{HEAD}\n[errors.route_not_found]\nstatus = 404\nmessage.en = \"x\"\n");
    let hint = errors(&source)[0].hint.clone().unwrap_or_default();
    assert!(
        hint.contains("`ROUTE_NOT_FOUND` is already taken"),
        "{hint}"
    );
    let source = format!(
        "{HEAD}\n[errors.GONE]\nstatus = 410\nmessage.en = \"x\"\naliases = [\"OLD_GONE\"]\n\n[errors.old_gone]\nstatus = 410\nmessage.en = \"x\"\n"
    );
    let hint = errors(&source)[0].hint.clone().unwrap_or_default();
    assert!(hint.contains("`OLD_GONE` is already taken"), "{hint}");

    // A free name is still proposed.
    let source = format!("{HEAD}\n[errors.order_gone]\nstatus = 410\nmessage.en = \"x\"\n");
    assert_eq!(
        errors(&source)[0].hint.as_deref(),
        Some("rename it to `ORDER_GONE`")
    );
}

#[test]
fn a_duplicate_table_is_one_diagnostic_among_the_others() {
    let source = format!(
        "{HEAD}\n[errors.NOT_FOUND]\nstatus = 404\nmessage.en = \"Not found.\"\n\n[errors.NOT_FOUND]\nstatus = 410\nmessage.en = \"Gone.\"\n\n[errors.BAD]\nstatus = 700\nmessage.en = \"Bad.\"\n\n[errors.TWICE]\nstatus = 400\nmessage.en = \"a\"\n\n[errors.TWICE]\nstatus = 400\nmessage.en = \"b\"\n"
    );
    let found = errors(&source);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(found.len(), 3, "{messages:#?}");
    assert!(
        messages[0].contains("duplicate key `NOT_FOUND`"),
        "{messages:?}"
    );
    assert_eq!(found[0].location(&source).line, 10);
    assert!(
        messages[1].contains("status 700 is not an error status"),
        "{messages:?}"
    );
    assert_eq!(found[1].location(&source).line, 15);
    assert!(
        messages[2].contains("duplicate key `TWICE`"),
        "{messages:?}"
    );
    assert_eq!(found[2].location(&source).line, 22);
}

#[test]
fn a_duplicate_key_inside_a_table_keeps_the_rest_of_the_table() {
    let source =
        format!("{HEAD}\n[errors.NOT_FOUND]\nstatus = 404\nstatus = 410\nmessage.en = \"{{x}}\"\n");
    let found = errors(&source);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(found.len(), 2, "{messages:#?}");
    assert!(
        messages[0].contains("duplicate key `status`"),
        "{messages:?}"
    );
    assert!(messages[1].contains("`{x}`"), "{messages:?}");
}

#[test]
fn nested_json_keys_are_dotted_paths() {
    let rules = |json: &str| {
        format!(
            "{HEAD}\n[errors.PAY_DECLINED]\nstatus = 402\nmessage.en = \"Declined.\"\n\n[upstreams.pay]\non_unmatched = \"UPSTREAM_ERROR\"\non_timeout = \"UPSTREAM_TIMEOUT\"\n\n[[upstreams.pay.rules]]\njson = {json}\nraise = \"PAY_DECLINED\"\n"
        )
    };
    for json in [
        r#"{ error.code = ["card_declined"] }"#,
        r#"{ "error.code" = ["card_declined"] }"#,
        r#"{ error = { code = ["card_declined"] } }"#,
    ] {
        let checked = check(&rules(json));
        let catalog = checked
            .catalog
            .unwrap_or_else(|| panic!("{json}: {:#?}", checked.diagnostics));
        let rule = &catalog.upstream("pay").unwrap().rules[0];
        assert_eq!(
            rule.json,
            [(
                "error.code".to_owned(),
                vec![serde_json::json!("card_declined")]
            )],
            "{json}"
        );
    }
    let found = errors(&rules("{ error.code = [[1]] }"));
    assert_eq!(
        found[0].message,
        "`json.error.code` must list strings, numbers or booleans to match"
    );
    assert_eq!(
        found[0].hint.as_deref(),
        Some(
            r#"write the field's dotted path and the values it matches: `json = { "error.code" = ["value"] }`"#
        )
    );
}
