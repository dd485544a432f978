//! The spool contract, the same for every backend: memory, SQLite and PostgreSQL (with leases
//! that two replicas never share).

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use errata_alert::spool::{MemoryStore, PostgresStore, SqliteStore};
use errata_alert::store::CountRow;
use errata_alert::{
    Alert, AlertKind, Alerting, Backend, DeliveryState, Event, ListFilter, ManualClock, Spool,
};
use support::{fast_delivery, Recorder};

fn alert(code: &str) -> Alert {
    let now = Utc::now();
    Alert {
        id: uuid::Uuid::now_v7().to_string(),
        kind: AlertKind::New,
        fingerprint: format!("fp-{code}"),
        code: code.into(),
        status: 500,
        count: 1,
        total: 1,
        window_start: now,
        window_end: now,
        first_seen: now,
        last_seen: now,
        users: 0,
        users_total: 0,
        users_capped: false,
        routes: vec![],
        params: vec![],
        sample: Event::new(code, 500),
        service: None,
        environment: None,
        release: None,
        docs_url: None,
        notice: 1,
        resolve_after_secs: None,
        upstream: None,
    }
}

async fn conformance(b: &dyn Backend) {
    let sinks = ["a".to_string(), "b".to_string()];
    b.enqueue(&[alert("ONE"), alert("TWO")], &sinks)
        .await
        .unwrap();
    assert_eq!(b.pending(None).await.unwrap(), 4);
    assert_eq!(b.pending(Some("a")).await.unwrap(), 2);
    let now = Utc::now();
    let lease = Duration::from_secs(60);
    let got = b.lease("a", now, lease, 10).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].alert.code, "ONE");
    // Leased deliveries are not leased again until the lease ends.
    assert!(b.lease("a", now, lease, 10).await.unwrap().is_empty());
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(
        b.lease("a", later, lease, 10).await.unwrap().len(),
        2,
        "an expired lease is void"
    );
    b.ack(got[0].id).await.unwrap();
    b.retry(got[1].id, now + chrono::Duration::seconds(30), 1, "503")
        .await
        .unwrap();
    assert!(
        b.lease("a", now, lease, 10).await.unwrap().is_empty(),
        "not due yet"
    );
    let due = b.next_due("a").await.unwrap().unwrap();
    assert!(due >= now + chrono::Duration::seconds(29));
    let retried = b
        .lease("a", now + chrono::Duration::seconds(31), lease, 10)
        .await
        .unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].last_error.as_deref(), Some("503"));
    b.kill(retried[0].id, 2, "404 channel_not_found")
        .await
        .unwrap();
    let dead = b.list(ListFilter::Dead).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].state, DeliveryState::Dead);
    assert_eq!(b.pending(Some("a")).await.unwrap(), 0);
    assert_eq!(b.replay_dead().await.unwrap(), 1);
    assert_eq!(b.pending(Some("a")).await.unwrap(), 1);
    assert!(b.replay(i64::MAX).await.is_err());
    assert_eq!(b.list(ListFilter::All).await.unwrap().len(), 3);

    // Sink `b` failed both; the newer waits less. A success resets both backoffs, and the
    // oldest goes first.
    let both = b.lease("b", now, lease, 10).await.unwrap();
    assert_eq!(both.len(), 2);
    let (one, two) = (&both[0], &both[1]);
    assert_eq!(
        (one.alert.code.as_str(), two.alert.code.as_str()),
        ("ONE", "TWO")
    );
    b.retry(one.id, now + chrono::Duration::seconds(300), 5, "503")
        .await
        .unwrap();
    b.retry(two.id, now + chrono::Duration::seconds(10), 1, "503")
        .await
        .unwrap();
    let soon = now + chrono::Duration::seconds(1);
    assert!(b.lease("b", soon, lease, 10).await.unwrap().is_empty());
    assert_eq!(b.reset_backoff("b", soon).await.unwrap(), 2);
    let again = b.lease("b", soon, lease, 10).await.unwrap();
    let order: Vec<&str> = again.iter().map(|d| d.alert.code.as_str()).collect();
    assert_eq!(order, ["ONE", "TWO"], "oldest first");
    assert!(again.iter().all(|d| d.attempts == 0), "backoff reset");
    assert_eq!(
        b.reset_backoff("b", soon).await.unwrap(),
        0,
        "leased deliveries are left alone"
    );
    for d in &again {
        b.ack(d.id).await.unwrap();
    }

    let minute = errata_alert::store::minute_of(now);
    let row = |count| CountRow {
        minute,
        code: "ONE".into(),
        status: 500,
        route: "/x".into(),
        method: "GET".into(),
        count,
    };
    b.add_counts(&[row(2)]).await.unwrap();
    b.add_counts(&[row(3)]).await.unwrap();
    let counts = b.counts(minute, minute + 1).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].count, 5, "counts for one key add up");
    b.prune(minute + 1).await.unwrap();
    assert!(b.counts(minute, minute + 1).await.unwrap().is_empty());
}

#[tokio::test]
async fn memory_backend() {
    conformance(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_backend() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("c.sqlite3"))
        .await
        .unwrap();
    conformance(&s).await;
    // WAL mode, as documented.
    let wal = dir.path().join("c.sqlite3-wal");
    assert!(wal.exists());
}

/// A fresh schema in the local PostgreSQL (127.0.0.1:5432, database `test`).
async fn pg_url() -> String {
    let base = "postgres://postgres@127.0.0.1:5432/test";
    let schema = format!("errata_test_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(base)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 with a database `test`");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    format!("{base}?options[search_path]={schema}")
}

#[tokio::test]
async fn postgres_backend() {
    let s = PostgresStore::connect(&pg_url().await).await.unwrap();
    conformance(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replicas_never_lease_the_same_delivery() {
    let url = pg_url().await;
    let one = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let two = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let alerts: Vec<Alert> = (0..200).map(|i| alert(&format!("C{i}"))).collect();
    one.enqueue(&alerts, &["slack".to_string()]).await.unwrap();
    let take = |s: Arc<PostgresStore>| {
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let got = s
                    .lease("slack", Utc::now(), Duration::from_secs(60), 7)
                    .await
                    .unwrap();
                if got.is_empty() {
                    break ids;
                }
                ids.extend(got.iter().map(|d| d.id));
            }
        })
    };
    let (a, b) = (take(one.clone()), take(two.clone()));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a.len() + b.len(), 200);
    let mut all: Vec<i64> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 200, "no delivery leased twice");
    for id in all {
        one.ack(id).await.unwrap();
    }
    assert_eq!(two.pending(None).await.unwrap(), 0);

    // A pipeline on PostgreSQL delivers what it spools.
    let rec = Recorder::default();
    let clock = ManualClock::new(Utc::now());
    let (_layer, handle) = Alerting::new()
        .sink(rec.clone())
        .clock(clock.clone())
        .store_postgres(url)
        .delivery(fast_delivery())
        .start()
        .await
        .unwrap();
    handle.capturer().capture(Event::new("PG_ALERT", 500));
    handle.flush().await;
    clock.advance(Duration::from_secs(10));
    handle.flush().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while rec.alerts.lock().unwrap().is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.shutdown().await;
    assert_eq!(rec.take()[0].code, "PG_ALERT");
}
