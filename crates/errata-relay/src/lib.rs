//! `errata relay`: a Sentry-compatible ingest server. Any Sentry SDK (Python, Java, Node...)
//! pointed at `http://public_key@host:port/project_id` sends its events here; each becomes an
//! errata event and goes through errata-alert's pipeline (grouping, catalog policies, spool,
//! Slack/Sentry/webhook/console sinks, counts for `errata stats`).
//!
//! Modules, in the order a request flows: [`server`] (auth, shedding, quotas, answers),
//! [`decode`] (bounded decompression), [`envelope`] (the envelope format), [`mapping`] (Sentry
//! event → errata event, Sentry's default scrubbing), [`upstream`] (a bounded sample forwarded
//! to an upstream Sentry); [`settings`] reads the `ERRATA_RELAY_*` variables or a TOML file.
//!
//! ```no_run
//! # async fn demo() -> Result<(), errata_relay::RelayError> {
//! let settings = errata_relay::RelaySettings::from_env()?;
//! let alerting = errata_alert::Alerting::from_env()?;
//! let relay = errata_relay::Relay::start(settings, alerting).await?;
//! eprintln!("errata relay listening on {}", relay.local_addr());
//! relay.shutdown().await; // stops accepting, then flushes the pipeline
//! # Ok(()) }
//! ```

pub mod decode;
pub mod envelope;
pub mod mapping;
mod prune;
pub mod server;
pub mod settings;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use errata_alert::{Alerting, AlertingHandle};
use tokio::sync::oneshot;

pub use server::RelayStats;
pub use settings::{Project, Quota, RelaySettings, SettingsError, UpstreamSettings};

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A relay setting is invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// An `ERRATA_*` setting of errata-alert is invalid.
    #[error(transparent)]
    Config(#[from] errata_alert::ConfigError),
    /// The catalog could not be loaded.
    #[error("ERRATA_RELAY_CATALOG: {0}")]
    Catalog(String),
    /// The pipeline did not start.
    #[error(transparent)]
    Start(#[from] errata_alert::StartError),
    /// The listen address could not be bound.
    #[error("ERRATA_RELAY_ADDR: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The reason.
        source: std::io::Error,
    },
    /// The runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    alerting: AlertingHandle,
    shared: Arc<server::Shared>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    upstream: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// Loads the catalog, starts the pipeline (with the catalog's policies and the relay's
    /// queue capacity), binds `settings.addr` and serves.
    pub async fn start(settings: RelaySettings, alerting: Alerting) -> Result<Relay, RelayError> {
        let catalog = match &settings.catalog {
            Some(path) => Some(
                errata_catalog::Catalog::load(path)
                    .map_err(|e| RelayError::Catalog(format!("{}: {e}", path.display())))?,
            ),
            None => None,
        };
        let mut alerting = alerting.queue_capacity(settings.queue_capacity);
        if let Some(c) = &catalog {
            alerting = alerting.catalog(c);
        }
        let listener = tokio::net::TcpListener::bind(settings.addr)
            .await
            .map_err(|source| RelayError::Bind {
                addr: settings.addr,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| RelayError::Bind {
            addr: settings.addr,
            source,
        })?;
        let (_layer, handle) = alerting.start().await?;
        let (upstream, upstream_task) = match &settings.upstream {
            Some(u) => {
                let (f, t) = upstream::Forwarder::start(u)?;
                (Some(f), Some(t))
            }
            None => (None, None),
        };
        let mapper = mapping::Mapper::new(catalog, settings.exceptions.clone());
        let shared = Arc::new(server::Shared::new(
            &settings,
            handle.capturer(),
            mapper,
            upstream,
        ));
        let app = server::router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "errata relay: the server stopped");
            }
        });
        tracing::info!(
            %addr,
            projects = settings.projects.len(),
            catalog = settings.catalog.as_ref().map(|p| p.display().to_string()),
            upstream = settings.upstream.is_some(),
            "errata relay: {}",
            handle.summary()
        );
        Ok(Relay {
            addr,
            alerting: handle,
            shared,
            stop: Some(stop),
            server,
            upstream: upstream_task,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The pipeline it feeds.
    pub fn alerting(&self) -> &AlertingHandle {
        &self.alerting
    }

    /// Counters (also served at `GET /relay/stats`).
    pub fn stats(&self) -> RelayStats {
        self.shared.stats()
    }

    /// Stops accepting, finishes the requests in flight, then shuts the pipeline down (every
    /// captured event aggregated, due notices spooled and given their delivery time).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        self.alerting.shutdown().await;
        let s = self.shared.stats();
        if s.upstream_not_forwarded > 0 || s.sdk_discarded > 0 {
            tracing::info!(
                upstream_not_forwarded = s.upstream_not_forwarded,
                sdk_discarded = s.sdk_discarded,
                "errata relay: stopped"
            );
        }
        if let Some(t) = self.upstream.take() {
            t.abort();
        }
    }
}

/// Runs the relay until SIGTERM or Ctrl-C: settings from `config_file` (else
/// `ERRATA_RELAY_CONFIG`) and the `ERRATA_RELAY_*` variables, the pipeline from the `ERRATA_*`
/// variables; `addr` overrides the listen address. Prints `errata relay listening on ADDR` to
/// stderr once it accepts connections.
pub async fn run(config_file: Option<PathBuf>, addr: Option<SocketAddr>) -> Result<(), RelayError> {
    let mut settings = RelaySettings::from_file_and_env(config_file)?;
    if let Some(a) = addr {
        settings.addr = a;
    }
    let alerting = Alerting::from_env()?;
    let relay = Relay::start(settings, alerting).await?;
    eprintln!("errata relay listening on {}", relay.local_addr());
    wait_for_signal().await;
    tracing::info!("errata relay: stopping");
    relay.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// [`run`] on a multi-threaded runtime of its own, with logs (`RUST_LOG`, default `info`) on
/// stderr: what `errata relay` calls.
pub fn run_blocking(
    config_file: Option<PathBuf>,
    addr: Option<SocketAddr>,
) -> Result<(), RelayError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RelayError::Runtime)?
        .block_on(run(config_file, addr))
}
