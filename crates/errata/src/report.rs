//! [`ErrorReport`]: what the monitoring side learns about one rendered error.

use errata_catalog::{AlertPolicy, SpikeRule};

pub use crate::error::UpstreamDetail;

/// Everything about one error response that logs and alerts need, internal cause included.
///
/// Framework integrations attach it to the response (in axum: the response extensions) after
/// rendering; capture layers read it from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    /// Canonical catalog code (never an alias).
    pub code: String,
    /// HTTP status.
    pub status: u16,
    /// The public message, in the response's locale.
    pub message: String,
    /// The locale the message was rendered in.
    pub locale: String,
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
    pub docs_url: Option<String>,
}
