//! Logs: `RUST_LOG` filters (default `info`); nothing secret is ever logged (no tokens, no
//! passwords, no query strings).

/// Installs the log subscriber (once; later calls do nothing).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}
