//! errata's signal half: every error that leaves the server becomes an event (scrubbed of
//! secrets); events are grouped by fingerprint; a storm becomes one alert plus periodic digests
//! ("×6,174 in the last 5 min"); alerts are spooled before they are sent, paced to each sink's
//! limits and retried; counts per code and route over time answer "did my change cut the
//! noise?".
//!
//! ```
//! use axum::{routing::get, Router};
//! use errata_alert::{Alerting, CaptureContext, Event};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # std::env::set_var("ERRATA_STORE", dir.path().join("alerts.sqlite3"));
//! // Console by default; Slack, Sentry and webhooks when ERRATA_* variables say so.
//! let (layer, handle) = Alerting::from_env()?
//!     // .catalog(&catalog)   // alert policies, spike rules and docs links per code
//!     .service("classroom")
//!     .start()
//!     .await?;
//!
//! let app: Router = Router::new()
//!     .route(
//!         "/me",
//!         get(|ctx: CaptureContext| async move {
//!             ctx.set_user("u-42"); // what an auth extractor would do
//!             "hello"
//!         }),
//!     );
//! // Wrapping the whole router (behind errata's edge layer) costs least per request.
//! let service = tower::Layer::layer(&layer, app);
//! # let _ = service;
//!
//! // Errors outside HTTP go through the same pipeline.
//! handle.capturer().capture(Event::new("NIGHTLY_JOB_FAILED", 500).with_message("export failed"));
//!
//! handle.shutdown().await; // flushes: nothing captured is lost
//! # Ok(())
//! # }
//! ```
//!
//! Modules, in the order data flows: [`capture`] (layer and [`Capturer`]), [`scrub`],
//! [`fingerprint`], [`aggregate`] (grouping and timing), [`spool`] (durable outbox),
//! [`delivery`] (pacing and retries), [`sink`] (Slack, Sentry, webhook, console), [`store`]
//! (counts over time) and [`report`] (`stats`, `alerts list`, `alerts replay`).

pub mod aggregate;
pub mod alert;
pub mod capture;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod event;
pub mod fingerprint;
mod fleet;
pub mod pipeline;
pub mod report;
pub mod scrub;
pub mod sink;
pub mod spool;
pub mod store;

pub use aggregate::{Limits, Timing};
pub use alert::{Alert, AlertKind, UpstreamCounts};
pub use capture::{AlertLayer, CaptureContext, Capturer};
pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use config::{Config, ConfigError, Secret};
pub use delivery::DeliveryOptions;
pub use errata_catalog::{AlertPolicy, SpikeRule};
pub use event::{ErrorReport, Event, Forwarding, Upstream, UpstreamDetail};
pub use pipeline::{Alerting, AlertingHandle, PipelineStats, StartError};
pub use scrub::{ScrubEvent, Scrubber};
pub use sink::{SendOutcome, Sink};
pub use spool::{Delivery, DeliveryState, ListFilter, Spool, StoreError};
pub use store::Store;

/// A spool that is also a store: what the pipeline writes to.
pub trait Backend: Spool + Store {}

impl<T: Spool + Store> Backend for T {}
