//! `classroom`: the reference service built on errata (lectures, enrollment, live sessions).
//!
//! Configuration comes from the environment (see the README); a bad value stops start-up with
//! exit code 2 and a message naming the variable.

use std::process::ExitCode;

use classroom::Config;
use errata_alert::Alerting;
use tokio::net::TcpListener;
use tower::util::Either;
use tower::Layer;

#[tokio::main]
async fn main() -> ExitCode {
    classroom::telemetry::init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("classroom: {err}");
            return ExitCode::from(2);
        }
    };
    if config.jwt_secret.is_generated() {
        // Debug builds only (a release build refuses to start without JWT_SECRET). Printed once
        // so that tokens can be minted by hand; never logged.
        eprintln!(
            "JWT_SECRET is not set: using a generated development secret (tokens die with the process): {}",
            String::from_utf8_lossy(config.jwt_secret.as_bytes())
        );
    }
    // Console by default; Slack, Sentry and webhooks when ERRATA_* variables are set;
    // `ERRATA_ALERTS=off` turns monitoring off.
    let alerting = if std::env::var("ERRATA_ALERTS").is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
        None
    } else {
        match Alerting::from_env() {
            Ok(alerting) => Some(
                alerting
                    .catalog(classroom::errors::catalog())
                    .service("classroom"),
            ),
            Err(err) => {
                eprintln!("classroom: {err}");
                return ExitCode::from(2);
            }
        }
    };
    match run(config, alerting).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("classroom: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config, alerting: Option<Alerting>) -> anyhow::Result<()> {
    let app = classroom::build(&config).await?;
    // Monitoring wraps the whole router, outside errata's edge layer, so that it sees every
    // error response already rendered, with its `errata::ErrorReport` (and route template) in
    // the extensions. Wrapping the router once, rather than each route with `Router::layer`,
    // keeps its cost per request low.
    let (service, alerts) = match alerting {
        Some(alerting) => {
            let (layer, handle) = alerting.start().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            (Either::Left(layer.layer(app.router)), Some(handle))
        }
        None => (Either::Right(app.router), None),
    };
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("CLASSROOM_ADDR: cannot listen on {}: {e}", config.addr))?;
    tracing::info!(addr = %listener.local_addr()?, "classroom listening");
    // Header-read timeout, body deadline, connection caps and connect info from
    // `errata_axum::serve`; on SIGTERM or Ctrl-C it lets requests in flight finish, then
    // flushes the alert pipeline: every captured error is counted and every alert spooled
    // before exit.
    errata_axum::serve(listener, service)
        .limits(classroom::serve_limits(&config))
        .on_shutdown(async move {
            if let Some(handle) = alerts {
                handle.shutdown().await;
            }
        })
        .await?;
    Ok(())
}
