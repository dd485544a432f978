//! Capture: errors in, events queued, the request path never waits.
//!
//! [`Capturer::capture`] is a non-blocking enqueue into a bounded queue. When the queue is
//! full, the event is folded into a counter keyed by what makes it distinct (code, status,
//! method, route, message) instead; the aggregator drains those counters, so every event is
//! counted exactly even under overload, and memory stays bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::aggregate::Observation;
use crate::alert::UpstreamCounts;
use crate::clock::Clock;
use crate::event::Event;
use crate::store::minute_of;

mod captured;
mod layer;

pub(crate) use captured::Captured;

pub use layer::{AlertLayer, AlertService, ResponseFuture};

const SHARDS: usize = 16;
/// Distinct fold keys kept per shard; beyond, events fold into a per-code key.
const KEYS_PER_SHARD: usize = 256;
/// Users remembered per fold key.
const USERS_PER_KEY: usize = 64;

/// The fold key, borrowed from an event: code, status, method, route, message.
#[derive(PartialEq, Eq, Hash)]
struct FoldKey<'a> {
    code: &'a str,
    status: u16,
    method: &'a str,
    route: Option<&'a str>,
    message: &'a str,
}

impl<'a> FoldKey<'a> {
    fn of(ev: &'a Captured) -> Self {
        FoldKey {
            code: ev.code(),
            status: ev.status(),
            method: ev.method(),
            route: ev.route(),
            message: ev.message(),
        }
    }

    fn catch_all(ev: &'a Captured) -> Self {
        FoldKey {
            code: ev.code(),
            status: ev.status(),
            method: "",
            route: None,
            message: "",
        }
    }
}

struct Folded {
    /// Whether this is a per-code catch-all (its sample's other fields do not count).
    catch_all: bool,
    obs: Observation,
}

impl Folded {
    fn key(&self) -> FoldKey<'_> {
        if self.catch_all {
            FoldKey::catch_all(&self.obs.event)
        } else {
            FoldKey::of(&self.obs.event)
        }
    }
}

type Shard = HashMap<u64, Vec<Folded>>;

struct Overflow {
    shards: Vec<Mutex<Shard>>,
    dirty: AtomicBool,
    hasher: std::collections::hash_map::RandomState,
}

/// Records who the request being handled acts for; an auth extractor calls
/// [`CaptureContext::set_user`].
///
/// The capture layer keeps the user slot in its own response future and makes it current on
/// this thread while it polls the service it wraps (the way tracing spans and task-locals
/// work), so a request costs no allocation and no request extension: `set_user` called from
/// the request's handler or extractors (they run inside that poll) reaches it. Outside a
/// capture layer, or from a task the handler spawned, it records nothing.
///
/// ```
/// use errata_alert::CaptureContext;
///
/// let ctx = CaptureContext::current();
/// assert!(!ctx.set_user("u-42"), "no capture layer around this code");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct CaptureContext;

impl CaptureContext {
    /// The context of the request being handled on this thread.
    pub fn current() -> Self {
        CaptureContext
    }

    /// Records the user of this request (once: the first id recorded stays). Returns whether
    /// a capture layer is there to keep it.
    pub fn set_user(&self, id: impl AsRef<str>) -> bool {
        UserId::record(id.as_ref())
    }

    /// The user recorded for the request being handled, if any.
    pub fn user(&self) -> Option<String> {
        if SCOPE.get() != Scope::Recorded {
            return None;
        }
        RECORDED_USER.with(|slot| {
            let current = slot.take();
            let user = current.as_ref().and_then(UserId::as_str).map(str::to_owned);
            slot.set(current);
            user
        })
    }
}

/// Longest user id stored without an allocation.
const INLINE_USER: usize = 62;

/// A user id as the capture layer keeps it: short ids inline, no allocation.
#[derive(Debug, Clone, Default)]
pub(crate) enum UserId {
    /// Nobody recorded yet.
    #[default]
    Unknown,
    /// A short id.
    Inline { len: u8, bytes: [u8; INLINE_USER] },
    /// A long one.
    Heap(Box<str>),
}

/// Whether a capture layer is polling on this thread, and whether its request's user is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// No capture layer is polling.
    Outside,
    /// One is, and no user is recorded yet.
    Open,
    /// One is, and [`RECORDED_USER`] holds the user.
    Recorded,
}

std::thread_local! {
    /// The scope of the capture layer polling on this thread: one byte, set and restored
    /// around every poll.
    static SCOPE: std::cell::Cell<Scope> = const { std::cell::Cell::new(Scope::Outside) };
    /// The user of the request being polled, once [`Scope::Recorded`]: a user moves in and out
    /// only for requests that have one.
    static RECORDED_USER: std::cell::Cell<Option<UserId>> = const { std::cell::Cell::new(None) };
}

