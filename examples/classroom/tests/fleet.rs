//! Three classroom processes sharing one PostgreSQL database and one PostgreSQL errata store
//! behave as one node: a Kakao outage hit round-robin over them, by clients in two locales,
//! gives what one replica would send — one alert per group across the fleet, digests whose
//! counts add up to the errors the fleet answered, and Slack paced to 1 message/s fleet-wide;
//! with `REDIS_URL`, a 60/min limit admits 60 across the fleet, not 60 per replica.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`, trust) and Redis on 127.0.0.1:6379; the
//! test creates two databases (prefix `classroom_fleet_`) and drops them, and keeps its rate
//! limits under a Redis key prefix of its own.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use common::{listen, webhook_receiver};
use serde_json::Value;
use tokio::time::Instant;

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database of its own, dropped at the end (even when the test fails).
struct Db(String);

impl Db {
    async fn create(what: &str) -> Db {
        let name = format!("classroom_fleet_{what}_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(ADMIN)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        Db(name)
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.0)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(ADMIN).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                }
            });
        })
        .join();
    }
}

/// What the Slack stand-in saw.
#[derive(Default)]
struct SlackSeen {
    accepted: Vec<Value>,
    last: Option<Instant>,
    rate_limited: u32,
}

/// Slack's incoming webhook as far as limits go: 1 message/s, `429` with `Retry-After` beyond
/// (with 50 ms of tolerance for clock jitter).
async fn slack(seen: Arc<Mutex<SlackSeen>>) -> String {
    listen(Router::new().route(
        "/hook",
        post(move |body: String| {
            let seen = Arc::clone(&seen);
            async move {
                let mut s = seen.lock().unwrap();
                let now = Instant::now();
                if s.last
                    .is_some_and(|l| now.duration_since(l) < Duration::from_millis(950))
                {
                    s.rate_limited += 1;
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1")],
                        "rate_limited",
                    )
                        .into_response();
                }
                s.last = Some(now);
                s.accepted
                    .push(serde_json::from_str(&body).unwrap_or(Value::Null));
                "ok".into_response()
            }
        }),
    ))
    .await
}

/// Kakao in an outage.
async fn kakao_down() -> String {
    listen(Router::new().route(
        "/v1/api/talk/channels",
        get(|| async {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "<html>internal error</html>",
            )
        }),
    ))
    .await
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A classroom process; killed (SIGKILL) if the test ends without stopping it.
struct Replica {
    child: Child,
    base: String,
}

