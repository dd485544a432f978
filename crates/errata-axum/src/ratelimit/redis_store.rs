//! [`RedisStore`]: the limiter's windows in Redis, shared by every instance that uses the same
//! server and key prefix.
//!
//! One request is one `EVALSHA` of [`GCRA_SCRIPT`]: it reads the theoretical arrival time of every
//! window of the key, refuses (changing nothing) with the longest wait if any window is full, or
//! takes a slot in every window and sets the key to expire when all are full again. The clock is
//! the Redis server's (`TIME`), so instances need not agree on theirs.
//!
//! Every call is bounded by [`RedisStore::timeout`]. A call that fails or times out is answered by
//! a local [`MemoryStore`] instead, and for [`RedisStore::retry_every`] afterwards requests go to
//! the local store at once without waiting on Redis; then one is tried again. The transition to
//! the local store is logged once (a warning), the return to Redis once (info), and every request
//! answered locally is counted ([`RedisStore::fallbacks`]). The connection is re-established in
//! the background (redis' `ConnectionManager`), also when Redis is unreachable at start-up.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Acquire, MemoryStore, RateStore, Window};

/// GCRA over every window of one key, all or nothing.
///
/// `KEYS[1]`: the client's hash (field: window id, value: theoretical arrival time in µs).
/// `ARGV[1]`: now in µs, or empty for the server's clock; then per window its id, interval (µs)
/// and burst. Answers 0 when admitted, else the wait in µs (at least 1).
pub const GCRA_SCRIPT: &str = r"
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end
local n = (#ARGV - 1) / 3
local fields = {}
for i = 1, n do fields[i] = ARGV[3 * i - 1] end
local stored = redis.call('HMGET', KEYS[1], unpack(fields))
local wait = 0
local tats = {}
for i = 1, n do
  local interval = tonumber(ARGV[3 * i])
  local burst = tonumber(ARGV[3 * i + 1])
  local tat = 0
  if stored[i] then tat = tonumber(stored[i]) end
  if tat < now then tat = now end
  tats[i] = tat
  local w = tat - (now + interval * (burst - 1))
  if w > wait then wait = w end
end
if wait > 0 then return wait end
local update = {}
local ttl = 0
for i = 1, n do
  local tat = tats[i] + tonumber(ARGV[3 * i])
  update[2 * i - 1] = fields[i]
  update[2 * i] = string.format('%.0f', tat)
  if tat - now > ttl then ttl = tat - now end
end
redis.call('HSET', KEYS[1], unpack(update))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(ttl / 1000)))
return 0
";

/// Which clock the script reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockSource {
    /// The Redis server's `TIME`: the same for every instance.
    Server,
    /// The `now` the limiter passes (its [`super::Clock`]): for tests with a manual clock shared
    /// by the instances.
    Caller,
}

/// What the background connector and the requests share.
struct Shared {
    connection: OnceLock<ConnectionManager>,
    fallback: MemoryStore,
    fallbacks: AtomicU64,
    on_local: AtomicBool,
    /// Nanoseconds since `origin` before which requests skip Redis.
    skip_until: AtomicU64,
    origin: tokio::time::Instant,
}

