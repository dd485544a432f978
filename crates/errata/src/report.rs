//! [`ErrorReport`]: what the monitoring side learns about one rendered error.

use std::sync::Arc;

use errata_catalog::{AlertPolicy, SpikeRule};

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
/// the renderer, so building a report copies none of them.
///
/// Framework integrations attach it to the response (in axum: the response extensions) after
/// rendering; capture layers read it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub request_id: Option<String>,
    /// Internal causes, outermost first; never in the response body.
    pub cause_chain: Vec<String>,
    /// What an upstream answered, when the error maps an upstream failure.
    pub upstream: Option<UpstreamDetail>,
    /// Monitoring policy of the code.
    pub alert: AlertPolicy,
    /// Spike threshold of the code, when it sets one.
    pub spike: Option<SpikeRule>,
    /// Link to the code's documentation.
    pub docs_url: Option<Arc<str>>,
}
