//! `errata_axum::serve` over real TCP: which malformed requests the edge answers in the
//! envelope and which hyper still answers itself, the body deadline, keep-alive and connection
//! limits, connect info and graceful shutdown.

#[path = "support/raw.rs"]
mod raw;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::routing::{get, post};
use axum::Router;
use errata::Renderer;
use errata_axum::test::parse_error;
use errata_axum::{ErrataLayer, Json, Limits, RequestLimitsLayer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

mod errors {
    errata::catalog!("../../../examples/classroom/errors.toml");
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Note {
    text: String,
}

fn app() -> Router {
    let renderer = Arc::new(Renderer::new(errors::catalog().clone()));
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        )
        .route("/notes", post(|Json(_): Json<Note>| async { "saved" }))
        .fallback(errata_axum::fallback)
        .layer(RequestLimitsLayer::new())
        .layer(ErrataLayer::new(renderer))
}

async fn start(limits: Limits) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        errata_axum::serve(listener, app())
            .limits(limits)
            .with_graceful_shutdown(std::future::pending())
            .await
            .unwrap();
    });
    addr
}

fn get_with(path: &str, headers: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n{headers}Connection: close\r\n\r\n").into_bytes()
}

fn assert_envelope(answer: &raw::Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    let body = parse_error(answer.status, &answer.body);
    assert_eq!(body.code, code);
    assert!(!body.message.is_empty());
    assert!(
        answer.header("x-request-id").is_some(),
        "no request id: {answer:?}"
    );
}

fn assert_hyper_empty(answer: Option<raw::Answer>, status: u16) {
    let answer = answer.expect("hyper answers before closing");
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(answer.body.is_empty(), "{answer:?}");
}

#[tokio::test]
async fn long_uris_and_large_headers_are_answered_in_the_envelope() {
    let addr = start(Limits::default()).await;
    let ok = raw::exchange(addr, &get_with("/health", "")).await.unwrap();
    assert_eq!((ok.status, ok.body.as_slice()), (200, &b"ok"[..]));

    // Over the edge's 8 KiB, under hyper's 64 KiB.
    let long = format!("/health?q={}", "a".repeat(9000));
    let answer = raw::exchange(addr, &get_with(&long, "")).await.unwrap();
    assert_envelope(&answer, 414, "URI_TOO_LONG");

    // 150 header fields: over the edge's 100, under hyper's 512.
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = raw::exchange(addr, &get_with("/health", &many))
        .await
        .unwrap();
    assert_envelope(&answer, 431, "REQUEST_HEADERS_TOO_LARGE");

    // One 40 KiB cookie: over the edge's 32 KiB, under hyper's 256 KiB.
    let cookie = format!("Cookie: c={}\r\n", "x".repeat(40 * 1024));
    let answer = raw::exchange(addr, &get_with("/health", &cookie))
        .await
        .unwrap();
    assert_envelope(&answer, 431, "REQUEST_HEADERS_TOO_LARGE");
}

#[tokio::test]
async fn what_hyper_still_answers_itself_is_exactly_what_the_readme_says() {
    let addr = start(Limits::default()).await;
    // A request target over 65,534 bytes: 414, empty body.
    let huge = format!("/health?q={}", "a".repeat(70_000));
    assert_hyper_empty(raw::exchange(addr, &get_with(&huge, "")).await, 414);
    // More than 512 header fields: 431, empty body.
    let many: String = (0..600).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert_hyper_empty(raw::exchange(addr, &get_with("/health", &many)).await, 431);
    // A request head over 256 KiB: 431, empty body.
    let big: String = (0..300)
        .map(|i| format!("X-H{i}: {}\r\n", "v".repeat(1024)))
        .collect();
    assert_hyper_empty(raw::exchange(addr, &get_with("/health", &big)).await, 431);
    // A request line or header that is not HTTP: 400, empty body.
    assert_hyper_empty(raw::exchange(addr, b"GARBAGE\r\n\r\n").await, 400);
    assert_hyper_empty(
        raw::exchange(
            addr,
            b"GET /health HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n",
        )
        .await,
        400,
    );
    assert_hyper_empty(
        raw::exchange(addr, b"GET /health HTTP/9.9\r\n\r\n").await,
        400,
    );
}

