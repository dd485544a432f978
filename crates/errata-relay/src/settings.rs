//! The relay's settings: `ERRATA_RELAY_*` variables, or the same settings in a TOML file.
//!
//! | variable | TOML key | meaning |
//! |---|---|---|
//! | `ERRATA_RELAY_ADDR` | `addr` | listen address (default `127.0.0.1:9000`) |
//! | `ERRATA_RELAY_PROJECTS` | `projects` | `project_id:public_key,...` (required) |
//! | `ERRATA_RELAY_CATALOG` | `catalog` | catalog file whose codes, policies and mappings apply |
//! | `ERRATA_RELAY_MAX_ENVELOPE` | `max_envelope` | cap on an envelope, decompressed (default `20MiB`) |
//! | `ERRATA_RELAY_MAX_EVENT` | `max_event` | cap on one event item (default `1MiB`) |
//! | `ERRATA_RELAY_MAX_IN_FLIGHT` | `max_in_flight` | requests read at once; beyond, 429 (default 256) |
//! | `ERRATA_RELAY_QUEUE` | `queue` | capture queue of the pipeline; when full, 429 (default 20000) |
//! | `ERRATA_RELAY_QUOTA` | `quota` | events per project and period, e.g. `1000/s`, `50000/min` |
//! | `ERRATA_RELAY_UPSTREAM_DSN` | `upstream.dsn` | a Sentry DSN to forward a sample to |
//! | `ERRATA_RELAY_UPSTREAM_PER_GROUP` | `upstream.per_group` | events forwarded per group and window (default 10); every alert says how many of its events were forwarded and held back |
//! | `ERRATA_RELAY_UPSTREAM_WINDOW` | `upstream.window` | the window (default `5m`) |
//! | `ERRATA_RELAY_CONFIG` | | the TOML file; variables set override its keys |
//!
//! The TOML file also takes an `[exceptions]` table mapping exception types to codes:
//!
//! ```
//! use errata_relay::RelaySettings;
//!
//! let file = r#"
//! addr = "127.0.0.1:9100"
//! projects = ["1:abc"]
//! quota = "100/s"
//! [exceptions]
//! "kakao.errors.KakaoAccountNotAvailableError" = "KAKAO_ACCOUNT_NOT_AVAILABLE"
//! "#;
//! let s = RelaySettings::from_sources(Some(file), |_| None).unwrap();
//! assert_eq!(s.addr.port(), 9100);
//! assert_eq!(s.projects[0].public_key, "abc");
//! assert_eq!(s.exceptions["kakao.errors.KakaoAccountNotAvailableError"], "KAKAO_ACCOUNT_NOT_AVAILABLE");
//!
//! let err = RelaySettings::from_sources(None, |k| (k == "ERRATA_RELAY_PROJECTS").then(|| "1".into()));
//! assert_eq!(
//!     err.unwrap_err().to_string(),
//!     r#"ERRATA_RELAY_PROJECTS: "1" is not `project_id:public_key`"#
//! );
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use errata_alert::Secret;
use serde::Deserialize;

/// A setting that cannot be used; names the variable (or TOML key) concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct SettingsError {
    /// The variable concerned.
    pub var: &'static str,
    /// What is wrong.
    pub reason: String,
}

fn invalid(var: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError {
        var,
        reason: reason.into(),
    }
}

/// One Sentry project the relay accepts: the DSN is `http://public_key@host:port/id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The project id of the DSN's path.
    pub id: String,
    /// The DSN's public key.
    pub public_key: String,
}

/// A quota: at most `events` per `period` for each project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Events allowed per period (also the burst).
    pub events: u32,
    /// The period.
    pub period: Duration,
}

/// Forwarding a bounded sample to an upstream Sentry.
#[derive(Debug, Clone)]
pub struct UpstreamSettings {
    /// The upstream DSN (a secret: it carries the key).
    pub dsn: Secret<String>,
    /// Events forwarded per group and window; the rest are counted.
    pub per_group: u32,
    /// The window.
    pub window: Duration,
}

