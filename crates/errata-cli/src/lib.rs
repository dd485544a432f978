//! The `errata` command: everything that can be derived from an error catalog.
//!
//! - `errata init [--scheme domain-kind-seq|status-seq]`: a starter `errors.toml`.
//! - `errata check CATALOG`: every error and warning, located, with hints.
//! - `errata docs CATALOG --format md|html|json`: a reference for frontend developers.
//! - `errata openapi CATALOG`: OpenAPI 3.1 components (envelopes, `ErrorCode`, responses).
//! - `errata codegen CATALOG --lang ts|kotlin|python`: constants, types and a tolerant parser
//!   (TypeScript, Kotlin); exceptions and a DRF exception handler (Python).
//! - `errata bundle CATALOG`: message templates per locale.
//! - `errata diff OLD NEW`: the compatibility gate (exit 1 on a breaking change without a major
//!   version bump), as text, JSON or GitHub Actions annotations.
//! - `errata explain CODE --catalog CATALOG`: everything about one code.
//! - `errata relay`: a Sentry-compatible ingest server feeding the alert pipeline.
//!
//! Every command that reads one catalog defaults to `./errors.toml`.
//!
//! Exit codes: 0 when all is well, 1 when the input has problems, 2 on usage or I/O errors.
//! The renderers are public so that other tools (and benchmarks) can call them without a
//! process:
//!
//! ```
//! let catalog = errata_catalog::Catalog::from_toml(r#"
//! [catalog]
//! name = "shop"
//! default_locale = "en"
//! locales = ["en"]
//! [errors.OUT_OF_STOCK]
//! status = 409
//! message.en = "This item is out of stock."
//! "#).unwrap();
//! let page = errata_docs::html::render(&catalog);
//! assert!(page.contains(r#"id="OUT_OF_STOCK""#));
//! ```

pub mod args;
pub mod bundle;
mod check;
pub mod codegen;
mod compare;
pub mod conformance;
pub mod docs;
pub mod envelope;
pub mod error;
mod explain;
mod init;
pub mod monitor;
pub mod openapi;
pub mod output;
pub mod relay;
mod shell;
pub mod source;

use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command};
pub use error::CliError;

/// How a command that ran to its end went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to report (exit 0).
    Clean,
    /// The command found problems: catalog errors, breaking changes (exit 1).
    ProblemsFound,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        match outcome {
            Outcome::Clean => ExitCode::SUCCESS,
            Outcome::ProblemsFound => ExitCode::from(error::EXIT_PROBLEMS),
        }
    }
}

/// Parses the process's arguments, runs the command and returns its exit code.
///
/// Usage errors print clap's message and exit 2; `--help` and `--version` exit 0.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            eprintln!("{error}");
            (&error).into()
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: &Cli) -> Result<Outcome, CliError> {
    let output = cli.output.as_deref();
    match &cli.command {
        Command::Init(args) => init::run(args, output),
        Command::Check(args) => check::run(args, output),
        Command::Docs(args) => {
            let catalog = source::load(&args.catalog)?;
            output::emit(&docs::render(&catalog, args.format), output)?;
            Ok(Outcome::Clean)
        }
        Command::Openapi(args) => {
            let catalog = source::load(&args.catalog)?;
            let document = openapi::document(&catalog, args.envelope);
            output::emit(&output::with_newline(pretty(&document)), output)?;
            Ok(Outcome::Clean)
        }
        Command::Codegen(args) => {
            let catalog = source::load(&args.catalog)?;
            let code = match args.lang {
                args::Lang::Ts => codegen::ts::render(&catalog),
                args::Lang::Kotlin => codegen::kotlin::render(&catalog, &args.package)?,
                args::Lang::Python => codegen::python::render(&catalog),
            };
            output::emit(&code, output)?;
            Ok(Outcome::Clean)
        }
        Command::Conformance(args) => conformance::run(args, output),
        Command::Bundle(args) => bundle::run(args, output),
        Command::Diff(args) => compare::run(args, output),
        Command::Explain(args) => explain::run(args, output),
        Command::Stats(args) => monitor::stats(args, output),
        Command::Alerts(args) => monitor::alerts(args, output),
        Command::Completions(args) => shell::completions(args, output),
        Command::Man => shell::man(output),
        Command::Relay(args) => relay::run(args),
    }
}

/// Pretty JSON; serializing a `serde_json::Value` cannot fail.
pub(crate) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}
