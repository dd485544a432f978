//! The decoders on arbitrary bytes: never a panic, never more output than the cap.
#![no_main]

use errata_relay::decode::decode;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let encoding = ["gzip", "deflate", "br", "zstd", "identity"][usize::from(which) % 5];
    if let Ok(out) = decode(Some(encoding), body, LIMIT) {
        assert!(out.len() <= LIMIT);
    }
});