impl UserId {
    fn new(id: &str) -> Self {
        if id.len() <= INLINE_USER {
            let mut bytes = [0; INLINE_USER];
            bytes[..id.len()].copy_from_slice(id.as_bytes());
            UserId::Inline {
                len: id.len() as u8,
                bytes,
            }
        } else {
            UserId::Heap(id.into())
        }
    }

    /// The id, once recorded.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            UserId::Unknown => None,
            UserId::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)]).ok(),
            UserId::Heap(s) => Some(s),
        }
    }

    /// Records `id` in the current scope unless one is recorded; whether there is a scope.
    fn record(id: &str) -> bool {
        match SCOPE.get() {
            Scope::Outside => false,
            Scope::Open => {
                RECORDED_USER.set(Some(UserId::new(id)));
                SCOPE.set(Scope::Recorded);
                true
            }
            Scope::Recorded => true,
        }
    }

    /// Runs `f` with `slot` current on this thread, then takes it back (also on a panic).
    /// Without a user on either side, that is one byte written and restored.
    #[inline(always)]
    pub(crate) fn scope<R>(slot: &mut UserId, f: impl FnOnce() -> R) -> R {
        struct Restore<'a> {
            slot: &'a mut UserId,
            outer: Scope,
            outer_user: Option<UserId>,
        }
        impl Drop for Restore<'_> {
            #[inline(always)]
            fn drop(&mut self) {
                if SCOPE.replace(self.outer) == Scope::Recorded {
                    *self.slot = RECORDED_USER.take().unwrap_or_default();
                }
                if self.outer == Scope::Recorded {
                    RECORDED_USER.set(self.outer_user.take());
                }
            }
        }
        let carried = !matches!(slot, UserId::Unknown);
        let outer = SCOPE.replace(if carried {
            Scope::Recorded
        } else {
            Scope::Open
        });
        // The user of an outer scope (nested capture layers) steps aside while this one runs.
        let outer_user = if carried || outer == Scope::Recorded {
            RECORDED_USER.replace(carried.then(|| std::mem::take(slot)))
        } else {
            None
        };
        let _restore = Restore {
            slot,
            outer,
            outer_user,
        };
        f()
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CaptureContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        _parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(CaptureContext)
    }
}

/// Counters of the capture side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Events captured (queued plus folded).
    pub captured: u64,
    /// Events folded into counters because the queue was full.
    pub folded: u64,
}

/// The handle code uses to capture events. Cheap to clone.
#[derive(Clone)]
pub struct Capturer {
    tx: mpsc::Sender<Captured>,
    overflow: Arc<Overflow>,
    captured: Arc<AtomicU64>,
    folded: Arc<AtomicU64>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Capturer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capturer")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The aggregator's end of the capture queue.
pub(crate) struct CaptureReceiver {
    pub(crate) rx: mpsc::Receiver<Captured>,
    overflow: Arc<Overflow>,
}

impl CaptureReceiver {
    /// Takes every folded counter.
    pub(crate) fn drain_overflow(&self) -> Vec<Observation> {
        if !self.overflow.dirty.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for shard in &self.overflow.shards {
            let mut m = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.extend(m.drain().flat_map(|(_, f)| f).map(|f| f.obs));
        }
        out
    }
}

pub(crate) fn channel(capacity: usize, clock: Arc<dyn Clock>) -> (Capturer, CaptureReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let overflow = Arc::new(Overflow {
        shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        dirty: AtomicBool::new(false),
        hasher: Default::default(),
    });
    (
        Capturer {
            tx,
            overflow: overflow.clone(),
            captured: Arc::new(AtomicU64::new(0)),
            folded: Arc::new(AtomicU64::new(0)),
            clock,
        },
        CaptureReceiver { rx, overflow },
    )
}

impl Capturer {
    /// Captures an event: never blocks, never fails.
    pub fn capture(&self, event: Event) {
        self.enqueue(Captured::from(event));
    }

