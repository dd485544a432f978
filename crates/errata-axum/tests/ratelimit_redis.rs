//! The Redis rate store against the real Redis on 127.0.0.1:6379 (a key prefix per test) and
//! against redis-server processes the tests start and stop: the same answers as the memory
//! store, one limit across several instances, a fallback within the timeout when Redis is gone
//! or silent, and the way back when it returns.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use errata::Renderer;
use errata_axum::ratelimit::{
    Clock, ManualClock, MemoryStore, RateLimitLayer, RateStore, RedisStore, Rule, Window,
};
use errata_axum::ErrataLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

const REDIS: &str = "redis://127.0.0.1:6379/";

/// The bound of the tests about sharing: generous, so that a loaded machine never sends them to
/// the fallback (the fallback has tests of its own, with the 50 ms default).
const SHARING: Duration = Duration::from_secs(5);

/// A prefix no other test (or run) uses.
fn prefix(test: &str) -> String {
    static RUN: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "errata-test:{}:{nanos}:{}:{test}:",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    )
}

/// A store on the shared Redis with the callers' clock, its keys under `prefix`.
fn shared(prefix: &str) -> RedisStore {
    RedisStore::new(REDIS)
        .unwrap()
        .timeout(SHARING)
        .key_prefix(prefix)
        .caller_clock()
}

/// A store on the shared Redis, waited for until it is connected.
async fn connected(store: RedisStore) -> RedisStore {
    let windows = [window("1000/s", 0)];
    for _ in 0..600 {
        // The first acquire starts the connector.
        let _ = store
            .acquire("warm-up", &windows, Duration::ZERO)
            .outcome()
            .await;
        if store.is_connected() {
            return store;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no connection to Redis: {store:?}");
}

fn window(rate: &str, id: usize) -> Window {
    let rule = Rule::parse(rate).unwrap();
    Window {
        id,
        interval: rule.period() / rule.count(),
        burst: rule.count(),
    }
}

/// One scripted client against a store: the answer of every step.
async fn script(store: &dyn RateStore, clock: &ManualClock) -> Vec<Result<(), Duration>> {
    let short = [window("2/min", 0), window("3/h", 1)];
    let burst = [window("3/min", 2)];
    let mut answers = Vec::new();
    let mut ask = |a: Result<(), Duration>| answers.push(a);
    let base = Duration::from_secs(1_000);
    clock.advance(base);
    // The burst is the count, then one slot per interval.
    for _ in 0..4 {
        ask(store.acquire("b", &burst, clock.now()).outcome().await);
    }
    clock.advance(Duration::from_secs(19));
    ask(store.acquire("b", &burst, clock.now()).outcome().await);
    clock.advance(Duration::from_secs(1));
    ask(store.acquire("b", &burst, clock.now()).outcome().await);
    // Two windows: refused requests take no slot in either, the wait is the longest.
    for _ in 0..6 {
        ask(store.acquire("two", &short, clock.now()).outcome().await);
    }
    for _ in 0..4 {
        clock.advance(Duration::from_secs(30));
        ask(store.acquire("two", &short, clock.now()).outcome().await);
        ask(store.acquire("two", &short, clock.now()).outcome().await);
    }
    // Another key is not affected.
    ask(store.acquire("other", &short, clock.now()).outcome().await);
    answers
}

#[tokio::test]
async fn redis_answers_exactly_what_the_memory_store_answers() {
    let memory_clock = ManualClock::new();
    let memory = script(&MemoryStore::new(), &memory_clock).await;
    let redis_clock = ManualClock::new();
    let store = connected(shared(&prefix("same"))).await;
    let warm_up = store.fallbacks();
    let redis = script(&store, &redis_clock).await;
    assert_eq!(store.fallbacks(), warm_up, "{store:?}");
    assert_eq!(redis, memory);
    // And the answers are the limiter's semantics, not just equal.
    let s = |n| Err(Duration::from_secs(n));
    assert_eq!(memory[..6], [Ok(()), Ok(()), Ok(()), s(20), s(1), Ok(())]);
    assert_eq!(memory[6..12], [Ok(()), Ok(()), s(30), s(30), s(30), s(30)]);
    // 30 s later one slot of the minute window is back and the third of the hour (3/h, one
    // back every 20 min) is taken; then the hour window binds: 20 min after the first.
    assert_eq!(memory[12..14], [Ok(()), s(1170)]);
    assert_eq!(
        memory[14..20],
        [s(1140), s(1140), s(1110), s(1110), s(1080), s(1080)]
    );
    assert_eq!(memory.last(), Some(&Ok(())));
}

#[tokio::test]
async fn a_refused_request_changes_nothing_in_redis() {
    let prefix = prefix("refused");
    let store = connected(shared(&prefix)).await;
    let windows = [window("1/min", 0), window("5/h", 1)];
    let now = Duration::from_secs(5_000);
    assert_eq!(store.acquire("k", &windows, now).outcome().await, Ok(()));
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}k");
    let before: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(before.len(), 2, "{before:?}");
    for _ in 0..5 {
        assert_eq!(
            store.acquire("k", &windows, now).outcome().await,
            Err(Duration::from_secs(60))
        );
    }
    let after: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(after, before);
    // The key expires when every window is full again (the hour window: 12 min here).
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 12 * 60 * 1000, "{ttl}");
}