/// Everything the relay needs besides errata-alert's own `ERRATA_*` settings.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Listen address.
    pub addr: SocketAddr,
    /// Accepted projects.
    pub projects: Vec<Project>,
    /// Catalog file.
    pub catalog: Option<PathBuf>,
    /// Exception type (`module.Type` or `Type`) → code.
    pub exceptions: BTreeMap<String, String>,
    /// Cap on an envelope, compressed and decompressed.
    pub max_envelope_bytes: usize,
    /// Cap on one event item.
    pub max_event_bytes: usize,
    /// Requests read and processed at once.
    pub max_in_flight: usize,
    /// Capacity of the pipeline's capture queue.
    pub queue_capacity: usize,
    /// Per-project quota.
    pub quota: Option<Quota>,
    /// Upstream forwarding.
    pub upstream: Option<UpstreamSettings>,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            addr: SocketAddr::from(([127, 0, 0, 1], 9000)),
            projects: Vec::new(),
            catalog: None,
            exceptions: BTreeMap::new(),
            max_envelope_bytes: 20 << 20,
            max_event_bytes: 1 << 20,
            max_in_flight: 256,
            queue_capacity: 20_000,
            quota: None,
            upstream: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    addr: Option<String>,
    projects: Option<Vec<String>>,
    catalog: Option<PathBuf>,
    max_envelope: Option<toml::Value>,
    max_event: Option<toml::Value>,
    max_in_flight: Option<usize>,
    queue: Option<usize>,
    quota: Option<String>,
    #[serde(default)]
    exceptions: BTreeMap<String, String>,
    upstream: Option<FileUpstream>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileUpstream {
    dsn: Option<String>,
    per_group: Option<u32>,
    window: Option<String>,
}

fn toml_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl RelaySettings {
    /// Reads `ERRATA_RELAY_CONFIG` (if set) and the `ERRATA_RELAY_*` variables of the process.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_file_and_env(None)
    }

    /// Like [`RelaySettings::from_env`], with `file` read instead of `ERRATA_RELAY_CONFIG`.
    pub fn from_file_and_env(file: Option<PathBuf>) -> Result<Self, SettingsError> {
        let lookup = |k: &str| std::env::var(k).ok();
        let file = file.or_else(|| {
            lookup("ERRATA_RELAY_CONFIG")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        });
        let text = match &file {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                invalid(
                    "ERRATA_RELAY_CONFIG",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?),
            None => None,
        };
        Self::from_sources(text.as_deref(), lookup)
    }

    /// Settings from a TOML text (optional) overridden by variables found through `lookup`
    /// (empty values count as unset).
    pub fn from_sources(
        toml_text_in: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let file: FileSettings = match toml_text_in {
            Some(t) => toml::from_str(t)
                .map_err(|e| invalid("ERRATA_RELAY_CONFIG", e.to_string().trim().to_owned()))?,
            None => FileSettings::default(),
        };
        let get = |k: &str| lookup(k).filter(|v| !v.trim().is_empty());
        let mut s = RelaySettings::default();

        if let Some(a) = get("ERRATA_RELAY_ADDR").or(file.addr) {
            s.addr = a.trim().parse().map_err(|_| {
                invalid(
                    "ERRATA_RELAY_ADDR",
                    format!("{a:?} is not an address such as 127.0.0.1:9000"),
                )
            })?;
        }
        let projects: Vec<String> = match get("ERRATA_RELAY_PROJECTS") {
            Some(v) => v.split(',').map(str::to_owned).collect(),
            None => file.projects.unwrap_or_default(),
        };
        for p in projects.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
            let Some((id, key)) = p.split_once(':') else {
                return Err(invalid(
                    "ERRATA_RELAY_PROJECTS",
                    format!("{p:?} is not `project_id:public_key`"),
                ));
            };
            let (id, key) = (id.trim(), key.trim());
            if id.is_empty() || key.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid(
                    "ERRATA_RELAY_PROJECTS",
                    format!("{p:?} is not `project_id:public_key` (the id is letters and digits)"),
                ));
            }
            if s.projects.iter().any(|q| q.id == id) {
                return Err(invalid(
                    "ERRATA_RELAY_PROJECTS",
                    format!("project {id} is listed twice"),
                ));
            }
            s.projects.push(Project {
                id: id.to_owned(),
                public_key: key.to_owned(),
            });
        }
        s.catalog = get("ERRATA_RELAY_CATALOG")
            .map(PathBuf::from)
            .or(file.catalog);
        s.exceptions = file.exceptions;
        if let Some(v) =
            get("ERRATA_RELAY_MAX_ENVELOPE").or(file.max_envelope.as_ref().map(toml_text))
        {
            s.max_envelope_bytes = parse_size("ERRATA_RELAY_MAX_ENVELOPE", &v)?;
        }
        if let Some(v) = get("ERRATA_RELAY_MAX_EVENT").or(file.max_event.as_ref().map(toml_text)) {
            s.max_event_bytes = parse_size("ERRATA_RELAY_MAX_EVENT", &v)?;
        }
        if let Some(v) =
            get("ERRATA_RELAY_MAX_IN_FLIGHT").or(file.max_in_flight.map(|n| n.to_string()))
        {
            s.max_in_flight = parse_count("ERRATA_RELAY_MAX_IN_FLIGHT", &v)?;
        }
        if let Some(v) = get("ERRATA_RELAY_QUEUE").or(file.queue.map(|n| n.to_string())) {
            s.queue_capacity = parse_count("ERRATA_RELAY_QUEUE", &v)?;
        }
        if let Some(v) = get("ERRATA_RELAY_QUOTA").or(file.quota) {
            s.quota = Some(parse_quota(&v)?);
        }
        let fu = file.upstream.unwrap_or_default();
        if let Some(dsn) = get("ERRATA_RELAY_UPSTREAM_DSN").or(fu.dsn) {
            crate::upstream::UpstreamTarget::parse(&dsn)?;
            let per_group = match get("ERRATA_RELAY_UPSTREAM_PER_GROUP") {
                Some(v) => v.trim().parse().map_err(|_| {
                    invalid(
                        "ERRATA_RELAY_UPSTREAM_PER_GROUP",
                        format!("{v:?} is not a whole number"),
                    )
                })?,
                None => fu.per_group.unwrap_or(10),
            };
            let window = match get("ERRATA_RELAY_UPSTREAM_WINDOW").or(fu.window) {
                Some(v) => humantime::parse_duration(v.trim())
                    .ok()
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| {
                        invalid(
                            "ERRATA_RELAY_UPSTREAM_WINDOW",
                            format!("{v:?} is not a duration such as 5m"),
                        )
                    })?,
                None => Duration::from_secs(300),
            };
            s.upstream = Some(UpstreamSettings {
                dsn: Secret::new(dsn.trim().to_owned()),
                per_group,
                window,
            });
        }
        if s.projects.is_empty() {
            return Err(invalid(
                "ERRATA_RELAY_PROJECTS",
                "no project configured: set `project_id:public_key` pairs, comma-separated",
            ));
        }
        if s.max_event_bytes > s.max_envelope_bytes {
            s.max_event_bytes = s.max_envelope_bytes;
        }
        Ok(s)
    }
}

