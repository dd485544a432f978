//! `errata stats` and `errata alerts`: counts over time and the alert spool, read from the store
//! that `errata-alert` writes (a SQLite file or a PostgreSQL URL).

use clap::{Args, Subcommand, ValueEnum};
use errata_alert::report::{
    run_alerts_list, run_alerts_replay, run_stats, AlertsListArgs, AlertsReplayArgs, Format,
    ReplayTarget, ReportError, StatsArgs,
};
use errata_alert::ListFilter;

use crate::error::CliError;
use crate::Outcome;

/// Output formats of `errata stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
    /// One self-contained HTML page with a chart.
    Html,
}

/// Arguments of `errata stats`.
#[derive(Debug, Args)]
pub struct StatsCliArgs {
    /// The store: a SQLite path or a `postgres://` URL.
    #[arg(long, env = "ERRATA_STORE")]
    pub store: String,
    /// Start of the window: RFC 3339, a date, or relative (`-1h`, `-7d`).
    #[arg(long, allow_hyphen_values = true)]
    pub from: String,
    /// End of the window.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Start of a second window to compare with (the "before").
    #[arg(long, requires = "vs_to", allow_hyphen_values = true)]
    pub vs_from: Option<String>,
    /// End of the second window.
    #[arg(long, requires = "vs_from", allow_hyphen_values = true)]
    pub vs_to: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
}

/// Arguments of `errata alerts`.
#[derive(Debug, Args)]
pub struct AlertsCliArgs {
    /// What to do with the spool.
    #[command(subcommand)]
    pub command: AlertsCommand,
}

/// Which deliveries `errata alerts list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// Pending and dead-lettered.
    All,
    /// Waiting for their sink.
    Pending,
    /// Refused by their sink for good.
    Dead,
}

/// Output formats of `errata alerts list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns.
    Table,
    /// JSON.
    Json,
}

/// `errata alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Pending and dead-lettered alerts.
    List {
        /// The store: a SQLite path or a `postgres://` URL.
        #[arg(long, env = "ERRATA_STORE")]
        store: String,
        /// Which deliveries.
        #[arg(long, value_enum, default_value = "all")]
        which: Which,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ListFormat,
    },
    /// Queue deliveries again (one by id, or every dead letter); the running service sends them.
    Replay {
        /// The store: a SQLite path or a `postgres://` URL.
        #[arg(long, env = "ERRATA_STORE")]
        store: String,
        /// The delivery id (from `errata alerts list`).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<i64>,
        /// Every dead letter.
        #[arg(long)]
        all_dead: bool,
    },
}

fn failed(e: &ReportError) -> CliError {
    CliError::Usage(e.to_string())
}

/// Runs `errata stats`.
pub fn stats(args: &StatsCliArgs, output: Option<&std::path::Path>) -> Result<Outcome, CliError> {
    let text = run_stats(&StatsArgs {
        store: args.store.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        vs: args.vs_from.clone().zip(args.vs_to.clone()),
        format: match args.format {
            StatsFormat::Table => Format::Table,
            StatsFormat::Json => Format::Json,
            StatsFormat::Html => Format::Html,
        },
    })
    .map_err(|e| failed(&e))?;
    crate::output::emit(&text, output)?;
    Ok(Outcome::Clean)
}

/// Runs `errata alerts list|replay`.
pub fn alerts(args: &AlertsCliArgs, output: Option<&std::path::Path>) -> Result<Outcome, CliError> {
    let text = match &args.command {
        AlertsCommand::List {
            store,
            which,
            format,
        } => run_alerts_list(&AlertsListArgs {
            store: store.clone(),
            filter: match which {
                Which::All => ListFilter::All,
                Which::Pending => ListFilter::Pending,
                Which::Dead => ListFilter::Dead,
            },
            format: match format {
                ListFormat::Table => Format::Table,
                ListFormat::Json => Format::Json,
            },
        }),
        AlertsCommand::Replay {
            store,
            id,
            all_dead,
        } => run_alerts_replay(&AlertsReplayArgs {
            store: store.clone(),
            target: match (id, all_dead) {
                (Some(id), false) => ReplayTarget::Id(*id),
                _ => ReplayTarget::AllDead,
            },
        }),
    }
    .map_err(|e| failed(&e))?;
    crate::output::emit(&text, output)?;
    Ok(Outcome::Clean)
}
