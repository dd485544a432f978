//! The classroom API: lectures, enrollment and live sessions, built on errata.
//!
//! Every error it can return is declared in `errors.toml`; handlers return
//! `Result<T, errata::ApiError>` built with the constructors generated from it
//! ([`errors`]), and the edge layer renders them in the `nested` envelope, Korean by default,
//! English on `Accept-Language: en`.
//!
//! The binary is thin: [`config::Config::from_env`] → [`app::build`] → [`serve_on`] with
//! [`shutdown_signal`]. Tests build the same app in-process on `127.0.0.1:0`.

pub mod app;
pub mod auth;
pub mod config;
pub mod db;
pub mod errors;
pub mod kakao;
pub mod lectures;
pub mod sessions;
pub mod telemetry;
pub mod uploads;
pub mod ws;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use axum::ServiceExt;
use tokio::net::TcpListener;
use tower::Service;

pub use app::{build, App, AppState};
pub use config::Config;

/// Serves `service` (the app's router, or the router wrapped in layers of your own, such as a
/// monitoring layer) on `listener`, with the peer address available to the rate limiter, until
/// `shutdown` completes, then lets requests in flight finish.
pub async fn serve_on<S>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    axum::serve(
        listener,
        ServiceExt::<Request<Body>>::into_make_service_with_connect_info::<SocketAddr>(service),
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
