//! Request ids through tower-http's request-id layers, with ids that reveal nothing.
//!
//! [`RandomRequestId`] is a [`MakeRequestId`]: 128 bits from a per-thread cryptographically
//! secure generator (`rand`'s `ThreadRng`, ChaCha12 reseeded from the OS), as 32 lowercase hex
//! digits. Two ids share no prefix and no counter, so an id tells nothing about the process,
//! the time or the request volume. It draws no system randomness per id and allocates
//! nothing of its own: ids are written into a per-thread block shared by reference count.
//!
//! ```
//! use tower_http::request_id::MakeRequestId;
//! let req = http::Request::new(());
//! let mut make = errata_axum::RandomRequestId;
//! let a = make.make_request_id(&req).unwrap();
//! let b = make.make_request_id(&req).unwrap();
//! assert_eq!(a.header_value().len(), 32);
//! assert_ne!(a.header_value(), b.header_value());
//! ```

use std::cell::RefCell;

use axum::http::{HeaderValue, Request};
use bytes::BytesMut;
use rand::RngCore;
use tower_http::request_id::{MakeRequestId, RequestId};

/// Longest request id accepted from a client; longer or non-visible ones are replaced.
pub(crate) const MAX_REQUEST_ID: usize = 128;

/// Generates unpredictable request ids (see the [module](self)).
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        Some(RequestId::new(generated_id()))
    }
}

/// A fresh random request id.
fn generated_id() -> HeaderValue {
    const LEN: usize = 32;
    const BLOCK: usize = 64 * LEN;
    thread_local! {
        static IDS: RefCell<BytesMut> = RefCell::new(BytesMut::new());
    }
    let mut random = [0u8; LEN / 2];
    rand::thread_rng().fill_bytes(&mut random);
    let mut buf = [0u8; LEN];
    for (pair, byte) in buf.chunks_exact_mut(2).zip(random) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    let id = IDS.with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.capacity() < LEN {
            *ids = BytesMut::with_capacity(BLOCK);
        }
        ids.extend_from_slice(&buf);
        ids.split().freeze()
    });
    HeaderValue::from_maybe_shared(id).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The two lowercase hex digits of every byte.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pairs = [[0u8; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        pairs[byte] = [HEX[byte >> 4], HEX[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// Accepts a client request id only when it is short, visible ASCII (one pass over its bytes).
pub(crate) fn valid_request_id(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    // A fold without early exit, which the compiler vectorizes.
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID
        && bytes
            .iter()
            .fold(true, |ok, &b| ok & (b.wrapping_sub(b'!') <= b'~' - b'!'))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::generated_id;

    #[test]
    fn generated_ids_are_distinct_across_blocks_and_threads() {
        let batch = || (0..500).map(|_| generated_id()).collect::<Vec<_>>();
        let other = std::thread::spawn(batch);
        let mut ids = batch();
        ids.extend(other.join().unwrap());
        let distinct: HashSet<&[u8]> = ids.iter().map(|id| id.as_bytes()).collect();
        assert_eq!(distinct.len(), 1000);
        assert!(ids
            .iter()
            .all(|id| id.len() == 32 && id.as_bytes().iter().all(u8::is_ascii_hexdigit)));
    }

    #[test]
    fn generated_ids_share_no_prefix_and_no_counter() {
        // The old ids were a per-process prefix and a counter: consecutive ids shared their
        // first 16 digits and differed by one. Random ids share a 4-digit prefix with the
        // next one about once in 65,536; 1,000 pairs sharing 16 digits cannot happen.
        let ids: Vec<u128> = (0..1000)
            .map(|_| u128::from_str_radix(generated_id().to_str().unwrap(), 16).unwrap())
            .collect();
        let shared_prefix = ids
            .windows(2)
            .filter(|w| (w[0] >> 64) == (w[1] >> 64))
            .count();
        assert_eq!(shared_prefix, 0);
        let successive = ids
            .windows(2)
            .filter(|w| w[1].wrapping_sub(w[0]) < 1 << 20)
            .count();
        assert_eq!(successive, 0, "ids must not count up");
        // Every hex digit position takes many values (a counter's high digits would not).
        for pos in 0..32 {
            let digits: HashSet<u128> = ids.iter().map(|id| (id >> (4 * pos)) & 0xf).collect();
            assert!(
                digits.len() >= 12,
                "digit {pos} takes {} values",
                digits.len()
            );
        }
    }
}
