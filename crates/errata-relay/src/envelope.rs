//! The Sentry envelope format: a header line, then items, each an item-header line (`type`,
//! optional `length`) and a payload (`length` bytes, or up to the next `\n` without it).
//!
//! ```
//! use errata_relay::envelope::Envelope;
//!
//! let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"http://k@h/1\"}\n\
//! {\"type\":\"event\",\"length\":2}\n{}\n\
//! {\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n";
//! let env = Envelope::parse(body, 1 << 20).unwrap();
//! assert_eq!(env.header.dsn.as_deref(), Some("http://k@h/1"));
//! assert_eq!(env.items.len(), 2);
//! assert_eq!(env.items[0].kind, "event");
//! assert_eq!(env.items[0].payload, b"{}");
//! ```

use serde::Deserialize;

/// Why an envelope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The body is empty.
    #[error("empty envelope")]
    Empty,
    /// The header line is not a JSON object.
    #[error("invalid envelope header: {0}")]
    Header(String),
    /// An item header (the `n`th item, from 1) is not valid.
    #[error("invalid item header of item {index}: {reason}")]
    ItemHeader {
        /// Item number, from 1.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An item's `length` runs past the end of the body.
    #[error("item {index} is truncated: `length` {length} but {available} bytes left")]
    Truncated {
        /// Item number, from 1.
        index: usize,
        /// Declared length.
        length: u64,
        /// Bytes left in the body.
        available: usize,
    },
    /// An item is not followed by a newline or the end.
    #[error("item {index}: expected a newline after the payload")]
    MissingNewline {
        /// Item number, from 1.
        index: usize,
    },
    /// An event item is larger than the cap.
    #[error("item {index} ({kind}) is {size} bytes, more than the {limit} allowed")]
    ItemTooLarge {
        /// Item number, from 1.
        index: usize,
        /// Its type.
        kind: String,
        /// Its size.
        size: usize,
        /// The cap.
        limit: usize,
    },
}

/// The envelope header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct EnvelopeHeader {
    /// The event id, when the envelope carries an event.
    #[serde(default)]
    pub event_id: Option<String>,
    /// The DSN the SDK was configured with.
    #[serde(default)]
    pub dsn: Option<String>,
}

#[derive(Deserialize)]
struct ItemHeader {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    length: Option<u64>,
}

/// One item: its type and payload (borrowed from the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    /// `event`, `transaction`, `session`, `client_report`, `attachment`...
    pub kind: String,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The header line.
    pub header: EnvelopeHeader,
    /// Every item, in order (unknown types included: the caller skips them).
    pub items: Vec<Item<'a>>,
}

/// Item types whose payload is bounded by the event cap.
fn is_event_like(kind: &str) -> bool {
    matches!(
        kind,
        "event" | "transaction" | "security" | "raw_security" | "client_report"
    )
}

fn line(body: &[u8]) -> (&[u8], &[u8]) {
    match body.iter().position(|&b| b == b'\n') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, &[]),
    }
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

impl<'a> Envelope<'a> {
    /// Parses `body`; event-like items above `max_item` bytes are refused.
    pub fn parse(body: &'a [u8], max_item: usize) -> Result<Self, EnvelopeError> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err(EnvelopeError::Empty);
        }
        let (head, mut rest) = line(body);
        if head.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(EnvelopeError::Header("not a JSON object".into()));
        }
        let header: EnvelopeHeader = serde_json::from_slice(trim_cr(head))
            .map_err(|e| EnvelopeError::Header(e.to_string()))?;
        let mut items = Vec::new();
        while !rest.iter().all(u8::is_ascii_whitespace) {
            let index = items.len() + 1;
            let (ih, after) = line(rest);
            let ih: ItemHeader =
                serde_json::from_slice(trim_cr(ih)).map_err(|e| EnvelopeError::ItemHeader {
                    index,
                    reason: e.to_string(),
                })?;
            let (payload, after) = match ih.length {
                Some(length) => {
                    let n = usize::try_from(length).unwrap_or(usize::MAX);
                    if n > after.len() {
                        return Err(EnvelopeError::Truncated {
                            index,
                            length,
                            available: after.len(),
                        });
                    }
                    let (p, a) = after.split_at(n);
                    let a = match a.first() {
                        None => a,
                        Some(b'\n') => &a[1..],
                        Some(b'\r') if a.get(1) == Some(&b'\n') => &a[2..],
                        Some(_) => return Err(EnvelopeError::MissingNewline { index }),
                    };
                    (p, a)
                }
                None => {
                    let (p, a) = line(after);
                    (trim_cr(p), a)
                }
            };
            if is_event_like(&ih.kind) && payload.len() > max_item {
                return Err(EnvelopeError::ItemTooLarge {
                    index,
                    kind: ih.kind,
                    size: payload.len(),
                    limit: max_item,
                });
            }
            items.push(Item {
                kind: ih.kind,
                payload,
            });
            rest = after;
        }
        Ok(Envelope { header, items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_with_and_without_length() {
        let body =
            b"{}\n{\"type\":\"attachment\",\"length\":3}\na\nb\n{\"type\":\"event\"}\n{\"x\":1}";
        let e = Envelope::parse(body, 100).unwrap();
        assert_eq!(e.items[0].payload, b"a\nb");
        assert_eq!(e.items[1].payload, b"{\"x\":1}");
        assert_eq!(e.header, EnvelopeHeader::default());
    }

    #[test]
    fn header_only_and_crlf() {
        assert_eq!(Envelope::parse(b"{}", 10).unwrap().items.len(), 0);
        let e = Envelope::parse(b"{}\r\n{\"type\":\"event\"}\r\n{}\r\n", 10).unwrap();
        assert_eq!(e.items[0].payload, b"{}");
    }

    #[test]
    fn every_malformation_is_located() {
        let cases: [(&[u8], EnvelopeError); 6] = [
            (b"", EnvelopeError::Empty),
            (
                b"{}\n{\"type\":\"event\",\"length\":10}\n{}\n",
                EnvelopeError::Truncated {
                    index: 1,
                    length: 10,
                    available: 3,
                },
            ),
            (
                b"{}\n{\"type\":\"event\",\"length\":1}\n{}\n",
                EnvelopeError::MissingNewline { index: 1 },
            ),
            (
                b"{}\n{\"type\":\"event\"}\n0123456789AB\n",
                EnvelopeError::ItemTooLarge {
                    index: 1,
                    kind: "event".into(),
                    size: 12,
                    limit: 10,
                },
            ),
            (
                b"{}\n{\"type\":\"session\"}\n{}\n{\"length\":2}\n{}\n",
                EnvelopeError::ItemHeader {
                    index: 2,
                    reason: "missing field `type` at line 1 column 12".into(),
                },
            ),
            (b"[1]\n", EnvelopeError::Header("not a JSON object".into())),
        ];
        for (body, want) in cases {
            assert_eq!(
                Envelope::parse(body, 10),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
