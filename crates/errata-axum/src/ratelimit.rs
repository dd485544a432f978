//! Rate limits per user and per IP, several windows at once, answered with
//! `RATE_LIMIT_EXCEEDED` and `Retry-After`.
//!
//! ```
//! use errata_axum::ratelimit::{Applies, RateLimitLayer, Rule};
//!
//! # fn main() -> Result<(), errata_axum::ratelimit::RuleError> {
//! let layer = RateLimitLayer::new([
//!     Rule::parse("100/h")?.applies(Applies::Anonymous),
//!     Rule::parse("1000/h")?.applies(Applies::Authenticated),
//!     Rule::parse("60/min")?,
//! ])
//! .user_key(|parts| parts.headers.get("x-user").and_then(|v| v.to_str().ok()).map(str::to_owned));
//! # Ok(()) }
//! ```
//!
//! # Semantics
//!
//! - Each rule is a window of `count` requests per `period` (GCRA: the full count may come in a
//!   burst, then one request per `period / count`).
//! - A request is admitted only if **every** window that applies to it admits it; then it takes
//!   one slot in each. A refused request takes **no** slot in any window, so a client that keeps
//!   knocking does not push its own admission further away.
//! - `Retry-After` is the time until every window admits the request (rounded up to whole
//!   seconds): a client that waits it out is admitted.
//! - Clients are counted by user when [`RateLimitLayer::user_key`] knows one, else by IP: the
//!   connection's address ([`ConnectInfo<SocketAddr>`], which [`crate::serve()`] always sets), or
//!   the first `X-Forwarded-For` address when [`RateLimitLayer::trust_forwarded_for`] is on.
//!   A request that needs its IP and has none is refused with `SERVER_ERROR` and an error in the
//!   log naming the fix: clients never silently share one `unknown` key.
//! - Keys whose every window is full again are swept by a background task every
//!   [`RateLimitLayer::sweep_every`] (60 s), never on the request path.
//!
//! The counting itself is behind [`RateStore`]: [`MemoryStore`] keeps it in the process and
//! answers at once; [`RedisStore`] (feature `redis`) keeps it in Redis for several instances, with
//! the same all-or-nothing semantics in one Lua script (the checks pending at the same moment
//! share one call: at most one round trip per request), a bounded timeout and a fallback to a
//! local [`MemoryStore`] while Redis is down or slow.

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{request::Parts, Request, Response};
use axum::response::IntoResponse;
use errata::ApiError;
use tower::{Layer, Service};

#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "redis")]
pub use redis_store::{RedisStore, BATCH_CAP, GCRA_SCRIPT};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    count: NonZeroU32,
    period: Duration,
    applies: Applies,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.period.as_secs();
        match secs {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            86_400 => write!(f, "{}/day", self.count),
            _ => write!(f, "{} per {:?}", self.count, self.period),
        }
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
        Self {
            count,
            period: period.max(Duration::from_nanos(1)),
            applies: Applies::Everyone,
        }
    }

    /// Parses `100/h`, `60/min`, `10/s`, `1000/day`.
    ///
    /// ```
    /// # use errata_axum::ratelimit::Rule;
    /// let rule = Rule::parse("60/min").unwrap();
    /// assert_eq!((rule.count(), rule.period().as_secs()), (60, 60));
    /// assert!(Rule::parse("lots").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let text = text.trim();
        let err = || {
            RuleError(format!(
                "`{text}` is not a rate: write it like `100/h`, `60/min`, `10/s` or `1000/day`"
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
        Ok(Self::new(count, Duration::from_secs(secs)))
    }

    /// Parses a setting that may turn the limit off: `off` gives `Ok(None)`, anything else is
    /// [`Rule::parse`]d.
    pub fn parse_setting(text: &str) -> Result<Option<Self>, RuleError> {
        if text.trim().eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        Self::parse(text).map(Some)
    }

    /// Restricts the rule to some clients.
    #[must_use]
    pub fn applies(mut self, applies: Applies) -> Self {
        self.applies = applies;
        self
    }

    /// Requests allowed per period (also the burst).
    pub fn count(&self) -> u32 {
        self.count.get()
    }

    /// The window.
    pub fn period(&self) -> Duration {
        self.period
    }

    fn window(&self, id: usize) -> Window {
        let interval = (self.period / self.count.get()).max(Duration::from_nanos(1));
        Window {
            id,
            interval,
            burst: self.count.get(),
        }
    }
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(text: &str) -> Result<Self, RuleError> {
        Self::parse(text)
    }
}

/// The time the limiter reads, as a duration since the clock's own origin.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Duration;
}