impl Replica {
    fn spawn(env: &[(&str, String)]) -> Replica {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_classroom"));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CLASSROOM_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Replica {
            child: cmd.spawn().expect("the classroom binary"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    async fn ready(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(r) = client.get(format!("{}/health", self.base)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "a replica exited at start-up"
            );
            assert!(Instant::now() < deadline, "a replica did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then waits for a clean exit.
    async fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(Instant::now() < deadline, "a replica did not stop");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a storm produced.
#[derive(Debug)]
struct Outcome {
    answered: u64,
    /// Webhook alerts of the outage's code.
    alerts: Vec<Value>,
    slack_messages: usize,
    slack_rate_limited: u32,
    /// The rate-limit burst: (admitted, refused, seconds it took) of requests by one user.
    burst: (u64, u64, u64),
}

/// The burst limit every replica is started with (`CLASSROOM_RATE_BURST`).
const BURST_PER_MINUTE: u64 = 60;

/// Starts `n` replicas on fresh databases, hits them round-robin with a Kakao outage from
/// clients in two locales, waits until the notices carry every answered error, stops them.
async fn storm(n: usize) -> Outcome {
    let service_db = Db::create("service").await;
    let store_db = Db::create("errata").await;
    let kakao = kakao_down().await;
    let slack_seen = Arc::new(Mutex::new(SlackSeen::default()));
    let slack_url = slack(Arc::clone(&slack_seen)).await;
    let received = Arc::new(Mutex::new(Vec::new()));
    let hook = webhook_receiver("/alerts", Arc::clone(&received)).await;
    let env: Vec<(&str, String)> = vec![
        ("DATABASE_URL", service_db.url()),
        ("JWT_SECRET", "fleet-test-secret-0123456789abcdef".into()),
        ("KAKAO_API_BASE", kakao),
        ("KAKAO_TIMEOUT_MS", "2000".into()),
        ("CLASSROOM_RATE_ANON", "off".into()),
        ("CLASSROOM_RATE_USER", "off".into()),
        // One budget for the whole fleet, counted in Redis (generous timeout: a loaded machine
        // must not send a request to a replica's local fallback).
        ("CLASSROOM_RATE_BURST", format!("{BURST_PER_MINUTE}/min")),
        ("REDIS_URL", "redis://127.0.0.1:6379/".into()),
        ("CLASSROOM_RATE_REDIS_PREFIX", redis_prefix(n)),
        ("CLASSROOM_RATE_REDIS_TIMEOUT_MS", "5000".into()),
        ("CLASSROOM_HASH_CONCURRENCY", "1".into()),
        ("ERRATA_STORE", store_db.url()),
        ("ERRATA_CONSOLE", "off".into()),
        ("ERRATA_SLACK_WEBHOOK_URL", format!("{slack_url}/hook")),
        ("ERRATA_WEBHOOK_URL", format!("{hook}/alerts")),
        ("ERRATA_WEBHOOK_SECRET", "fleet-hook-secret".into()),
        ("ERRATA_GROUP_WAIT", "1s".into()),
        ("ERRATA_GROUP_INTERVAL", "3s".into()),
        ("RUST_LOG", "warn".into()),
    ];
    let client = reqwest::Client::new();
    // The first one migrates the shared database; the others find it migrated.
    let mut first = Replica::spawn(&env);
    first.ready(&client).await;
    let mut replicas = vec![first];
    for _ in 1..n {
        let mut r = Replica::spawn(&env);
        r.ready(&client).await;
        replicas.push(r);
    }

    let signup = |name: &'static str| {
        let (client, base) = (client.clone(), replicas[0].base.clone());
        async move {
            let body: Value = client
                .post(format!("{base}/v1/auth/signup"))
                .json(&serde_json::json!({"email": format!("{name}@example.com"), "password": "correct-horse", "name": name}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["access"].as_str().expect("a token").to_owned()
        }
    };
    // Two users share the storm, each within the burst limit.
    let tokens = [signup("kim").await, signup("lee").await];

    // The storm: 120 calls in four bursts over ~4 s, round-robin over the replicas, clients
    // in Korean and in English.
    let mut answered = 0u64;
    for i in 0..120 {
        let r = &replicas[i % n];
        let lang = if (i / 3) % 2 == 0 { "ko" } else { "en" };
        let resp = client
            .get(format!("{}/v1/user/kakao-channel-added", r.base))
            .bearer_auth(&tokens[(i / 2) % 2])
            .header("x-kakao-token", "kakao-user-token")
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 502);
        answered += 1;
        if i % 30 == 29 {
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    }

    // Wait (generously) until the notices carry every answered error.
    let outage = |v: &Vec<Value>| -> Vec<Value> {
        v.iter()
            .filter(|a| a["code"] == "UPSTREAM_ERROR")
            .cloned()
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let counted: u64 = outage(&received.lock().unwrap())
            .iter()
            .map(|a| a["count"].as_u64().unwrap_or(0))
            .sum();
        if counted >= answered {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{counted} of {answered} errors notified"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Slack is paced: let it catch up with the webhook, then stop every replica cleanly.
    let deadline = Instant::now() + Duration::from_secs(120);
    while slack_seen.lock().unwrap().accepted.len() < received.lock().unwrap().len() {
        assert!(
            Instant::now() < deadline,
            "Slack did not receive every notice"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The rate limit: a third user asks three times the burst, round-robin over the replicas.
    let token = signup("park").await;
    let started = Instant::now();
    let (mut admitted, mut refused) = (0, 0);
    for i in 0..3 * BURST_PER_MINUTE as usize {
        let resp = client
            .get(format!("{}/v1/lectures", replicas[i % n].base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        match resp.status().as_u16() {
            200 => admitted += 1,
            429 => {
                let body: Value = resp.json().await.unwrap();
                assert_eq!(body["error"]["code"], "RATE_LIMIT_EXCEEDED", "{body}");
                refused += 1;
            }
            other => panic!("GET /v1/lectures answered {other}"),
        }
    }
    let burst = (admitted, refused, started.elapsed().as_secs());

    for r in replicas {
        r.stop().await;
    }
    let all = serde_json::to_string(&*received.lock().unwrap()).unwrap();
    assert!(!all.contains("kakao-user-token") && tokens.iter().all(|t| !all.contains(t)));
    let alerts = outage(&received.lock().unwrap());
    let seen = slack_seen.lock().unwrap();
    assert_eq!(
        seen.accepted.len(),
        received.lock().unwrap().len(),
        "Slack got each notice once"
    );
    Outcome {
        answered,
        alerts,
        slack_messages: seen.accepted.len(),
        slack_rate_limited: seen.rate_limited,
        burst,
    }
}

/// A Redis key prefix of this run alone (the shared Redis on 127.0.0.1:6379).
fn redis_prefix(replicas: usize) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("classroom-fleet:{}:{nanos}:{replicas}:", std::process::id())
}

/// Checks what one node promises, on a storm's outcome; returns (groups, digests).
fn one_node_promises(o: &Outcome) -> (usize, usize) {
    let counted: u64 = o.alerts.iter().map(|a| a["count"].as_u64().unwrap()).sum();
    assert_eq!(
        counted, o.answered,
        "the counts add up to the errors answered: {:#?}",
        o.alerts
    );
    let mut notices: HashMap<String, Vec<u64>> = HashMap::new();
    for a in &o.alerts {
        notices
            .entry(a["fingerprint"].as_str().unwrap().to_owned())
            .or_default()
            .push(a["notice"].as_u64().unwrap());
    }
    let groups: HashSet<&String> = notices.keys().collect();
    assert_eq!(
        groups.len(),
        1,
        "one group per problem, whatever the client's locale: {:#?}",
        o.alerts
    );
    let news = o.alerts.iter().filter(|a| a["kind"] == "new").count();
    assert_eq!(news, groups.len(), "one alert per group");
    for (fp, mut n) in notices.clone() {
        n.sort_unstable();
        assert_eq!(
            n,
            (1..=n.len() as u64).collect::<Vec<_>>(),
            "{fp}: each notice once"
        );
    }
    assert_eq!(o.slack_rate_limited, 0, "1 message/s to Slack");
    // GCRA: the whole burst at once, then one more per second; three replicas counting on
    // their own would admit three bursts.
    let (admitted, refused, secs) = o.burst;
    assert!(
        (BURST_PER_MINUTE..=BURST_PER_MINUTE + secs + 1).contains(&admitted),
        "{admitted} admitted, {refused} refused in {secs} s: one budget of {BURST_PER_MINUTE}/min"
    );
    assert_eq!(admitted + refused, 3 * BURST_PER_MINUTE);
    (groups.len(), o.alerts.len() - news)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_alert_as_one_node() {
    let one = storm(1).await;
    let (one_groups, one_digests) = one_node_promises(&one);
    let fleet = storm(3).await;
    let (fleet_groups, fleet_digests) = one_node_promises(&fleet);
    eprintln!(
        "one node: {} errors, {} groups, {} notices ({} digests), {} Slack messages, \
         burst {:?}; three replicas: {} errors, {} groups, {} notices ({} digests), \
         {} Slack messages, burst {:?} (admitted, refused, seconds)",
        one.answered,
        one_groups,
        one.alerts.len(),
        one_digests,
        one.slack_messages,
        one.burst,
        fleet.answered,
        fleet_groups,
        fleet.alerts.len(),
        fleet_digests,
        fleet.slack_messages,
        fleet.burst
    );
    assert_eq!(fleet_groups, one_groups, "the same groups as one node");
    // Digests follow group_interval: the same storm gives the same number, give or take the
    // one whose window straddles a burst on a loaded machine.
    assert!(
        fleet_digests.abs_diff(one_digests) <= fleet_groups,
        "digests: {fleet_digests} over the fleet, {one_digests} on one node"
    );
}
