//! Rate limits per user and per IP, several windows at once, answered with
//! `RATE_LIMIT_EXCEEDED` and `Retry-After` (governor's GCRA).
//!
//! ```
//! use errata_axum::ratelimit::{Applies, RateLimitLayer, Rule};
//!
//! let layer = RateLimitLayer::new(vec![
//!     Rule::parse("100/h").unwrap().unwrap().applies(Applies::Anonymous),
//!     Rule::parse("1000/h").unwrap().unwrap().applies(Applies::Authenticated),
//!     Rule::parse("60/min").unwrap().unwrap(),
//! ])
//! .user_key(|parts| parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned));
//! ```

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{request::Parts, Request, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use tower::{Layer, Service};

/// Who a rule counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applies {
    /// Every client: by user when known, else by IP.
    Everyone,
    /// Only requests without a user, by IP.
    Anonymous,
    /// Only requests with a user, by user.
    Authenticated,
}

/// One limit: `count` requests per `period`, for the clients it applies to.
#[derive(Clone)]
pub struct Rule {
    count: u32,
    period: Duration,
    applies: Applies,
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Rule({}/{:?}, {:?})",
            self.count, self.period, self.applies
        )
    }
}

/// A rate-limit setting that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

impl Rule {
    /// `count` requests per `period` for everyone.
    pub fn new(count: NonZeroU32, period: Duration) -> Self {
        let per_request = period / count.get();
        let quota = Quota::with_period(per_request.max(Duration::from_nanos(1)))
            .map_or_else(|| Quota::per_second(count), |q| q.allow_burst(count));
        Self {
            count: count.get(),
            period,
            applies: Applies::Everyone,
            limiter: Arc::new(DefaultKeyedRateLimiter::keyed(quota)),
        }
    }

    /// Parses `100/h`, `60/min`, `10/s`, `1000/day`; `off` gives `Ok(None)`.
    pub fn parse(text: &str) -> Result<Option<Self>, RuleError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let err = || {
            RuleError(format!(
                "`{text}` is not a rate like `100/h`, `60/min`, `10/s` or `off`"
            ))
        };
        let (count, unit) = text.split_once('/').ok_or_else(err)?;
        let count: NonZeroU32 = count.trim().parse().map_err(|_| err())?;
        let secs = match unit.trim() {
            "s" | "sec" | "second" => 1,
            "m" | "min" | "minute" => 60,
            "h" | "hour" => 3600,
            "d" | "day" => 86_400,
            _ => return Err(err()),
        };
        Ok(Some(Self::new(count, Duration::from_secs(secs))))
    }

    /// Restricts the rule to some clients.
    #[must_use]
    pub fn applies(mut self, applies: Applies) -> Self {
        self.applies = applies;
        self
    }
}

type UserKeyFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

/// Checks every rule before the request reaches the service.
#[derive(Clone)]
pub struct RateLimitLayer {
    rules: Arc<[Rule]>,
    user_key: Option<UserKeyFn>,
    trust_forwarded: bool,
    checks: Arc<AtomicU64>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl RateLimitLayer {
    /// A layer enforcing `rules`; clients are counted by IP until [`RateLimitLayer::user_key`]
    /// says who the user is.
    pub fn new(rules: Vec<Rule>) -> Self {
        Self {
            rules: rules.into(),
            user_key: None,
            trust_forwarded: false,
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How to tell the user of a request (e.g. the verified subject of its token); `None` means
    /// anonymous.
    #[must_use]
    pub fn user_key(
        mut self,
        f: impl Fn(&Parts) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.user_key = Some(Arc::new(f));
        self
    }

    /// Takes the client IP from the first `X-Forwarded-For` address (only behind a proxy that
    /// sets it); otherwise from the connection.
    #[must_use]
    pub fn trust_forwarded_for(mut self, yes: bool) -> Self {
        self.trust_forwarded = yes;
        self
    }

    /// Seconds to wait before the request would be allowed, or `None` when it is allowed now.
    fn check(&self, parts: &Parts) -> Option<u64> {
        if self.rules.is_empty() {
            return None;
        }
        let user = self.user_key.as_ref().and_then(|f| f(parts));
        let ip = self.client_ip(parts);
        let clock = DefaultClock::default();
        let mut wait: Option<Duration> = None;
        for rule in self.rules.iter() {
            let key = match (rule.applies, &user) {
                (Applies::Anonymous, Some(_)) | (Applies::Authenticated, None) => continue,
                (_, Some(u)) => format!("u:{u}"),
                (_, None) => format!("ip:{ip}"),
            };
            if let Err(not_until) = rule.limiter.check_key(&key) {
                let w = not_until.wait_time_from(clock.now());
                wait = Some(wait.map_or(w, |prev| prev.max(w)));
            }
        }
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            for rule in self.rules.iter() {
                rule.limiter.retain_recent();
            }
        }
        wait.map(|w| w.as_secs() + u64::from(w.subsec_nanos() > 0))
    }

    fn client_ip(&self, parts: &Parts) -> String {
        if self.trust_forwarded {
            if let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
            {
                return ip.to_string();
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service produced by [`RateLimitLayer`].
#[derive(Clone, Debug)]
pub struct RateLimit<S> {
    inner: S,
    layer: RateLimitLayer,
}

impl<S> Service<Request<Body>> for RateLimit<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = futures_util::future::Either<
        S::Future,
        std::future::Ready<Result<Response<Body>, Infallible>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let (parts, body) = req.into_parts();
        match self.layer.check(&parts) {
            None => futures_util::future::Either::Left(
                self.inner.call(Request::from_parts(parts, body)),
            ),
            Some(secs) => {
                let response = axum::response::IntoResponse::into_response(
                    errata::builtin::rate_limit_exceeded(secs.max(1)),
                );
                futures_util::future::Either::Right(std::future::ready(Ok(response)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_and_off() {
        assert!(Rule::parse("off").unwrap().is_none());
        let r = Rule::parse("100/h").unwrap().unwrap();
        assert_eq!((r.count, r.period), (100, Duration::from_secs(3600)));
        assert!(Rule::parse("100/fortnight").is_err());
        assert!(Rule::parse("0/h").is_err());
        assert!(Rule::parse("lots").is_err());
    }

    #[test]
    fn the_burst_is_the_count_then_clients_wait() {
        let layer = RateLimitLayer::new(vec![Rule::parse("3/min").unwrap().unwrap()]);
        let (parts, _) = Request::new(()).into_parts();
        for _ in 0..3 {
            assert_eq!(layer.check(&parts), None);
        }
        let wait = layer.check(&parts).expect("fourth request is limited");
        assert!(
            (1..=20).contains(&wait),
            "one request is replenished every 20 s, got {wait}"
        );
    }

    #[test]
    fn users_and_anonymous_clients_have_separate_rules() {
        let layer = RateLimitLayer::new(vec![
            Rule::parse("1/h")
                .unwrap()
                .unwrap()
                .applies(Applies::Anonymous),
            Rule::parse("2/h")
                .unwrap()
                .unwrap()
                .applies(Applies::Authenticated),
        ])
        .user_key(|p| {
            p.headers
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let (anon, _) = Request::new(()).into_parts();
        let (user, _) = Request::builder()
            .header("x-user", "7")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(layer.check(&anon), None);
        assert!(layer.check(&anon).is_some());
        assert_eq!(layer.check(&user), None);
        assert_eq!(layer.check(&user), None);
        assert!(layer.check(&user).is_some());
    }
}
