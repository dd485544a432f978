//! An internal error with a chain of causes, as a service's errors have.

use std::error::Error;
use std::fmt;

use errata::{ApiError, UpstreamDetail};

/// One link of a cause chain.
#[derive(Debug)]
pub struct Cause {
    text: String,
    source: Option<Box<Cause>>,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_deref().map(|c| c as &(dyn Error + 'static))
    }
}

/// An error of `code` whose causes read `causes`, outermost first, and whose upstream
/// answered `upstream`.
pub fn failing(
    code: &str,
    status: u16,
    causes: Vec<String>,
    upstream: Option<UpstreamDetail>,
) -> ApiError {
    let mut err = ApiError::from_code(code.to_owned(), status);
    let chain = causes
        .into_iter()
        .rev()
        .fold(None, |source, text| Some(Box::new(Cause { text, source })));
    if let Some(cause) = chain {
        err = err.with_cause(cause as Box<dyn Error + Send + Sync>);
    }
    if let Some(detail) = upstream {
        err = err.with_upstream(detail);
    }
    err
}
