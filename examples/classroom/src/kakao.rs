//! Kakao: "has the user added our Kakao Talk channel?", with Kakao's failures mapped by the
//! catalog's `[upstreams.kakao]`.
//!
//! `GET /v1/user/kakao-channel-added` takes the user's Kakao access token in the
//! `X-Kakao-Token` header (and an optional `?channel_public_id=_xxxx` query) and calls
//! `GET {KAKAO_API_BASE}/v1/api/talk/channels` with `Authorization: Bearer <token>`.
//!
//! Kakao answers account problems (not linked, dormant, under 14, restricted, and the texts of
//! the old `"the account is inactive."` family) with 4xx *or* 5xx and its own codes; the
//! catalog maps them to `KAKAO_ACCOUNT_NOT_AVAILABLE` (400), quota to `KAKAO_QUOTA_EXCEEDED`
//! (503), maintenance to `SERVICE_UNAVAILABLE` (503), a slow Kakao to `UPSTREAM_TIMEOUT` (504)
//! and anything else, garbage included, to `UPSTREAM_ERROR` (502). What Kakao said is kept for
//! logs and alerts, never put in the response.

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use errata::{ApiError, Code, FieldError, UpstreamMapper};
use errata_axum::upstream::UpstreamClient;
use errata_axum::Query;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::errors::{self, codes};

/// Header carrying the user's Kakao access token.
pub const KAKAO_TOKEN_HEADER: &str = "x-kakao-token";

/// Errors of `GET /v1/user/kakao-channel-added`.
pub const CHANNEL_ADDED_ERRORS: &[Code] = &[
    codes::VALIDATION_ERROR,
    codes::KAKAO_ACCOUNT_NOT_AVAILABLE,
    codes::KAKAO_QUOTA_EXCEEDED,
    codes::SERVICE_UNAVAILABLE,
    codes::UPSTREAM_ERROR,
    codes::UPSTREAM_TIMEOUT,
];
errata_axum::error_set! {
    /// The codes of [`CHANNEL_ADDED_ERRORS`] (errors of `GET /v1/user/kakao-channel-added`).
    pub struct ChannelAddedErrors for crate::errors::catalog = CHANNEL_ADDED_ERRORS;
}

/// Calls Kakao's API through errata's [`UpstreamClient`] (deadline and catalog mapping).
#[derive(Debug)]
pub struct KakaoClient {
    upstream: UpstreamClient,
    base: reqwest::Url,
}

/// One channel relation, as Kakao reports it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Channel {
    /// The channel's public id (`_xxxx`).
    #[serde(default)]
    pub channel_public_id: String,
    /// `ADDED`, `BLOCKED` or `NONE`.
    #[serde(default)]
    pub relation: String,
}

#[derive(Deserialize)]
struct ChannelsBody {
    channels: Vec<Channel>,
}

impl KakaoClient {
    /// A client for `base` giving up after `timeout`, mapping failures with the catalog's
    /// `[upstreams.kakao]`.
    pub fn new(
        mut base: reqwest::Url,
        timeout: Duration,
        catalog: &errata::Catalog,
    ) -> anyhow::Result<Self> {
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mapper = UpstreamMapper::new(catalog, "kakao")
            .ok_or_else(|| anyhow::anyhow!("the catalog has no [upstreams.kakao]"))?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            upstream: UpstreamClient::with_client(http, mapper, timeout),
            base,
        })
    }

    /// `GET /v1/api/talk/channels` for the user of `token`.
    pub async fn channels(&self, token: &str) -> Result<Vec<Channel>, ApiError> {
        let url = self
            .base
            .join("v1/api/talk/channels")
            .map_err(ApiError::internal)?;
        let request = self.upstream.http().get(url).bearer_auth(token);
        let body: ChannelsBody = self.upstream.send_json(request).await?;
        Ok(body.channels)
    }
}

/// Query of `GET /v1/user/kakao-channel-added`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChannelQuery {
    /// Only this channel counts; without it, any added channel does.
    pub channel_public_id: Option<String>,
}

/// Answer of `GET /v1/user/kakao-channel-added`.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelAdded {
    /// Whether the user added the channel (or any channel).
    pub added: bool,
    /// Every channel relation Kakao reported.
    pub channels: Vec<Channel>,
}

/// `GET /v1/user/kakao-channel-added`.
#[utoipa::path(get, path = "/v1/user/kakao-channel-added", tag = "kakao", security(("bearer" = [])),
    params(ChannelQuery, ("X-Kakao-Token" = String, Header, description = "The user's Kakao access token.")),
    responses((status = 200, description = "Whether the channel is added", body = ChannelAdded), ChannelAddedErrors))]
pub async fn channel_added(
    State(state): State<AppState>,
    _user: AuthUser,
    headers: HeaderMap,
    Query(query): Query<ChannelQuery>,
) -> Result<axum::Json<ChannelAdded>, ApiError> {
    let token = headers
        .get(KAKAO_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            errors::validation_error()
                .with_field_error("X-Kakao-Token", FieldError::new("required"))
        })?;
    let channels = state.kakao.channels(token).await?;
    let added = channels
        .iter()
        .filter(|c| {
            query
                .channel_public_id
                .as_deref()
                .is_none_or(|id| c.channel_public_id == id)
        })
        .any(|c| c.relation == "ADDED");
    Ok(axum::Json(ChannelAdded { added, channels }))
}
