//! A slow-client attack on loopback, shared by the `slow_clients` test and the `slow_clients`
//! load tool (examples/slow_clients.rs).
//!
//! The server runs in a child process whose descriptor limit is `ulimit -n 1024`; the attacker
//! (this process) holds thousands of connections from several loopback addresses
//! (127.0.0.2 …), each sending half a request head and then one byte every few seconds, while
//! normal requests from 127.0.0.1 are timed.

#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::process::{Child, Command};

/// Set in the child's environment: serve instead of attacking.
pub const CHILD_ENV: &str = "ERRATA_SLOW_CLIENTS_SERVER";
/// The child's header-read timeout, in milliseconds.
pub const HEADER_TIMEOUT_ENV: &str = "ERRATA_SLOW_CLIENTS_HEADER_TIMEOUT_MS";
/// The child's descriptor limit.
pub const CHILD_NOFILE: u32 = 1024;
/// Connections the child admits per client IP.
pub const PER_IP: usize = 64;

/// Whether this process is the server child.
pub fn is_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// The child: serves `/health` with `errata_axum::serve`'s default limits (but a header
/// timeout from the environment and [`PER_IP`] connections per IP) until killed, after
/// printing `LISTENING <addr>`.
pub async fn child_server() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .try_init();
    let timeout_ms: u64 = std::env::var(HEADER_TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let app = axum::Router::new().route("/health", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let limits = errata_axum::Limits::default()
        .header_read_timeout(Duration::from_millis(timeout_ms))
        .max_connections_per_ip(PER_IP);
    println!(
        "LISTENING {} max_connections={}",
        listener.local_addr().unwrap(),
        limits.get_max_connections()
    );
    errata_axum::serve(listener, app)
        .limits(limits)
        .with_graceful_shutdown(std::future::pending())
        .await
        .unwrap();
}

/// Raises this process's soft descriptor limit to at least `want` (up to the hard limit);
/// returns the new soft limit.
pub fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let current = limit.current.unwrap_or(u64::MAX);
    if current >= want {
        return current;
    }
    let target = limit.maximum.map_or(want, |max| max.min(want));
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    )
    .expect("raise RLIMIT_NOFILE");
    target
}

/// The server child and its address.
pub struct Server {
    /// The child process (killed when dropped).
    pub child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The file its stderr goes to.
    pub stderr: std::path::PathBuf,
}

impl Server {
    /// What the child wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// Starts `exe args…` as the server child under `ulimit -n 1024` and waits for its address.
pub async fn spawn_server(
    exe: &std::path::Path,
    args: &[&str],
    header_timeout: Duration,
) -> Server {
    let stderr =
        std::env::temp_dir().join(format!("errata-slow-clients-{}.log", std::process::id()));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {CHILD_NOFILE} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(args)
        .env(CHILD_ENV, "1")
        .env(HEADER_TIMEOUT_ENV, header_timeout.as_millis().to_string())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server child");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("the server child exited before listening");
        if let Some(rest) = line.strip_prefix("LISTENING ") {
            break rest.split(' ').next().unwrap().parse().unwrap();
        }
    };
    // Keep draining its stdout so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        child,
        addr,
        stderr,
    }
}

/// One normal request on a fresh connection from 127.0.0.1: how long it took, or what went
/// wrong.
pub async fn normal_request(addr: SocketAddr) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    if text.starts_with("HTTP/1.1 200") && text.ends_with("ok") {
        Ok(elapsed)
    } else {
        Err(format!("unexpected answer: {text:?}"))
    }
}

/// What the attack saw.
#[derive(Default)]
pub struct AttackStats {
    /// Connections open right now that have sent at least one trickled byte.
    pub held: AtomicUsize,
    /// Connections the server closed after they had trickled bytes for a while (its header
    /// timeout).
    pub closed_while_trickling: AtomicUsize,
    /// Connections the server closed before the first trickled byte (its connection caps).
    pub closed_at_once: AtomicUsize,
    /// Connects that failed.
    pub connect_failed: AtomicUsize,
}

/// A running attack; stops when dropped.
pub struct Attack {
    /// Its counters.
    pub stats: Arc<AttackStats>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Attack {
    /// `connections` slow clients spread over `sources` loopback addresses (127.0.0.2 …),
    /// each sending one byte every `every`.
    pub fn start(addr: SocketAddr, connections: usize, sources: u8, every: Duration) -> Self {
        let stats = Arc::new(AttackStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..connections)
            .map(|i| {
                let source = Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(sources)) as u8);
                let (stats, stop) = (Arc::clone(&stats), Arc::clone(&stop));
                tokio::spawn(async move {
                    // Spread the first connects over a second.
                    tokio::time::sleep(Duration::from_millis((i % 1000) as u64)).await;
                    while !stop.load(Ordering::Relaxed) {
                        slow_client(addr, source, every, &stats, &stop).await;
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                })
            })
            .collect();
        Self { stats, stop, tasks }
    }

    /// Connections held open right now.
    pub fn held(&self) -> usize {
        self.stats.held.load(Ordering::Relaxed)
    }

    /// Stops every slow client.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Attack {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn slow_client(
    addr: SocketAddr,
    source: Ipv4Addr,
    every: Duration,
    stats: &AttackStats,
    stop: &AtomicBool,
) {
    let connected = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source.into(), 0))?;
        socket.connect(addr).await
    }
    .await;
    let Ok(mut stream) = connected else {
        stats.connect_failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .is_err()
    {
        stats.closed_at_once.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut sent = 0usize;
    let mut buf = [0u8; 256];
    loop {
        tokio::select! {
            read = stream.read(&mut buf) => {
                // EOF, a reset or an answer: the server let go of us.
                let _ = read;
                break;
            }
            () = tokio::time::sleep(every) => {
                if stop.load(Ordering::Relaxed) || stream.write_all(b"a").await.is_err() {
                    break;
                }
                sent += 1;
                if sent == 1 {
                    stats.held.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    if sent >= 1 {
        stats.held.fetch_sub(1, Ordering::Relaxed);
        if !stop.load(Ordering::Relaxed) {
            stats.closed_while_trickling.fetch_add(1, Ordering::Relaxed);
        }
    } else {
        stats.closed_at_once.fetch_add(1, Ordering::Relaxed);
    }
}

/// The `p`-th percentile (0–100) of `samples`, which it sorts.
pub fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (samples.len() - 1) as f64).round() as usize;
    samples[rank.min(samples.len() - 1)]
}
