//! Request bodies: `Content-Encoding` gzip, deflate (zlib-wrapped or raw), br, zstd or none,
//! decompressed in chunks and stopped as soon as the output passes the cap (a compression bomb
//! costs at most the cap).
//!
//! ```
//! use errata_relay::decode::{decode, DecodeError};
//! use std::io::Write;
//!
//! let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
//! gz.write_all(&[b'a'; 10_000]).unwrap();
//! let body = gz.finish().unwrap();
//! assert_eq!(decode(Some("gzip"), &body, 20_000).unwrap().len(), 10_000);
//! assert_eq!(decode(Some("gzip"), &body, 9_999), Err(DecodeError::TooLarge { limit: 9_999 }));
//! ```

use std::cell::RefCell;
use std::io::Read;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The `Content-Encoding` is not one the relay knows.
    #[error("unsupported content encoding `{0}` (gzip, deflate, br, zstd or identity)")]
    Unsupported(String),
    /// The body is not valid in its declared encoding.
    #[error("invalid {encoding} body: {reason}")]
    Invalid {
        /// The encoding.
        encoding: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// The decompressed body passes the cap.
    #[error("body larger than {limit} bytes once decompressed")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
}

/// Decodes `body` per `encoding` (a `Content-Encoding` value, `None` for none), at most
/// `limit` bytes of output.
pub fn decode(encoding: Option<&str>, body: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let enc = encoding.map(|e| e.trim().to_ascii_lowercase());
    match enc.as_deref() {
        None | Some("") | Some("identity") => {
            if body.len() > limit {
                Err(DecodeError::TooLarge { limit })
            } else {
                Ok(body.to_vec())
            }
        }
        Some("gzip") | Some("x-gzip") => {
            bounded("gzip", flate2::read::MultiGzDecoder::new(body), limit)
        }
        Some("deflate") => {
            if is_zlib_header(body) {
                bounded("deflate", flate2::read::ZlibDecoder::new(body), limit)
            } else {
                bounded("deflate", flate2::read::DeflateDecoder::new(body), limit)
            }
        }
        Some("br") => bounded("br", brotli::Decompressor::new(body, 4096), limit),
        Some("zstd") => {
            let d = zstd::stream::read::Decoder::with_buffer(body).map_err(|e| {
                DecodeError::Invalid {
                    encoding: "zstd",
                    reason: e.to_string(),
                }
            })?;
            bounded("zstd", d, limit)
        }
        Some(other) => Err(DecodeError::Unsupported(
            other.chars().take(40).collect::<String>(),
        )),
    }
}

/// RFC 1950: CM = 8, window ≤ 32 KiB, header checksum.
fn is_zlib_header(b: &[u8]) -> bool {
    b.len() >= 2
        && b[0] & 0x0f == 8
        && b[0] >> 4 <= 7
        && (u16::from(b[0]) << 8 | u16::from(b[1])) % 31 == 0
}

/// Bytes asked of a decoder at a time.
const CHUNK_LEN: usize = 16 * 1024;

thread_local! {
    /// The chunk decoders write into, zeroed once per thread instead of once per body.
    static CHUNK: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; CHUNK_LEN].into_boxed_slice());
}

fn bounded(encoding: &'static str, r: impl Read, limit: usize) -> Result<Vec<u8>, DecodeError> {
    CHUNK.with(|chunk| match chunk.try_borrow_mut() {
        Ok(mut chunk) => bounded_with(encoding, r, limit, &mut chunk),
        Err(_) => bounded_with(encoding, r, limit, &mut vec![0u8; CHUNK_LEN]),
    })
}

fn bounded_with(
    encoding: &'static str,
    mut r: impl Read,
    limit: usize,
    chunk: &mut [u8],
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    loop {
        let n = match r.read(chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DecodeError::Invalid {
                    encoding,
                    reason: e.to_string(),
                })
            }
        };
        if out.len() + n > limit {
            return Err(DecodeError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk[..n]);
    }
    if out.is_empty() {
        return Err(DecodeError::Invalid {
            encoding,
            reason: "no data".into(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const TEXT: &[u8] =
        b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\"}\n{}\n";

    fn all_encodings() -> Vec<(&'static str, Vec<u8>)> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(TEXT).unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zl.write_all(TEXT).unwrap();
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(TEXT).unwrap();
        let mut br = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut br, 4096, 4, 22);
            w.write_all(TEXT).unwrap();
        }
        vec![
            ("gzip", gz.finish().unwrap()),
            ("deflate", zl.finish().unwrap()),
            ("deflate", raw.finish().unwrap()),
            ("br", br),
            ("zstd", zstd::encode_all(TEXT, 3).unwrap()),
        ]
    }

    #[test]
    fn every_encoding_round_trips() {
        for (enc, body) in all_encodings() {
            assert_eq!(decode(Some(enc), &body, 1 << 20).unwrap(), TEXT, "{enc}");
        }
        assert_eq!(decode(None, TEXT, 1 << 20).unwrap(), TEXT);
        assert_eq!(decode(Some("identity"), TEXT, 1 << 20).unwrap(), TEXT);
    }

    #[test]
    fn truncated_and_garbage_bodies_are_invalid() {
        for (enc, body) in all_encodings() {
            let cut = &body[..body.len() / 2];
            assert!(
                matches!(
                    decode(Some(enc), cut, 1 << 20),
                    Err(DecodeError::Invalid { .. })
                ),
                "{enc}: {:?}",
                decode(Some(enc), cut, 1 << 20)
            );
            assert!(
                matches!(
                    decode(Some(enc), b"plain text, not compressed", 1 << 20),
                    Err(DecodeError::Invalid { .. })
                ),
                "{enc}"
            );
        }
        assert_eq!(
            decode(Some("compress"), TEXT, 1 << 20),
            Err(DecodeError::Unsupported("compress".into()))
        );
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = zstd::encode_all(&zeros[..], 19).unwrap();
        assert!(bomb.len() < 1 << 16);
        assert_eq!(
            decode(Some("zstd"), &bomb, 1 << 20),
            Err(DecodeError::TooLarge { limit: 1 << 20 })
        );
    }
}
