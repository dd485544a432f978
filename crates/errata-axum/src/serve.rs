//! [`serve`]: an HTTP server that slow clients cannot starve.
//!
//! axum's own `serve` has no header-read timeout and no connection cap: a few hundred clients
//! that send half a request head and then nothing hold a descriptor each until the process has
//! none left. This server (hyper and hyper-util, on tokio) adds, each configurable in
//! [`Limits`]:
//!
//! - a **header-read timeout**: the whole request head must arrive within it, however slowly it
//!   trickles in (also how long an idle keep-alive connection is kept);
//! - a **body deadline**: the whole body must arrive within it, counted from the end of the head
//!   (not an idle timer that each byte restarts); a late body fails with `REQUEST_TIMEOUT`
//!   through errata's extractors;
//! - a **cap on open connections**, global and per client IP; a connection over a cap is closed
//!   as soon as it is accepted, so its descriptor is freed at once;
//! - **keep-alive limits**: keep-alive on or off, and a number of requests after which a
//!   connection is closed;
//! - the peer address as [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo) on every
//!   request (the rate limiter counts by it);
//! - **graceful shutdown** on SIGTERM or Ctrl-C (or a future of yours): stop accepting, let
//!   requests in flight finish (up to [`Limits::shutdown_grace`]), then run the
//!   [`Serve::on_shutdown`] hook, e.g. to flush the alert pipeline.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use errata_axum::serve::{serve, Limits};
//! use std::time::Duration;
//!
//! # async fn run() -> std::io::Result<()> {
//! // `with_state` (here `()`) turns the routes into services once, as axum's own
//! // `into_make_service` does; a router served without it builds the route of every request
//! // again.
//! let app = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .with_state(());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, app)
//!     .limits(Limits::default().header_read_timeout(Duration::from_secs(5)))
//!     .on_shutdown(async { /* alerts.shutdown().await */ })
//!     .await
//! # }
//! ```
//!
//! hyper's own parse limits are raised above [`crate::RequestLimitsLayer`]'s (512 header fields,
//! a 256 KiB request head) so that the edge answers 414 and 431 in the envelope; hyper still
//! answers, with an empty body, what it cannot parse (see the README's contract section).

use std::collections::HashMap;
use std::convert::Infallible;
use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, Version};
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::{Service, ServiceExt};

/// hyper's ceiling on header fields, above [`crate::limits::DEFAULT_MAX_HEADERS`].
pub const HYPER_MAX_HEADERS: usize = 512;
/// hyper's ceiling on the request head (request line and headers), in bytes, above
/// [`crate::limits::DEFAULT_MAX_HEADER_BYTES`] plus [`crate::limits::DEFAULT_MAX_URI_LEN`].
pub const HYPER_MAX_HEAD_BYTES: usize = 256 * 1024;

/// The server's limits. [`Limits::default`] suits a service on the internet.
#[derive(Debug, Clone)]
pub struct Limits {
    header_read_timeout: Duration,
    body_deadline: Option<Duration>,
    max_connections: usize,
    max_connections_per_ip: usize,
    keep_alive: bool,
    max_requests_per_connection: Option<u64>,
    shutdown_grace: Duration,
    http2: bool,
}

impl Default for Limits {
    /// Headers within 10 s, bodies within 30 s, at most 256 connections per IP and three
    /// quarters of the process's file-descriptor limit in all (10,000 where it cannot be read),
    /// keep-alive on for up to 1,000 requests, 30 s of grace at shutdown, HTTP/1.1 and HTTP/2.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_deadline: Some(Duration::from_secs(30)),
            max_connections: default_max_connections(),
            max_connections_per_ip: 256,
            keep_alive: true,
            max_requests_per_connection: Some(1000),
            shutdown_grace: Duration::from_secs(30),
            http2: true,
        }
    }
}

/// Three quarters of the soft file-descriptor limit: the rest stays for the database, logs and
/// outgoing calls.
fn default_max_connections() -> usize {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        if let Some(soft) = limit.current {
            let soft = usize::try_from(soft).unwrap_or(usize::MAX);
            return (soft / 4 * 3).clamp(16, 1_000_000);
        }
    }
    10_000
}