    /// Queues a capture, or folds it into a counter when the queue is full.
    pub(crate) fn enqueue(&self, captured: Captured) {
        self.captured.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(captured) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(c)) => self.fold(c),
            // The pipeline has stopped: nothing will read the queue any more.
            Err(mpsc::error::TrySendError::Closed(c)) => self.fold(c),
        }
    }

    /// Captures an error of non-HTTP code: `code`, `status`, a public message and the cause
    /// chain of `error` (its `Display`, then each `source()`).
    pub fn capture_error(
        &self,
        code: &str,
        status: u16,
        message: &str,
        error: &(dyn std::error::Error + 'static),
    ) {
        let mut ev = Event::new(code, status).with_message(message);
        ev.time = self.clock.now();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = cur {
            ev.cause_chain.push(e.to_string());
            cur = e.source();
        }
        self.capture(ev);
    }

    /// The time source stamping events.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Captured and folded so far.
    pub fn stats(&self) -> CaptureStats {
        CaptureStats {
            captured: self.captured.load(Ordering::Relaxed),
            folded: self.folded.load(Ordering::Relaxed),
        }
    }

    /// Events waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    fn fold(&self, ev: Captured) {
        self.folded.fetch_add(1, Ordering::Relaxed);
        let hash = self.overflow.hasher.hash_one(FoldKey::of(&ev));
        let shard = &self.overflow.shards[(hash as usize) % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
        let key = FoldKey::of(&ev);
        if let Some(f) = map
            .get_mut(&hash)
            .and_then(|b| b.iter_mut().find(|f| !f.catch_all && f.key() == key))
        {
            add(&mut f.obs, &ev);
        } else if map.len() < KEYS_PER_SHARD {
            map.entry(hash).or_default().push(Folded {
                catch_all: false,
                obs: Observation::single(ev),
            });
        } else {
            // Too many distinct messages: keep counting per code and status.
            drop(map);
            let key = FoldKey::catch_all(&ev);
            let hash = self.overflow.hasher.hash_one(&key);
            let shard = &self.overflow.shards[(hash as usize) % SHARDS];
            let mut map = shard.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(f) = map
                .get_mut(&hash)
                .and_then(|b| b.iter_mut().find(|f| f.catch_all && f.key() == key))
            {
                add(&mut f.obs, &ev);
            } else {
                let mut sample = ev.into_event();
                sample.route = None;
                sample.method = String::new();
                map.entry(hash).or_default().push(Folded {
                    catch_all: true,
                    obs: Observation::single(sample.into()),
                });
            }
        }
        self.overflow.dirty.store(true, Ordering::Release);
    }
}

/// Counts one more event into a folded observation.
fn add(o: &mut Observation, ev: &Captured) {
    o.spell_out();
    let t = ev.time();
    let minute = minute_of(t);
    o.count += 1;
    if let Some(f) = ev.forwarding() {
        UpstreamCounts::merge_into(&mut o.upstream, Some(UpstreamCounts::of(f, 1)));
    }
    o.first = o.first.min(t);
    o.last = o.last.max(t);
    if let Some(u) = ev.user() {
        if o.users.len() < USERS_PER_KEY && !o.users.iter().any(|known| known == u) {
            o.users.push(u.to_owned());
        }
    }
    match o.minutes.iter_mut().find(|(m, _)| *m == minute) {
        Some((_, n)) => *n += 1,
        None => o.minutes.push((minute, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current() -> Option<String> {
        CaptureContext::current().user()
    }

    #[test]
    fn a_user_stays_with_its_request_across_polls_and_nested_layers() {
        let ctx = CaptureContext::current();
        let (mut first, mut second, mut inner) =
            (UserId::Unknown, UserId::Unknown, UserId::Unknown);
        assert!(!ctx.set_user("nobody"), "no scope yet");
        // The first request records its user in one poll; the first id stays.
        UserId::scope(&mut first, || {
            assert_eq!(current(), None);
            assert!(ctx.set_user("u-1"));
            assert!(ctx.set_user("u-other"));
            assert_eq!(current().as_deref(), Some("u-1"));
        });
        // Another request polled on this thread in between sees none.
        UserId::scope(&mut second, || assert_eq!(current(), None));
        // The first one's next poll still has it, and a layer nested in it keeps its own.
        UserId::scope(&mut first, || {
            assert_eq!(current().as_deref(), Some("u-1"));
            UserId::scope(&mut inner, || {
                assert_eq!(current(), None);
                assert!(ctx.set_user("u-inner"));
            });
            assert_eq!(current().as_deref(), Some("u-1"));
        });
        assert_eq!(current(), None);
        assert!(!ctx.set_user("nobody"), "the scope is closed");
        assert_eq!(first.as_str(), Some("u-1"));
        assert_eq!(second.as_str(), None);
        assert_eq!(inner.as_str(), Some("u-inner"));
    }

    #[test]
    fn a_panic_inside_a_scope_closes_it() {
        let mut slot = UserId::Unknown;
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            UserId::scope(&mut slot, || {
                CaptureContext::current().set_user("u-9");
                panic!("handler panicked");
            });
        }));
        assert!(panicked.is_err());
        assert_eq!(slot.as_str(), Some("u-9"));
        assert_eq!(current(), None);
        assert!(!CaptureContext::current().set_user("nobody"));
    }
}
