//! The router and its layers.
//!
//! From the outside in:
//!
//! 1. *(your layers)*: whatever is added to [`App::router`] sits outside the edge layer and
//!    sees every error response already rendered, with its [`errata::ErrorReport`] in the
//!    response extensions: the place for a monitoring layer such as errata-alert's capture.
//! 2. [`ErrataLayer`]: locale, request id, the envelope for every error (handler errors,
//!    rejections, the framework's 404/405/413, the rate limiter's 429, panics).
//! 3. Request tracing (method, path and request id only: query strings may carry tokens).
//! 4. Body limits: 10 MB, with or without `Content-Length`; a body that takes longer than
//!    [`Config::body_timeout`] to arrive is `REQUEST_TIMEOUT`.
//! 5. Rate limits, on `/v1` and `/ws` (one budget per user or IP for both).
//! 6. The routes, with [`errata_axum::fallback`] for unknown paths.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Request};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use errata::Renderer;
use errata_axum::ratelimit::{Applies, RateLimitLayer, Rule};
use errata_axum::{ErrataLayer, RequestContext};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::jwt::{TokenKeys, TokenKind};
use crate::auth::password::Passwords;
use crate::config::{Config, Rate};
use crate::kakao::KakaoClient;
use crate::ws::SessionHub;
use crate::{auth, db, errors, kakao, lectures, openapi, sessions, uploads, ws};

/// Largest request body (base64 of a 5 MB image fits).
pub const BODY_LIMIT: usize = 10 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: db::Pool,
    /// Token signing and verification.
    pub tokens: Arc<TokenKeys>,
    /// Password hashing.
    pub passwords: Arc<Passwords>,
    /// The Kakao client.
    pub kakao: Arc<KakaoClient>,
    /// WebSocket fan-out of session changes.
    pub hub: SessionHub,
    /// The catalog's renderer (for WebSocket close reasons).
    pub renderer: Arc<Renderer>,
}

/// The built service: its router and shared state.
#[derive(Debug)]
pub struct App {
    /// The complete router, edge layer included. Layers added to it sit outside the edge layer.
    pub router: Router,
    /// The shared state (the tests use its pool).
    pub state: AppState,
}

/// Connects the database (creating its schema), builds the clients and the router.
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let catalog = errors::catalog().clone();
    let renderer = Arc::new(Renderer::new(catalog.clone()));
    let pool = db::connect(&config.database_url, config.db_max_connections).await?;
    let state = AppState {
        db: pool,
        tokens: Arc::new(TokenKeys::new(config.jwt_secret.as_bytes())),
        passwords: Arc::new(Passwords::new(
            config.password_hashing,
            config.hash_concurrency,
            config.hash_wait,
        )?),
        kakao: Arc::new(KakaoClient::new(
            config.kakao_api_base.clone(),
            config.kakao_timeout,
            &catalog,
        )?),
        hub: SessionHub::default(),
        renderer: Arc::clone(&renderer),
    };
    let router = router(config, state.clone(), renderer);
    Ok(App { router, state })
}

fn rule(rate: Option<Rate>, applies: Applies) -> Option<Rule> {
    rate.map(|r| Rule::new(r.count, r.period).applies(applies))
}

fn router(config: &Config, state: AppState, renderer: Arc<Renderer>) -> Router {
    let rules: Vec<Rule> = [
        rule(config.rate_anon, Applies::Anonymous),
        rule(config.rate_user, Applies::Authenticated),
        rule(config.rate_burst, Applies::Everyone),
    ]
    .into_iter()
    .flatten()
    .collect();
    let keys = Arc::clone(&state.tokens);
    // A request counts as its user's only with a valid access token (the bearer header, or
    // the `token` query parameter of a WebSocket); anything else counts against its IP.
    let rate_limit = RateLimitLayer::new(rules).user_key(move |parts| {
        let token = match auth::bearer_token(&parts.headers).ok().flatten() {
            Some(token) => token.to_owned(),
            None => ws::query_token(parts.uri.query())?,
        };
        keys.verify(&token, TokenKind::Access)
            .ok()
            .map(|claims| claims.sub)
    });

    let api = Router::new()
        .route("/v1/auth/signup", post(auth::signup))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/user/me", get(auth::me))
        .route("/v1/user/kakao-channel-added", get(kakao::channel_added))
        .route("/v1/lectures", get(lectures::list).post(lectures::create))
        .route(
            "/v1/lectures/{id}",
            get(lectures::get)
                .patch(lectures::update)
                .delete(lectures::delete),
        )
        .route(
            "/v1/lectures/{id}/enroll",
            post(lectures::enroll).delete(lectures::unenroll),
        )
        .route("/v1/lectures/{id}/students", get(lectures::students))
        .route("/v1/lectures/{id}/sessions", post(sessions::create))
        .route("/v1/sessions/{code}", get(sessions::get))
        .route("/v1/sessions/{code}/start", post(sessions::start))
        .route("/v1/sessions/{code}/next-step", post(sessions::next_step))
        .route("/v1/sessions/{code}/end", post(sessions::end))
        .route("/v1/sessions/{code}/join", post(sessions::join))
        .route("/v1/sessions/{code}/complete", post(sessions::complete))
        .route("/v1/uploads/images", post(uploads::upload))
        .route("/v1/uploads/images/{id}", get(uploads::download))
        .layer(rate_limit.clone());

    let openapi_json = Arc::new(
        serde_json::to_string(&openapi::document(&renderer)).unwrap_or_else(|_| "{}".to_owned()),
    );
    let docs_html = Arc::new(errata_cli::docs::html::render(renderer.catalog()));

    Router::new()
        .merge(api)
        .route("/ws/sessions/{code}", get(ws::connect).layer(rate_limit))
        .route(
            "/openapi.json",
            get(move || {
                let body = Arc::clone(&openapi_json);
                async move { ([(header::CONTENT_TYPE, "application/json")], body.as_str().to_owned()) }
            }),
        )
        .route(
            "/errors",
            get(move || {
                let page = Arc::clone(&docs_html);
                async move { Html(page.as_str().to_owned()) }
            }),
        )
        .route("/health", get(health))
        .fallback(errata_axum::fallback)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(config.body_timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
            let request_id = req.extensions().get::<RequestContext>().map(|c| c.request_id().to_owned()).unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
        }))
        // URI_TOO_LONG and REQUEST_HEADERS_TOO_LARGE, inside the edge layer so they are rendered
        // like any other error.
        .layer(errata_axum::RequestLimitsLayer::new())
        .layer(ErrataLayer::new(renderer))
}

/// `GET /health`: the database answers.
async fn health(State(state): State<AppState>) -> Result<impl IntoResponse, errata::ApiError> {
    sqlx::query("SELECT 1").execute(&state.db).await?;
    Ok(axum::Json(serde_json::json!({"status": "ok"})))
}