/// tokio's monotonic clock (which tests can pause and advance).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when told to: for tests.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(by, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// One window as a store sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Which rule it is (its index in the layer's rules): keys the window's state.
    pub id: usize,
    /// `period / count`: the time one request's slot takes to come back.
    pub interval: Duration,
    /// `count`: how many requests may come at once.
    pub burst: u32,
}

impl Window {
    /// How long a request arriving at `now` must wait given the window's theoretical arrival
    /// time `tat` (zero: admitted now).
    pub fn wait(&self, tat: Duration, now: Duration) -> Duration {
        let tolerance = self.interval * (self.burst - 1);
        tat.max(now).saturating_sub(now + tolerance)
    }

    /// The window's theoretical arrival time after admitting a request at `now`.
    pub fn admit(&self, tat: Duration, now: Duration) -> Duration {
        tat.max(now) + self.interval
    }
}

/// A future of a store's answer (for stores that ask another process).
pub type PendingAcquire = Pin<Box<dyn Future<Output = Result<(), Duration>> + Send + 'static>>;

/// What [`RateStore::acquire`] answers: at once (a store in memory, no allocation), or after a
/// round trip.
pub enum Acquire {
    /// Admitted (`Ok`), or refused with the time until every window admits (`Err`).
    Done(Result<(), Duration>),
    /// The answer comes later; the future must finish within the store's own bound.
    Pending(PendingAcquire),
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done(r) => f.debug_tuple("Done").field(r).finish(),
            Self::Pending(_) => f.write_str("Pending"),
        }
    }
}

impl Acquire {
    /// Waits for the answer.
    pub async fn outcome(self) -> Result<(), Duration> {
        match self {
            Self::Done(r) => r,
            Self::Pending(f) => f.await,
        }
    }
}

/// Where the limiter keeps its counts.
///
/// Implementations must make [`RateStore::acquire`] all-or-nothing and atomic per key: either
/// every window admits and each takes a slot, or none changes.
pub trait RateStore: Send + Sync + 'static {
    /// Admits a request of `key` at `now` if every window in `windows` admits it, taking a
    /// slot in each; otherwise changes nothing and answers how long until every window would.
    fn acquire(&self, key: &str, windows: &[Window], now: Duration) -> Acquire;

    /// Forgets keys whose every window is full again at `now`; returns how many it forgot.
    fn sweep(&self, now: Duration) -> usize;
}

/// Window state per key: `(window id, theoretical arrival time)`.
type KeyState = Vec<(usize, Duration)>;

/// A [`RateStore`] in the process's memory, sharded to keep lock contention low.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Box<[Mutex<HashMap<String, KeyState>>]>,
    hasher: RandomState,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            shards: (0..16).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, KeyState>> {
        let i = (self.hasher.hash_one(key) % self.shards.len() as u64) as usize;
        &self.shards[i]
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RateStore for MemoryStore {
    fn acquire(&self, key: &str, windows: &[Window], now: Duration) -> Acquire {
        Acquire::Done(self.try_acquire(key, windows, now))
    }

    fn sweep(&self, now: Duration) -> usize {
        let mut forgotten = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            let before = shard.len();
            shard.retain(|_, state| state.iter().any(|(_, tat)| *tat > now));
            forgotten += before - shard.len();
        }
        forgotten
    }
}

