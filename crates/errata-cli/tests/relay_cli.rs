//! `errata relay` as a process: the ready line, an event in, a clean stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn errata() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_errata"));
    for (k, _) in std::env::vars() {
        if k.starts_with("ERRATA_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn starts_takes_an_event_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = errata()
        .arg("relay")
        .env("ERRATA_RELAY_ADDR", "127.0.0.1:0")
        .env("ERRATA_RELAY_PROJECTS", "1:clikey")
        .env("ERRATA_STORE", dir.path().join("relay.sqlite3"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("no ready line");
        if let Some(a) = line.strip_prefix("errata relay listening on ") {
            break a.trim().to_owned();
        }
    };
    let payload = br#"{"exception":{"values":[{"type":"ZeroDivisionError","value":"division by zero"}]},"transaction":"/api/orders/{id}"}"#;
    let mut body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n".to_vec();
    body.extend_from_slice(
        format!("{{\"type\":\"event\",\"length\":{}}}\n", payload.len()).as_bytes(),
    );
    body.extend_from_slice(payload);
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        conn,
        "POST /api/1/envelope/ HTTP/1.1\r\nHost: {addr}\r\nX-Sentry-Auth: Sentry sentry_version=7, sentry_key=clikey\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    conn.write_all(&body).unwrap();
    let mut reply = String::new();
    conn.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 200 OK"), "{reply}");
    assert!(
        reply.ends_with(r#"{"id":"9ec79c33ec9942ab8353589fcb2e04dc"}"#),
        "{reply}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    // The console sink printed the group's notice while the pipeline flushed.
    assert!(out.contains("ZERO_DIVISION_ERROR"), "{out}");
}

#[test]
fn a_bad_setting_names_its_variable() {
    let out = errata()
        .arg("relay")
        .env("ERRATA_RELAY_PROJECTS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"ERRATA_RELAY_PROJECTS: "1" is not `project_id:public_key`"#),
        "{err}"
    );
}
