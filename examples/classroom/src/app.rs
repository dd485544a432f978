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
//! 5. The declared-codes check ([`Declared::layer`]): in debug builds, an error a route
//!    answers outside the codes it declares is logged and recorded in [`App::declared`].
//! 6. Rate limits, on `/v1` and `/ws` (one budget per user or IP for both).
//! 7. The routes, with [`errata_axum::fallback`] for unknown paths.
//!
//! Each route declares its errors once, in its `#[utoipa::path]`; `/openapi.json` is built
//! from those declarations (utoipa-axum's `OpenApiRouter`), with the codes of the layers
//! around each route added by the layers themselves.

use std::sync::{Arc, OnceLock};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Request};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use errata::Renderer;
use errata_axum::declare::{DeclareLayer, Declared};
use errata_axum::ratelimit::{Applies, RateLimitLayer, RedisStore, Rule};
use errata_axum::{ErrataLayer, RequestContext};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::jwt::{TokenKeys, TokenKind};
use crate::auth::password::Passwords;
use crate::config::{Config, Rate};
use crate::kakao::KakaoClient;
use crate::ws::SessionHub;
use crate::{auth, db, errors, kakao, lectures, sessions, uploads, ws};

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
    /// The codes each route declares, and the answers outside them (debug builds).
    pub declared: Declared,
    /// The rate limits' Redis store when `REDIS_URL` is set (its
    /// [`fallbacks`](RedisStore::fallbacks) count the requests this process counted itself).
    pub shared_rate_limits: Option<Arc<RedisStore>>,
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
    let shared_rate_limits = match &config.redis_url {
        None => None,
        Some(url) => {
            let store = RedisStore::new(url)
                .map_err(|e| anyhow::anyhow!("REDIS_URL: {e}"))?
                .key_prefix(config.rate_redis_prefix.clone())
                .timeout(config.rate_redis_timeout);
            // Up to 2 s at start-up so that the first requests already count in Redis; without
            // it the service starts anyway, counting locally until Redis answers.
            if store
                .connect_within(std::time::Duration::from_secs(2))
                .await
            {
                tracing::info!(
                    redis = %db::redact_url(url),
                    timeout_ms = config.rate_redis_timeout.as_millis(),
                    "rate limits are shared through Redis"
                );
            } else {
                tracing::warn!(
                    redis = %db::redact_url(url),
                    "rate limits: Redis does not answer; counting in this process until it does"
                );
            }
            Some(Arc::new(store))
        }
    };
    let (router, declared) = router(config, state.clone(), &renderer, shared_rate_limits.clone());
    Ok(App {
        router,
        state,
        declared,
        shared_rate_limits,
    })
}

fn rule(rate: Option<Rate>, applies: Applies) -> Option<Rule> {
    rate.map(|r| Rule::new(r.count, r.period).applies(applies))
}

fn router(
    config: &Config,
    state: AppState,
    renderer: &Arc<Renderer>,
    shared_rate_limits: Option<Arc<RedisStore>>,
) -> (Router, Declared) {
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
    let mut rate_limit = RateLimitLayer::new(rules);
    if let Some(store) = shared_rate_limits {
        rate_limit = rate_limit.store(store);
    }
    let rate_limit = rate_limit.user_key(move |parts| {
        let token = match auth::bearer_token(&parts.headers).ok().flatten() {
            Some(token) => token.to_owned(),
            None => ws::query_token(parts.uri.query())?,
        };
        keys.verify(&token, TokenKind::Access)
            .ok()
            .map(|claims| claims.sub)
    });

    // Each route declares its errors in its `#[utoipa::path]` (a code set of its own); the
    // layers add the codes they can answer to every route they wrap, and `finish` those of
    // errata's extractors and of the bearer scheme.
    let declared = Declared::new().security(auth::SECURITY_SCHEME, auth::AUTH_CODES);
    let openapi_json: Arc<OnceLock<String>> = Arc::default();
    let docs_html = Arc::new(errata_docs::html::render(renderer.catalog()));
    let served_doc = Arc::clone(&openapi_json);
    let api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::routes::signup))
        .routes(routes!(auth::routes::login))
        .routes(routes!(auth::routes::refresh))
        .routes(routes!(auth::routes::logout))
        .routes(routes!(auth::routes::me))
        .routes(routes!(kakao::channel_added))
        .routes(routes!(lectures::list, lectures::create))
        .routes(routes!(lectures::get, lectures::update, lectures::delete))
        .routes(routes!(lectures::enroll, lectures::unenroll))
        .routes(routes!(lectures::students))
        .routes(routes!(sessions::create))
        .routes(routes!(sessions::get))
        .routes(routes!(sessions::start))
        .routes(routes!(sessions::next_step))
        .routes(routes!(sessions::end))
        .routes(routes!(sessions::join))
        .routes(routes!(sessions::complete))
        .routes(routes!(uploads::upload))
        .routes(routes!(uploads::download))
        .routes(routes!(ws::connect))
        .layer_declaring(rate_limit)
        .route(
            "/openapi.json",
            get(move || {
                let body = served_doc.get().cloned().unwrap_or_default();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
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
        .layer(declared.layer())
        .layer_declaring(DefaultBodyLimit::max(BODY_LIMIT))
        .layer_declaring(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer_declaring(RequestBodyTimeoutLayer::new(config.body_timeout))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
            let request_id = req.extensions().get::<RequestContext>().map(|c| c.request_id().to_owned()).unwrap_or_default();
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %request_id)
        }))
        // URI_TOO_LONG and REQUEST_HEADERS_TOO_LARGE, inside the edge layer so they are rendered
        // like any other error.
        .layer(errata_axum::RequestLimitsLayer::new())
        .layer_declaring(ErrataLayer::new(Arc::clone(renderer)))
        .with_state(state);
    let (router, doc) = api.split_for_parts();
    let doc = declared.finish(doc, renderer);
    let _ = openapi_json.set(serde_json::to_string(&doc).unwrap_or_else(|_| "{}".to_owned()));
    (router, declared)
}

/// What the document says besides the routes: who it is, and the bearer scheme.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "classroom",
        description = "Lectures, enrollment and live sessions. Every error is in the `ErrorEnvelope` (or, on `Accept: application/problem+json`, RFC 9457 problem details); the codes are the catalog's (see `/errors`)."
    ),
    modifiers(&BearerScheme)
)]
struct ApiDoc;

/// Adds the `bearer` security scheme.
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            auth::SECURITY_SCHEME,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        doc.info.version = errors::catalog().info.version.clone();
    }
}

/// `GET /health`: the database answers.
async fn health(State(state): State<AppState>) -> Result<impl IntoResponse, errata::ApiError> {
    sqlx::query("SELECT 1").execute(&state.db).await?;
    Ok(axum::Json(serde_json::json!({"status": "ok"})))
}
