//! Where a command's output goes: stdout, or the file named by `-o`.

use std::io::{self, Write};
use std::path::Path;

use crate::error::CliError;

/// Writes `text` to `path`, or to stdout when there is none.
///
/// A closed stdout (`errata docs x | head`) is not an error: the reader has what it wanted.
pub fn emit(text: &str, path: Option<&Path>) -> Result<(), CliError> {
    match path {
        Some(path) => write_file(path, text),
        None => {
            let mut stdout = io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(CliError::Io {
                    action: "write",
                    path: "<stdout>".into(),
                    source: e,
                }),
                _ => Ok(()),
            }
        }
    }
}

/// Writes `text` to the file at `path`, replacing it.
pub fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// Adds a final newline when `text` has none, so files and terminals end cleanly.
pub fn with_newline(mut text: String) -> String {
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}
