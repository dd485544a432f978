//! Start-up: sinks from the environment and from code combine (the console stays unless turned
//! off), one line names them with the store and the timing, secrets masked; a store that
//! cannot be reached lets the service start and receives what was kept in memory when it
//! answers; a misconfigured store stops start-up naming `ERRATA_STORE`.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use errata_alert::{Alerting, Config, Event, StartError};
use support::{dead_port, Recorder};

/// A log writer the test reads back.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

fn config(pairs: &[(&str, &str)]) -> Config {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        .unwrap()
}

const HOOK: &str = "https://hooks.slack.example/services/T0/B0/SECRETHOOK";

#[tokio::test]
async fn environment_and_code_sinks_combine_and_one_line_names_them() {
    let (logs, _guard) = capture_logs();
    let recorder = Recorder::default();
    let (_layer, handle) = Alerting::from_config(config(&[("ERRATA_SLACK_WEBHOOK_URL", HOOK)]))
        .store_memory()
        .sink(recorder.clone())
        .start()
        .await
        .unwrap();
    assert_eq!(handle.sinks(), ["console", "slack", "recorder"]);
    let line = handle.summary().to_owned();
    assert_eq!(
        line,
        "errata alerting: sinks console, slack, recorder; store memory; group_wait 5s, group_interval 300s, repeat_interval 14400s, resolve_after 300s"
    );
    let logged = logs.text();
    assert_eq!(
        logged
            .lines()
            .filter(|l| l.contains("errata alerting:"))
            .count(),
        1,
        "{logged}"
    );
    assert!(logged.contains(&line), "{logged}");
    assert!(!logged.contains("SECRETHOOK"), "{logged}");
    handle.shutdown().await;
}

#[tokio::test]
async fn the_console_can_be_turned_off_by_variable_or_in_code() {
    let (_layer, handle) = Alerting::from_config(config(&[("ERRATA_CONSOLE", "off")]))
        .store_memory()
        .sink(Recorder::default())
        .start()
        .await
        .unwrap();
    assert_eq!(handle.sinks(), ["recorder"]);
    handle.shutdown().await;
    let (_layer, handle) = Alerting::from_config(config(&[("ERRATA_SLACK_WEBHOOK_URL", HOOK)]))
        .console(false)
        .store_memory()
        .start()
        .await
        .unwrap();
    assert_eq!(handle.sinks(), ["slack"]);
    assert!(
        handle.summary().contains("sinks slack;"),
        "{}",
        handle.summary()
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn two_sinks_of_one_name_stop_start_up() {
    let err = Alerting::new()
        .store_memory()
        .sink(Recorder::default())
        .sink(Recorder::default())
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("two sinks are named `recorder`"),
        "{err}"
    );
}

/// A fresh schema in the local PostgreSQL; returns (host:port part aside) the path and query.
async fn pg_schema() -> String {
    let base = "postgres://postgres@127.0.0.1:5432/test";
    let schema = format!("firsthour_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(base)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 with a database `test`");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    format!("test?options[search_path]={schema}")
}

#[tokio::test]
async fn the_store_line_masks_passwords() {
    let path = pg_schema().await;
    let url = format!("postgres://postgres:SECRETPW@127.0.0.1:5432/{path}");
    let (_layer, handle) = Alerting::new()
        .console(false)
        .store_postgres(url)
        .start()
        .await
        .unwrap();
    let line = handle.summary();
    assert!(
        line.contains("store postgres://***@127.0.0.1:5432/test?***;"),
        "{line}"
    );
    assert!(!line.contains("SECRETPW"), "{line}");
    handle.shutdown().await;
}

/// Forwards every connection on `listener` to PostgreSQL.
async fn proxy_to_postgres(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:5432").await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

// One thread: the log subscriber of the test sees the background tasks' lines too.
#[tokio::test]
async fn an_unreachable_store_lets_the_service_start_and_gets_what_waited_in_memory() {
    let (logs, _guard) = capture_logs();
    let port = dead_port();
    let path = pg_schema().await;
    let url = format!("postgres://postgres@127.0.0.1:{port}/{path}");
    let recorder = Recorder::default();
    let (_layer, handle) = Alerting::from_config(config(&[("ERRATA_STORE", &url)]))
        .console(false)
        .sink(recorder.clone())
        .flush_interval(Duration::from_millis(200))
        .timing(errata_alert::Timing {
            group_wait: Duration::ZERO,
            ..Default::default()
        })
        .start()
        .await
        .expect("an unreachable store must not stop start-up");
    assert!(
        handle
            .summary()
            .contains("(unreachable: connecting in the background)"),
        "{}",
        handle.summary()
    );
    assert!(
        logs.text()
            .contains("the store cannot be reached; serving goes on"),
        "{}",
        logs.text()
    );

    // Events while the store is down wait in memory.
    let cap = handle.capturer();
    for _ in 0..5 {
        cap.capture(Event::new("PAYMENT_BACKEND_DOWN", 503).with_message("down"));
    }
    handle.flush().await;
    assert!(handle.backend().counts(0, i64::MAX).await.is_err());
    // Sending does not wait for the store: the due notice goes to the sinks from memory.
    let mut waited = 0;
    while recorder.alerts.lock().unwrap().is_empty() {
        assert!(
            waited < 600,
            "nothing delivered while the store is unreachable"
        );
        handle.flush().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }

    // The store answers: counts and the alert are written, and the console says so.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(proxy_to_postgres(listener));
    let mut counted = 0;
    for _ in 0..600 {
        handle.flush().await;
        if let Ok(rows) = handle.backend().counts(0, i64::MAX).await {
            counted = rows.iter().map(|r| r.count).sum();
            if counted > 0 && logs.text().contains("the store answers again") {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(counted, 5, "{}", logs.text());
    assert!(
        logs.text().contains("the store is reachable now"),
        "{}",
        logs.text()
    );
    assert!(
        logs.text().contains("the store answers again; wrote the"),
        "{}",
        logs.text()
    );
    assert!(handle.wait_delivered(Duration::from_secs(60)).await);
    let alerts = recorder.take();
    assert_eq!(
        alerts.len(),
        1,
        "sent once, not again from the store: {alerts:?}"
    );
    assert_eq!(alerts[0].code, "PAYMENT_BACKEND_DOWN");
    assert_eq!(alerts[0].count, 5);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_misconfigured_store_stops_start_up_naming_the_variable() {
    async fn start(url: &str) -> StartError {
        Alerting::from_config(config(&[("ERRATA_STORE", url)]))
            .console(false)
            .start()
            .await
            .map(|_| ())
            .expect_err(url)
    }
    for url in [
        "postgres://postgres:PW@127.0.0.1:notaport/test",
        "postgres://postgres@127.0.0.1:5432/firsthour_no_such_database",
        "/proc/errata-no-such-dir/spool.sqlite3",
    ] {
        let e = start(url).await.to_string();
        assert!(e.starts_with("ERRATA_STORE: "), "{url}: {e}");
        assert!(!e.contains("PW"), "{url}: {e}");
    }
}
