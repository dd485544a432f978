//! Calling an upstream API through the catalog's `[upstreams]` mapping (reqwest).
//!
//! A success is the decoded body; any failure is the catalog error its rules choose, with the
//! upstream's status and body kept as internal detail (logs and alerts), never in the response.

use std::sync::Arc;
use std::time::Duration;

use errata::{ApiError, UpstreamMapper};
use serde::de::DeserializeOwned;

/// Longest upstream body read (larger bodies are cut; the mapping sees the start).
pub const MAX_UPSTREAM_BODY: usize = 1 << 20;

/// A reqwest client bound to one upstream mapping and a deadline.
#[derive(Clone, Debug)]
pub struct UpstreamClient {
    http: reqwest::Client,
    mapper: Arc<UpstreamMapper>,
    timeout: Duration,
}

impl UpstreamClient {
    /// A client for `mapper`, failing with the mapping's `on_timeout` code after `timeout`.
    pub fn new(mapper: UpstreamMapper, timeout: Duration) -> Self {
        Self::with_client(reqwest::Client::new(), mapper, timeout)
    }

    /// Like [`UpstreamClient::new`] with a configured reqwest client.
    pub fn with_client(http: reqwest::Client, mapper: UpstreamMapper, timeout: Duration) -> Self {
        Self {
            http,
            mapper: Arc::new(mapper),
            timeout,
        }
    }

    /// The underlying reqwest client, to build requests with.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Sends `request` and returns the body of a 2xx answer.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<bytes::Bytes, ApiError> {
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Err(_elapsed) => Err(self.mapper.map_timeout()),
            Ok(Err(e)) if e.is_timeout() => Err(self.mapper.map_timeout()),
            Ok(Err(e)) => Err(self.mapper.map_transport_error(e.without_url())),
            Ok(Ok((status, body))) if (200..300).contains(&status) => Ok(body),
            Ok(Ok((status, body))) => Err(self.mapper.map_failure(status, &body)),
        }
    }

    /// Sends `request` and decodes a 2xx JSON answer; an answer that does not decode is mapped
    /// like a failure (usually `on_unmatched`).
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let body = self.send(request).await?;
        serde_json::from_slice(&body).map_err(|_| self.mapper.map_failure(200, &body))
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, bytes::Bytes), reqwest::Error> {
        let mut response = request.send().await?;
        let status = response.status().as_u16();
        let mut body = bytes::BytesMut::new();
        while let Some(chunk) = response.chunk().await? {
            let room = MAX_UPSTREAM_BODY - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_UPSTREAM_BODY {
                break;
            }
        }
        Ok((status, body.freeze()))
    }
}
