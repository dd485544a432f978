//! Configuration from the environment. Every variable has a default that runs on a laptop; a
//! value that does not parse stops start-up with a message naming the variable.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `CLASSROOM_ADDR` | `127.0.0.1:8080` | address to listen on |
//! | `DATABASE_URL` | `sqlite://classroom.db` | `sqlite:…` or `postgres://…`; migrated on start |
//! | `DATABASE_MAX_CONNECTIONS` | `8` | connections of this process to the database |
//! | `KAKAO_API_BASE` | `https://kapi.kakao.com` | Kakao API host |
//! | `KAKAO_TIMEOUT_MS` | `3000` | how long to wait for Kakao |
//! | `JWT_SECRET` | generated in debug builds | HMAC key of the tokens (at least 16 bytes) |
//! | `CLASSROOM_RATE_ANON` | `100/h` | requests per client IP without a token |
//! | `CLASSROOM_RATE_USER` | `1000/h` | requests per user |
//! | `CLASSROOM_RATE_BURST` | `60/min` | requests per user or IP, short window |
//! | `CLASSROOM_HASH_CONCURRENCY` | the machine's cores | password hashes computed at once (19 MiB each) |
//! | `CLASSROOM_HASH_WAIT_MS` | `3000` | how long a login or signup waits for a hashing slot before `SERVER_BUSY` |
//! | `REDIS_URL` | unset | `redis://…`: rate limits shared by every replica on that Redis; unset: per process |
//! | `CLASSROOM_RATE_REDIS_TIMEOUT_MS` | `50` | longest wait for Redis per request before this process's own counts answer |
//! | `CLASSROOM_RATE_REDIS_PREFIX` | `classroom:rl:` | prefix of the rate-limit keys in Redis (replicas that share limits share it) |
//!
//! ```
//! use classroom::config::Config;
//!
//! let env = [("CLASSROOM_RATE_BURST", "10/s"), ("JWT_SECRET", "0123456789abcdef0123")];
//! let config = Config::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).unwrap();
//! assert_eq!(config.rate_burst.unwrap().count.get(), 10);
//!
//! let env = [("KAKAO_TIMEOUT_MS", "soon")];
//! let err = Config::from_lookup(|name| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())).unwrap_err();
//! assert!(err.to_string().starts_with("KAKAO_TIMEOUT_MS"));
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use rand::RngCore;

/// Shortest accepted `JWT_SECRET`, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// Everything the service reads at start-up.
#[derive(Clone)]
pub struct Config {
    /// `CLASSROOM_ADDR`: where to listen.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: a `sqlite:` or `postgres://` URL.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the pool's size.
    pub db_max_connections: u32,
    /// `KAKAO_API_BASE`: the Kakao API host, without a trailing slash.
    pub kakao_api_base: reqwest::Url,
    /// `KAKAO_TIMEOUT_MS`: the deadline of one Kakao call.
    pub kakao_timeout: Duration,
    /// `JWT_SECRET`: the token signing key.
    pub jwt_secret: JwtSecret,
    /// `CLASSROOM_RATE_ANON`: limit per IP for requests without a user; `None` when `off`.
    pub rate_anon: Option<Rate>,
    /// `CLASSROOM_RATE_USER`: limit per user; `None` when `off`.
    pub rate_user: Option<Rate>,
    /// `CLASSROOM_RATE_BURST`: short-window limit per user or IP; `None` when `off`.
    pub rate_burst: Option<Rate>,
    /// Cost of password hashing. Not read from the environment: tests lower it.
    pub password_hashing: PasswordHashing,
    /// `CLASSROOM_HASH_CONCURRENCY`: password hashes computed at once; each holds its memory
    /// (19 MiB with [`PasswordHashing::Standard`]) only while it runs.
    pub hash_concurrency: usize,
    /// `CLASSROOM_HASH_WAIT_MS`: how long a request waits for a hashing slot.
    pub hash_wait: Duration,
    /// `REDIS_URL`: where the rate limits are counted for every replica; `None`: in this
    /// process.
    pub redis_url: Option<String>,
    /// `CLASSROOM_RATE_REDIS_TIMEOUT_MS`: the longest a request waits for Redis.
    pub rate_redis_timeout: Duration,
    /// `CLASSROOM_RATE_REDIS_PREFIX`: the prefix of the rate-limit keys in Redis.
    pub rate_redis_prefix: String,
    /// How long a client may take to send its body (`REQUEST_TIMEOUT` after). Not read from
    /// the environment: 30 seconds.
    pub body_timeout: Duration,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("database_url", &crate::db::redact_url(&self.database_url))
            .field("db_max_connections", &self.db_max_connections)
            .field("kakao_api_base", &self.kakao_api_base.as_str())
            .field("kakao_timeout", &self.kakao_timeout)
            .field("jwt_secret", &self.jwt_secret)
            .field("rate_anon", &self.rate_anon)
            .field("rate_user", &self.rate_user)
            .field("rate_burst", &self.rate_burst)
            .field("password_hashing", &self.password_hashing)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("hash_wait", &self.hash_wait)
            .field("body_timeout", &self.body_timeout)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(crate::db::redact_url),
            )
            .field("rate_redis_timeout", &self.rate_redis_timeout)
            .field("rate_redis_prefix", &self.rate_redis_prefix)
            .finish()
    }
}

