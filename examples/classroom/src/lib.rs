//! The classroom API: lectures, enrollment and live sessions, built on errata.
//!
//! Every error it can return is declared in `errors.toml`; handlers return
//! `Result<T, errata::ApiError>` built with the constructors generated from it
//! ([`errors`]), and the edge layer renders them in the `nested` envelope, Korean by default,
//! English on `Accept-Language: en`.
//!
//! The binary is thin: [`config::Config::from_env`] → [`app::build`] → [`serve`]. Tests build
//! the same app in-process on `127.0.0.1:0` with [`serve_on`].

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod errors;
pub mod kakao;
pub mod lectures;
pub mod openapi;
pub mod sessions;
pub mod telemetry;
pub mod uploads;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;

pub use app::{build, App, AppState};
pub use config::Config;

/// Builds the app from `config` and serves it on `config.addr` until `shutdown` completes.
pub async fn serve(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    if config.jwt_secret.is_generated() {
        // Development only (a release build refuses to start without JWT_SECRET). Printed once
        // so that tokens can be minted by hand; never logged.
        eprintln!(
            "JWT_SECRET is not set: using a generated development secret (tokens die with the process): {}",
            String::from_utf8_lossy(config.jwt_secret.as_bytes())
        );
    }
    let app = app::build(&config).await?;
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("CLASSROOM_ADDR: cannot listen on {}: {e}", config.addr))?;
    tracing::info!(addr = %listener.local_addr()?, "classroom listening");
    serve_on(listener, app.router, shutdown).await
}

/// Serves `router` on `listener` (with the peer address available to the rate limiter) until
/// `shutdown` completes, then lets requests in flight finish.
pub async fn serve_on(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
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
    tracing::info!("shutting down");
}