impl MemoryStore {
    /// [`RateStore::acquire`], answered at once.
    pub fn try_acquire(
        &self,
        key: &str,
        windows: &[Window],
        now: Duration,
    ) -> Result<(), Duration> {
        let mut shard = lock(self.shard(key));
        let state = shard.get(key);
        let tat_of = |id: usize| {
            state
                .and_then(|s| s.iter().find(|(w, _)| *w == id))
                .map_or(Duration::ZERO, |(_, t)| *t)
        };
        let wait = windows
            .iter()
            .map(|w| w.wait(tat_of(w.id), now))
            .max()
            .unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            return Err(wait);
        }
        let state = match shard.get_mut(key) {
            Some(state) => state,
            None => shard.entry(key.to_owned()).or_default(),
        };
        for w in windows {
            match state.iter_mut().find(|(id, _)| *id == w.id) {
                Some((_, tat)) => *tat = w.admit(*tat, now),
                None => state.push((w.id, w.admit(Duration::ZERO, now))),
            }
        }
        Ok(())
    }
}

type UserKeyFn = Arc<dyn Fn(&Parts) -> Option<String> + Send + Sync>;

/// Checks every rule before the request reaches the service.
#[derive(Clone)]
pub struct RateLimitLayer {
    rules: Arc<[Rule]>,
    user_key: Option<UserKeyFn>,
    trust_forwarded: bool,
    store: Arc<dyn RateStore>,
    clock: Arc<dyn Clock>,
    sweep_every: Duration,
    sweeper: Arc<OnceLock<()>>,
}

impl fmt::Debug for RateLimitLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitLayer")
            .field("rules", &self.rules)
            .field("trust_forwarded", &self.trust_forwarded)
            .field("sweep_every", &self.sweep_every)
            .finish_non_exhaustive()
    }
}

/// Why a request could not be checked.
#[derive(Debug)]
struct NoClientAddress;

impl fmt::Display for NoClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "rate limit by IP: the request has no client address; serve with \
             `errata_axum::serve` or `into_make_service_with_connect_info::<SocketAddr>()` \
             (or enable `trust_forwarded_for` behind a proxy that sets X-Forwarded-For)",
        )
    }
}

impl std::error::Error for NoClientAddress {}

/// What the layer decided for one request.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Admit,
    /// Refused: whole seconds to wait.
    Wait(u64),
    /// A rule needs the client IP and the request has none.
    NoAddress,
}

/// A decision now, or the store's answer later.
enum Check {
    Now(Decision),
    Later(PendingAcquire),
}

impl RateLimitLayer {
    /// A layer enforcing `rules` in memory; clients are counted by IP until
    /// [`RateLimitLayer::user_key`] says who the user is.
    pub fn new(rules: impl IntoIterator<Item = Rule>) -> Self {
        Self {
            rules: rules.into_iter().collect(),
            user_key: None,
            trust_forwarded: false,
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(TokioClock::default()),
            sweep_every: Duration::from_secs(60),
            sweeper: Arc::new(OnceLock::new()),
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

    /// Keeps the counts in `store` instead of this process's memory.
    #[must_use]
    pub fn store(mut self, store: Arc<dyn RateStore>) -> Self {
        self.store = store;
        self.sweeper = Arc::new(OnceLock::new());
        self
    }

    /// Reads time from `clock` instead of tokio's.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How often the background task forgets stale keys (60 s by default).
    #[must_use]
    pub fn sweep_every(mut self, every: Duration) -> Self {
        self.sweep_every = every.max(Duration::from_millis(1));
        self
    }

    /// The decision for a store that answers at once.
    #[cfg(test)]
    fn decide(&self, parts: &Parts) -> Decision {
        match self.check(parts) {
            Check::Now(decision) => decision,
            Check::Later(_) => panic!("the store did not answer at once"),
        }
    }

    fn check(&self, parts: &Parts) -> Check {
        if self.rules.is_empty() {
            return Check::Now(Decision::Admit);
        }
        let user = self.user_key.as_ref().and_then(|f| f(parts));
        let mut windows: Vec<Window> = Vec::with_capacity(self.rules.len());
        for (id, rule) in self.rules.iter().enumerate() {
            match (rule.applies, &user) {
                (Applies::Anonymous, Some(_)) | (Applies::Authenticated, None) => {}
                _ => windows.push(rule.window(id)),
            }
        }
        if windows.is_empty() {
            return Check::Now(Decision::Admit);
        }
        let key = match &user {
            Some(user) => format!("u:{user}"),
            None => match self.client_ip(parts) {
                Some(ip) => format!("ip:{ip}"),
                None => return Check::Now(Decision::NoAddress),
            },
        };
        match self.store.acquire(&key, &windows, self.clock.now()) {
            Acquire::Done(answer) => Check::Now(decision(answer)),
            Acquire::Pending(later) => Check::Later(later),
        }
    }

    fn client_ip(&self, parts: &Parts) -> Option<IpAddr> {
        if self.trust_forwarded {
            if let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
            {
                return Some(ip);
            }
        }
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }

    /// Starts the sweeper once, on the first request served inside a tokio runtime.
    fn start_sweeper(&self) {
        self.sweeper.get_or_init(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let store: Weak<dyn RateStore> = Arc::downgrade(&self.store);
            let clock = Arc::clone(&self.clock);
            let every = self.sweep_every;
            runtime.spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                ticks.tick().await;
                loop {
                    ticks.tick().await;
                    let Some(store) = store.upgrade() else { break };
                    let forgotten = store.sweep(clock.now());
                    tracing::trace!(forgotten, "rate limit keys swept");
                }
            });
        });
    }
}

