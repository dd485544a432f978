//! `errata relay`: the Sentry-compatible ingest server of `errata_relay`, started from the
//! command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::{CliError, Outcome};

/// Arguments of `errata relay`; every other setting is an `ERRATA_RELAY_*` or `ERRATA_*`
/// variable (see `errata_relay::settings`).
#[derive(Debug, Args)]
pub struct RelayCliArgs {
    /// A TOML file with the relay's settings (variables set override its keys).
    #[arg(long, value_name = "FILE", env = "ERRATA_RELAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:9000).
    #[arg(long, value_name = "ADDR", env = "ERRATA_RELAY_ADDR")]
    pub addr: Option<SocketAddr>,
}

/// Runs the relay until SIGTERM or Ctrl-C.
pub fn run(args: &RelayCliArgs) -> Result<Outcome, CliError> {
    errata_relay::run_blocking(args.config.clone(), args.addr)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    Ok(Outcome::Clean)
}