impl Shared {
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// A [`RateStore`] in Redis, shared by every instance; falls back to a local [`MemoryStore`]
/// within a bounded time when Redis is down or slow.
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use errata_axum::ratelimit::{RateLimitLayer, RedisStore, Rule};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::new("redis://127.0.0.1:6379/")?.timeout(Duration::from_millis(50));
/// let layer = RateLimitLayer::new([Rule::parse("60/min")?]).store(Arc::new(store));
/// # Ok(()) }
/// ```
pub struct RedisStore {
    client: redis::Client,
    script: Arc<redis::Script>,
    prefix: String,
    timeout: Duration,
    retry_every: Duration,
    clock: ClockSource,
    shared: Arc<Shared>,
    connector: OnceLock<()>,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password: only the address is shown.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore")
            .field("addr", &info.addr.to_string())
            .field("db", &info.redis.db)
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("retry_every", &self.retry_every)
            .field("fallbacks", &self.fallbacks())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[:password@]host[:port][/db]`), keys prefixed
    /// `errata:rl:`, a 50 ms timeout. Only parses the URL: the connection is made in the
    /// background on first use, and re-made whenever it is lost.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        Ok(Self {
            client: redis::Client::open(url)?,
            script: Arc::new(redis::Script::new(GCRA_SCRIPT)),
            prefix: "errata:rl:".to_owned(),
            timeout: Duration::from_millis(50),
            retry_every: Duration::from_secs(1),
            clock: ClockSource::Server,
            shared: Arc::new(Shared {
                connection: OnceLock::new(),
                fallback: MemoryStore::new(),
                fallbacks: AtomicU64::new(0),
                on_local: AtomicBool::new(false),
                skip_until: AtomicU64::new(0),
                origin: tokio::time::Instant::now(),
            }),
            connector: OnceLock::new(),
        })
    }

    /// Prefixes every key (instances that share limits use the same prefix).
    #[must_use]
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest a request waits for Redis before the local store answers it (50 ms by
    /// default).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// After a failure, how long requests go to the local store without trying Redis (1 s by
    /// default); zero tries Redis on every request.
    #[must_use]
    pub fn retry_every(mut self, every: Duration) -> Self {
        self.retry_every = every;
        self
    }

    /// Reads the limiter's clock (the `now` it passes) instead of the Redis server's: only for
    /// instances that share one clock, such as tests with a manual clock.
    #[must_use]
    pub fn caller_clock(mut self) -> Self {
        self.clock = ClockSource::Caller;
        self
    }

    /// How many requests the local store answered because Redis failed, timed out or was
    /// being skipped after a failure.
    pub fn fallbacks(&self) -> u64 {
        self.shared.fallbacks.load(Ordering::Relaxed)
    }

    /// Whether a connection to Redis has been made (it may have been lost since; it is re-made
    /// in the background).
    pub fn is_connected(&self) -> bool {
        self.shared.connection.get().is_some()
    }

    /// Starts connecting (if not yet) and waits until connected or `bound` has passed; answers
    /// whether connected. For start-up, so that the first requests already count in Redis; the
    /// store works (on its local fallback) without it.
    pub async fn connect_within(&self, bound: Duration) -> bool {
        self.start_connector();
        let deadline = tokio::time::Instant::now() + bound;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Starts the background connector once, inside a tokio runtime.
    fn start_connector(&self) {
        self.connector.get_or_init(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let shared = Arc::downgrade(&self.shared);
            let client = self.client.clone();
            let timeout = self.timeout;
            runtime.spawn(connect(shared, client, timeout));
        });
    }

    /// Answers locally, counting it and logging the first one of an outage.
    fn fall_back(
        shared: &Shared,
        key: &str,
        windows: &[Window],
        now: Duration,
        why: &dyn fmt::Display,
    ) -> Result<(), Duration> {
        shared.fallbacks.fetch_add(1, Ordering::Relaxed);
        if !shared.on_local.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                "rate limits: Redis is unavailable, counting in this process until it is back"
            );
        }
        shared.fallback.try_acquire(key, windows, now)
    }
}

/// Makes the first connection, retrying with a growing pause; the manager re-makes it after.
async fn connect(shared: Weak<Shared>, client: redis::Client, timeout: Duration) {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(timeout.max(Duration::from_millis(500)))
        .set_response_timeout(timeout)
        .set_number_of_retries(2)
        .set_factor(50)
        .set_max_delay(1000);
    let mut pause = Duration::from_millis(100);
    loop {
        let attempt = tokio::time::timeout(
            timeout.max(Duration::from_millis(500)),
            ConnectionManager::new_with_config(client.clone(), config.clone()),
        )
        .await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match attempt {
            Ok(Ok(manager)) => {
                let _ = shared.connection.set(manager);
                return;
            }
            Ok(Err(e)) => tracing::debug!(error = %e, "rate limits: Redis connection failed"),
            Err(_) => tracing::debug!("rate limits: Redis connection timed out"),
        }
        drop(shared);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Whole microseconds, at least one.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl RateStore for RedisStore {
    fn acquire(&self, key: &str, windows: &[Window], now: Duration) -> Acquire {
        self.start_connector();
        let shared = &self.shared;
        let Some(connection) = shared.connection.get() else {
            return Acquire::Done(Self::fall_back(
                shared,
                key,
                windows,
                now,
                &"not connected yet",
            ));
        };
        if shared.now_nanos() < shared.skip_until.load(Ordering::Relaxed) {
            return Acquire::Done(Self::fall_back(
                shared,
                key,
                windows,
                now,
                &"skipped after a failure",
            ));
        }
        let mut connection = connection.clone();
        let shared = Arc::clone(&self.shared);
        let script = Arc::clone(&self.script);
        let redis_key = format!("{}{key}", self.prefix);
        let key = key.to_owned();
        let windows = windows.to_vec();
        let clock = self.clock;
        let timeout = self.timeout;
        let retry_every = self.retry_every;
        Acquire::Pending(Box::pin(async move {
            let mut invocation = script.key(redis_key);
            match clock {
                ClockSource::Server => invocation.arg(""),
                ClockSource::Caller => invocation.arg(micros(now)),
            };
            for w in &windows {
                invocation.arg(w.id).arg(micros(w.interval)).arg(w.burst);
            }
            let answer =
                tokio::time::timeout(timeout, invocation.invoke_async::<u64>(&mut connection))
                    .await;
            let failure: Box<dyn fmt::Display + Send> = match answer {
                Ok(Ok(wait)) => {
                    if shared.on_local.swap(false, Ordering::Relaxed) {
                        tracing::info!("rate limits: Redis is back, counting there again");
                    }
                    return if wait == 0 {
                        Ok(())
                    } else {
                        Err(Duration::from_micros(wait))
                    };
                }
                Ok(Err(e)) => Box::new(e),
                Err(_) => Box::new(format!("no answer within {timeout:?}")),
            };
            let until = shared
                .now_nanos()
                .saturating_add(u64::try_from(retry_every.as_nanos()).unwrap_or(u64::MAX));
            shared.skip_until.store(until, Ordering::Relaxed);
            Self::fall_back(&shared, &key, &windows, now, &failure)
        }))
    }

    fn sweep(&self, now: Duration) -> usize {
        // Redis expires its keys itself; only the local fallback needs sweeping.
        self.shared.fallback.sweep(now)
    }
}
