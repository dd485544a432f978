//! The console: one readable line per alert (the default when nothing else is configured).

use std::io::Write;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::{SendOutcome, Sink};
use crate::alert::{thousands, Alert};

/// Writes one line per alert to stdout, stderr or any writer.
pub struct ConsoleSink {
    name: String,
    out: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl std::fmt::Debug for ConsoleSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSink")
            .field("name", &self.name)
            .finish()
    }
}

impl ConsoleSink {
    /// Lines to standard output.
    pub fn stdout() -> Self {
        Self::writer(std::io::stdout())
    }

    /// Lines to standard error.
    pub fn stderr() -> Self {
        Self::writer(std::io::stderr())
    }

    /// Lines to `w`.
    pub fn writer(w: impl Write + Send + 'static) -> Self {
        ConsoleSink {
            name: "console".to_string(),
            out: Arc::new(Mutex::new(Box::new(w))),
        }
    }

    /// Renames the sink (default `console`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }
}

/// The line for an alert (control characters of user text replaced, so one alert is one line).
pub fn line(alert: &Alert) -> String {
    let s = &alert.sample;
    let mut parts = vec![
        format!("[errata] {}", alert.kind.as_str().to_uppercase()),
        format!("{} {}", alert.code, alert.status),
    ];
    if alert.is_resolved() {
        parts.push(format!("×{} in all", thousands(alert.total)));
    } else {
        parts.push(alert.count_text());
    }
    if let Some(activity) = alert.activity_text() {
        parts.push(activity);
    }
    parts.push(alert.where_text());
    if !s.message.is_empty() {
        parts.push(format!("{:?}", s.message));
    }
    parts.push(format!("users {}", thousands(alert.users)));
    if let Some(up) = alert.upstream_text() {
        parts.push(up);
    }
    if let Some(tags) = alert.params_text() {
        parts.push(format!("values {tags:?}"));
    }
    if let Some(r) = &s.request_id {
        parts.push(format!("request {r}"));
    }
    if let Some(c) = s.cause_chain.first() {
        parts.push(format!("cause {c:?}"));
    }
    parts.push(format!(
        "first {} last {}",
        alert.first_seen.format("%H:%M:%S"),
        alert.last_seen.format("%H:%M:%S")
    ));
    parts.push(format!("fp {}", &alert.fingerprint));
    parts
        .join(" · ")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Sink for ConsoleSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn send<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, SendOutcome> {
        let text = line(alert);
        let out = self.out.clone();
        Box::pin(async move {
            let mut w = out.lock().unwrap_or_else(|e| e.into_inner());
            match writeln!(w, "{text}").and_then(|_| w.flush()) {
                Ok(()) => SendOutcome::delivered(),
                Err(e) => SendOutcome::Retry {
                    retry_after: None,
                    reason: format!("console: {e}"),
                },
            }
        })
    }
}
