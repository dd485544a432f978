//! Timing and locale from three places, one grammar: the environment wins over the catalog's
//! `[alerting]` table, which wins over the code's settings; durations read as `humantime`
//! (`30s`, `5m`, `1h 30m`) or bare seconds, bounded, errors naming the variable.

use std::time::Duration;

use errata_alert::{Alerting, Config, Timing};
use errata_catalog::Catalog;

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn durations_from_the_environment_use_one_grammar_and_name_the_variable() {
    let c = Config::from_lookup(env(&[
        ("ERRATA_GROUP_WAIT", "30s"),
        ("ERRATA_GROUP_INTERVAL", "1h 30m"),
        ("ERRATA_REPEAT_INTERVAL", "7200"),
    ]))
    .unwrap();
    assert_eq!(c.group_wait, Some(Duration::from_secs(30)));
    assert_eq!(c.group_interval, Some(Duration::from_secs(5400)));
    assert_eq!(c.repeat_interval, Some(Duration::from_secs(7200)));
    for (var, value, says) in [
        ("ERRATA_GROUP_WAIT", "soon", "is not a duration"),
        ("ERRATA_GROUP_WAIT", "2h", "out of range"),
        ("ERRATA_GROUP_INTERVAL", "0s", "out of range"),
        (
            "ERRATA_REPEAT_INTERVAL",
            "100000000000000000000d",
            "is not a duration",
        ),
    ] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(vec![(var, value)].into_boxed_slice());
        let err = Config::from_lookup(env(pairs)).unwrap_err();
        assert_eq!(err.var(), var);
        assert!(err.to_string().contains(says), "{var}={value}: {err}");
    }
}

const CATALOG: &str = r#"
[catalog]
name = "shop"
version = "1.0.0"
default_locale = "ko"
locales = ["ko", "en"]

[alerting]
group_wait = "7s"
group_interval = "10m"
locale = "en"

[errors.DOWN]
status = 503
message.ko = "점검 중"
message.en = "Down for maintenance"
"#;

#[tokio::test]
async fn environment_over_catalog_over_code() {
    let catalog = Catalog::from_toml(CATALOG).unwrap();
    assert_eq!(catalog.alerting.group_wait, Some(Duration::from_secs(7)));
    let code = Timing {
        group_wait: Duration::from_secs(1),
        group_interval: Duration::from_secs(60),
        repeat_interval: Duration::from_secs(7200),
    };
    let config = Config::from_lookup(env(&[("ERRATA_GROUP_INTERVAL", "20m")])).unwrap();
    let (_layer, handle) = Alerting::from_config(config)
        .timing(code)
        .catalog(&catalog)
        .store_memory()
        .console(false)
        .start()
        .await
        .unwrap();
    let line = handle.summary().to_string();
    handle.shutdown().await;
    assert!(
        line.contains("group_wait 7s, group_interval 1200s, repeat_interval 7200s"),
        "{line}"
    );
}

#[test]
fn the_catalogs_alerting_table_is_checked_where_it_is() {
    for (good, bad, says) in [
        (
            "group_wait = \"7s\"",
            "group_wait = \"2 days\"",
            "between 0 s and 3600 s",
        ),
        (
            "group_interval = \"10m\"",
            "group_interval = \"often\"",
            "must be seconds or a duration",
        ),
        (
            "locale = \"en\"",
            "locale = \"fr\"",
            "not one of the catalog's locales",
        ),
        ("group_wait = \"7s\"", "group_wiat = \"5s\"", "group_wiat"),
    ] {
        let text = CATALOG.replace(good, bad);
        let err = Catalog::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
    }
}

#[test]
fn resolve_after_reads_like_the_other_durations_and_turns_off() {
    let c = Config::from_lookup(env(&[("ERRATA_RESOLVE_AFTER", "10m")])).unwrap();
    assert_eq!(c.resolve_after, Some(Some(Duration::from_secs(600))));
    let c = Config::from_lookup(env(&[("ERRATA_RESOLVE_AFTER", "OFF")])).unwrap();
    assert_eq!(c.resolve_after, Some(None));
    let c = Config::from_lookup(env(&[])).unwrap();
    assert_eq!(c.resolve_after, None);
    for (value, says) in [
        ("0s", "out of range: use 1s to 1day"),
        ("2days", "out of range"),
        ("later", "is not a duration"),
    ] {
        let pairs: &'static [(&'static str, &'static str)] =
            Box::leak(vec![("ERRATA_RESOLVE_AFTER", value)].into_boxed_slice());
        let err = Config::from_lookup(env(pairs)).unwrap_err();
        assert_eq!(err.var(), "ERRATA_RESOLVE_AFTER");
        let text = err.to_string();
        assert!(text.contains(says), "{value}: {text}");
        assert!(text.contains("or `off`"), "{value}: {text}");
    }
}

#[tokio::test]
async fn resolve_after_environment_over_catalog_over_code() {
    let summary = |catalog: &str, vars: &'static [(&'static str, &'static str)]| {
        let catalog = Catalog::from_toml(catalog).unwrap();
        async move {
            let (_layer, handle) = Alerting::from_config(Config::from_lookup(env(vars)).unwrap())
                .resolve_after(Duration::from_secs(90))
                .catalog(&catalog)
                .store_memory()
                .console(false)
                .start()
                .await
                .unwrap();
            let line = handle.summary().to_string();
            handle.shutdown().await;
            line
        }
    };
    let with = |line: &str| CATALOG.replace("locale = \"en\"", &format!("locale = \"en\"\n{line}"));
    assert!(summary(CATALOG, &[]).await.contains("resolve_after 90s"));
    let two_minutes = with("resolve_after = \"2m\"");
    assert_eq!(
        Catalog::from_toml(&two_minutes)
            .unwrap()
            .alerting
            .resolve_after,
        Some(Some(Duration::from_secs(120)))
    );
    assert!(summary(&two_minutes, &[])
        .await
        .contains("resolve_after 120s"));
    let line = summary(&two_minutes, &[("ERRATA_RESOLVE_AFTER", "10m")]).await;
    assert!(line.contains("resolve_after 600s"), "{line}");
    let off = with("resolve_after = \"off\"");
    assert!(summary(&off, &[]).await.contains("resolve_after off"));
    let line = summary(&off, &[("ERRATA_RESOLVE_AFTER", "30s")]).await;
    assert!(line.contains("resolve_after 30s"), "{line}");
    assert_eq!(
        Catalog::from_toml(&with("resolve_after = false"))
            .unwrap()
            .alerting
            .resolve_after,
        Some(None)
    );
}

#[test]
fn the_catalogs_resolve_after_is_checked_where_it_is() {
    for (bad, says) in [
        ("resolve_after = \"2 days\"", "between 1 s and 86400 s"),
        ("resolve_after = 0", "between 1 s and 86400 s"),
        (
            "resolve_after = \"whenever\"",
            "must be seconds or a duration",
        ),
        ("resolve_after = true", "must be seconds or a duration"),
    ] {
        let text = CATALOG.replace("locale = \"en\"", &format!("locale = \"en\"\n{bad}"));
        let err = Catalog::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains(says), "{bad}: {err}");
        assert!(err.contains("or \"off\""), "{bad}: {err}");
        // Located: the diagnostic points at the line of the value.
        let line = text.lines().position(|l| l == bad).unwrap() + 1;
        assert!(err.contains(&format!(":{line}:")), "{bad}: {err}");
    }
}