impl Limits {
    /// How long a client may take to send a whole request head; also how long an idle
    /// keep-alive connection waits for its next request. The connection is closed after it.
    #[must_use]
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long a client may take to send a whole body, from the end of its head; `None` for
    /// no deadline.
    #[must_use]
    pub fn body_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.body_deadline = deadline;
        self
    }

    /// Most connections open at once.
    #[must_use]
    pub fn max_connections(mut self, count: usize) -> Self {
        self.max_connections = count.max(1);
        self
    }

    /// Most connections open at once from one client IP.
    #[must_use]
    pub fn max_connections_per_ip(mut self, count: usize) -> Self {
        self.max_connections_per_ip = count.max(1);
        self
    }

    /// Whether HTTP/1.1 connections stay open between requests.
    #[must_use]
    pub fn keep_alive(mut self, on: bool) -> Self {
        self.keep_alive = on;
        self
    }

    /// Requests served on one HTTP/1.1 connection before it is closed (`Connection: close` on
    /// the last answer); `None` for no limit.
    #[must_use]
    pub fn max_requests_per_connection(mut self, count: Option<u64>) -> Self {
        self.max_requests_per_connection = count.map(|c| c.max(1));
        self
    }

    /// How long requests in flight may take to finish after the shutdown signal.
    #[must_use]
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Whether clients may speak HTTP/2 (with prior knowledge) besides HTTP/1.1.
    #[must_use]
    pub fn http2(mut self, on: bool) -> Self {
        self.http2 = on;
        self
    }

    /// The configured header-read timeout.
    pub fn get_header_read_timeout(&self) -> Duration {
        self.header_read_timeout
    }

    /// The configured global connection cap.
    pub fn get_max_connections(&self) -> usize {
        self.max_connections
    }
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A server being configured; `.await` it to run. Made by [`serve`].
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<S> {
    listener: TcpListener,
    service: S,
    limits: Limits,
    signal: BoxFuture,
    on_shutdown: Option<BoxFuture>,
}

impl<S> fmt::Debug for Serve<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Serves `service` (a router, or a router wrapped in layers of yours) on `listener` with
/// [`Limits::default`], until SIGTERM or Ctrl-C.
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    Serve {
        listener,
        service,
        limits: Limits::default(),
        signal: Box::pin(shutdown_signal()),
        on_shutdown: None,
    }
}

impl<S> Serve<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    /// Replaces the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Shuts down when `signal` completes instead of on SIGTERM or Ctrl-C.
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.signal = Box::pin(signal);
        self
    }

    /// Runs `hook` once the connections are closed, before the server's future completes: flush
    /// the alert pipeline here (`alerts.shutdown()`).
    pub fn on_shutdown(mut self, hook: impl Future<Output = ()> + Send + 'static) -> Self {
        self.on_shutdown = Some(Box::pin(hook));
        self
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            service,
            limits,
            mut signal,
            on_shutdown,
        } = self;
        let limits = Arc::new(limits);
        let builder = Arc::new(builder(&limits));
        let tracker = Arc::new(Tracker::default());
        // Every connection holds a receiver: `closed()` completes when the last one is gone.
        let (stop_tx, stop_rx) = watch::channel(false);
        loop {
            let (stream, peer) = tokio::select! {
                biased;
                () = &mut signal => break,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        accept_failed(&err).await;
                        continue;
                    }
                },
            };
            let Some(slot) = tracker.admit(peer.ip(), &limits) else {
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(connection(
                stream,
                peer,
                service.clone(),
                Arc::clone(&builder),
                Arc::clone(&limits),
                stop_rx.clone(),
                slot,
            ));
        }
        drop(listener);
        drop(stop_rx);
        tracing::info!(
            open = tracker.open(),
            "shutting down: no new connections, finishing requests in flight"
        );
        let _ = stop_tx.send(true);
        if tokio::time::timeout(limits.shutdown_grace, stop_tx.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = tracker.open(),
                "shutdown grace over: closing the remaining connections"
            );
        }
        if let Some(hook) = on_shutdown {
            hook.await;
        }
        Ok(())
    }
}

