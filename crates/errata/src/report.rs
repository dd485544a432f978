//! [`ErrorReport`]: what the monitoring side learns about one rendered error.

use std::sync::Arc;

use errata_catalog::{AlertPolicy, SpikeRule};

use crate::error::ApiError;

pub use crate::error::UpstreamDetail;

/// Asks edge layers for an [`ErrorReport`] on every error response of this request.
///
/// Without it, no report is built, so a service without monitoring does not pay for one. A
/// monitoring layer asks in one of two ways: it runs the wrapped service's `call` and each
/// `poll` of its response future inside [`ReportWanted::scope`] (errata-alert's capture layer
/// does: it costs no allocation), or it puts `ReportWanted` in the request extensions (needed
/// only when something between the two layers moves the request to another task).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportWanted;

std::thread_local! {
    static WANTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl ReportWanted {
    /// Runs `f` with reports wanted on this thread (nested scopes add up; a panic in `f`
    /// still closes the scope).
    ///
    /// ```
    /// use errata::ReportWanted;
    /// assert!(!ReportWanted::in_scope());
    /// assert!(ReportWanted::scope(ReportWanted::in_scope));
    /// assert!(!ReportWanted::in_scope());
    /// ```
    #[inline(always)]
    pub fn scope<R>(f: impl FnOnce() -> R) -> R {
        struct Close;
        impl Drop for Close {
            #[inline(always)]
            fn drop(&mut self) {
                WANTED.with(|w| w.set(w.get().saturating_sub(1)));
            }
        }
        WANTED.with(|w| w.set(w.get() + 1));
        let _close = Close;
        f()
    }

    /// Whether the current code runs inside a [`ReportWanted::scope`].
    pub fn in_scope() -> bool {
        WANTED.with(|w| w.get() > 0)
    }
}

/// Everything about one error response that logs and alerts need, internal cause included.
///
/// The catalog's texts (code, message without parameters, locale, docs link) are shared with
/// the renderer, and the error itself is shared, not formatted: a report copies no text, and
/// its cause chain is written out only when someone reads it
/// ([`ErrorReport::cause_chain`]).
///
/// Framework integrations attach it to the response (in axum: the response extensions) after
/// rendering; capture layers read it from there.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    /// Canonical catalog code (never an alias).
    pub code: Arc<str>,
    /// HTTP status.
    pub status: u16,
    /// The public message, in the response's locale.
    pub message: Arc<str>,
    /// The locale the message was rendered in.
    pub locale: Arc<str>,
    /// The request id, when the request had one.
    pub request_id: Option<Arc<str>>,
    /// The error that was rendered, with its internal cause and upstream detail.
    pub error: Arc<ApiError>,
    /// Whether the error's code is in the catalog (an unknown one renders as `SERVER_ERROR`).
    pub in_catalog: bool,
    /// Monitoring policy of the code.
    pub alert: AlertPolicy,
    /// Spike threshold of the code, when it sets one.
    pub spike: Option<SpikeRule>,
    /// Link to the code's documentation.
    pub docs_url: Option<Arc<str>>,
}

impl ErrorReport {
    /// Internal causes as text, outermost first; never in the response body. An error whose
    /// code is not in the catalog starts with a line saying so.
    pub fn cause_chain(&self) -> Vec<String> {
        let mut chain = self.error.cause_chain();
        if !self.in_catalog {
            chain.insert(
                0,
                format!("error code `{}` is not in the catalog", self.error.code()),
            );
        }
        chain
    }

    /// What an upstream answered, when the error maps an upstream failure.
    pub fn upstream(&self) -> Option<&UpstreamDetail> {
        self.error.upstream()
    }
}
