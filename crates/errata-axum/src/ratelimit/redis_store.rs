//! [`RedisStore`]: the limiter's windows in Redis, shared by every instance that uses the same
//! server and key prefix.
//!
//! Checks are coalesced: [`RateStore::acquire`] queues the check on a channel, and one
//! background task takes every check already queued (no timer, up to [`BATCH_CAP`]) and sends
//! them as one `EVALSHA` of [`GCRA_SCRIPT`], waiting for its answer before it takes the next
//! batch (or for one of [`RedisStore::batches_in_flight`], sent in order on one connection).
//! Consecutive checks of one key with the same windows and the same `now` travel as one run
//! (key, windows, count), so that a burst of one client costs Redis about what one check does.
//! The script applies the runs in queue order, atomically, as if each check were its own call:
//! per check it reads the theoretical arrival time of every window of the key (as left by the
//! checks before it), refuses (changing nothing) with the longest wait if any window is full,
//! or takes a slot in every window and sets the key to expire when all are full again. Each
//! check gets its own answer. The clock is the Redis server's (`TIME`, once per batch), so
//! instances need not agree on theirs. Under load a request costs a fraction of a round trip;
//! alone, one.
//!
//! Every request's wait is bounded by [`RedisStore::timeout`], counted from its `acquire`: the
//! batcher answers a check whose time is up before its batch is sent, and bounds each batch by
//! the earliest deadline in it (one timer per batch, none per request). A request whose batch
//! fails, or that is not answered in time, is answered by a local
//! [`MemoryStore`] instead, and for [`RedisStore::retry_every`] afterwards requests go to the
//! local store at once without waiting on Redis; then one is tried again. The transition to the
//! local store is logged once (a warning), the return to Redis once (info), and every request
//! answered locally is counted ([`RedisStore::fallbacks`]). The connection is re-established in
//! the background (redis' `ConnectionManager`), also when Redis is unreachable at start-up; a
//! server that lost the script (`NOSCRIPT`, e.g. after a restart) is sent it again.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{lock, Acquire, MemoryStore, RateStore, Window};

/// GCRA over every window of a key, all or nothing, for a batch of checks in order.
///
/// `KEYS`: the clients' hashes (field: window id, value: theoretical arrival time in µs), each
/// once. `ARGV[1]`: empty for the server's clock, else `c` (each run carries its own now, in
/// µs). `ARGV[2]`, little-endian binary (read with `struct`, no number parsing): the count of
/// window sets (u16), then per set its length (u16) and per window its id (u32), interval in µs
/// (i64) and burst (u32). `ARGV[3]`, binary too: the runs in order, each its key's index in
/// `KEYS` (u16, from 1), its window set's index (u16, from 1), how many checks it holds (u16),
/// and (caller's clock) its now (i64). A run is that many checks of one key, with the same
/// windows at the same now, one after the other: the first ones are admitted while every window
/// has room, and once one is refused so are the rest (a refusal changes nothing), all with the
/// same wait. Answers two integers per run: how many of its checks were admitted, and the wait
/// in µs of the others (at least 1; 0 when all were admitted). A key's expiry is set from every
/// window it holds, so a check with fewer windows does not cut short another window's state.
pub const GCRA_SCRIPT: &str = r"
local caller = ARGV[1] ~= ''
local now
if not caller then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local read = struct.unpack
local blob, pos = ARGV[2], 1
local sets, nsets = {}, 0
nsets, pos = read('<H', blob, pos)
for s = 1, nsets do
  local n
  n, pos = read('<H', blob, pos)
  local ids, intervals, tolerances = {}, {}, {}
  for i = 1, n do
    local id, interval, burst
    id, interval, burst, pos = read('<I4i8I4', blob, pos)
    ids[i] = tostring(id)
    intervals[i] = interval
    tolerances[i] = interval * (burst - 1)
  end
  sets[s] = {ids, intervals, tolerances, n}
