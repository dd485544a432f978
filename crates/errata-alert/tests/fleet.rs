//! Fleet mode on a real PostgreSQL (127.0.0.1:5432): replicas sharing one store behave as one
//! node. Each replica runs on its own runtime in its own thread, so that it can be stopped
//! the way `kill -9` stops a process: its runtime is dropped, nothing is flushed.
//!
//! Each test creates its own database (prefix `errata_fleet_`) and drops it.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use errata_alert::sink::SlackSink;
use errata_alert::{
    Alert, AlertKind, AlertPolicy, Alerting, Capturer, Config, DeliveryOptions, Event, SpikeRule,
    Timing,
};
use support::pg_server::PgServer;
use support::{fast_delivery, slack_code, slack_count, Fake, Recorder, Reply};

/// The machine's PostgreSQL server.
const SHARED_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A database of its own, dropped when the test ends (even when it fails).
struct Db {
    /// `postgres://user@host:port` of its server.
    server: String,
    name: String,
}

impl Db {
    async fn create() -> Db {
        Db::create_on(SHARED_SERVER).await
    }

    async fn create_on(server: &str) -> Db {
        let name = format!("errata_fleet_{}", uuid::Uuid::new_v4().simple());
        let db = Db {
            server: server.to_owned(),
            name,
        };
        db.recreate().await;
        db
    }

    fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }

    fn admin(&self) -> String {
        format!("{}/postgres", self.server)
    }

    /// Drops the database under the replicas' feet (their connections are cut).
    async fn drop_now(&self) {
        let admin = sqlx::PgPool::connect(&self.admin()).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
    }

    async fn recreate(&self) {
        let admin = sqlx::PgPool::connect(&self.admin())
            .await
            .expect("PostgreSQL server up");
        sqlx::query(&format!("CREATE DATABASE {}", self.name))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
    }

    /// (events not yet part of a notice, deliveries pending), or `None` while the tables are
    /// not there.
    async fn backlog(&self) -> Option<(i64, i64)> {
        let pool = sqlx::PgPool::connect(&self.url()).await.ok()?;
        let open: Option<i64> = sqlx::query_scalar(
            "SELECT SUM(n)::BIGINT FROM errata_fleet_events WHERE notice IS NULL",
        )
        .fetch_one(&pool)
        .await
        .ok()?;
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM errata_deliveries WHERE state = 'pending'")
                .fetch_one(&pool)
                .await
                .ok()?;
        pool.close().await;
        Some((open.unwrap_or(0), pending))
    }

    /// Events the store counted for `errata stats`.
    async fn counted(&self) -> i64 {
        self.sum("SELECT SUM(count)::BIGINT FROM errata_counts")
            .await
    }

    /// Events the store holds for alerting.
    async fn events_written(&self) -> i64 {
        self.sum("SELECT SUM(n)::BIGINT FROM errata_fleet_events")
            .await
    }

    /// The sum `sql` selects, 0 while the database or its tables are not there.
    async fn sum(&self, sql: &str) -> i64 {
        let Ok(pool) = sqlx::PgPool::connect(&self.url()).await else {
            return 0;
        };
        let n: Option<i64> = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .unwrap_or(None);
        pool.close().await;
        n.unwrap_or(0)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (name, admin) = (self.name.clone(), self.admin());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&admin).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&admin)
                        .await;
                }
            });
        })
        .join();
    }
}

enum End {
    Kill,
    Shutdown,
}