/// `1048576`, `512KiB`, `20MiB`, `1GiB` (also `KB`/`MB`/`GB` as powers of 1024).
fn parse_size(var: &'static str, v: &str) -> Result<usize, SettingsError> {
    let t = v.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => 0,
    };
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid(var, format!("{v:?} is not a size such as 20MiB")))
}

fn parse_count(var: &'static str, v: &str) -> Result<usize, SettingsError> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid(var, format!("{v:?} is not a positive whole number")))
}

/// `1000/s`, `50000/min`, `100/10s`.
fn parse_quota(v: &str) -> Result<Quota, SettingsError> {
    let bad = || {
        invalid(
            "ERRATA_RELAY_QUOTA",
            format!("{v:?} is not a quota such as 1000/s or 50000/min"),
        )
    };
    let (n, per) = v.trim().split_once('/').ok_or_else(bad)?;
    let events: u32 = n.trim().parse().ok().filter(|&n| n > 0).ok_or_else(bad)?;
    let per = per.trim();
    let period = match per {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        other => humantime::parse_duration(other).map_err(|_| bad())?,
    };
    if period.is_zero() {
        return Err(bad());
    }
    Ok(Quota { events, period })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn variables_override_the_file() {
        let file = "addr = \"127.0.0.1:1\"\nprojects = [\"1:a\"]\nmax_envelope = \"2MiB\"\n";
        let s = RelaySettings::from_sources(
            Some(file),
            env(&[
                ("ERRATA_RELAY_ADDR", "127.0.0.1:2"),
                ("ERRATA_RELAY_PROJECTS", "7:k, 8:j"),
            ]),
        )
        .unwrap();
        assert_eq!(s.addr.port(), 2);
        assert_eq!(s.projects.len(), 2);
        assert_eq!(s.projects[1].id, "8");
        assert_eq!(s.max_envelope_bytes, 2 << 20);
    }

    #[test]
    fn bad_values_name_their_variable() {
        let cases = [
            ("ERRATA_RELAY_ADDR", "nowhere"),
            ("ERRATA_RELAY_MAX_ENVELOPE", "12 parsecs"),
            ("ERRATA_RELAY_QUOTA", "many"),
            ("ERRATA_RELAY_MAX_IN_FLIGHT", "0"),
            ("ERRATA_RELAY_UPSTREAM_DSN", "not a dsn"),
        ];
        for (var, value) in cases {
            let e = RelaySettings::from_sources(
                None,
                env(&[("ERRATA_RELAY_PROJECTS", "1:a"), (var, value)]),
            )
            .unwrap_err();
            assert_eq!(e.var, var, "{e}");
        }
        let e = RelaySettings::from_sources(Some("adr = 1"), |_| None).unwrap_err();
        assert_eq!(e.var, "ERRATA_RELAY_CONFIG");
        assert!(e.reason.contains("adr"), "{e}");
    }

    #[test]
    fn quotas_and_sizes() {
        assert_eq!(
            parse_quota("50/min").unwrap(),
            Quota {
                events: 50,
                period: Duration::from_secs(60)
            }
        );
        assert_eq!(
            parse_quota("5/10s").unwrap().period,
            Duration::from_secs(10)
        );
        assert_eq!(parse_size("x", "512KiB").unwrap(), 512 << 10);
        assert_eq!(parse_size("x", "1024").unwrap(), 1024);
    }
}
