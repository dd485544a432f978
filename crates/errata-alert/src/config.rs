//! Configuration from the environment or from code.
//!
//! | variable | meaning |
//! |---|---|
//! | `ERRATA_SLACK_WEBHOOK_URL` | Slack incoming webhook (a secret) |
//! | `ERRATA_SLACK_BOT_TOKEN` + `ERRATA_SLACK_CHANNEL` | Slack `chat.postMessage` with a bot token |
//! | `ERRATA_SLACK_API_BASE` | Slack Web API base (default `https://slack.com/api`) |
//! | `ERRATA_SENTRY_DSN` | Sentry DSN |
//! | `ERRATA_WEBHOOK_URL` + `ERRATA_WEBHOOK_SECRET` | signed JSON webhook |
//! | `ERRATA_STORE` | SQLite file (default `errata-alert.sqlite3`) or a `postgres://` URL |
//! | `ERRATA_CONSOLE` | `off` turns the console sink off (default `on`) |
//! | `ERRATA_SERVICE`, `ERRATA_ENV`, `ERRATA_RELEASE` | stamped on every alert |
//! | `ERRATA_LOCALE` | the locale alerts are written in (default: the catalog's default locale) |
//! | `ERRATA_GROUP_WAIT`, `ERRATA_GROUP_INTERVAL`, `ERRATA_REPEAT_INTERVAL` | grouping timing (`30s`, `5m`, `4h`; `humantime`'s grammar, or bare seconds) |
//! | `ERRATA_RESOLVE_AFTER` | quiet time after which a group that alerted gets a resolved notice (default `5m`, `1s` to `1day`; `off`: none) |
//!
//! Timing (`resolve_after` included) and locale come from the environment, else the catalog's `[alerting]` table, else
//! the code's settings ([`Alerting::timing`](crate::Alerting::timing),
//! [`Alerting::resolve_after`](crate::Alerting::resolve_after),
//! [`Alerting::locale`](crate::Alerting::locale)), else the defaults.
//!
//! Alerts always go to the console (stdout) unless `ERRATA_CONSOLE=off` (or
//! `Alerting::console(false)`); the sinks set here and those added in code with
//! `Alerting::sink` all receive every alert. At start-up one log line names every active sink,
//! the store and the timing, secrets masked. A bad value stops start-up with a message that
//! names the variable; secrets are never echoed.
//!
//! ```
//! use errata_alert::Config;
//!
//! let env = |k: &str| match k {
//!     "ERRATA_SENTRY_DSN" => Some("https://key@host/".to_string()),
//!     _ => None,
//! };
//! let err = Config::from_lookup(env).unwrap_err();
//! assert_eq!(err.to_string(), r#"ERRATA_SENTRY_DSN: missing project id in "https://***@host/""#);
//! ```

use std::fmt;
use std::sync::Arc;

use crate::sink::{ConsoleSink, SentrySink, Sink, SlackSink, WebhookSink};

/// A value that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret itself; keep it out of logs.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable (or the builder setting of that name) is invalid.
    #[error("{var}: {reason}")]
    Invalid {
        /// The environment variable concerned.
        var: &'static str,
        /// What is wrong, and what would be right.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(var: &'static str, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            var,
            reason: reason.into(),
        }
    }

    /// The variable concerned.
    pub fn var(&self) -> &'static str {
        match self {
            ConfigError::Invalid { var, .. } => var,
        }
    }
}

/// Checks an http(s) URL; with `secret`, error messages never quote it.
pub(crate) fn parse_url(
    var: &'static str,
    value: &str,
    secret: bool,
) -> Result<String, ConfigError> {
    let v = value.trim();
    let shown = |why: &str| {
        if secret {
            format!("{why} (the value is not shown: it holds a secret)")
        } else {
            format!("{why} in {v:?}")
        }
    };
    let url = reqwest::Url::parse(v).map_err(|_| ConfigError::invalid(var, shown("not a URL")))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(ConfigError::invalid(
            var,
            shown("the scheme must be http or https"),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::invalid(var, shown("missing host")));
    }
    Ok(v.to_string())
}

