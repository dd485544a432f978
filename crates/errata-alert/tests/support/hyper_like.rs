//! A request as hyper hands it over, for the capture layer's allocation test and bench.

use axum::body::Body;
use axum::http::{HeaderValue, Request, Uri};
use bytes::{Bytes, BytesMut};

/// A request as hyper hands it over: URI and header values slices of one shared buffer.
pub fn hyper_like_request() -> Request<Body> {
    let parts: [&[u8]; 5] = [
        b"/users/42?expand=orders",
        b"shop.example",
        b"bench/1.0 (loopback)",
        b"application/json",
        b"203.0.113.9",
    ];
    let mut buf = BytesMut::with_capacity(256);
    let mut ranges = Vec::new();
    for p in parts {
        let start = buf.len();
        buf.extend_from_slice(p);
        ranges.push(start..buf.len());
    }
    // Split off, as hyper's parser does with its read buffer: a shared, refcounted block.
    let shared: Bytes = buf.split().freeze();
    let slice = |i: usize| shared.slice(ranges[i].clone());
    let header = |i: usize| HeaderValue::from_maybe_shared(slice(i)).unwrap();
    let mut req = Request::new(Body::empty());
    *req.uri_mut() = Uri::from_maybe_shared(slice(0)).unwrap();
    let h = req.headers_mut();
    h.insert("host", header(1));
    h.insert("user-agent", header(2));
    h.insert("accept", header(3));
    h.insert("x-forwarded-for", header(4));
    req
}