/// How expensive password hashes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PasswordHashing {
    /// Argon2id with OWASP's recommended parameters (19 MiB, 2 passes).
    #[default]
    Standard,
    /// Argon2id with the smallest parameters: for tests only, never for real passwords.
    Fast,
}

/// The key that signs and verifies tokens. Its `Debug` never shows it.
#[derive(Clone)]
pub struct JwtSecret {
    bytes: Vec<u8>,
    generated: bool,
}

impl JwtSecret {
    /// A secret from configured bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self {
            bytes: bytes.into(),
            generated: false,
        }
    }

    /// A random 32-byte secret, hex-encoded.
    pub fn generate() -> Self {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            bytes: hex.into_bytes(),
            generated: true,
        }
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether it was generated because `JWT_SECRET` was unset.
    pub fn is_generated(&self) -> bool {
        self.generated
    }
}

impl fmt::Debug for JwtSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.generated {
            "JwtSecret(generated)"
        } else {
            "JwtSecret(configured)"
        })
    }
}

/// A rate limit: `count` requests per `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period (also the burst).
    pub count: NonZeroU32,
    /// The window.
    pub period: Duration,
}

impl Rate {
    /// Parses `100/h`, `60/min`, `10/s`, `1000/day`; `off` gives `None`.
    pub fn parse(text: &str) -> Result<Option<Rate>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || {
            format!("`{text}` is not a rate: write it like `100/h`, `60/min`, `10/s`, `1000/day`, or `off`")
        };
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| bad())?;
        let secs = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(bad()),
        };
        Ok(Some(Rate {
            count,
            period: Duration::from_secs(secs),
        }))
    }
}

/// A variable whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The variable's name.
    pub var: &'static str,
    /// What is wrong and what to write instead.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.var, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Default of `CLASSROOM_ADDR`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default of `DATABASE_URL`.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://classroom.db";
