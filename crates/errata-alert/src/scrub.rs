//! Scrubbing events: the text scrubbing itself is [`errata::scrub`], shared with the edge
//! layer's logs; this module applies it to every field of an [`Event`].
//!
//! ```
//! use errata_alert::{ScrubEvent, Scrubber};
//!
//! let s = Scrubber::default();
//! assert_eq!(s.scrub_path("/ws?room=1&token=eyJabc"), "/ws?room=1&token=[Filtered]");
//! assert_eq!(s.scrub_text("Authorization: Bearer abc.def"), "Authorization: [Filtered]");
//! let mut ev = errata_alert::Event::new("SERVER_ERROR", 500);
//! ev.cause_chain = vec!["postgres://app:S3cret@db/x".into()];
//! s.scrub_event(&mut ev);
//! assert_eq!(ev.cause_chain, ["postgres://app:[Filtered]@db/x"]);
//! ```

pub use errata::scrub::{escape_control, Scrubber, FILTERED};

use crate::event::Event;

/// Scrubbing of whole events, for a [`Scrubber`].
pub trait ScrubEvent {
    /// Scrubs every field of an event that can carry a secret.
    fn scrub_event(&self, ev: &mut Event);

    /// Like [`ScrubEvent::scrub_event`], with the text and path scrubbing supplied by the
    /// caller (the aggregator memoizes them: a storm repeats its texts). Request ids, unique
    /// per event, are always scrubbed directly.
    fn scrub_event_with(
        &self,
        ev: &mut Event,
        text: &mut dyn FnMut(&str) -> String,
        path: &mut dyn FnMut(&str) -> String,
    );
}

impl ScrubEvent for Scrubber {
    fn scrub_event(&self, ev: &mut Event) {
        self.scrub_event_with(ev, &mut |t| self.scrub_text(t), &mut |p| self.scrub_path(p));
    }

    fn scrub_event_with(
        &self,
        ev: &mut Event,
        text: &mut dyn FnMut(&str) -> String,
        path: &mut dyn FnMut(&str) -> String,
    ) {
        ev.path = path(&ev.path);
        ev.message = text(&ev.message);
        for (name, value) in &mut ev.params {
            *value = if self.is_sensitive_field(name) {
                FILTERED.to_owned()
            } else {
                text(value)
            };
        }
        for c in &mut ev.cause_chain {
            *c = text(c);
        }
        if let Some(up) = &mut ev.upstream {
            up.body = text(&up.body);
        }
        for (k, v) in &mut ev.headers {
            *v = if self.is_sensitive_header(k) {
                FILTERED.to_owned()
            } else {
                text(v)
            };
        }
        if let Some(r) = &mut ev.request_id {
            // Ids of letters, digits, `-` and `_` (generated ones, UUIDs) match no rule.
            if !r
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                *r = self.scrub_text(r);
            }
        }
    }
}