end
local runs = ARGV[3]
local last = #runs
local state, touched, out = {}, {}, {}
local floor = math.floor
pos = 1
while pos <= last do
  local k, s, count
  if caller then
    k, s, count, now, pos = read('<HHHi8', runs, pos)
  else
    k, s, count, pos = read('<HHH', runs, pos)
  end
  local st = state[k]
  if not st then
    st = {}
    local stored = redis.call('HGETALL', KEYS[k])
    for i = 1, #stored, 2 do st[stored[i]] = tonumber(stored[i + 1]) end
    state[k] = st
  end
  local set = sets[s]
  local ids, intervals, tolerances, n = set[1], set[2], set[3], set[4]
  local admitted = count
  for i = 1, n do
    local tat = st[ids[i]] or 0
    if tat < now then tat = now end
    local slack = now + tolerances[i] - tat
    local fits = 0
    if slack >= 0 then fits = floor(slack / intervals[i]) + 1 end
    if fits < admitted then admitted = fits end
  end
  local wait = 0
  for i = 1, n do
    local id = ids[i]
    local tat = st[id] or 0
    if tat < now then tat = now end
    tat = tat + admitted * intervals[i]
    if admitted > 0 then st[id] = tat end
    local w = tat - now - tolerances[i]
    if w > wait then wait = w end
  end
  if admitted > 0 then touched[k] = now end
  if admitted == count then wait = 0 end
  out[#out + 1] = admitted
  out[#out + 1] = wait
end
for k, at in pairs(touched) do
  local update, ttl = {}, 0
  for field, tat in pairs(state[k]) do
    update[#update + 1] = field
    update[#update + 1] = string.format('%.0f', tat)
    if tat - at > ttl then ttl = tat - at end
  end
  redis.call('HSET', KEYS[k], unpack(update))
  redis.call('PEXPIRE', KEYS[k], math.max(1, math.ceil(ttl / 1000)))
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

/// One request's check and, once the batcher has one, its answer: shared by the request's
/// future and the batcher.
struct Slot {
    /// The Redis key: prefix and client key (the local fallback uses it too).
    key: String,
    windows: Windows,
    now: Duration,
    /// When the request stops waiting for Redis.
    deadline: Instant,
    /// [`PENDING`], [`ADMITTED_OR_WAIT`], [`UNAVAILABLE`] or [`DROPPED`].
    state: AtomicU8,
    /// The wait in µs (0: admitted), once the state is [`ADMITTED_OR_WAIT`].
    wait: AtomicU64,
    waker: AtomicWaker,
}

/// No answer yet.
const PENDING: u8 = 0;
/// Redis answered: `wait` holds the answer.
const ADMITTED_OR_WAIT: u8 = 1;
/// Redis did not answer in time, or failed (the batcher noted why).
const UNAVAILABLE: u8 = 2;
/// The batcher dropped the check unanswered (it has stopped).
const DROPPED: u8 = 3;

/// A check waiting for the batcher, or in a batch on its way; answers
/// [`DROPPED`] if dropped unanswered.
struct Queued(Arc<Slot>);

impl Queued {
    /// Answers the request: the wait in µs (0: admitted), or that Redis did not answer.
    fn answer(&self, verdict: Result<u64, Unavailable>) {
        let state = match verdict {
            Ok(wait) => {
                self.0.wait.store(wait, Ordering::Relaxed);
                ADMITTED_OR_WAIT
            }
            Err(Unavailable) => UNAVAILABLE,
        };
        self.settle(state);
    }

    fn settle(&self, state: u8) {
        if self
            .0
            .state
            .compare_exchange(PENDING, state, Ordering::Release, Ordering::Relaxed)
            .is_ok()
        {
            self.0.waker.wake();
        }
    }

    /// Whether the request stopped waiting (its future was dropped): Redis must not count it.
    fn abandoned(&self) -> bool {
        Arc::strong_count(&self.0) == 1
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.settle(DROPPED);
    }
}

/// Redis did not answer a batch.
#[derive(Debug, Clone, Copy)]
struct Unavailable;

/// A request's wait for its check: the batcher's answer, or the local store's.
struct Answer {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl Future for Answer {
    type Output = Result<(), Duration>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let slot = &self.slot;
        let mut state = slot.state.load(Ordering::Acquire);
        if state == PENDING {
            slot.waker.register(cx.waker());
            state = slot.state.load(Ordering::Acquire);
            if state == PENDING {
                return Poll::Pending;
            }
        }
        match state {
            ADMITTED_OR_WAIT => return Poll::Ready(verdict(slot.wait.load(Ordering::Relaxed))),
            DROPPED => self.shared.note_failure(&"the batcher has stopped"),
            // The batcher noted why.
            _ => {}
        }
        Poll::Ready(self.shared.fall_back(
            &slot.key,
            slot.windows.as_slice(),
            slot.now,
            &"Redis unavailable",
        ))
    }
}

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
        // No clock read unless a failure set a time to skip until.
        let until = self.skip_until.load(Ordering::Relaxed);
        until != 0 && self.now_nanos() < until
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
/// before taking the next. A check whose deadline has passed by then is answered at once (Redis
/// unavailable); each batch is bounded by the earliest deadline in it. Ends when the store is
/// dropped.
async fn run_batches(
    shared: Arc<Shared>,
    mut queue: mpsc::Receiver<Queued>,
    timeout: Duration,
    clock: ClockSource,
    in_flight: usize,
) {
    let hash: Arc<str> = redis::Script::new(GCRA_SCRIPT).get_hash().into();
    // The batches on their way, each in a slot boxed once and reused, and the vectors of
    // batches that came back: a batch allocates nothing large (per batch, a 1.7 KB future node
    // and a 1 KB vector made glibc consolidate its fast bins; BENCHMARKS.md).
    let mut sending = Vec::new();
    let mut spare: Vec<Vec<Queued>> = Vec::new();
    let mut open = true;
    let mut batch = Vec::with_capacity(BATCH_CAP);
    loop {
        let busy = sending
            .iter()
            .filter(|s: &&Pin<Box<Option<_>>>| s.is_some())
            .count();
        tokio::select! {
            // Answers first; polling a new batch here also sends it, in queue order.
            biased;
            done = std::future::poll_fn(|cx| poll_sending(&mut sending, cx)), if busy > 0 => {
                spare.push(done);
                continue;
            }
            taken = queue.recv_many(&mut batch, BATCH_CAP), if open && busy < in_flight => {
                if taken == 0 {
                    open = false;
                    continue;
                }
            }
            else => return,
        }
        // A request that stopped waiting must not be counted by Redis; one whose time is up is
        // answered by the local store.
        let now = Instant::now();
        let mut late = false;
        batch.retain(|q: &Queued| {
            if q.abandoned() {
                return false;
            }
            if q.0.deadline <= now {
                late = true;
                q.answer(Err(Unavailable));
                return false;
            }
            true
        });
        if late {
            shared.note_failure(&format_args!("no answer within {timeout:?}"));
        }
        if batch.is_empty() {
            continue;
        }
        match shared.connection.get() {
            Some(connection) if !shared.skipping() => {
                let (command, places) = batch_command(&hash, &batch, clock);
                let deadline = batch.iter().map(|q| q.0.deadline).min().unwrap_or(now);
                let next = spare.pop().unwrap_or_else(|| Vec::with_capacity(BATCH_CAP));
                let sent = send_batch(
                    Arc::clone(&shared),
                    connection.clone(),
                    command,
                    places,
                    std::mem::replace(&mut batch, next),
                    deadline,
                    timeout,
                );
                match sending.iter_mut().find(|s| s.is_none()) {
                    Some(free) => free.set(Some(sent)),
                    None => sending.push(Box::pin(Some(sent))),
                }
            }
            _ => {
                for queued in batch.drain(..) {
                    queued.answer(Err(Unavailable));
                }
            }
        }
    }
}

/// Polls the batches on their way; the vector of the first that has been answered comes back
/// (emptied) and its slot is freed.
fn poll_sending<F>(sending: &mut [Pin<Box<Option<F>>>], cx: &mut Context<'_>) -> Poll<Vec<Queued>>
where
    F: Future<Output = Vec<Queued>>,
{
    for slot in sending {
        if let Some(batch) = slot.as_mut().as_pin_mut() {
            if let Poll::Ready(emptied) = batch.poll(cx) {
                slot.set(None);
                return Poll::Ready(emptied);
            }
        }
    }
    Poll::Pending
}

/// Sends one batch and answers each of its checks from its run's answer; gives back the
/// batch's vector, emptied.
async fn send_batch(
    shared: Arc<Shared>,
    mut connection: ConnectionManager,
    command: redis::Cmd,
    places: Vec<Place>,
    mut batch: Vec<Queued>,
    deadline: Instant,
    timeout: Duration,
) -> Vec<Queued> {
    let answer = tokio::time::timeout_at(deadline, call(&shared, &mut connection, &command)).await;
    let runs = places.last().map_or(0, |p| p.run + 1);
    let why: Box<dyn fmt::Display> = match answer {
        Ok(Ok(answers)) if answers.len() == 2 * runs => {
            shared.note_success();
            for (queued, place) in batch.iter().zip(&places) {
                let admitted = answers[2 * place.run];
                let wait = if u64::from(place.position) < admitted {
                    0
                } else {
                    answers[2 * place.run + 1].max(1)
                };
                queued.answer(Ok(wait));
            }
            batch.clear();
            return batch;
        }
        Ok(Ok(answers)) => Box::new(format!("{} answers to {runs} runs", answers.len())),
        Ok(Err(e)) => Box::new(e),
        Err(_) => Box::new(format!("no answer within {timeout:?}")),
    };
    shared.note_failure(&why);
    for queued in batch.drain(..) {
        queued.answer(Err(Unavailable));
    }
    batch
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

/// Where a check's answer is: its run (from 0) and its place in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    run: usize,
    position: u16,
}

/// A run being built: consecutive checks of one key, window set and now (indexes from 0).
struct Run {
    key: usize,
    set: usize,
    count: u16,
    now: u64,
}

/// The keys of a batch, each once, in order of first use.
#[derive(Default)]
struct Keys<'a> {
    keys: Vec<&'a str>,
    /// Per key, the index of its last run.
    last_run: Vec<usize>,
    /// Every key's index, once there are more than [`Keys::FEW`] (fewer are found faster by
    /// looking than by hashing).
    index: HashMap<&'a str, usize>,
}

impl<'a> Keys<'a> {
    const FEW: usize = 8;

    /// The index of `key`, added if new.
    fn index_of(&mut self, key: &'a str) -> usize {
        let found = if self.keys.len() <= Self::FEW {
            self.keys.iter().position(|k| *k == key)
        } else {
            self.index.get(key).copied()
        };
        if let Some(i) = found {
            return i;
        }
        self.keys.push(key);
        self.last_run.push(usize::MAX);
        let i = self.keys.len() - 1;
        if self.keys.len() == Self::FEW + 1 {
            self.index
                .extend(self.keys.iter().enumerate().map(|(i, k)| (*k, i)));
        } else if self.keys.len() > Self::FEW + 1 {
            self.index.insert(key, i);
        }
        i
    }
}

/// The `EVALSHA` of a batch (each key and each window set once, then the runs in order) and
/// where each check's answer will be. A check joins the last run of its key when it has the same
/// windows and now (checks of other keys in between do not matter: keys are independent), else
/// it starts a run.
fn batch_command(hash: &str, batch: &[Queued], clock: ClockSource) -> (redis::Cmd, Vec<Place>) {
    let mut keys = Keys::default();
    let mut sets: Vec<&[Window]> = Vec::new();
    let mut runs: Vec<Run> = Vec::with_capacity(4);
    let mut places = Vec::with_capacity(batch.len());
    for queued in batch {
        let check = &*queued.0;
        let key = keys.index_of(&check.key);
        let windows = check.windows.as_slice();
        let set = match sets.iter().position(|s| *s == windows) {
            Some(i) => i,
            None => {
                sets.push(windows);
                sets.len() - 1
            }
        };
        // The server's clock is one now for the whole batch.
        let now = match clock {
            ClockSource::Caller => micros(check.now),
            ClockSource::Server => 0,
        };
        let last = keys.last_run[key];
        match runs.get_mut(last) {
            Some(run) if run.set == set && run.now == now => {
                places.push(Place {
                    run: last,
                    position: run.count,
                });
                run.count += 1;
            }
            _ => {
                keys.last_run[key] = runs.len();
                places.push(Place {
                    run: runs.len(),
                    position: 0,
                });
                runs.push(Run {
                    key,
                    set,
                    count: 1,
                    now,
                });
            }
        }
    }
    let caller = clock == ClockSource::Caller;
    let set_bytes: usize = sets.iter().map(|s| 2 + 16 * s.len()).sum();
    let mut window_sets = Vec::with_capacity(2 + set_bytes);
    push_u16(&mut window_sets, sets.len());
    for set in &sets {
        push_u16(&mut window_sets, set.len());
        for w in *set {
            window_sets.extend_from_slice(&u32::try_from(w.id).unwrap_or(u32::MAX).to_le_bytes());
            window_sets.extend_from_slice(&signed(micros(w.interval)).to_le_bytes());
            window_sets.extend_from_slice(&w.burst.to_le_bytes());
        }
    }
    let mut encoded_runs = Vec::with_capacity(if caller { 14 } else { 6 } * runs.len());
    for run in &runs {
        // Lua counts from 1.
        push_u16(&mut encoded_runs, run.key + 1);
        push_u16(&mut encoded_runs, run.set + 1);
        push_u16(&mut encoded_runs, usize::from(run.count));
        if caller {
            encoded_runs.extend_from_slice(&signed(run.now).to_le_bytes());
        }
    }
    let keys = keys.keys;
    let key_bytes: usize = keys.iter().map(|k| k.len()).sum();
    let mut command = redis::Cmd::with_capacity(
        6 + keys.len(),
        64 + key_bytes + window_sets.len() + encoded_runs.len(),
    );
    command
        .arg("EVALSHA")
        .arg(hash)
        .arg(keys.len())
        .arg(&keys[..])
        .arg(if caller { "c" } else { "" })
        .arg(&window_sets[..])
        .arg(&encoded_runs[..]);
    (command, places)
}

/// A count as the script reads it (u16: a batch holds fewer than [`BATCH_CAP`] of anything).
fn push_u16(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes());
}

/// A count of µs as the script reads it (a signed 64-bit integer).
fn signed(micros: u64) -> i64 {
    i64::try_from(micros).unwrap_or(i64::MAX)
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
        let slot = Arc::new(Slot {
            key: redis_key,
            windows: Windows::new(windows),
            now,
            // The bound counts from now, not from the first poll.
            deadline: Instant::now() + self.timeout,
            state: AtomicU8::new(PENDING),
            wait: AtomicU64::new(0),
            waker: AtomicWaker::new(),
        });
        if let Err(e) = self.queue.try_send(Queued(Arc::clone(&slot))) {
            // Too many checks waiting already (or the runtime is gone): answer locally at once.
            let why: &dyn fmt::Display = match &e {
                mpsc::error::TrySendError::Full(_) => &"too many checks waiting for Redis",
                mpsc::error::TrySendError::Closed(_) => &"the batcher has stopped",
            };
            drop(e);
            return Acquire::Done(shared.fall_back(&slot.key, windows, now, why));
        }
        Acquire::Pending(Box::pin(Answer {
            slot,
            shared: Arc::clone(&self.shared),
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
        Queued(Arc::new(Slot {
            key: key.to_owned(),
            windows: Windows::new(windows),
            now,
            deadline: Instant::now(),
            state: AtomicU8::new(PENDING),
            wait: AtomicU64::new(0),
            waker: AtomicWaker::new(),
        }))
    }

    fn arguments(command: &redis::Cmd) -> Vec<Vec<u8>> {
        command
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(bytes) => bytes.to_vec(),
                redis::Arg::Cursor => b"<cursor>".to_vec(),
            })
            .collect()
    }

    fn text(args: &[Vec<u8>]) -> Vec<String> {
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    /// Little-endian u16s.
    fn u16s(values: &[u16]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// One window as the script reads it: id, interval (µs), burst.
    fn encoded(id: u32, interval: i64, burst: u32) -> Vec<u8> {
        [
            &id.to_le_bytes()[..],
            &interval.to_le_bytes()[..],
            &burst.to_le_bytes()[..],
        ]
        .concat()
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
    fn a_batch_names_each_key_and_window_set_once_and_joins_checks_into_runs() {
        let two = [window(0, 1, 5), window(1, 2, 7)];
        let one = [window(2, 3, 9)];
        let now = Duration::from_millis(4);
        let batch = [
            queued("a", &two, now),
            queued("b", &one, now),
            // Joins the first run: the check of `b` in between does not matter.
            queued("a", &two, now),
            // Other windows: a run of its own, which the next check joins.
            queued("a", &one, now),
            queued("a", &one, now),
        ];
        let (command, places) = batch_command("h", &batch, ClockSource::Server);
        let args = arguments(&command);
        assert_eq!(text(&args[..6]), ["EVALSHA", "h", "2", "a", "b", ""]);
        let sets = [
            u16s(&[2, 2]),
            encoded(0, 1000, 5),
            encoded(1, 2000, 7),
            u16s(&[1]),
            encoded(2, 3000, 9),
        ]
        .concat();
        assert_eq!(args[6], sets);
        // Runs: key, window set, count.
        assert_eq!(args[7], u16s(&[1, 1, 2, 2, 2, 1, 1, 2, 2]));
        assert_eq!(args.len(), 8);
        let place = |run, position| Place { run, position };
        assert_eq!(
            places,
            [
                place(0, 0),
                place(1, 0),
                place(0, 1),
                place(2, 0),
                place(2, 1)
            ]
        );

        // On the caller's clock a run also has one now.
        let later = Duration::from_millis(5);
        let batch = [
            queued("a", &two, now),
            queued("a", &two, now),
            queued("a", &two, later),
        ];
        let (command, places) = batch_command("h", &batch, ClockSource::Caller);
        let args = arguments(&command);
        assert_eq!(text(&args[..5]), ["EVALSHA", "h", "1", "a", "c"]);
        let runs = [
            u16s(&[1, 1, 2]),
            4_000i64.to_le_bytes().to_vec(),
            u16s(&[1, 1, 1]),
            5_000i64.to_le_bytes().to_vec(),
        ]
        .concat();
        assert_eq!(args[6], runs);
        assert_eq!(places, [place(0, 0), place(0, 1), place(1, 0)]);
    }

    #[test]
    fn many_keys_are_each_named_once() {
        let one = [window(0, 1, 5)];
        let now = Duration::from_millis(4);
        let names: Vec<String> = (0..20).map(|i| format!("k{i}")).collect();
        // Every key twice, the second time after all the others.
        let batch: Vec<Queued> = names
            .iter()
            .chain(&names)
            .map(|k| queued(k, &one, now))
            .collect();
        let (command, places) = batch_command("h", &batch, ClockSource::Server);
        let args = arguments(&command);
        assert_eq!(text(&args[2..3]), ["20"]);
        assert_eq!(text(&args[3..23]), names);
        let runs: Vec<u16> = (1..=20).flat_map(|k| [k, 1, 2]).collect();
        assert_eq!(args[25], u16s(&runs));
        for (i, place) in places.iter().enumerate() {
            let position = u16::from(i >= 20);
            assert_eq!(
                *place,
                Place {
                    run: i % 20,
                    position
                },
                "check {i}"
            );
        }
    }
}