fn decision(answer: Result<(), Duration>) -> Decision {
    match answer {
        Ok(()) => Decision::Admit,
        Err(wait) => Decision::Wait(whole_seconds(wait)),
    }
}

/// Rounds up, so that waiting the advertised seconds is always enough.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
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

static NO_ADDRESS_LOGGED: AtomicBool = AtomicBool::new(false);

/// The answer to a refused request.
fn refusal(decision: &Decision) -> Response<Body> {
    let refused: ApiError = match decision {
        Decision::Admit | Decision::Wait(0) => errata::builtin::rate_limit_exceeded(1),
        Decision::Wait(secs) => errata::builtin::rate_limit_exceeded(*secs),
        Decision::NoAddress => {
            if !NO_ADDRESS_LOGGED.swap(true, Ordering::Relaxed) {
                tracing::error!("{NoClientAddress}");
            }
            errata::builtin::server_error().with_cause(NoClientAddress)
        }
    };
    refused.into_response()
}

type Ready<E> = std::future::Ready<Result<Response<Body>, E>>;
type Boxed<E> = Pin<Box<dyn Future<Output = Result<Response<Body>, E>> + Send + 'static>>;

/// The future of [`RateLimit`]: the inner service's, a refusal at once, or (for a store that
/// answers later) the store's answer followed by the inner service's.
pub type RateLimitFuture<F, E> =
    futures_util::future::Either<futures_util::future::Either<F, Ready<E>>, Boxed<E>>;