/// `https://public:secret@host/1` → `https://***@host/1`.
pub(crate) fn redact_userinfo(s: &str) -> String {
    if let Some(scheme_end) = s.find("://") {
        let rest = &s[scheme_end + 3..];
        let auth_end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..auth_end].rfind('@') {
            return format!("{}***{}", &s[..scheme_end + 3], &rest[at..]);
        }
    }
    s.to_string()
}

/// Settings read from `ERRATA_*` variables.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Config {
    /// `ERRATA_SERVICE`.
    pub service: Option<String>,
    /// `ERRATA_ENV`.
    pub environment: Option<String>,
    /// `ERRATA_RELEASE`.
    pub release: Option<String>,
    /// `ERRATA_STORE`: a SQLite path or a `postgres://` URL.
    pub store: Option<Secret<String>>,
    /// `ERRATA_SLACK_WEBHOOK_URL`.
    pub slack_webhook_url: Option<Secret<String>>,
    /// `ERRATA_SLACK_BOT_TOKEN`.
    pub slack_bot_token: Option<Secret<String>>,
    /// `ERRATA_SLACK_CHANNEL`.
    pub slack_channel: Option<String>,
    /// `ERRATA_SLACK_API_BASE`.
    pub slack_api_base: Option<String>,
    /// `ERRATA_SENTRY_DSN`.
    pub sentry_dsn: Option<Secret<String>>,
    /// `ERRATA_WEBHOOK_URL`.
    pub webhook_url: Option<Secret<String>>,
    /// `ERRATA_WEBHOOK_SECRET`.
    pub webhook_secret: Option<Secret<String>>,
    /// `ERRATA_CONSOLE=off`: no console sink.
    pub console_off: bool,
    /// `ERRATA_LOCALE`: the locale alerts are written in.
    pub locale: Option<String>,
    /// `ERRATA_GROUP_WAIT`.
    pub group_wait: Option<std::time::Duration>,
    /// `ERRATA_GROUP_INTERVAL`.
    pub group_interval: Option<std::time::Duration>,
    /// `ERRATA_REPEAT_INTERVAL`.
    pub repeat_interval: Option<std::time::Duration>,
    /// `ERRATA_RESOLVE_AFTER`: `Some(None)` is `off` (no resolved notices).
    pub resolve_after: Option<Option<std::time::Duration>>,
}

/// Bounds of `resolve_after` wherever it is read: 1 s to a day.
pub(crate) const RESOLVE_AFTER_BOUNDS: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_secs(1),
    std::time::Duration::from_secs(86_400),
);

/// Parses a `resolve_after` value: `off`, or a duration in the one grammar, bounded.
pub(crate) fn parse_resolve_after(
    var: &'static str,
    value: &str,
) -> Result<Option<std::time::Duration>, ConfigError> {
    if value.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let (least, most) = RESOLVE_AFTER_BOUNDS;
    parse_duration(var, value, least, most)
        .map(Some)
        .map_err(|e| match e {
            ConfigError::Invalid { var, reason } => ConfigError::Invalid {
                var,
                reason: format!("{reason}; or `off` for no resolved notices"),
            },
        })
}

/// Parses a duration the one way errata does: bare seconds or `humantime` (`30s`, `5m`,
/// `1h 30m`), between `least` and `most`.
pub(crate) fn parse_duration(
    var: &'static str,
    value: &str,
    least: std::time::Duration,
    most: std::time::Duration,
) -> Result<std::time::Duration, ConfigError> {
    let v = value.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => std::time::Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(v).map_err(|e| {
            ConfigError::invalid(
                var,
                format!("{v:?} is not a duration ({e}); write it like 30s, 5m or 4h"),
            )
        })?,
    };
    if d < least || d > most {
        return Err(ConfigError::invalid(
            var,
            format!(
                "{v:?} is out of range: use {} to {}",
                humantime::format_duration(least),
                humantime::format_duration(most)
            ),
        ));
    }
    Ok(d)
}