/// Default of `KAKAO_API_BASE`.
pub const DEFAULT_KAKAO_API_BASE: &str = "https://kapi.kakao.com";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (the environment, or a test's table).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| lookup(var).filter(|v| !v.trim().is_empty());
        let err = |var: &'static str, reason: String| ConfigError { var, reason };

        let addr_text = get("CLASSROOM_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let addr = SocketAddr::from_str(addr_text.trim()).map_err(|_| {
            err(
                "CLASSROOM_ADDR",
                format!("`{addr_text}` is not an address to listen on: write it like `127.0.0.1:8080` or `0.0.0.0:80`"),
            )
        })?;

        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        crate::db::Backend::of_url(&database_url).map_err(|reason| err("DATABASE_URL", reason))?;

        let db_max_connections = match get("DATABASE_MAX_CONNECTIONS") {
            None => 8,
            Some(text) => match text.trim().parse::<u32>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => {
                    return Err(err(
                        "DATABASE_MAX_CONNECTIONS",
                        format!(
                            "`{text}` is not a pool size: write a whole number between 1 and 1000"
                        ),
                    ))
                }
            },
        };

        let hash_concurrency = match get("CLASSROOM_HASH_CONCURRENCY") {
            None => std::thread::available_parallelism().map_or(1, usize::from),
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if (1..=256).contains(&n) => n,
                _ => {
                    return Err(err(
                        "CLASSROOM_HASH_CONCURRENCY",
                        format!("`{text}` is not a number of hashes: write a whole number between 1 and 256"),
                    ))
                }
            },
        };

        let hash_wait = match get("CLASSROOM_HASH_WAIT_MS") {
            None => Duration::from_millis(3000),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms) if ms <= 600_000 => Duration::from_millis(ms),
                _ => {
                    return Err(err(
                        "CLASSROOM_HASH_WAIT_MS",
                        format!("`{text}` is not a wait: write a whole number of milliseconds between 0 and 600000"),
                    ))
                }
            },
        };

        let base_text = get("KAKAO_API_BASE").unwrap_or_else(|| DEFAULT_KAKAO_API_BASE.to_owned());
        let kakao_api_base =
            parse_base_url(&base_text).map_err(|reason| err("KAKAO_API_BASE", reason))?;

        let kakao_timeout = match get("KAKAO_TIMEOUT_MS") {
            None => Duration::from_millis(3000),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms) if (1..=600_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(err(
                        "KAKAO_TIMEOUT_MS",
                        format!("`{text}` is not a timeout: write a whole number of milliseconds between 1 and 600000"),
                    ))
                }
            },
        };

        let jwt_secret = match lookup("JWT_SECRET") {
            Some(secret) if secret.len() >= MIN_SECRET_LEN => JwtSecret::new(secret.into_bytes()),
            Some(_) => {
                return Err(err(
                    "JWT_SECRET",
                    format!(
                    "too short: use at least {MIN_SECRET_LEN} bytes (e.g. `openssl rand -hex 32`)"
                ),
                ))
            }
            None if cfg!(debug_assertions) => JwtSecret::generate(),
            None => {
                return Err(err(
                    "JWT_SECRET",
                    "not set: a release build needs a fixed secret (e.g. `openssl rand -hex 32`)"
                        .to_owned(),
                ))
            }
        };

        let redis_url = match get("REDIS_URL") {
            None => None,
            Some(url) => {
                let url = url.trim().to_owned();
                if let Err(e) = errata_axum::ratelimit::RedisStore::new(&url) {
                    return Err(err(
                        "REDIS_URL",
                        format!(
                            "`{}` is not a Redis URL ({e}): write it like `redis://127.0.0.1:6379/0`",
                            crate::db::redact_url(&url)
                        ),
                    ));
                }
                Some(url)
            }
        };

        let rate_redis_timeout = match get("CLASSROOM_RATE_REDIS_TIMEOUT_MS") {
            None => Duration::from_millis(50),
            Some(text) => match text.trim().parse::<u64>() {
                Ok(ms) if (1..=10_000).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(err(
                        "CLASSROOM_RATE_REDIS_TIMEOUT_MS",
                        format!("`{text}` is not a timeout: write a whole number of milliseconds between 1 and 10000"),
                    ))
                }
            },
        };

        let rate = |var: &'static str, default: &str| -> Result<Option<Rate>, ConfigError> {
            let text = get(var).unwrap_or_else(|| default.to_owned());
            Rate::parse(&text).map_err(|reason| err(var, reason))
        };

        Ok(Config {
            addr,
            database_url,
            db_max_connections,
            kakao_api_base,
            kakao_timeout,
            jwt_secret,
            rate_anon: rate("CLASSROOM_RATE_ANON", "100/h")?,
            rate_user: rate("CLASSROOM_RATE_USER", "1000/h")?,
            rate_burst: rate("CLASSROOM_RATE_BURST", "60/min")?,
            password_hashing: PasswordHashing::Standard,
            hash_concurrency,
            hash_wait,
            body_timeout: Duration::from_secs(30),
            redis_url,
            rate_redis_timeout,
            rate_redis_prefix: get("CLASSROOM_RATE_REDIS_PREFIX")
                .unwrap_or_else(|| "classroom:rl:".to_owned()),
        })
    }
}

