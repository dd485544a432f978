//! The classroom API: lectures, enrollment and live sessions, built on errata.
//!
//! Every error it can return is declared in `errors.toml`; handlers return
//! `Result<T, errata::ApiError>` built with the constructors generated from it
//! ([`errors`]), and the edge layer renders them in the `nested` envelope, Korean by default,
//! English on `Accept-Language: en`.
//!
//! The binary is thin: [`config::Config::from_env`] → [`app::build`] → [`errata_axum::serve`]
//! with [`serve_limits`], flushing alerts on shutdown. Tests build the same app in-process on
//! `127.0.0.1:0` and serve it with [`serve_on`].

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

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use tokio::net::TcpListener;
use tower::Service;

pub use app::{build, App, AppState};
pub use config::Config;

/// The server limits of classroom: `errata_axum::serve`'s defaults, with the body deadline
/// of [`Config::body_timeout`].
pub fn serve_limits(config: &Config) -> errata_axum::Limits {
    errata_axum::Limits::default().body_deadline(Some(config.body_timeout))
}

/// Serves `service` (the app's router, or the router wrapped in layers of your own, such as a
/// monitoring layer) on `listener` with [`errata_axum::serve`] (connect info for the rate
/// limiter, header and body deadlines, connection caps), until `shutdown` completes, then lets
/// requests in flight finish.
pub async fn serve_on<S>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    errata_axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
pub use errata_axum::serve::shutdown_signal;

/// Validator of names and titles: text that is only whitespace is `blank` (a
/// `VALIDATION_ERROR` field error), since it would be stored trimmed, as `""`.
pub fn not_blank(text: &str) -> Result<(), validator::ValidationError> {
    if text.trim().is_empty() {
        return Err(validator::ValidationError::new("blank"));
    }
    Ok(())
}
