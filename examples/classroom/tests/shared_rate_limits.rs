//! `REDIS_URL`: replicas on one Redis share one rate limit; with Redis unreachable every
//! replica still answers, counting on its own.

mod common;

use common::*;

/// A key prefix of this test run alone (the shared Redis on 127.0.0.1:6379).
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("classroom-test:{}:{nanos}:{test}:", std::process::id())
}

#[tokio::test]
async fn three_replicas_on_one_redis_admit_the_limit_once() {
    let prefix = prefix("three");
    let a = spawn_with(&[
        ("REDIS_URL", "redis://127.0.0.1:6379/"),
        ("CLASSROOM_RATE_REDIS_PREFIX", &prefix),
        // Generous, so that a loaded machine never sends a request to the local fallback.
        ("CLASSROOM_RATE_REDIS_TIMEOUT_MS", "5000"),
        // One slot back every 6 minutes: the test is over long before.
        ("CLASSROOM_RATE_BURST", "10/h"),
    ])
    .await;
    let b = a.replica().await;
    let c = a.replica().await;
    let replicas = [&a, &b, &c];
    let mut admitted = 0;
    let mut refused = 0;
    for i in 0..30 {
        let r = replicas[i % 3].get("/v1/lectures").send().await;
        if r.status.as_u16() == 429 {
            let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=360).contains(&wait), "{wait}");
            r.err(c::RATE_LIMIT_EXCEEDED);
            refused += 1;
        } else {
            admitted += 1;
        }
    }
    assert_eq!((admitted, refused), (10, 20));
    // All of it was counted in Redis: no replica answered on its own counts.
    for r in replicas {
        let store = r
            .shared_rate_limits
            .as_ref()
            .expect("REDIS_URL selects the Redis store");
        assert!(store.is_connected(), "{store:?}");
        assert_eq!(store.fallbacks(), 0, "{store:?}");
    }
}

#[tokio::test]
async fn with_redis_unreachable_each_replica_limits_on_its_own() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}/");
    let a = spawn_with(&[
        ("REDIS_URL", &url),
        ("CLASSROOM_RATE_REDIS_PREFIX", &prefix("down")),
        ("CLASSROOM_RATE_BURST", "3/h"),
    ])
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(a.get("/v1/lectures").send().await.status.as_u16());
    }
    // The limit still holds, per replica; no request failed for lack of Redis.
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s != 500 && *s != 503),
        "{statuses:?}"
    );
    let store = a.shared_rate_limits.as_ref().unwrap();
    assert_eq!(store.fallbacks(), 5, "{store:?}");
}