/// One replica: its own runtime on its own thread.
struct Replica {
    capturer: Capturer,
    end: std::sync::mpsc::Sender<End>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Setup {
    url: String,
    slack: String,
    recorder: Recorder,
    timing: Timing,
    delivery: DeliveryOptions,
}

impl Setup {
    /// Replicas on `db`'s store telling `slack` and a recording sink, with `timing` and fast
    /// delivery.
    fn new(db: &Db, slack: &Fake, timing: Timing) -> Setup {
        Setup {
            url: db.url(),
            slack: slack.url("/hook"),
            recorder: Recorder::default(),
            timing,
            delivery: fast_delivery(),
        }
    }
}

async fn replica(s: &Setup) -> Replica {
    replica_with(s, &[]).await
}

/// A replica configured like `errata relay` and classroom are: from `ERRATA_*` variables
/// (`env`, which win over the setup's timing given in code).
async fn replica_with(s: &Setup, env: &[(&str, &str)]) -> Replica {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_lookup(|k| env.get(k).cloned()).expect("valid ERRATA_* values");
    let (end, ends) = std::sync::mpsc::channel();
    let (ready, started) = tokio::sync::oneshot::channel();
    let (url, slack, recorder, timing, delivery) = (
        s.url.clone(),
        s.slack.clone(),
        s.recorder.clone(),
        s.timing,
        s.delivery,
    );
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.block_on(async {
            let (_layer, handle) = Alerting::from_config(config)
                .store_postgres(url)
                .console(false)
                .sink(SlackSink::webhook(&slack).unwrap())
                .sink(recorder)
                .timing(timing)
                .delivery(delivery)
                .default_spike(SpikeRule {
                    count: 10,
                    window_secs: 300,
                })
                .start()
                .await
                .unwrap();
            handle
        });
        let _ = ready.send(handle.capturer());
        match ends.recv() {
            Ok(End::Shutdown) => rt.block_on(handle.shutdown()),
            _ => rt.shutdown_background(),
        }
    });
    Replica {
        capturer: started.await.expect("replica started"),
        end,
        thread: Some(thread),
    }
}

impl Replica {
    async fn stop(mut self, how: End) {
        let _ = self.end.send(how);
        if let Some(t) = self.thread.take() {
            tokio::task::spawn_blocking(move || t.join())
                .await
                .unwrap()
                .unwrap();
        }
    }
}

fn timing(wait: u64, interval: u64) -> Timing {
    Timing {
        group_wait: Duration::from_secs(wait),
        group_interval: Duration::from_secs(interval),
        repeat_interval: Duration::from_secs(3600),
    }
}

fn event(code: &str, status: u16, i: usize) -> Event {
    Event::new(code, status)
        .with_route(format!("/{}", code.to_lowercase()))
        .with_message(format!("{code} failed"))
        .with_user(format!("u{}", i % 7))
}

