//! [`ErrorReport`]: what the monitoring side learns about one rendered error.

use std::sync::Arc;

use errata_catalog::{AlertPolicy, SpikeRule};

use crate::error::ApiError;

pub use crate::error::UpstreamDetail;

/// Asks edge layers for an [`ErrorReport`] on every error response of this request.
///
/// Monitoring layers (errata-alert's capture layer) put it in the request extensions; without
/// it, no report is built, so a service without monitoring does not pay for one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportWanted;

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