impl<S> IntoFuture for Serve<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(limits.keep_alive)
        .max_headers(HYPER_MAX_HEADERS)
        .max_buf_size(HYPER_MAX_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(u32::try_from(HYPER_MAX_HEAD_BYTES).unwrap_or(u32::MAX));
    if limits.http2 {
        builder
    } else {
        builder.http1_only()
    }
}

/// An accept error: a connection that went away before it was accepted is nothing; running out
/// of descriptors is logged and waited out, never a busy loop.
async fn accept_failed(err: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        err.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        return;
    }
    tracing::error!(error = %err, "accept failed; retrying in 50 ms");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

async fn connection<S>(
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: Arc<Limits>,
    mut stop: watch::Receiver<bool>,
    slot: Slot,
) where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let served = Arc::new(AtomicU64::new(0));
    let body_deadline = limits.body_deadline;
    let max_requests = limits.max_requests_per_connection;
    let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let service = service.clone();
        let n = served.fetch_add(1, Ordering::Relaxed) + 1;
        let last = max_requests.is_some_and(|max| n >= max)
            && matches!(req.version(), Version::HTTP_10 | Version::HTTP_11);
        let mut req = req.map(|incoming| match body_deadline {
            Some(deadline) if !hyper::body::Body::is_end_stream(&incoming) => {
                Body::new(DeadlineBody::new(incoming, deadline))
            }
            _ => Body::new(incoming),
        });
        req.extensions_mut().insert(ConnectInfo(peer));
        async move {
            let mut response = match service.oneshot(req).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if last {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok::<_, Infallible>(response)
        }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), hyper_service);
    tokio::pin!(conn);
    let mut stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!(peer = %peer, error = %err, "connection ended with an error");
                }
                break;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                let _ = changed;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(slot);
}

/// Counts open connections, in all and per IP.
#[derive(Default)]
struct Tracker {
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl Tracker {
    fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    fn admit(self: &Arc<Self>, ip: IpAddr, limits: &Limits) -> Option<Slot> {
        let mut per_ip = self.per_ip.lock().unwrap_or_else(|e| e.into_inner());
        if self.open.load(Ordering::Relaxed) >= limits.max_connections {
            drop(per_ip);
            tracing::debug!(ip = %ip, "connection refused: server at its connection cap");
            return None;
        }
        let count = per_ip.entry(ip).or_insert(0);
        if *count >= limits.max_connections_per_ip {
            drop(per_ip);
            tracing::debug!(ip = %ip, "connection refused: client IP at its connection cap");
            return None;
        }
        *count += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            tracker: Arc::clone(self),
            ip,
        })
    }
}

/// One admitted connection; gives its place back when dropped.
struct Slot {
    tracker: Arc<Tracker>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per_ip = self
            .tracker
            .per_ip
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.tracker.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The body did not arrive whole within [`Limits::body_deadline`]. errata's extractors answer
/// it with `REQUEST_TIMEOUT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyDeadlineExceeded {
    /// The deadline that passed.
    pub deadline: Duration,
}

impl fmt::Display for BodyDeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive within {:?}",
            self.deadline
        )
    }
}

impl StdError for BodyDeadlineExceeded {}

pin_project_lite::pin_project! {
    /// A request body that fails once its deadline has passed.
    struct DeadlineBody {
        #[pin]
        inner: Incoming,
        #[pin]
        sleep: tokio::time::Sleep,
        deadline: Duration,
    }
}

impl DeadlineBody {
    fn new(inner: Incoming, deadline: Duration) -> Self {
        Self {
            inner,
            sleep: tokio::time::sleep(deadline),
            deadline,
        }
    }
}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if this.sleep.poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyDeadlineExceeded {
                deadline: *this.deadline,
            }))));
        }
        this.inner.poll_frame(cx).map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received");
}