/// Waits until every captured event is part of a notice and every delivery is done.
async fn settle(db: &Db, want_events: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if db.events_written().await == want_events && db.backlog().await == Some((0, 0)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not settled: {} of {want_events} events written, backlog {:?}",
            db.events_written().await,
            db.backlog().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Alerts by code, in notice order.
fn by_code(alerts: Vec<Alert>) -> HashMap<String, Vec<Alert>> {
    let mut m: HashMap<String, Vec<Alert>> = HashMap::new();
    for a in alerts {
        m.entry(a.code.clone()).or_default().push(a);
    }
    for v in m.values_mut() {
        v.sort_by_key(|a| a.notice);
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_send_what_one_node_would() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    let setup = Setup::new(&db, &slack, timing(1, 3));
    let replicas = [
        replica(&setup).await,
        replica(&setup).await,
        replica(&setup).await,
    ];
    let problems = [
        ("DB_DOWN", 503),
        ("UPSTREAM_FAILED", 502),
        ("INTERNAL", 500),
    ];
    // A storm of 8 rounds over 4 s, spread round-robin over the replicas.
    let mut sent: HashMap<&str, u64> = HashMap::new();
    let mut i = 0;
    for _round in 0..8 {
        for _ in 0..30 {
            let (code, status) = problems[i % 3];
            replicas[(i / 3) % 3]
                .capturer
                .capture(event(code, status, i));
            *sent.entry(code).or_default() += 1;
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    settle(&db, i as i64).await;
    let alerts = by_code(setup.recorder.take());
    let mut notices = 0;
    for (code, _) in problems {
        let got = &alerts[code];
        notices += got.len();
        assert_eq!(
            got.iter().filter(|a| a.kind == AlertKind::New).count(),
            1,
            "{code}: one alert per problem across the fleet: {got:#?}"
        );
        assert!(got[1..].iter().all(|a| a.kind == AlertKind::Digest));
        assert_eq!(
            got.iter().map(|a| a.notice).collect::<Vec<_>>(),
            (1..=got.len() as u32).collect::<Vec<_>>(),
            "{code}: no notice twice"
        );
        assert_eq!(
            got.iter().map(|a| a.count).sum::<u64>(),
            sent[code],
            "{code}: the notices' counts add up to the events over the fleet"
        );
        assert_eq!(got.last().unwrap().total, sent[code]);
        assert!(got[0].users <= 7 && got[0].users > 0);
        for w in got.windows(2) {
            assert!(
                w[1].window_end - w[0].window_end >= chrono::Duration::seconds(3),
                "{code}: at most one notice per group_interval fleet-wide"
            );
        }
    }
    // Slack got each notice once, paced fleet-wide: never a 429.
    let msgs = slack.accepted();
    assert_eq!(msgs.len(), notices, "one Slack message per notice");
    assert_eq!(slack.rate_limited(), 0, "1 message/s across the fleet");
    let mut slack_sum: HashMap<String, u64> = HashMap::new();
    for m in &msgs {
        *slack_sum.entry(slack_code(&m.json())).or_default() += slack_count(&m.json());
    }
    for (code, _) in problems {
        assert_eq!(slack_sum[code], sent[code], "{code}: Slack's counts add up");
    }
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_delivery_loses_nothing() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    // The first send never gets an answer: the replica is killed while it waits.
    slack.script([Reply::Hang]);
    let setup = Setup {
        delivery: DeliveryOptions {
            lease: Duration::from_secs(2),
            send_timeout: Duration::from_secs(600),
            ..fast_delivery()
        },
        ..Setup::new(&db, &slack, timing(1, 3))
    };
    let a = replica(&setup).await;
    for i in 0..10 {
        a.capturer.capture(event("DB_DOWN", 503, i));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while slack.all().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.stop(End::Kill).await;
    assert!(slack.accepted().is_empty());
    // Another replica takes the delivery over once the dead one's lease ends.
    let b = replica(&setup).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while slack.accepted().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the claim was not taken over"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    settle(&db, 10).await;
    let msgs = slack.accepted();
    assert_eq!(msgs.len(), 1, "delivered once");
    assert_eq!(slack_count(&msgs[0].json()), 10);
    b.stop(End::Shutdown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_inside_group_wait_still_alerts_after_restart() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    // Long enough that the kill comes inside it.
    let setup = Setup::new(&db, &slack, timing(4, 60));
    let a = replica(&setup).await;
    for i in 0..25 {
        a.capturer.capture(event("DB_DOWN", 503, i));
    }
    // A new group's first events reach the store at once (not at the next flush).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while db.events_written().await < 25 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not in the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.stop(End::Kill).await;
    let restarted = replica(&setup).await;
    settle(&db, 25).await;
    let alerts = setup.recorder.take();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].count, 25);
    assert_eq!(alerts[0].kind, AlertKind::New);
    assert_eq!(slack.accepted().len(), 1);
    restarted.stop(End::Shutdown).await;
}

/// The sum of the counts the recording sink was told, waiting up to 60 s for `want`.
async fn told(recorder: &Recorder, want: u64, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let sum: u64 = recorder
            .alerts
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.count)
            .sum();
        if sum == want || tokio::time::Instant::now() >= deadline {
            assert_eq!(sum, want, "{what}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How the store goes away under the replicas.
#[derive(Clone, Copy)]
enum Outage<'a> {
    /// Its database is dropped, then created again (empty).
    DatabaseDropped,
    /// Its server is stopped, then started again (data kept).
    ServerStopped(&'a PgServer),
}

/// Two replicas notify 20 events; the store goes away (`outage`) and 30 more are captured,
/// which the healthy sinks are told from memory; the store comes back and 10 more are
/// captured. Checks that the sinks were told all 60 once; returns the setup, Slack and the
/// replicas for the test's own checks.
async fn storm_through(db: &Db, outage: Outage<'_>) -> (Setup, Fake, [Replica; 2]) {
    let slack = Fake::slack().await;
    let setup = Setup::new(db, &slack, timing(1, 2));
    let replicas = [replica(&setup).await, replica(&setup).await];
    let capture = |n: usize| {
        for i in 0..n {
            replicas[i % 2].capturer.capture(event("DB_DOWN", 503, i));
        }
    };
    capture(20);
    settle(db, 20).await;
    told(&setup.recorder, 20, "before the outage").await;
    match outage {
        Outage::DatabaseDropped => db.drop_now().await,
        Outage::ServerStopped(server) => server.stop(),
    }
    // Kept in memory; the due notices go to the healthy sinks from memory (the store cannot
    // spool them).
    capture(30);
    told(
        &setup.recorder,
        50,
        "events notified while the store is gone",
    )
    .await;
    match outage {
        Outage::DatabaseDropped => db.recreate().await,
        Outage::ServerStopped(server) => server.start_again(),
    }
    capture(10);
    (setup, slack, replicas)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_database_dropped_and_recreated_mid_run() {
    let db = Db::create().await;
    let (setup, _slack, replicas) = storm_through(&db, Outage::DatabaseDropped).await;
    // The schema comes back by itself; nothing sent from memory is counted again.
    settle(&db, 10).await;
    let alerts = setup.recorder.take();
    assert_eq!(
        alerts.iter().map(|a| a.count).sum::<u64>(),
        60,
        "{alerts:#?}"
    );
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_server_stopped_and_restarted_mid_run() {
    // A server of this test's own: stopping it cuts every connection, as a PostgreSQL
    // restart or failover does. (Declared first, so it is dropped after the database.)
    let server = PgServer::start();
    let db = Db::create_on(&server.url()).await;
    let (setup, slack, replicas) = storm_through(&db, Outage::ServerStopped(&server)).await;
    // The rows notified from memory are not written again (nothing is notified twice); the
    // counts of the outage reach the store when it is back.
    settle(&db, 20 + 10).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while db.counted().await != 60 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of 60 events counted",
            db.counted().await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let alerts = setup.recorder.take();
    assert_eq!(
        alerts.iter().map(|a| a.count).sum::<u64>(),
        60,
        "{alerts:#?}"
    );
    // Slack paces and answers 429 to bursts: it is told too, in its own time.
    let slack_told = || {
        slack
            .accepted()
            .iter()
            .map(|m| slack_count(&m.json()))
            .sum::<u64>()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while slack_told() < 60 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(slack_told(), 60, "Slack was told every event once");
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameter_values_are_sampled_across_the_fleet() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    let setup = Setup::new(&db, &slack, timing(1, 2));
    let replicas = [replica(&setup).await, replica(&setup).await];
    // Ten SKUs, the even ones on one replica and the odd ones on the other.
    let out_of_stock = |i: usize| {
        event("OUT_OF_STOCK", 503, i)
            .with_param("sku", format!("A-{}", i % 10))
            .with_param("token", "s3cr3t-token-value")
    };
    for i in 0..40 {
        replicas[i % 2].capturer.capture(out_of_stock(i));
    }
    settle(&db, 40).await;
    // One more event on each: the digest's rows carry each replica's values.
    for (i, r) in replicas.iter().enumerate() {
        r.capturer.capture(out_of_stock(i));
    }
    settle(&db, 42).await;
    let alerts = by_code(setup.recorder.take())
        .remove("OUT_OF_STOCK")
        .unwrap();
    assert_eq!(alerts.iter().map(|a| a.count).sum::<u64>(), 42);
    let last = alerts.last().unwrap();
    let sku = last
        .params
        .iter()
        .find(|p| p.name == "sku")
        .expect("sku sampled");
    assert_eq!(
        (sku.distinct, sku.capped, sku.examples.len()),
        (10, false, 3),
        "{:?}",
        last.params
    );
    let token = last.params.iter().find(|p| p.name == "token").unwrap();
    assert_eq!(token.examples, ["[Filtered]"]);
    assert!(last.params_text().unwrap().contains("sku: 10 distinct"));
    // The store holds the values scrubbed.
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    let stored: Vec<Option<String>> = sqlx::query_scalar("SELECT params FROM errata_fleet_events")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(stored.iter().flatten().any(|p| p.contains("A-3")));
    assert!(stored.iter().flatten().all(|p| !p.contains("s3cr3t")));
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_spread_over_replicas_fires_on_fleet_counts() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    let setup = Setup::new(&db, &slack, timing(1, 3));
    let replicas = [
        replica(&setup).await,
        replica(&setup).await,
        replica(&setup).await,
    ];
    let spike = |i| event("LOGIN_FAILED", 401, i).with_alert(AlertPolicy::Spike);
    // 5 per replica: no replica sees more than 10 in the window, the fleet sees 15.
    for i in 0..15 {
        replicas[i % 3].capturer.capture(spike(i));
    }
    settle(&db, 15).await;
    let alerts = setup.recorder.take();
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::New);
    assert_eq!(alerts[0].count, 15);
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_below_the_fleet_threshold_stays_quiet() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    let setup = Setup::new(&db, &slack, timing(1, 3));
    let replicas = [replica(&setup).await, replica(&setup).await];
    for i in 0..8 {
        replicas[i % 2]
            .capturer
            .capture(event("LOGIN_FAILED", 401, i).with_alert(AlertPolicy::Spike));
    }
    // Written, due (group_wait passed) and still not notified: 8 is not above 10.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while db.events_written().await < 8 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "events not in the store"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(setup.recorder.take().is_empty());
    assert!(slack.accepted().is_empty());
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}

/// A spike group's storm outlives its first notice; the replica that took it stops gracefully
/// (SIGTERM) and a restart on the same store, configured from `ERRATA_*` variables with a short
/// `group_interval`, notifies the rest: the notices' counts add up to the events, exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_leaves_the_rest_of_a_storm_to_the_restart() {
    let db = Db::create().await;
    let slack = Fake::slack().await;
    // Given in code; the variables below win over it.
    let setup = Setup::new(&db, &slack, timing(30, 3600));
    let spike = |i| event("KAKAO_ACCOUNT", 400, i).with_alert(AlertPolicy::Spike);
    // The first run: a short group_wait, a group_interval far longer than the test.
    let a = replica_with(
        &setup,
        &[("ERRATA_GROUP_WAIT", "1s"), ("ERRATA_GROUP_INTERVAL", "1h")],
    )
    .await;
    // Above the spike threshold (10 in 5 min): the first notice.
    for i in 0..30 {
        a.capturer.capture(spike(i));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut first = Vec::new();
    while first.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no first notice");
        tokio::time::sleep(Duration::from_millis(50)).await;
        first = setup.recorder.take();
    }
    assert_eq!(first.len(), 1, "{first:#?}");
    assert_eq!(first[0].kind, AlertKind::New);
    // The rest of the storm comes after the first notice: its digest is due in an hour.
    for i in 30..50 {
        a.capturer.capture(spike(i));
    }
    a.stop(End::Shutdown).await;
    // The graceful stop wrote every event; none of the rest is notified yet.
    assert_eq!(db.events_written().await, 50);
    assert_eq!(db.backlog().await, Some((50 - first[0].count as i64, 0)));
    assert!(setup.recorder.take().is_empty());

    // The restart: the same store, group_interval 1 s. The rest is due at once.
    let b = replica_with(
        &setup,
        &[("ERRATA_GROUP_WAIT", "1s"), ("ERRATA_GROUP_INTERVAL", "1s")],
    )
    .await;
    settle(&db, 50).await;
    let mut alerts = first;
    alerts.extend(setup.recorder.take());
    assert_eq!(
        alerts.iter().map(|a| a.count).sum::<u64>(),
        50,
        "the notices' counts add up to the events: {alerts:#?}"
    );
    assert_eq!(
        alerts.iter().map(|a| a.notice).collect::<Vec<_>>(),
        (1..=alerts.len() as u32).collect::<Vec<_>>(),
        "each notice once"
    );
    assert!(alerts.len() >= 2);
    assert!(alerts[1..].iter().all(|a| a.kind == AlertKind::Digest));
    assert_eq!(alerts.last().unwrap().total, 50);
    // Slack got each notice once, and its messages add up too.
    let msgs = slack.accepted();
    assert_eq!(msgs.len(), alerts.len());
    assert_eq!(msgs.iter().map(|m| slack_count(&m.json())).sum::<u64>(), 50);
    b.stop(End::Shutdown).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_relay_forwarded_adds_up_over_the_fleet_on_a_store_made_before() {
    let db = Db::create().await;
    // A store made by an earlier version: its event rows have no `upstream` column.
    let pool = sqlx::PgPool::connect(&db.url()).await.unwrap();
    sqlx::query(
        "CREATE TABLE errata_fleet_events (
            id BIGSERIAL PRIMARY KEY, fingerprint TEXT NOT NULL, code TEXT NOT NULL,
            status INTEGER NOT NULL, spike_count BIGINT, spike_window BIGINT, at BIGINT NOT NULL,
            last_at BIGINT NOT NULL, n BIGINT NOT NULL, users TEXT NOT NULL, routes TEXT NOT NULL,
            sample TEXT NOT NULL, docs_url TEXT, notice TEXT)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let slack = Fake::slack().await;
    let setup = Setup::new(&db, &slack, timing(1, 2));
    let replicas = [replica(&setup).await, replica(&setup).await];
    // Two relays in front of Sentry, each forwarding 1 event in 8 of a storm.
    let mut i = 0;
    for _round in 0..6 {
        for _ in 0..40 {
            replicas[i % 2]
                .capturer
                .capture(event("KAKAO_DOWN", 502, i).with_forwarding(i % 8 == 0, 5));
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    settle(&db, i as i64).await;
    let mut got = setup.recorder.take();
    got.sort_by_key(|a| a.notice);
    assert!(got.len() >= 2, "a notice and digests: {got:#?}");
    assert_eq!(got[0].kind, AlertKind::New);
    for a in &got {
        let up = a
            .upstream
            .expect("every notice of relayed events counts them");
        assert_eq!(
            up.forwarded + up.not_forwarded,
            a.count,
            "notice {}: the split is of its own window",
            a.notice
        );
        assert_eq!(up.per_group, 5);
    }
    let forwarded: u64 = got.iter().map(|a| a.upstream.unwrap().forwarded).sum();
    let held: u64 = got.iter().map(|a| a.upstream.unwrap().not_forwarded).sum();
    assert_eq!((forwarded, held), (30, 210), "exact over the fleet");
    // Slack shows each notice's split.
    let msgs: Vec<serde_json::Value> = slack.accepted().iter().map(|m| m.json()).collect();
    assert_eq!(msgs.len(), got.len());
    for a in &got {
        let m = msgs
            .iter()
            .find(|m| m.to_string().contains(&format!("notice #{}\"", a.notice)))
            .unwrap();
        let summary = m["blocks"][1]["text"]["text"].as_str().unwrap();
        assert!(summary.contains(&a.upstream_text().unwrap()), "{summary}");
    }
    let rows_with_counts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM errata_fleet_events WHERE upstream IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(rows_with_counts > 0, "the column was added and written");
    pool.close().await;
    for r in replicas {
        r.stop(End::Shutdown).await;
    }
}
