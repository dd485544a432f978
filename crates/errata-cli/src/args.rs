//! The command line: every subcommand and option, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::envelope::Envelope;

/// The catalog every command reads when none is named: `errors.toml` in the current directory.
pub const DEFAULT_CATALOG: &str = "errors.toml";

/// The error contract of an HTTP API, from one catalog file.
///
/// Exit codes: 0 when all is well, 1 when problems were found (catalog errors, breaking
/// changes, an unknown code), 2 on usage or I/O errors.
#[derive(Debug, Parser)]
#[command(name = "errata", version, propagate_version = true)]
pub struct Cli {
    /// Write the output to FILE instead of stdout.
    #[arg(short, long, global = true, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `errata`.
///
/// Each variant takes its own `Args` struct and is dispatched in [`crate::run`]; the event
/// commands (`stats`, `alerts`) join here the same way.
#[derive(Debug, Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Write a starter catalog (default `errors.toml`) that passes `errata check`.
    Init(InitArgs),
    /// Check a catalog: every error and warning with its location; exit 1 on any error.
    Check(CheckArgs),
    /// A reference of every error for frontend developers (Markdown, one HTML page, or JSON).
    Docs(DocsArgs),
    /// An OpenAPI 3.1 document with the error envelopes, an `ErrorCode` enum and one response per
    /// status, with an example per code.
    Openapi(OpenapiArgs),
    /// Client code: code constants, parameter types and a parser that keeps unknown codes.
    Codegen(CodegenArgs),
    /// The conformance corpus: every code x locale x envelope x parameter case with the exact
    /// expected response, as JSON; `--check` runs it against the Rust renderer.
    Conformance(ConformanceArgs),
    /// Message bundles: every message template per locale, as JSON.
    Bundle(BundleArgs),
    /// Compare two versions of a catalog; exit 1 if any change is breaking.
    Diff(DiffArgs),
    /// Everything about one code (or alias, or field code).
    Explain(ExplainArgs),
    /// Errors counted per code and route over a window, and the change against another window.
    Stats(crate::monitor::StatsCliArgs),
    /// The alert spool: pending and dead-lettered alerts, and replaying them.
    Alerts(crate::monitor::AlertsCliArgs),
    /// A Sentry-compatible ingest server: Sentry SDKs of any stack send their events here and
    /// they go through the alert pipeline (`ERRATA_RELAY_*` and `ERRATA_*` variables).
    Relay(crate::relay::RelayCliArgs),
    /// A completion script for a shell (e.g. `errata completions bash > /etc/bash_completion.d/errata`).
    Completions(CompletionsArgs),
    /// The man page, in roff (e.g. `errata man > errata.1 && man ./errata.1`).
    Man,
}

/// Arguments of `errata completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `errata check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The catalog file (TOML).
    #[arg(default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
}

/// Output formats of `errata docs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DocsFormat {
    /// Markdown, grouped by status.
    Md,
    /// One self-contained HTML page with a search box; each code has an anchor (`#CODE`).
    Html,
    /// A stable machine-readable format (`"format": "errata-docs/1"`).
    Json,
}

/// Arguments of `errata docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// The catalog file (TOML).
    #[arg(default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DocsFormat::Md)]
    pub format: DocsFormat,
}

/// Arguments of `errata openapi`.
#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// The catalog file (TOML).
    #[arg(default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
    /// The envelope the responses use (and their examples follow).
    #[arg(long, value_enum, default_value_t = Envelope::Nested)]
    pub envelope: Envelope,
}

/// Target languages of `errata codegen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Lang {
    /// TypeScript (strict mode, no `any`).
    Ts,
    /// Kotlin (standard library only).
    Kotlin,
    /// Python for Django REST Framework: exceptions, an exception handler, upstream rules.
    Python,
}

/// Arguments of `errata codegen`.
#[derive(Debug, Args)]
pub struct CodegenArgs {
    /// The catalog file (TOML).
    #[arg(default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
    /// Target language.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Package of the generated Kotlin file (ignored for TypeScript).
    #[arg(long, default_value = "errata.generated")]
    pub package: String,
}

/// Arguments of `errata conformance`.
#[derive(Debug, Args)]
pub struct ConformanceArgs {
    /// The catalog file (TOML).
    pub catalog: PathBuf,
    /// Render every case with the Rust renderer and compare; exit 1 on any difference.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `errata bundle`.
#[derive(Debug, Args)]
#[command(after_help = "\
Output: with --locale, one JSON object keyed by code (field codes under \"fields\").
Without it, one JSON object keyed by locale.
When -o names an existing directory (or ends with '/'), one file per locale is written
there instead (ko.json, en.json, ...; only L.json with --locale L).")]
pub struct BundleArgs {
    /// The catalog file (TOML).
    #[arg(default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
    /// Only this locale.
    #[arg(long, value_name = "L")]
    pub locale: Option<String>,
}

/// Output formats of `errata diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// One line per change, breaking ones first and marked.
    Text,
    /// `{"old", "new", "breaking", "summary", "version", "passed", "changes": [{"kind", "code",
    /// "breaking", "message"}]}`.
    Json,
    /// GitHub Actions annotations (`::error file=…,line=…::…`), one per change and verdict.
    Github,
}

/// Arguments of `errata diff`.
#[derive(Debug, Args)]
#[command(after_help = "\
Versions: `[catalog].version` of both files is read as semver. Breaking changes pass under a
major bump (under 0.x, a minor bump) and are still listed; without one they fail (exit 1) and
the message names the version to ship. A major bump with no breaking change is a warning.")]
pub struct DiffArgs {
    /// The catalog as clients know it.
    pub old: PathBuf,
    /// The catalog about to ship.
    pub new: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

/// Arguments of `errata explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// An error code, an alias or a field code.
    pub code: String,
    /// The catalog file (TOML).
    #[arg(long, value_name = "CATALOG", default_value = DEFAULT_CATALOG)]
    pub catalog: PathBuf,
}

/// Numbering schemes `errata init` can set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitScheme {
    /// Four digits: domain, kind, two-digit sequence (`1301`).
    DomainKindSeq,
    /// A prefix, the HTTP status, a three-digit sequence (`E404001`).
    StatusSeq,
}

/// Arguments of `errata init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the catalog.
    #[arg(default_value = DEFAULT_CATALOG)]
    pub path: PathBuf,
    /// Number the errors with a scheme (none by default).
    #[arg(long, value_enum)]
    pub scheme: Option<InitScheme>,
    /// The API's name (default: the current directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    pub force: bool,
}