impl<S, B> Service<Request<B>> for RateLimit<S>
where
    S: Service<Request<B>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = RateLimitFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        use futures_util::future::Either;
        self.layer.start_sweeper();
        let (parts, body) = req.into_parts();
        match self.layer.check(&parts) {
            Check::Now(Decision::Admit) => Either::Left(Either::Left(
                self.inner.call(Request::from_parts(parts, body)),
            )),
            Check::Now(refused) => {
                Either::Left(Either::Right(std::future::ready(Ok(refusal(&refused)))))
            }
            Check::Later(answer) => {
                // The service polled ready is the one that must be called: keep it, leave a
                // clone in its place.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                Either::Right(Box::pin(async move {
                    match decision(answer.await) {
                        Decision::Admit => inner.call(Request::from_parts(parts, body)).await,
                        refused => Ok(refusal(&refused)),
                    }
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Parts {
        let (mut parts, ()) = Request::new(()).into_parts();
        let addr: SocketAddr = format!("{ip}:4000").parse().unwrap();
        parts.extensions.insert(ConnectInfo(addr));
        parts
    }

    #[test]
    fn parses_rates_and_off() {
        assert!(Rule::parse_setting("off").unwrap().is_none());
        assert_eq!(Rule::parse_setting(" 10/s ").unwrap().unwrap().count(), 10);
        let r = Rule::parse("100/h").unwrap();
        assert_eq!((r.count(), r.period()), (100, Duration::from_secs(3600)));
        assert_eq!(r.to_string(), "100/h");
        assert_eq!("60/min".parse::<Rule>().unwrap().period().as_secs(), 60);
        assert!(Rule::parse("off").is_err());
        assert!(Rule::parse("100/fortnight").is_err());
        assert!(Rule::parse("0/h").is_err());
        let err = Rule::parse("lots").unwrap_err().to_string();
        assert!(err.contains("`lots`") && err.contains("100/h"), "{err}");
    }

    #[test]
    fn the_burst_is_the_count_then_clients_wait() {
        let clock = ManualClock::new();
        let layer =
            RateLimitLayer::new([Rule::parse("3/min").unwrap()]).clock(Arc::new(clock.clone()));
        let parts = from("10.0.0.1");
        for _ in 0..3 {
            assert_eq!(layer.decide(&parts), Decision::Admit);
        }
        // One slot comes back every 20 s.
        assert_eq!(layer.decide(&parts), Decision::Wait(20));
        clock.advance(Duration::from_secs(19));
        assert_eq!(layer.decide(&parts), Decision::Wait(1));
        clock.advance(Duration::from_secs(1));
        assert_eq!(layer.decide(&parts), Decision::Admit);
        // Another client has its own count.
        assert_eq!(layer.decide(&from("10.0.0.2")), Decision::Admit);
    }

    #[test]
    fn users_and_anonymous_clients_have_separate_rules() {
        let layer = RateLimitLayer::new([
            Rule::parse("1/h").unwrap().applies(Applies::Anonymous),
            Rule::parse("2/h").unwrap().applies(Applies::Authenticated),
        ])
        .user_key(|p| {
            p.headers
                .get("x-user")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let anon = from("10.0.0.1");
        let mut user = from("10.0.0.1");
        user.headers.insert("x-user", "7".parse().unwrap());
        assert_eq!(layer.decide(&anon), Decision::Admit);
        assert!(matches!(layer.decide(&anon), Decision::Wait(_)));
        assert_eq!(layer.decide(&user), Decision::Admit);
        assert_eq!(layer.decide(&user), Decision::Admit);
        assert!(matches!(layer.decide(&user), Decision::Wait(_)));
    }

    #[test]
    fn without_a_client_address_nothing_is_shared() {
        let layer = RateLimitLayer::new([Rule::parse("1/h").unwrap()]);
        let (parts, ()) = Request::new(()).into_parts();
        assert_eq!(layer.decide(&parts), Decision::NoAddress);
        assert_eq!(layer.decide(&parts), Decision::NoAddress);
        // A forwarded address is used only when trusted.
        let mut forwarded = parts;
        forwarded
            .headers
            .insert("x-forwarded-for", "203.0.113.9, 10.0.0.1".parse().unwrap());
        assert_eq!(layer.decide(&forwarded), Decision::NoAddress);
        let trusting = layer.trust_forwarded_for(true);
        assert_eq!(trusting.decide(&forwarded), Decision::Admit);
        assert!(matches!(trusting.decide(&forwarded), Decision::Wait(_)));
    }

    #[test]
    fn a_refused_request_changes_no_window() {
        let store = MemoryStore::new();
        let windows = [
            Rule::parse("2/min").unwrap().window(0),
            Rule::parse("3/h").unwrap().window(1),
        ];
        let now = Duration::from_secs(1000);
        assert!(store.try_acquire("k", &windows, now).is_ok());
        assert!(store.try_acquire("k", &windows, now).is_ok());
        let before = lock(store.shard("k")).get("k").cloned();
        assert_eq!(
            store.try_acquire("k", &windows, now),
            Err(Duration::from_secs(30))
        );
        assert_eq!(lock(store.shard("k")).get("k").cloned(), before);
    }

    #[test]
    fn sweep_forgets_only_keys_whose_windows_are_full_again() {
        let store = MemoryStore::new();
        let windows = [Rule::parse("2/min").unwrap().window(0)];
        store.try_acquire("old", &windows, Duration::ZERO).unwrap();
        store
            .try_acquire("new", &windows, Duration::from_secs(50))
            .unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(store.sweep(Duration::from_secs(60)), 1);
        assert_eq!(store.len(), 1);
        assert_eq!(store.sweep(Duration::from_secs(80)), 1);
        assert!(store.is_empty());
    }
}
