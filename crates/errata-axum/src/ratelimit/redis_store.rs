//! [`RedisStore`]: the limiter's windows in Redis, shared by every instance that uses the same
//! server and key prefix.
//!
//! Checks are coalesced: [`RateStore::acquire`] queues the check on a channel, and one
//! background task takes every check already queued (no timer, up to [`BATCH_CAP`]) and sends
//! them as one `EVALSHA` of [`GCRA_SCRIPT`], waiting for its answer before it takes the next
//! batch (or for one of [`RedisStore::batches_in_flight`], sent in order on one connection). The script applies the checks in queue order, atomically, as if each were its own
//! call: per check it reads the theoretical arrival time of every window of the key (as left by
//! the checks before it), refuses (changing nothing) with the longest wait if any window is
//! full, or takes a slot in every window and sets the key to expire when all are full again.
//! Each check gets its own answer. The clock is the Redis server's (`TIME`, once per batch), so
//! instances need not agree on theirs. Under load a request costs a fraction of a round trip;
//! alone, one.
//!
//! Every request's wait is bounded by [`RedisStore::timeout`], counted from its `acquire`. A
//! request whose batch fails, or that is not answered in time, is answered by a local
//! [`MemoryStore`] instead, and for [`RedisStore::retry_every`] afterwards requests go to the
//! local store at once without waiting on Redis; then one is tried again. The transition to the
//! local store is logged once (a warning), the return to Redis once (info), and every request
//! answered locally is counted ([`RedisStore::fallbacks`]). The connection is re-established in
//! the background (redis' `ConnectionManager`), also when Redis is unreachable at start-up; a
//! server that lost the script (`NOSCRIPT`, e.g. after a restart) is sent it again.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::{mpsc, oneshot};

use super::{lock, Acquire, MemoryStore, RateStore, Window};

/// GCRA over every window of a key, all or nothing, for a batch of checks in order.
///
/// `KEYS`: the clients' hashes (field: window id, value: theoretical arrival time in µs), each
/// once. `ARGV[1]`: empty for the server's clock, else `c` (each check carries its own now, in
/// µs). `ARGV[2]`: how many window sets follow; per set its length, then per window its id,
/// interval (µs) and burst. Then per check: its key's index in `KEYS`, its window set's index,
/// and (caller's clock) its now. Answers one integer per check: 0 when admitted, else the wait
/// in µs (at least 1).
pub const GCRA_SCRIPT: &str = r"
local caller = ARGV[1] ~= ''
local now
if not caller then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local a = 3
local sets = {}
for s = 1, tonumber(ARGV[2]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local set = {}
  for i = 1, n do
    set[i] = {ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])}
    a = a + 3
  end
  sets[s] = set