impl Config {
    /// Reads and checks the `ERRATA_*` variables of the process.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads and checks variables through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let duration = |var: &'static str, least: u64, most: u64| {
            get(var)
                .map(|v| {
                    parse_duration(
                        var,
                        &v,
                        std::time::Duration::from_secs(least),
                        std::time::Duration::from_secs(most),
                    )
                })
                .transpose()
        };
        let cfg = Config {
            service: get("ERRATA_SERVICE"),
            environment: get("ERRATA_ENV"),
            release: get("ERRATA_RELEASE"),
            store: get("ERRATA_STORE").map(Secret::new),
            slack_webhook_url: get("ERRATA_SLACK_WEBHOOK_URL").map(Secret::new),
            slack_bot_token: get("ERRATA_SLACK_BOT_TOKEN").map(Secret::new),
            slack_channel: get("ERRATA_SLACK_CHANNEL"),
            slack_api_base: get("ERRATA_SLACK_API_BASE"),
            sentry_dsn: get("ERRATA_SENTRY_DSN").map(Secret::new),
            webhook_url: get("ERRATA_WEBHOOK_URL").map(Secret::new),
            webhook_secret: get("ERRATA_WEBHOOK_SECRET").map(Secret::new),
            locale: get("ERRATA_LOCALE").map(|l| l.trim().to_owned()),
            group_wait: duration("ERRATA_GROUP_WAIT", 0, 3600)?,
            group_interval: duration("ERRATA_GROUP_INTERVAL", 1, 86_400)?,
            repeat_interval: duration("ERRATA_REPEAT_INTERVAL", 1, 30 * 86_400)?,
            resolve_after: get("ERRATA_RESOLVE_AFTER")
                .map(|v| parse_resolve_after("ERRATA_RESOLVE_AFTER", &v))
                .transpose()?,
            console_off: match get("ERRATA_CONSOLE").map(|v| v.trim().to_ascii_lowercase()) {
                None => false,
                Some(v) if ["on", "true", "1", "yes"].contains(&v.as_str()) => false,
                Some(v) if ["off", "false", "0", "no"].contains(&v.as_str()) => true,
                Some(v) => {
                    return Err(ConfigError::invalid(
                        "ERRATA_CONSOLE",
                        format!("{v:?} is neither `on` nor `off`"),
                    ))
                }
            },
        };
        cfg.sinks()?;
        Ok(cfg)
    }

    /// The sinks these settings describe: the console (unless `ERRATA_CONSOLE=off`), then each
    /// sink whose variables are set.
    pub fn sinks(&self) -> Result<Vec<Arc<dyn Sink>>, ConfigError> {
        let mut out: Vec<Arc<dyn Sink>> = Vec::new();
        if !self.console_off {
            out.push(Arc::new(ConsoleSink::stdout()));
        }
        if let Some(url) = &self.slack_webhook_url {
            out.push(Arc::new(SlackSink::webhook(url.expose())?));
        }
        match (&self.slack_bot_token, &self.slack_channel) {
            (Some(token), Some(channel)) => {
                let mut s = SlackSink::bot(token.expose(), channel)?.name(
                    if self.slack_webhook_url.is_some() {
                        "slack-bot"
                    } else {
                        "slack"
                    },
                );
                if let Some(base) = &self.slack_api_base {
                    s = s.api_base(base)?;
                }
                out.push(Arc::new(s));
            }
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "ERRATA_SLACK_CHANNEL",
                    "missing: ERRATA_SLACK_BOT_TOKEN needs a channel to post to",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "ERRATA_SLACK_BOT_TOKEN",
                    "missing: ERRATA_SLACK_CHANNEL is set but there is no bot token to post with",
                ))
            }
            (None, None) => {
                if let Some(base) = &self.slack_api_base {
                    parse_url("ERRATA_SLACK_API_BASE", base, false)?;
                }
            }
        }
        if let Some(dsn) = &self.sentry_dsn {
            out.push(Arc::new(SentrySink::new(dsn.expose())?));
        }
        match (&self.webhook_url, &self.webhook_secret) {
            (Some(url), Some(secret)) => {
                out.push(Arc::new(WebhookSink::new(url.expose(), secret.expose())?));
            }
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "ERRATA_WEBHOOK_SECRET",
                    "missing: ERRATA_WEBHOOK_URL needs a shared secret to sign with",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "ERRATA_WEBHOOK_URL",
                    "missing: ERRATA_WEBHOOK_SECRET is set but there is no URL to send to",
                ))
            }
            (None, None) => {}
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn errors_name_the_variable_and_hide_secrets() {
        let e = with(&[("ERRATA_SLACK_WEBHOOK_URL", "ftp://hooks/T0/B0/SECRET")]).unwrap_err();
        assert_eq!(e.var(), "ERRATA_SLACK_WEBHOOK_URL");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        let e = with(&[("ERRATA_SENTRY_DSN", "https://pub:priv@host")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("ERRATA_SENTRY_DSN: missing project id"),
            "{e}"
        );
        assert!(!e.to_string().contains("pub"), "{e}");
        let e = with(&[("ERRATA_SLACK_BOT_TOKEN", "xoxb-1")]).unwrap_err();
        assert_eq!(e.var(), "ERRATA_SLACK_CHANNEL");
        let e = with(&[("ERRATA_WEBHOOK_URL", "https://x/y")]).unwrap_err();
        assert_eq!(e.var(), "ERRATA_WEBHOOK_SECRET");
        let e = with(&[("ERRATA_SLACK_API_BASE", "nope")]).unwrap_err();
        assert_eq!(e.var(), "ERRATA_SLACK_API_BASE");
    }

    #[test]
    fn sinks_and_debug() {
        let c = with(&[
            (
                "ERRATA_SLACK_WEBHOOK_URL",
                "https://hooks.example/T0/B0/SECRETHOOK",
            ),
            ("ERRATA_SENTRY_DSN", "https://PUBKEY@sentry.example/42"),
            ("ERRATA_WEBHOOK_URL", "https://hook.example/in"),
            ("ERRATA_WEBHOOK_SECRET", "SHAREDSECRET"),
            ("ERRATA_SLACK_BOT_TOKEN", "xoxb-BOTTOKEN"),
            ("ERRATA_SLACK_CHANNEL", "C123"),
            ("ERRATA_STORE", "postgres://u:DBPASS@localhost/x"),
        ])
        .unwrap();
        let sinks = c.sinks().unwrap();
        let names: Vec<&str> = sinks.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            ["console", "slack", "slack-bot", "sentry", "webhook"]
        );
        let dbg = format!("{c:?}");
        for secret in ["SECRETHOOK", "PUBKEY", "SHAREDSECRET", "BOTTOKEN", "DBPASS"] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
        assert_eq!(with(&[]).unwrap().sinks().unwrap()[0].name(), "console");
    }

    #[test]
    fn the_console_stays_beside_other_sinks_unless_turned_off() {
        let names = |pairs: &[(&str, &str)]| -> Vec<String> {
            with(pairs)
                .unwrap()
                .sinks()
                .unwrap()
                .iter()
                .map(|s| s.name().to_owned())
                .collect()
        };
        let hook = ("ERRATA_SLACK_WEBHOOK_URL", "https://hooks.example/T0/B0/X");
        assert_eq!(names(&[hook]), ["console", "slack"]);
        assert_eq!(names(&[hook, ("ERRATA_CONSOLE", "off")]), ["slack"]);
        assert_eq!(names(&[("ERRATA_CONSOLE", "OFF")]), Vec::<String>::new());
        assert_eq!(names(&[("ERRATA_CONSOLE", "on")]), ["console"]);
        let e = with(&[("ERRATA_CONSOLE", "maybe")]).unwrap_err();
        assert_eq!(e.var(), "ERRATA_CONSOLE");
    }
}
