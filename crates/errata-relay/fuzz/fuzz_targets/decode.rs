//! `decode`, as the relay calls it on every body (`Content-Encoding`, the cap), on arbitrary
//! input. The first byte picks the encoding and the mode, the second the cap, the rest is the
//! body.
//!
//! - Arbitrary mode: the body goes to the decoder as is. Checked: never a panic, never more
//!   output than the cap, identity exact, `Unsupported` only for an unknown encoding.
//! - Round-trip mode (first byte ≥ 0x80): the body is compressed with the encoding's own
//!   encoder (gzip, zlib or raw deflate, brotli, zstd) and decoded. Checked: the body comes
//!   back exactly when it fits the cap, `TooLarge` exactly when it does not.
#![no_main]

use std::io::Write;

use errata_relay::decode::{decode, DecodeError};
use libfuzzer_sys::fuzz_target;

/// Caps around the decoder's 16 KiB chunk, and the relay's defaults (event, envelope).
const LIMITS: [usize; 12] = [
    0,
    1,
    7,
    100,
    1024,
    16 * 1024 - 1,
    16 * 1024,
    16 * 1024 + 1,
    40_000,
    64 * 1024,
    1 << 20,
    20 << 20,
];

#[derive(Clone, Copy)]
enum Codec {
    Gzip,
    Zlib,
    RawDeflate,
    Brotli,
    Zstd,
    Identity,
}

/// `Content-Encoding` spellings, with the codec that must handle them (`None`: unsupported).
const ENCODINGS: [(Option<&str>, Option<Codec>); 14] = [
    (Some("gzip"), Some(Codec::Gzip)),
    (Some("x-gzip"), Some(Codec::Gzip)),
    (Some(" GZip "), Some(Codec::Gzip)),
    (Some("deflate"), Some(Codec::Zlib)),
    (Some("Deflate"), Some(Codec::RawDeflate)),
    (Some("deflate"), Some(Codec::RawDeflate)),
    (Some("br"), Some(Codec::Brotli)),
    (Some("BR"), Some(Codec::Brotli)),
    (Some("zstd"), Some(Codec::Zstd)),
    (Some("identity"), Some(Codec::Identity)),
    (Some(""), Some(Codec::Identity)),
    (None, Some(Codec::Identity)),
    (Some("compress"), None),
    (Some("gzip, br"), None),
];

fn compress(codec: Codec, body: &[u8]) -> Vec<u8> {
    fn finish<W: Write>(mut w: W, body: &[u8]) -> W {
        w.write_all(body).expect("in-memory write");
        w
    }
    let level = flate2::Compression::fast();
    match codec {
        Codec::Gzip => finish(flate2::write::GzEncoder::new(Vec::new(), level), body)
            .finish()
            .expect("gzip"),
        Codec::Zlib => finish(flate2::write::ZlibEncoder::new(Vec::new(), level), body)
            .finish()
            .expect("zlib"),
        Codec::RawDeflate => finish(flate2::write::DeflateEncoder::new(Vec::new(), level), body)
            .finish()
            .expect("deflate"),
        Codec::Brotli => {
            let mut out = Vec::new();
            drop(finish(
                brotli::CompressorWriter::new(&mut out, 4096, 1, 22),
                body,
            ));
            out
        }
        Codec::Zstd => zstd::encode_all(body, 1).expect("zstd"),
        Codec::Identity => body.to_vec(),
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, cap, body @ ..] = data else {
        return;
    };
    let (encoding, codec) = ENCODINGS[usize::from(mode & 0x7f) % ENCODINGS.len()];
    let limit = LIMITS[usize::from(*cap) % LIMITS.len()];
    let round_trip = mode & 0x80 != 0;
    match (round_trip, codec) {
        (true, Some(codec)) => {
            let compressed = compress(codec, body);
            let got = decode(encoding, &compressed, limit);
            if body.len() > limit {
                assert_eq!(got, Err(DecodeError::TooLarge { limit }));
            } else if body.is_empty() && !matches!(codec, Codec::Identity) {
                assert!(matches!(got, Err(DecodeError::Invalid { .. })), "{got:?}");
            } else {
                assert_eq!(got.as_deref(), Ok(body), "{encoding:?}");
            }
        }
        _ => {
            let got = decode(encoding, body, limit);
            match (&got, codec) {
                (Ok(out), _) => assert!(out.len() <= limit && codec.is_some()),
                (Err(DecodeError::Unsupported(_)), None) => {}
                (Err(e), None) => panic!("{encoding:?} is unsupported, yet {e}"),
                (Err(DecodeError::Unsupported(e)), Some(_)) => panic!("{encoding:?}: {e}"),
                (Err(_), Some(_)) => {}
            }
            if let Some(Codec::Identity) = codec {
                if body.len() > limit {
                    assert_eq!(got, Err(DecodeError::TooLarge { limit }));
                } else {
                    assert_eq!(got.as_deref(), Ok(body));
                }
            }
        }
    }
});
