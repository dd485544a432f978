//! Shell completions (`clap_complete`) and the man page (`clap_mangen`), both generated from
//! the command line's own declaration, so they cannot drift from it.

use std::path::Path;

use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs};
use crate::error::CliError;
use crate::{output, Outcome};

/// `errata completions SHELL`: the completion script for `SHELL`.
pub(crate) fn completions(args: &CompletionsArgs, out: Option<&Path>) -> Result<Outcome, CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "errata", &mut script);
    output::emit(&String::from_utf8_lossy(&script), out)?;
    Ok(Outcome::Clean)
}

/// `errata man`: the man page of `errata`, in roff.
pub(crate) fn man(out: Option<&Path>) -> Result<Outcome, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|source| CliError::Io {
            action: "render the man page",
            path: "<man page>".into(),
            source,
        })?;
    output::emit(&String::from_utf8_lossy(&page), out)?;
    Ok(Outcome::Clean)
}