#[tokio::test]
async fn the_body_deadline_is_total_not_reset_by_each_byte() {
    let addr = start(Limits::default().body_deadline(Some(Duration::from_secs(1)))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST /notes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        )
        .await
        .unwrap();
    // One byte every 200 ms: an idle timer of 1 s would never fire.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let answer = raw::read_answer(&mut reader).await.expect("an answer");
    assert_envelope(&answer, 408, "REQUEST_TIMEOUT");
    trickle.abort();
}

#[tokio::test]
async fn a_connection_closes_after_its_request_allowance() {
    let addr = start(Limits::default().max_requests_per_connection(Some(2))).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let keep = b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    stream.write_all(keep).await.unwrap();
    let first = raw::read_answer(&mut stream).await.unwrap();
    assert_eq!(first.status, 200);
    assert_ne!(first.header("connection"), Some("close"));
    stream.write_all(keep).await.unwrap();
    let second = raw::read_answer(&mut stream).await.unwrap();
    assert_eq!(second.status, 200);
    assert_eq!(second.header("connection"), Some("close"));
    assert!(raw::closed_without_answer(&mut stream).await);
}

async fn connect_from(source: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test]
async fn connections_over_the_per_ip_cap_are_closed_at_once() {
    let addr = start(Limits::default().max_connections_per_ip(2)).await;
    let keep = b"GET /peer HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = connect_from([127, 0, 0, 1], addr).await;
        s.write_all(keep).await.unwrap();
        let answer = raw::read_answer(&mut s).await.unwrap();
        assert_eq!(
            (answer.status, answer.body.as_slice()),
            (200, &b"127.0.0.1"[..])
        );
        held.push(s);
    }
    let mut third = connect_from([127, 0, 0, 1], addr).await;
    let _ = third.write_all(keep).await;
    assert!(raw::closed_without_answer(&mut third).await);
    // Another client is not affected.
    let mut other = connect_from([127, 0, 0, 2], addr).await;
    other.write_all(keep).await.unwrap();
    let answer = raw::read_answer(&mut other).await.unwrap();
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (200, &b"127.0.0.2"[..])
    );
    // A held connection let go frees its place.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut s = connect_from([127, 0, 0, 1], addr).await;
        s.write_all(keep).await.unwrap();
        if let Some(answer) = raw::read_answer(&mut s).await {
            again = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(again.expect("a place came free").status, 200);
}

#[tokio::test]
async fn graceful_shutdown_finishes_requests_in_flight_then_runs_the_hook() {
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let release_rx = Arc::new(tokio::sync::Mutex::new(Some(release_rx)));
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let entered_tx = Arc::new(std::sync::Mutex::new(Some(entered_tx)));
    let app = Router::new().route(
        "/slow",
        get(move || {
            let release_rx = Arc::clone(&release_rx);
            let entered_tx = Arc::clone(&entered_tx);
            async move {
                if let Some(tx) = entered_tx.lock().unwrap().take() {
                    let _ = tx.send(());
                }
                if let Some(rx) = release_rx.lock().await.take() {
                    let _ = rx.await;
                }
                "done"
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let flushed = Arc::new(AtomicBool::new(false));
    let hook_flag = Arc::clone(&flushed);
    let server = tokio::spawn(
        errata_axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stop_rx.await;
            })
            .on_shutdown(async move {
                hook_flag.store(true, Ordering::SeqCst);
            })
            .into_future(),
    );
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    entered_rx.await.unwrap();
    stop_tx.send(()).unwrap();
    // The request in flight holds the shutdown: the hook has not run.
    tokio::task::yield_now().await;
    assert!(!flushed.load(Ordering::SeqCst));
    assert!(!server.is_finished());
    release_tx.send(()).unwrap();
    let answer = raw::read_answer(&mut stream).await.unwrap();
    assert_eq!((answer.status, answer.body.as_slice()), (200, &b"done"[..]));
    server.await.unwrap().unwrap();
    assert!(
        flushed.load(Ordering::SeqCst),
        "the hook ran before the end"
    );
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
