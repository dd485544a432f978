//! A deterministic run of the relay's request path for `valgrind --tool=callgrind`: one client
//! thread sends `N` envelopes one after the other over one keep-alive loopback connection
//! (plain blocking HTTP/1.1, so the client costs little), then the pipeline is flushed.
//!
//! ```text
//! cargo build --release -p errata-relay --example relay_profile
//! valgrind --tool=callgrind ./target/release/examples/relay_profile 2000 typical
//! ```
//!
//! Instructions per event: the difference of two runs (e.g. 2,000 and 500 events) divided by
//! the difference of their counts, which cancels start-up and shutdown.

use std::io::{Read, Write};
use std::net::TcpStream;

use errata_alert::Alerting;
use errata_relay::{Relay, RelaySettings};

#[path = "support/events.rs"]
mod events;

const AUTH: &str =
    "Sentry sentry_version=7, sentry_client=sentry.python/2.19.0, sentry_key=loadkey";

/// Reads one response; returns its status.
fn response(s: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let status: u16 = head[9..12].parse().unwrap();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "connection closed");
                buf.extend_from_slice(&chunk[..n]);
            }
            return status;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let kind = args.get(2).map_or("typical", String::as_str);
    let bodies = match kind {
        "large" => events::bodies(64, events::large, false),
        "gzip" => events::bodies(64, events::typical, false),
        _ => events::bodies(64, events::typical, true),
    };
    let requests: Vec<Vec<u8>> = bodies
        .iter()
        .map(|(enc, body)| {
            let mut r = format!(
                "POST /api/1/envelope/ HTTP/1.1\r\nhost: relay\r\nx-sentry-auth: {AUTH}\r\n\
                 content-type: application/x-sentry-envelope\r\ncontent-encoding: {enc}\r\n\
                 content-length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        })
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("relay.sqlite3");
    let relay = rt.block_on(async {
        let settings = RelaySettings::from_sources(None, |k| match k {
            "ERRATA_RELAY_ADDR" => Some("127.0.0.1:0".into()),
            "ERRATA_RELAY_PROJECTS" => Some("1:loadkey".into()),
            _ => None,
        })
        .unwrap();
        let alerting = Alerting::new().store_path(&store).console(false);
        Relay::start(settings, alerting).await.unwrap()
    });
    let addr = relay.local_addr();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = Vec::new();
        for i in 0..n {
            s.write_all(&requests[i % requests.len()]).unwrap();
            assert_eq!(response(&mut s, &mut buf), 200);
        }
    });
    client.join().unwrap();
    let aggregated = rt.block_on(async {
        relay.alerting().flush().await;
        relay.alerting().stats().await.aggregated
    });
    let s = relay.stats();
    println!(
        "{kind}: {n} requests, {} events accepted, {aggregated} aggregated",
        s.events
    );
    assert_eq!(s.events, n as u64);
    rt.block_on(relay.shutdown());
}