#[tokio::test]
async fn sixty_a_minute_across_three_instances_is_sixty_a_minute() {
    let prefix = prefix("fleet");
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(10_000));
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(connected(shared(&prefix)).await);
    }
    let warm_up: Vec<u64> = stores.iter().map(RedisStore::fallbacks).collect();
    let windows = [window("60/min", 0)];
    for minute in 0..3 {
        let mut admitted = 0;
        for i in 0..150 {
            let store = &stores[i % 3];
            if store
                .acquire("ip:203.0.113.5", &windows, clock.now())
                .outcome()
                .await
                .is_ok()
            {
                admitted += 1;
            }
        }
        assert_eq!(admitted, 60, "minute {minute}");
        clock.advance(Duration::from_secs(60));
    }
    let now: Vec<u64> = stores.iter().map(RedisStore::fallbacks).collect();
    assert_eq!(now, warm_up);
}

fn app(limits: RateLimitLayer) -> Router {
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    Router::new()
        .route("/r", get(|| async { "ok" }))
        .layer(limits)
        .layer(ErrataLayer::new(renderer))
}

async fn call(app: &Router, ip: &str) -> (StatusCode, Option<u64>) {
    let mut req = Request::get("/r").body(Body::empty()).unwrap();
    let addr: SocketAddr = format!("{ip}:5555").parse().unwrap();
    req.extensions_mut().insert(ConnectInfo(addr));
    // Generous: the store's own bound is 50 ms; this only keeps a hang from hanging the suite.
    let res = tokio::time::timeout(Duration::from_secs(30), app.clone().oneshot(req))
        .await
        .expect("the request did not finish")
        .unwrap();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (res.status(), retry_after)
}

#[tokio::test]
async fn three_layers_on_the_server_clock_share_one_limit_over_http() {
    let prefix = prefix("http");
    let mut apps = Vec::new();
    let mut stores = Vec::new();
    for _ in 0..3 {
        let store = Arc::new(
            connected(
                RedisStore::new(REDIS)
                    .unwrap()
                    .timeout(SHARING)
                    .key_prefix(&prefix),
            )
            .await,
        );
        stores.push(Arc::clone(&store));
        apps.push(app(
            RateLimitLayer::new([Rule::parse("60/min").unwrap()]).store(store)
        ));
    }
    let warm_up: Vec<u64> = stores.iter().map(|s| s.fallbacks()).collect();
    let started = std::time::Instant::now();
    let mut admitted = 0u64;
    let mut retry_afters = Vec::new();
    for i in 0..120 {
        match call(&apps[i % 3], "198.51.100.20").await {
            (StatusCode::OK, _) => admitted += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(wait)) => retry_afters.push(wait),
            other => panic!("{other:?}"),
        }
    }
    // GCRA on the server's clock: the burst of 60, plus one slot per second that passed.
    let elapsed = started.elapsed().as_secs();
    assert!(
        (60..=61 + elapsed).contains(&admitted),
        "{admitted} admitted in {elapsed} s"
    );
    assert!(retry_afters.iter().all(|w| *w == 1), "{retry_afters:?}");
    let now: Vec<u64> = stores.iter().map(|s| s.fallbacks()).collect();
    assert_eq!(now, warm_up);
}

/// A port where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

async fn requests_keep_their_status_on_the_local_store(store: Arc<RedisStore>) {
    let app = app(RateLimitLayer::new([Rule::parse("3/min").unwrap()]).store(store.clone()));
    let before = store.fallbacks();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(call(&app, "192.0.2.44").await);
    }
    assert_eq!(
        statuses,
        [
            (StatusCode::OK, None),
            (StatusCode::OK, None),
            (StatusCode::OK, None),
            (StatusCode::TOO_MANY_REQUESTS, Some(20)),
            (StatusCode::TOO_MANY_REQUESTS, Some(20)),
        ]
    );
    assert_eq!(store.fallbacks() - before, 5, "{store:?}");
}