fn parse_base_url(text: &str) -> Result<reqwest::Url, String> {
    let bad = || format!("`{text}` is not a base URL: write it like `https://kapi.kakao.com`");
    let url = reqwest::Url::parse(text.trim().trim_end_matches('/')).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
    {
        return Err(bad());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(c.kakao_api_base.as_str(), "https://kapi.kakao.com/");
        assert_eq!(c.kakao_timeout, Duration::from_millis(3000));
        assert!(c.jwt_secret.is_generated());
        assert_eq!(c.rate_anon.unwrap().count.get(), 100);
        assert_eq!(c.rate_user.unwrap().period, Duration::from_secs(3600));
        assert_eq!(c.rate_burst.unwrap().period, Duration::from_secs(60));
    }

    #[test]
    fn redis_url_selects_shared_limits_and_is_never_shown_with_its_password() {
        let c = config(&[]).unwrap();
        assert!(c.redis_url.is_none());
        assert_eq!(c.rate_redis_timeout, Duration::from_millis(50));
        let c = config(&[
            ("REDIS_URL", "redis://:hunter2secret@127.0.0.1:6379/3"),
            ("CLASSROOM_RATE_REDIS_TIMEOUT_MS", "20"),
        ])
        .unwrap();
        assert_eq!(
            c.redis_url.as_deref(),
            Some("redis://:hunter2secret@127.0.0.1:6379/3")
        );
        assert_eq!(c.rate_redis_timeout, Duration::from_millis(20));
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2secret") && shown.contains("127.0.0.1:6379"),
            "{shown}"
        );
    }

    #[test]
    fn off_disables_a_limit() {
        let c = config(&[
            ("CLASSROOM_RATE_ANON", "off"),
            ("CLASSROOM_RATE_BURST", "OFF"),
        ])
        .unwrap();
        assert!(c.rate_anon.is_none() && c.rate_burst.is_none() && c.rate_user.is_some());
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        for (var, value) in [
            ("CLASSROOM_ADDR", "localhost"),
            ("DATABASE_URL", "mysql://db/classroom"),
            ("DATABASE_URL", "classroom.db"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("CLASSROOM_HASH_CONCURRENCY", "0"),
            ("CLASSROOM_HASH_CONCURRENCY", "many"),
            ("CLASSROOM_HASH_WAIT_MS", "3s"),
            ("KAKAO_API_BASE", "kapi.kakao.com"),
            ("KAKAO_API_BASE", "ftp://kapi.kakao.com"),
            ("KAKAO_TIMEOUT_MS", "3s"),
            ("KAKAO_TIMEOUT_MS", "0"),
            ("JWT_SECRET", "short"),
            ("CLASSROOM_RATE_ANON", "100"),
            ("CLASSROOM_RATE_USER", "0/h"),
            ("CLASSROOM_RATE_BURST", "60/fortnight"),
            ("REDIS_URL", "127.0.0.1:6379"),
            ("REDIS_URL", "http://127.0.0.1:6379"),
            ("CLASSROOM_RATE_REDIS_TIMEOUT_MS", "0"),
            ("CLASSROOM_RATE_REDIS_TIMEOUT_MS", "50ms"),
        ] {
            let e = config(&[(var, value)]).unwrap_err();
            assert_eq!(e.var, var, "{value}");
            assert!(e.to_string().starts_with(var), "{e}");
        }
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let c = config(&[("JWT_SECRET", "super-secret-value-123")]).unwrap();
        assert!(!format!("{c:?}").contains("super-secret"));
    }

    #[test]
    fn postgres_urls_are_accepted_and_their_password_never_shows_in_debug() {
        let c = config(&[(
            "DATABASE_URL",
            "postgres://app:db-pass-42@127.0.0.1/classroom",
        )])
        .unwrap();
        assert_eq!(
            crate::db::Backend::of_url(&c.database_url),
            Ok(crate::db::Backend::Postgres)
        );
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("db-pass-42") && debug.contains("***"),
            "{debug}"
        );
    }

    #[test]
    fn hashing_is_bounded_by_default() {
        let c = config(&[]).unwrap();
        assert!(c.hash_concurrency >= 1);
        assert_eq!(c.hash_wait, Duration::from_secs(3));
        let c = config(&[
            ("CLASSROOM_HASH_CONCURRENCY", "3"),
            ("CLASSROOM_HASH_WAIT_MS", "0"),
        ])
        .unwrap();
        assert_eq!((c.hash_concurrency, c.hash_wait), (3, Duration::ZERO));
    }
}
