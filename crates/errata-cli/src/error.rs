//! What can stop a command, and the exit code each failure maps to.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code when problems were found in the input (catalog errors, breaking changes).
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit code on usage or I/O errors.
pub const EXIT_USAGE: u8 = 2;

/// Why a command could not do its work.
#[derive(Debug)]
#[non_exhaustive]
pub enum CliError {
    /// A file could not be read or written (exit 2).
    Io {
        /// What was being done (`read catalog`, `write`).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The command line asks for something that cannot be done (exit 2).
    Usage(String),
    /// The catalog has errors; `rendered` holds its diagnostics, ready to print (exit 1).
    InvalidCatalog {
        /// Every diagnostic, rendered, followed by a summary line.
        rendered: String,
    },
    /// The input is the problem, for a reason other than diagnostics (exit 1).
    Problem(String),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Io { .. } | CliError::Usage(_) => EXIT_USAGE,
            CliError::InvalidCatalog { .. } | CliError::Problem(_) => EXIT_PROBLEMS,
        }
    }
}

impl From<&CliError> for ExitCode {
    fn from(error: &CliError) -> Self {
        ExitCode::from(error.exit_code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Io {
                action,
                path,
                source,
            } => {
                write!(f, "error: cannot {action} `{}`: {source}", path.display())?;
                if source.kind() == io::ErrorKind::NotFound && *action == "read catalog" {
                    if path.as_os_str() == crate::args::DEFAULT_CATALOG {
                        write!(f, "\n  hint: `{}` in the current directory is the catalog read when none is named; create one with `errata init`, or name the catalog file", crate::args::DEFAULT_CATALOG)?;
                    } else {
                        write!(f, "\n  hint: check the path; `errata check <FILE>` takes the catalog's TOML file")?;
                    }
                }
                Ok(())
            }
            CliError::Usage(message) | CliError::Problem(message) => {
                write!(f, "error: {message}")
            }
            CliError::InvalidCatalog { rendered } => f.write_str(rendered.trim_end()),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