#[tokio::test]
async fn nothing_listening_falls_back_to_the_local_store() {
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let store = Arc::new(
        RedisStore::new(&url)
            .unwrap()
            .timeout(Duration::from_millis(50)),
    );
    requests_keep_their_status_on_the_local_store(Arc::clone(&store)).await;
    assert!(!store.is_connected());
}

/// Accepts connections, reads what they send and never answers.
async fn silent_server() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let read = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&read);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counted = Arc::clone(&counted);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    counted.fetch_add(n as u64, Ordering::Relaxed);
                }
            });
        }
    });
    (port, read)
}

#[tokio::test]
async fn a_server_that_never_answers_falls_back_to_the_local_store() {
    let (port, read) = silent_server().await;
    let url = format!("redis://127.0.0.1:{port}/");
    let store = Arc::new(
        RedisStore::new(&url)
            .unwrap()
            .timeout(Duration::from_millis(50)),
    );
    requests_keep_their_status_on_the_local_store(Arc::clone(&store)).await;
    // The connector did reach it (and is left waiting for an answer).
    for _ in 0..200 {
        if read.load(Ordering::Relaxed) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(read.load(Ordering::Relaxed) > 0);
}

/// Forwards to the shared Redis; while `silent`, swallows Redis' answers.
async fn muting_proxy(silent: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let silent = Arc::clone(&silent);
            tokio::spawn(async move {
                let Ok(upstream) = TcpStream::connect("127.0.0.1:6379").await else {
                    return;
                };
                let (mut client_r, mut client_w) = client.into_split();
                let (mut up_r, mut up_w) = upstream.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_r, &mut up_w).await;
                });
                let mut buf = [0u8; 4096];
                while let Ok(n) = up_r.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if !silent.load(Ordering::Relaxed)
                        && client_w.write_all(&buf[..n]).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn redis_going_silent_mid_run_falls_back_within_the_timeout() {
    let silent = Arc::new(AtomicBool::new(false));
    let port = muting_proxy(Arc::clone(&silent)).await;
    let url = format!("redis://127.0.0.1:{port}/");
    let store = Arc::new(
        connected(
            RedisStore::new(&url)
                .unwrap()
                .key_prefix(prefix("silent"))
                // Long enough that the answered requests before the silence never time out on
                // a loaded machine; each silent one waits at most this.
                .timeout(Duration::from_millis(500)),
        )
        .await,
    );
    let app = app(RateLimitLayer::new([Rule::parse("1000/min").unwrap()]).store(store.clone()));
    let warm_up = store.fallbacks();
    for _ in 0..5 {
        assert_eq!(call(&app, "192.0.2.50").await.0, StatusCode::OK);
    }
    assert_eq!(store.fallbacks(), warm_up);
    silent.store(true, Ordering::Relaxed);
    for _ in 0..20 {
        assert_eq!(call(&app, "192.0.2.50").await.0, StatusCode::OK);
    }
    assert_eq!(store.fallbacks() - warm_up, 20, "{store:?}");
}

/// A redis-server of the test's own on `port`.
fn start_redis(port: u16) -> Child {
    Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--bind")
        .arg("127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server")
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Calls until one request is answered by Redis (the fallback count stays put).
async fn until_answered_by_redis(app: &Router, store: &RedisStore) -> bool {
    for _ in 0..600 {
        let before = store.fallbacks();
        assert_eq!(call(app, "192.0.2.60").await.0, StatusCode::OK);
        if store.fallbacks() == before {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn the_store_comes_back_to_redis_after_a_restart() {
    let port = closed_port();
    let mut server = start_redis(port);
    let url = format!("redis://127.0.0.1:{port}/");
    let store = Arc::new(
        RedisStore::new(&url)
            .unwrap()
            .timeout(Duration::from_millis(50)),
    );
    let app = app(RateLimitLayer::new([Rule::parse("100000/min").unwrap()]).store(store.clone()));
    assert!(until_answered_by_redis(&app, &store).await, "{store:?}");
    let key_count = |port: u16| async move {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("DBSIZE")
            .query_async::<u64>(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(key_count(port).await, 1);

    stop(server);
    let before = store.fallbacks();
    for _ in 0..10 {
        assert_eq!(call(&app, "192.0.2.60").await.0, StatusCode::OK);
    }
    assert_eq!(store.fallbacks() - before, 10, "{store:?}");

    server = start_redis(port);
    assert!(until_answered_by_redis(&app, &store).await, "{store:?}");
    // The new server (empty at start) holds the client's key again.
    assert_eq!(key_count(port).await, 1);
    stop(server);
}

/// Asks every check of `sequence` before awaiting any (so that they are pending together, as
/// under load), moving the clock to each check's time; answers in the sequence's order.
async fn all_at_once(
    store: &dyn RateStore,
    clock: &ManualClock,
    sequence: &[(&str, &[Window], Duration)],
) -> Vec<Result<(), Duration>> {
    let mut pending = Vec::with_capacity(sequence.len());
    for (key, windows, advance) in sequence {
        clock.advance(*advance);
        pending.push(store.acquire(key, windows, clock.now()).outcome());
    }
    tokio::time::timeout(
        Duration::from_secs(60),
        futures_util::future::join_all(pending),
    )
    .await
    .expect("the checks did not finish")
}

/// The same sequence one check at a time against a memory store.
async fn one_by_one(sequence: &[(&str, &[Window], Duration)]) -> Vec<Result<(), Duration>> {
    let store = MemoryStore::new();
    let clock = ManualClock::new();
    let mut answers = Vec::with_capacity(sequence.len());
    for (key, windows, advance) in sequence {
        clock.advance(*advance);
        answers.push(store.acquire(key, windows, clock.now()).outcome().await);
    }
    answers
}

#[tokio::test]
async fn concurrent_checks_on_one_key_share_script_calls_and_answer_like_the_memory_store() {
    for in_flight in [1, 4] {
        concurrent_checks_on_one_key(in_flight).await;
    }
}

async fn concurrent_checks_on_one_key(in_flight: usize) {
    let store = connected(shared(&prefix("batched")).batches_in_flight(in_flight)).await;
    let windows = [window("50/min", 0), window("120/h", 1)];
    let mut sequence: Vec<(&str, &[Window], Duration)> = Vec::new();
    // 200 at one instant, then 400 more, the clock moving one second every seven.
    sequence.push(("one", &windows, Duration::from_secs(1_000)));
    for _ in 1..200 {
        sequence.push(("one", &windows, Duration::ZERO));
    }
    for i in 0..400 {
        let advance = if i % 7 == 0 { 1 } else { 0 };
        sequence.push(("one", &windows, Duration::from_secs(advance)));
    }
    let warm_up = (store.fallbacks(), store.script_calls());
    let redis = all_at_once(&store, &ManualClock::new(), &sequence).await;
    let calls = store.script_calls() - warm_up.1;
    assert_eq!(store.fallbacks(), warm_up.0, "{store:?}");
    assert_eq!(redis, one_by_one(&sequence).await);
    // The limit exactly, then the wait until the minute window gives one back (1.2 s: a
    // Retry-After of 2).
    assert!(redis[..50].iter().all(Result::is_ok));
    assert!(
        redis[50..200]
            .iter()
            .all(|a| *a == Err(Duration::from_millis(1_200))),
        "{:?}",
        &redis[50..200]
    );
    // 58 seconds pass in the rest: 48 more slots of the minute window, one per 1.2 s (the hour
    // window, 120, is not reached).
    let admitted = redis.iter().filter(|a| a.is_ok()).count();
    assert_eq!(admitted, 50 + 48);
    // Pending together, they went in batches: far fewer script calls than checks.
    let batches = sequence.len().div_ceil(errata_axum::ratelimit::BATCH_CAP) as u64;
    assert!(
        (1..=batches + 1).contains(&calls),
        "{calls} script calls for {} checks",
        sequence.len()
    );
}

#[tokio::test]
async fn a_batch_of_several_keys_and_windows_answers_like_the_memory_store() {
    let prefix = prefix("mixed");
    let store = connected(shared(&prefix)).await;
    let two = [window("3/min", 0), window("5/h", 1)];
    let fast = [window("2/s", 2)];
    let short = [window("3/min", 0)];
    let three = [window("3/min", 0), window("5/h", 1), window("2/s", 2)];
    let mut sequence: Vec<(&str, &[Window], Duration)> = Vec::new();
    for i in 0..300u64 {
        let advance = Duration::from_millis(if i % 5 == 0 { 700 } else { 0 });
        let check: (&str, &[Window]) = match i % 6 {
            0 | 3 => ("a", &two),
            1 => ("b", &fast),
            // One key with window sets that differ from check to check.
            2 => ("c", &short),
            4 => ("c", &three),
            _ => ("d", &fast),
        };
        sequence.push((check.0, check.1, advance));
    }
    let warm_up = (store.fallbacks(), store.script_calls());
    let redis = all_at_once(&store, &ManualClock::new(), &sequence).await;
    let calls = store.script_calls() - warm_up.1;
    assert_eq!(store.fallbacks(), warm_up.0, "{store:?}");
    let memory = one_by_one(&sequence).await;
    assert_eq!(redis, memory);
    assert!(redis.iter().any(Result::is_ok) && redis.iter().any(Result::is_err));
    let batches = sequence.len().div_ceil(errata_axum::ratelimit::BATCH_CAP) as u64;
    assert!((1..=batches + 1).contains(&calls), "{calls} script calls");
    // Every key is in Redis with the fields of the windows it was charged, set to expire.
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for (key, fields) in [("a", 2), ("b", 1), ("c", 3), ("d", 1)] {
        let key = format!("{prefix}{key}");
        let stored: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(stored.len(), fields, "{key}: {stored:?}");
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0, "{key}: {ttl}");
        // `c` was checked with and without its hour window (one slot back every 12 min): the
        // key lives as long as its longest window needs, not the minute window of its last check.
        if key.ends_with('c') {
            assert!(ttl > 60_000, "{key}: {ttl}");
        }
    }
}

/// Sends `signal` (`STOP`, `CONT`) to a process.
fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// `count` checks of one key at one instant, pending together; answers sorted (admitted first,
/// then the refusals).
async fn pending_together(
    store: &RedisStore,
    key: &str,
    count: usize,
) -> Vec<Result<(), Duration>> {
    let windows = [window("100/min", 0)];
    let now = Duration::from_secs(50_000);
    let pending: Vec<_> = (0..count)
        .map(|_| store.acquire(key, &windows, now).outcome())
        .collect();
    sorted(
        tokio::time::timeout(
            Duration::from_secs(60),
            futures_util::future::join_all(pending),
        )
        .await
        .expect("a request hung"),
    )
}

fn sorted(mut answers: Vec<Result<(), Duration>>) -> Vec<Result<(), Duration>> {
    answers.sort();
    answers
}

#[tokio::test]
async fn every_request_of_a_batch_falls_back_when_redis_is_silent_or_killed() {
    let port = closed_port();
    let server = start_redis(port);
    let store = connected(
        RedisStore::new(&format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .caller_clock()
            // Redis is tried again at once: every batch below is sent.
            .retry_every(Duration::ZERO)
            .timeout(Duration::from_millis(1_000)),
    )
    .await;
    // Answered by Redis once (the script is loaded).
    let windows = [window("100/min", 0)];
    for _ in 0..600 {
        let before = store.fallbacks();
        let _ = store
            .acquire("ready", &windows, Duration::ZERO)
            .outcome()
            .await;
        if store.fallbacks() == before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let expected = |count: usize| {
        let memory = MemoryStore::new();
        sorted(
            (0..count)
                .map(|_| memory.try_acquire("k", &windows, Duration::from_secs(50_000)))
                .collect(),
        )
    };

    // Silent: every request waits its timeout, then the local store answers it.
    signal(&server, "STOP");
    let before = store.fallbacks();
    assert_eq!(pending_together(&store, "silent", 150).await, expected(150));
    assert_eq!(store.fallbacks() - before, 150, "{store:?}");
    signal(&server, "CONT");

    // Killed while a batch is on its way: that batch and those queued behind it fall back.
    signal(&server, "STOP");
    let before = (store.fallbacks(), store.script_calls());
    let windows = [window("100/min", 0)];
    let now = Duration::from_secs(50_000);
    let pending: Vec<_> = (0..300)
        .map(|_| store.acquire("killed", &windows, now).outcome())
        .collect();
    let answers = tokio::spawn(async move {
        tokio::time::timeout(
            Duration::from_secs(60),
            futures_util::future::join_all(pending),
        )
        .await
        .expect("a request hung")
    });
    for _ in 0..600 {
        if store.script_calls() > before.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(store.script_calls() > before.1, "{store:?}");
    stop(server);
    assert_eq!(sorted(answers.await.unwrap()), expected(300));
    assert_eq!(store.fallbacks() - before.0, 300, "{store:?}");
}