end
local state, dirty, ttls, out = {}, {}, {}, {}
while a <= #ARGV do
  local k = tonumber(ARGV[a])
  local set = sets[tonumber(ARGV[a + 1])]
  if caller then
    now = tonumber(ARGV[a + 2])
    a = a + 3
  else
    a = a + 2
  end
  local st = state[k]
  if not st then
    st = {}
    state[k] = st
  end
  local missing = {}
  for i = 1, #set do
    if st[set[i][1]] == nil then missing[#missing + 1] = set[i][1] end
  end
  if #missing > 0 then
    local stored = redis.call('HMGET', KEYS[k], unpack(missing))
    for i = 1, #missing do
      local tat = 0
      if stored[i] then tat = tonumber(stored[i]) end
      st[missing[i]] = tat
    end
  end
  local wait = 0
  local tats = {}
  for i = 1, #set do
    local interval, burst = set[i][2], set[i][3]
    local tat = st[set[i][1]]
    if tat < now then tat = now end
    tats[i] = tat
    local w = tat - (now + interval * (burst - 1))
    if w > wait then wait = w end
  end
  if wait == 0 then
    local d = dirty[k]
    if not d then
      d = {}
      dirty[k] = d
    end
    local ttl = 0
    for i = 1, #set do
      local tat = tats[i] + set[i][2]
      st[set[i][1]] = tat
      d[set[i][1]] = true
      if tat - now > ttl then ttl = tat - now end
    end
    ttls[k] = ttl
  end
  out[#out + 1] = wait
end
for k = 1, #KEYS do
  local d = dirty[k]
  if d then
    local update = {}
    for field in pairs(d) do
      update[#update + 1] = field
      update[#update + 1] = string.format('%.0f', state[k][field])
    end
    redis.call('HSET', KEYS[k], unpack(update))
    redis.call('PEXPIRE', KEYS[k], math.max(1, math.ceil(ttls[k] / 1000)))
  end
end
return out
";

/// The most checks one script call carries.
pub const BATCH_CAP: usize = 128;

/// Batches on their way to Redis at once, by default.
const DEFAULT_IN_FLIGHT: usize = 1;

/// The most checks waiting for the batcher; beyond, requests are answered locally at once.
const QUEUE_CAP: usize = 8 * 1024;

/// Which clock the script reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClockSource {
    /// The Redis server's `TIME`: the same for every instance.
    Server,
    /// The `now` the limiter passes (its [`super::Clock`]): for tests with a manual clock shared
    /// by the instances.
    Caller,
}

/// How many windows a check holds without allocating (one per rule that applies).
const INLINE_WINDOWS: usize = 4;

/// The windows of one check: inline when few, as they are for every layer with a few rules.
enum Windows {
    Inline {
        len: usize,
        windows: [Window; INLINE_WINDOWS],
    },
    Heap(Box<[Window]>),
}

impl Windows {
    fn new(windows: &[Window]) -> Self {
        match windows {
            [first, ..] if windows.len() <= INLINE_WINDOWS => {
                let mut inline = [*first; INLINE_WINDOWS];
                inline[..windows.len()].copy_from_slice(windows);
                Self::Inline {
                    len: windows.len(),
                    windows: inline,
                }
            }
            _ => Self::Heap(windows.into()),
        }
    }

    fn as_slice(&self) -> &[Window] {
        match self {
            Self::Inline { len, windows } => &windows[..*len],
            Self::Heap(windows) => windows,
        }
    }
}

/// One request's check, shared by its future (for the fallback) and the queue.
struct Check {
    /// The Redis key: prefix and client key (the local fallback uses it too).
    key: String,
    windows: Windows,
    now: Duration,
}

/// A check waiting for the batcher.
struct Queued {
    check: Arc<Check>,
    reply: oneshot::Sender<Verdict>,
}

/// The batcher's answer to one check: the wait in µs (0: admitted), or that Redis did not
/// answer the batch (the failure is already noted).
type Verdict = Result<u64, Unavailable>;

/// Redis did not answer a batch.
#[derive(Debug, Clone, Copy)]
struct Unavailable;

/// What the background tasks and the requests share.
struct Shared {
    connection: OnceLock<ConnectionManager>,
    fallback: MemoryStore,
    fallbacks: AtomicU64,
    script_calls: AtomicU64,
    on_local: AtomicBool,
    /// Nanoseconds since `origin` before which requests skip Redis.
    skip_until: AtomicU64,
    origin: tokio::time::Instant,
    /// [`RedisStore::retry_every`] in nanoseconds.
    retry_every: AtomicU64,
}

impl Shared {
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn skipping(&self) -> bool {
        self.now_nanos() < self.skip_until.load(Ordering::Relaxed)
    }

    /// Redis failed or is too slow: skip it for `retry_every`, log the first failure of an
    /// outage.
    fn note_failure(&self, why: &dyn fmt::Display) {
        let until = self
            .now_nanos()
            .saturating_add(self.retry_every.load(Ordering::Relaxed));
        self.skip_until.store(until, Ordering::Relaxed);
        self.log_fallback(why);
    }

    fn log_fallback(&self, why: &dyn fmt::Display) {
        if !self.on_local.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %why,
                "rate limits: Redis is unavailable, counting in this process until it is back"
            );
        }
    }

    fn note_success(&self) {
        if self.on_local.load(Ordering::Relaxed) && self.on_local.swap(false, Ordering::Relaxed) {
            tracing::info!("rate limits: Redis is back, counting there again");
        }
    }

    /// Answers locally, counting it (and logging it if it starts an outage).
    fn fall_back(
        &self,
        key: &str,
        windows: &[Window],
        now: Duration,
        why: &dyn fmt::Display,
    ) -> Result<(), Duration> {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        self.log_fallback(why);
        self.fallback.try_acquire(key, windows, now)
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
    prefix: String,
    timeout: Duration,
    clock: ClockSource,
    in_flight: usize,
    shared: Arc<Shared>,
    queue: mpsc::Sender<Queued>,
    /// The batcher's end of `queue`, until the batcher starts.
    batches: Mutex<Option<mpsc::Receiver<Queued>>>,
    started: OnceLock<()>,
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
            .field(
                "retry_every",
                &Duration::from_nanos(self.shared.retry_every.load(Ordering::Relaxed)),
            )
            .field("fallbacks", &self.fallbacks())
            .field("script_calls", &self.script_calls())
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store on the Redis at `url` (`redis://[:password@]host[:port][/db]`), keys prefixed
    /// `errata:rl:`, a 50 ms timeout. Only parses the URL: the connection is made in the
    /// background on first use, and re-made whenever it is lost.
    pub fn new(url: &str) -> Result<Self, redis::RedisError> {
        let (queue, batches) = mpsc::channel(QUEUE_CAP);
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: "errata:rl:".to_owned(),
            timeout: Duration::from_millis(50),
            clock: ClockSource::Server,
            in_flight: DEFAULT_IN_FLIGHT,
            shared: Arc::new(Shared {
                connection: OnceLock::new(),
                fallback: MemoryStore::new(),
                fallbacks: AtomicU64::new(0),
                script_calls: AtomicU64::new(0),
                on_local: AtomicBool::new(false),
                skip_until: AtomicU64::new(0),
                origin: tokio::time::Instant::now(),
                retry_every: AtomicU64::new(1_000_000_000),
            }),
            queue,
            batches: Mutex::new(Some(batches)),
            started: OnceLock::new(),
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
    pub fn retry_every(self, every: Duration) -> Self {
        let nanos = u64::try_from(every.as_nanos()).unwrap_or(u64::MAX);
        self.shared.retry_every.store(nanos, Ordering::Relaxed);
        self
    }

    /// How many batches may be on their way to Redis at once (1 by default, at least 1). One
    /// makes the largest batches and the fewest round trips; more may answer sooner when Redis
    /// is far away. Batches are sent in queue order on one connection, so Redis applies them in
    /// that order.
    #[must_use]
    pub fn batches_in_flight(mut self, batches: usize) -> Self {
        self.in_flight = batches.max(1);
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

    /// How many script calls (`EVALSHA`, each carrying a batch of checks) were sent to Redis:
    /// its round trips, fewer than the checks when several are pending at once.
    pub fn script_calls(&self) -> u64 {
        self.shared.script_calls.load(Ordering::Relaxed)
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
        self.start();
        let deadline = tokio::time::Instant::now() + bound;
        while !self.is_connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Starts the background connector and the batcher once, inside a tokio runtime.
    fn start(&self) {
        self.started.get_or_init(|| {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                return;
            };
            let Some(batches) = lock(&self.batches).take() else {
                return;
            };
            runtime.spawn(connect(
                Arc::downgrade(&self.shared),
                self.client.clone(),
                self.timeout,
            ));
            runtime.spawn(run_batches(
                Arc::clone(&self.shared),
                batches,
                self.timeout,
                self.clock,
                self.in_flight,
            ));
        });
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

/// Takes every queued check (up to [`BATCH_CAP`]) as one batch, sends it as one script call and
/// answers each check; with `in_flight` batches on their way it waits for one to come back
/// before taking the next. Ends when the store is dropped.
async fn run_batches(
    shared: Arc<Shared>,
    mut queue: mpsc::Receiver<Queued>,
    timeout: Duration,
    clock: ClockSource,
    in_flight: usize,
) {
    use futures_util::stream::{FuturesUnordered, StreamExt};
    let hash: Arc<str> = redis::Script::new(GCRA_SCRIPT).get_hash().into();
    let mut sent = FuturesUnordered::new();
    let mut open = true;
    let mut batch = Vec::with_capacity(BATCH_CAP);
    loop {
        tokio::select! {
            // Answers first; polling a new batch here also sends it, in queue order.
            biased;
            Some(()) = sent.next(), if !sent.is_empty() => continue,
            taken = queue.recv_many(&mut batch, BATCH_CAP), if open && sent.len() < in_flight => {
                if taken == 0 {
                    open = false;
                    continue;
                }
            }
            else => return,
        }
        // A request that gave up waiting was answered locally: Redis must not count it too.
        batch.retain(|q: &Queued| !q.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        match shared.connection.get() {
            Some(connection) if !shared.skipping() => {
                let command = batch_command(&hash, &batch, clock);
                sent.push(send_batch(
                    Arc::clone(&shared),
                    connection.clone(),
                    command,
                    std::mem::replace(&mut batch, Vec::with_capacity(BATCH_CAP)),
                    timeout,
                ));
            }
            _ => {
                for queued in batch.drain(..) {
                    let _ = queued.reply.send(Err(Unavailable));
                }
            }
        }
    }
}

/// Sends one batch and answers each of its checks.
async fn send_batch(
    shared: Arc<Shared>,
    mut connection: ConnectionManager,
    command: redis::Cmd,
    batch: Vec<Queued>,
    timeout: Duration,
) {
    let answer = tokio::time::timeout(timeout, call(&shared, &mut connection, &command)).await;
    let why: Box<dyn fmt::Display> = match answer {
        Ok(Ok(waits)) if waits.len() == batch.len() => {
            shared.note_success();
            for (queued, wait) in batch.into_iter().zip(waits) {
                let _ = queued.reply.send(Ok(wait));
            }
            return;
        }
        Ok(Ok(waits)) => Box::new(format!("{} answers to {} checks", waits.len(), batch.len())),
        Ok(Err(e)) => Box::new(e),
        Err(_) => Box::new(format!("no answer within {timeout:?}")),
    };
    shared.note_failure(&why);
    for queued in batch {
        let _ = queued.reply.send(Err(Unavailable));
    }
}

/// One round trip (two more, once, when the server lost the script).
async fn call(
    shared: &Shared,
    connection: &mut ConnectionManager,
    command: &redis::Cmd,
) -> redis::RedisResult<Vec<u64>> {
    shared.script_calls.fetch_add(1, Ordering::Relaxed);
    // The connection hands server errors back as values.
    let answer = match connection
        .send_packed_command(command)
        .await
        .and_then(redis::Value::extract_error)
    {
        Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
            let _: String = redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(GCRA_SCRIPT)
                .query_async(connection)
                .await?;
            shared.script_calls.fetch_add(1, Ordering::Relaxed);
            connection
                .send_packed_command(command)
                .await
                .and_then(redis::Value::extract_error)?
        }
        answer => answer?,
    };
    redis::from_owned_redis_value(answer)
}

/// The `EVALSHA` of a batch: each key and each window set once, then the checks in order.
fn batch_command(hash: &str, batch: &[Queued], clock: ClockSource) -> redis::Cmd {
    let mut keys: Vec<&str> = Vec::with_capacity(batch.len());
    let mut key_index: HashMap<&str, usize> = HashMap::with_capacity(batch.len());
    let mut sets: Vec<&[Window]> = Vec::new();
    // Per check: its key's and its window set's index (1-based, as Lua counts).
    let mut refs: Vec<(usize, usize)> = Vec::with_capacity(batch.len());
    for queued in batch {
        let check = &*queued.check;
        let key = *key_index.entry(check.key.as_str()).or_insert_with(|| {
            keys.push(check.key.as_str());
            keys.len()
        });
        let windows = check.windows.as_slice();
        let set = match sets.iter().position(|s| *s == windows) {
            Some(i) => i + 1,
            None => {
                sets.push(windows);
                sets.len()
            }
        };
        refs.push((key, set));
    }
    let per_check = if clock == ClockSource::Caller { 3 } else { 2 };
    let set_args: usize = sets.iter().map(|s| 1 + 3 * s.len()).sum();
    let args = 5 + keys.len() + set_args + per_check * batch.len();
    let key_bytes: usize = keys.iter().map(|k| k.len()).sum();
    let mut command = redis::Cmd::with_capacity(args, 64 + key_bytes + 24 * args);
    command
        .arg("EVALSHA")
        .arg(hash)
        .arg(keys.len())
        .arg(&keys[..])
        .arg(if clock == ClockSource::Caller {
            "c"
        } else {
            ""
        })
        .arg(sets.len());
    for set in &sets {
        command.arg(set.len());
        for w in *set {
            command.arg(w.id).arg(micros(w.interval)).arg(w.burst);
        }
    }
    for (queued, (key, set)) in batch.iter().zip(refs) {
        command.arg(key).arg(set);
        if clock == ClockSource::Caller {
            command.arg(micros(queued.check.now));
        }
    }
    command
}

/// Whole microseconds, at least one.
fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// A wait in µs as the store answers it.
fn verdict(wait: u64) -> Result<(), Duration> {
    if wait == 0 {
        Ok(())
    } else {
        Err(Duration::from_micros(wait))
    }
}

impl RateStore for RedisStore {
    fn acquire(&self, key: &str, windows: &[Window], now: Duration) -> Acquire {
        if windows.is_empty() {
            // Every window (there is none) admits it.
            return Acquire::Done(Ok(()));
        }
        self.start();
        let shared = &self.shared;
        if !self.is_connected() {
            return Acquire::Done(shared.fall_back(key, windows, now, &"not connected yet"));
        }
        if shared.skipping() {
            return Acquire::Done(shared.fall_back(key, windows, now, &"skipped after a failure"));
        }
        let mut redis_key = String::with_capacity(self.prefix.len() + key.len());
        redis_key.push_str(&self.prefix);
        redis_key.push_str(key);
        let check = Arc::new(Check {
            key: redis_key,
            windows: Windows::new(windows),
            now,
        });
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            check: Arc::clone(&check),
            reply,
        };
        if let Err(e) = self.queue.try_send(queued) {
            // Too many checks waiting already (or the runtime is gone): answer locally at once.
            let why: &dyn fmt::Display = match e {
                mpsc::error::TrySendError::Full(_) => &"too many checks waiting for Redis",
                mpsc::error::TrySendError::Closed(_) => &"the batcher has stopped",
            };
            return Acquire::Done(shared.fall_back(&check.key, windows, now, why));
        }
        // The bound counts from now, not from the first poll.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timeout = self.timeout;
        let shared = Arc::clone(&self.shared);
        Acquire::Pending(Box::pin(async move {
            match tokio::time::timeout_at(deadline, answer).await {
                Ok(Ok(Ok(wait))) => return verdict(wait),
                // The batcher noted why.
                Ok(Ok(Err(Unavailable))) => {}
                Ok(Err(_)) => shared.note_failure(&"the batcher has stopped"),
                Err(_) => shared.note_failure(&format_args!("no answer within {timeout:?}")),
            }
            shared.fall_back(
                &check.key,
                check.windows.as_slice(),
                check.now,
                &"Redis unavailable",
            )
        }))
    }

    fn sweep(&self, now: Duration) -> usize {
        // Redis expires its keys itself; only the local fallback needs sweeping.
        self.shared.fallback.sweep(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(id: usize, interval_ms: u64, burst: u32) -> Window {
        Window {
            id,
            interval: Duration::from_millis(interval_ms),
            burst,
        }
    }

    fn queued(key: &str, windows: &[Window], now: Duration) -> Queued {
        Queued {
            check: Arc::new(Check {
                key: key.to_owned(),
                windows: Windows::new(windows),
                now,
            }),
            reply: oneshot::channel().0,
        }
    }

    fn args(command: &redis::Cmd) -> Vec<String> {
        command
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                redis::Arg::Cursor => "<cursor>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn few_windows_stay_inline_and_many_do_not_get_lost() {
        let few = [window(0, 10, 2), window(1, 20, 3)];
        assert!(matches!(Windows::new(&few), Windows::Inline { len: 2, .. }));
        assert_eq!(Windows::new(&few).as_slice(), few);
        let many: Vec<Window> = (0..6).map(|i| window(i, 10, 1)).collect();
        assert!(matches!(Windows::new(&many), Windows::Heap(_)));
        assert_eq!(Windows::new(&many).as_slice(), many);
    }

    #[test]
    fn a_batch_names_each_key_and_window_set_once() {
        let two = [window(0, 1, 5), window(1, 2, 7)];
        let one = [window(2, 3, 9)];
        let now = Duration::from_millis(4);
        let batch = [
            queued("a", &two, now),
            queued("b", &one, now),
            queued("a", &two, now),
            queued("a", &one, now),
        ];
        let server = args(&batch_command("h", &batch, ClockSource::Server));
        let expected: Vec<&str> = vec![
            "EVALSHA", "h", "2", "a", "b", "", "2", // keys, clock, sets
            "2", "0", "1000", "5", "1", "2000", "7", // set 1
            "1", "2", "3000", "9", // set 2
            "1", "1", "2", "2", "1", "1", "1", "2", // checks
        ];
        assert_eq!(server, expected);
        let caller = args(&batch_command("h", &batch[..2], ClockSource::Caller));
        assert_eq!(caller[5], "c");
        assert_eq!(
            caller[caller.len() - 6..],
            ["1", "1", "4000", "2", "2", "4000"]
        );
    }
}
