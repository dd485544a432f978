//! Each route declares its errors once, and the declaration is both its OpenAPI responses and
//! the list the service checks its answers against.
//!
//! - [`error_set!`](crate::error_set) defines a code-set type: `responses(EnrollErrors)` in a
//!   handler's `#[utoipa::path]` documents its codes, grouped by status, with one example per
//!   code (utoipa's [`IntoResponses`](utoipa::IntoResponses)).
//! - Codes that come from elsewhere are added by what produces them, not by hand: a layer added
//!   with [`DeclareLayer::layer_declaring`] adds the codes it can answer ([`DeclaresCodes`]) to
//!   every route it wraps; [`Declared::finish`] adds errata's extractor codes to routes with a
//!   request body or parameters, and the codes of each security scheme to the routes that
//!   require it.
//! - [`Declared::layer`], the innermost layer of the router, reports (in debug builds) every
//!   answer whose code the route did not declare: a `tracing` warning, and
//!   [`Declared::assert_all_declared`] for tests.
//!
//! ```
//! use std::sync::Arc;
//! use axum::extract::Path;
//! use errata_axum::declare::{DeclareLayer, Declared};
//! use errata_axum::ErrataLayer;
//! use utoipa_axum::{router::OpenApiRouter, routes};
//!
//! mod errors {
//!     errata::catalog!("../../../examples/classroom/errors.toml");
//! }
//! use errors::codes;
//!
//! errata_axum::error_set! {
//!     /// Errors of `POST /lectures/{id}/enroll`.
//!     pub struct EnrollErrors for errors::catalog = &[codes::LECTURE_NOT_FOUND, codes::ALREADY_ENROLLED];
//! }
//!
//! /// Enroll in a lecture.
//! #[utoipa::path(post, path = "/lectures/{id}/enroll",
//!     params(("id" = i64, Path, description = "The lecture")),
//!     responses((status = 201, description = "Enrolled"), EnrollErrors))]
//! async fn enroll(Path(id): Path<i64>) -> Result<axum::http::StatusCode, errata::ApiError> {
//!     if id == 0 { Err(errors::lecture_not_found()) } else { Ok(axum::http::StatusCode::CREATED) }
//! }
//!
//! let renderer = Arc::new(errata::Renderer::new(errors::catalog().clone()));
//! let declared = Declared::new();
//! let (router, doc) = OpenApiRouter::<()>::new()
//!     .routes(routes!(enroll))
//!     .layer(declared.layer())
//!     .layer_declaring(ErrataLayer::new(Arc::clone(&renderer)))
//!     .split_for_parts();
//! let doc = declared.finish(doc, &renderer);
//! let json = serde_json::to_value(&doc).unwrap();
//! let op = &json["paths"]["/lectures/{id}/enroll"]["post"];
//! assert_eq!(op["x-error-codes"], serde_json::json!(["VALIDATION_ERROR", "LECTURE_NOT_FOUND", "ALREADY_ENROLLED", "SERVER_ERROR"]));
//! assert!(op["responses"]["409"]["content"]["application/problem+json"].is_object());
//! # let _: axum::Router = router;
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use axum::http::{Method, Request, Response};
use axum::routing::Route;
use errata::Catalog;
use errata::{Code, PendingError, Renderer};
use serde_json::Value;
use tower::{Layer, Service};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{OpenApi, RefOr};
use utoipa_axum::router::OpenApiRouter;

/// The extension naming the codes of a response (on each error response) and of an operation
/// (every code the route can answer, in status order).
pub const CODES_EXTENSION: &str = "x-error-codes";

/// Codes errata's [`Json`](crate::Json) and [`Form`](crate::Form) extractors answer for a
/// request body.
pub const BODY_CODES: &[Code] = &[
    Code::new("MALFORMED_JSON"),
    Code::new("VALIDATION_ERROR"),
    Code::new("UNSUPPORTED_MEDIA_TYPE"),
    Code::new("PAYLOAD_TOO_LARGE"),
    Code::new("REQUEST_TIMEOUT"),
];

/// Codes errata's [`Path`](crate::Path) and [`Query`](crate::Query) extractors answer for
/// parameters that do not parse.
pub const PARAMETER_CODES: &[Code] = &[Code::new("VALIDATION_ERROR")];

/// A set of codes a route declares; made by [`error_set!`](crate::error_set).
pub trait ErrorSet {
    /// The codes.
    const CODES: &'static [Code];
}

/// Defines a code-set type: its codes ([`ErrorSet`]) and its OpenAPI responses
/// ([`utoipa::IntoResponses`], rendered with the catalog returned by the given function).
///
/// ```
/// mod errors {
///     errata::catalog!("../../../examples/classroom/errors.toml");
/// }
/// errata_axum::error_set! {
///     /// Errors of `GET /lectures/{id}`.
///     pub struct GetErrors for errors::catalog = &[errors::codes::LECTURE_NOT_FOUND];
/// }
/// use errata_axum::declare::ErrorSet;
/// use utoipa::IntoResponses;
/// assert_eq!(GetErrors::CODES, &[errors::codes::LECTURE_NOT_FOUND]);
/// assert!(GetErrors::responses().contains_key("404"));
/// ```
#[macro_export]
macro_rules! error_set {
    ($(#[$meta:meta])* $vis:vis struct $name:ident for $catalog:path = $codes:expr; $($rest:tt)*) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;
        impl $crate::declare::ErrorSet for $name {
            const CODES: &'static [::errata::Code] = $codes;
        }
        impl $crate::declare::__private::IntoResponses for $name {
            fn responses() -> ::std::collections::BTreeMap<
                ::std::string::String,
                $crate::declare::__private::RefOr<$crate::declare::__private::Response>,
            > {
                $crate::declare::responses_for($catalog(), <Self as $crate::declare::ErrorSet>::CODES)
            }
        }
        $crate::error_set! { $($rest)* }
    };
    () => {};
}

#[doc(hidden)]
pub mod __private {
    pub use utoipa::openapi::{RefOr, Response};
    pub use utoipa::IntoResponses;
}

/// The OpenAPI responses of `codes`, rendered with `catalog` (one per status, each naming its
/// codes in [`CODES_EXTENSION`]).
pub fn responses_for(
    catalog: &Catalog,
    codes: &[Code],
) -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
    let renderer = Renderer::new(catalog.clone());
    crate::openapi::error_responses(&renderer, codes)
        .into_iter()
        .collect()
}

/// A layer that can answer codes of its own, which every route it wraps then declares.
pub trait DeclaresCodes {
    /// The codes it can answer.
    fn declared_codes(&self) -> Vec<Code>;
}

impl DeclaresCodes for crate::ErrataLayer {
    /// A panic or an unexpected failure.
    fn declared_codes(&self) -> Vec<Code> {
        vec![Code::new("SERVER_ERROR")]
    }
}

#[cfg(feature = "ratelimit")]
impl DeclaresCodes for crate::ratelimit::RateLimitLayer {
    fn declared_codes(&self) -> Vec<Code> {
        vec![Code::new("RATE_LIMIT_EXCEEDED")]
    }
}

impl DeclaresCodes for tower_http::limit::RequestBodyLimitLayer {
    fn declared_codes(&self) -> Vec<Code> {
        vec![Code::new("PAYLOAD_TOO_LARGE")]
    }
}

impl DeclaresCodes for axum::extract::DefaultBodyLimit {
    fn declared_codes(&self) -> Vec<Code> {
        vec![Code::new("PAYLOAD_TOO_LARGE")]
    }
}

impl DeclaresCodes for tower_http::timeout::RequestBodyTimeoutLayer {
    fn declared_codes(&self) -> Vec<Code> {
        vec![Code::new("REQUEST_TIMEOUT")]
    }
}

/// Adds a layer to an [`OpenApiRouter`] together with the codes it can answer.
pub trait DeclareLayer: Sized {
    /// Applies `layer` to every route added so far (like `layer`) and adds its
    /// [`DeclaresCodes::declared_codes`] to each of their operations.
    fn layer_declaring<L>(self, layer: L) -> Self
    where
        L: DeclaresCodes + Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<axum::body::Body>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Future: Send + 'static;
}

impl<S: Clone + Send + Sync + 'static> DeclareLayer for OpenApiRouter<S> {
    fn layer_declaring<L>(mut self, layer: L) -> Self
    where
        L: DeclaresCodes + Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request<axum::body::Body>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Response:
            axum::response::IntoResponse + 'static,
        <L::Service as Service<Request<axum::body::Body>>>::Future: Send + 'static,
    {
        let codes = layer.declared_codes();
        for op in operations(self.get_openapi_mut()) {
            let mut list = operation_codes(op);
            for code in &codes {
                if !list.iter().any(|c| c == code.as_str()) {
                    list.push(code.as_str().to_owned());
                }
            }
            set_operation_codes(op, list);
        }
        self.layer(layer)
    }
}

/// A route: its method and path template (`/v1/lectures/{id}`).
type RouteKey = (Method, String);

/// A route's codes: in status order, and as a set.
type RouteCodes = (Vec<String>, HashSet<String>);

/// An answer with a code its route did not declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared {
    /// The method of the request.
    pub method: Method,
    /// The route template.
    pub route: String,
    /// The code answered.
    pub code: String,
    /// The codes the route declares.
    pub declared: Vec<String>,
}

#[derive(Debug, Default)]
struct Shared {
    table: OnceLock<HashMap<RouteKey, RouteCodes>>,
    security: Mutex<Vec<(String, Vec<Code>)>>,
    undeclared: Mutex<Vec<Undeclared>>,
}

/// The codes each route declares, and what the routes answered outside them.
///
/// Clones share their state: keep one to call [`Declared::finish`] on the document and
/// [`Declared::assert_all_declared`] in tests.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    shared: Arc<Shared>,
}

impl Declared {
    /// An empty declaration; [`Declared::finish`] fills it from the document.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes that require the security scheme `scheme` (their operation's `security`) can
    /// answer `codes` (e.g. a token extractor's `AUTH_REQUIRED`, `TOKEN_EXPIRED`).
    pub fn security(self, scheme: &str, codes: &[Code]) -> Self {
        if let Ok(mut list) = self.shared.security.lock() {
            list.push((scheme.to_owned(), codes.to_vec()));
        }
        self
    }

    /// Completes `doc`: every operation's error responses, for the codes it declares (its
    /// code sets, its layers', its extractors' and its security schemes'), rendered by
    /// `renderer` in its envelope and as `application/problem+json`; the envelope schemas;
    /// and each operation's [`CODES_EXTENSION`]. The check then uses the same lists.
    pub fn finish(&self, mut doc: OpenApi, renderer: &Renderer) -> OpenApi {
        let security = self
            .shared
            .security
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        let mut table = HashMap::new();
        for (path, item) in doc.paths.paths.iter_mut() {
            for (method, op) in item_operations(item) {
                let codes = finish_operation(op, renderer, &security);
                let set = codes.iter().cloned().collect();
                table.insert((method, path.clone()), (codes, set));
            }
        }
        crate::openapi::add_error_schemas(&mut doc, renderer);
        if self.shared.table.set(table).is_err() {
            tracing::warn!("errata: Declared::finish called twice; the first document is checked");
        }
        doc
    }

    /// The innermost layer of the router (add it right after the routes): in debug builds it
    /// reports every error answered by a handler or an extractor whose code the route does not
    /// declare. Release builds only pass requests through.
    pub fn layer(&self) -> DeclaredLayer {
        DeclaredLayer {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The codes `method path` declares (`path` as the route template), once finished.
    pub fn codes(&self, method: &Method, path: &str) -> Option<Vec<String>> {
        self.shared
            .table
            .get()?
            .get(&(method.clone(), path.to_owned()))
            .map(|(list, _)| list.clone())
    }

    /// The answers so far whose code their route did not declare.
    pub fn undeclared(&self) -> Vec<Undeclared> {
        self.shared
            .undeclared
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default()
    }

    /// Panics, listing them, when a route answered a code it does not declare.
    #[track_caller]
    pub fn assert_all_declared(&self) {
        let undeclared = self.undeclared();
        if !undeclared.is_empty() {
            let lines: Vec<String> = undeclared
                .iter()
                .map(|u| {
                    format!(
                        "{} {} answered {} (declares {})",
                        u.method,
                        u.route,
                        u.code,
                        u.declared.join(", ")
                    )
                })
                .collect();
            panic!("routes answered undeclared codes:\n{}", lines.join("\n"));
        }
    }

    fn check(&self, method: &Method, route: &str, code: &str) {
        let Some(table) = self.shared.table.get() else {
            return;
        };
        let Some((list, set)) = table.get(&(method.clone(), route.to_owned())) else {
            return;
        };
        if set.contains(code) {
            return;
        }
        tracing::warn!(
            method = %method,
            route,
            code,
            "errata: the route answered a code it does not declare"
        );
        if let Ok(mut undeclared) = self.shared.undeclared.lock() {
            undeclared.push(Undeclared {
                method: method.clone(),
                route: route.to_owned(),
                code: code.to_owned(),
                declared: list.clone(),
            });
        }
    }
}

fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths
        .paths
        .values_mut()
        .flat_map(|item| item_operations(item).into_iter().map(|(_, op)| op))
}

fn item_operations(item: &mut utoipa::openapi::PathItem) -> Vec<(Method, &mut Operation)> {
    [
        (Method::GET, item.get.as_mut()),
        (Method::PUT, item.put.as_mut()),
        (Method::POST, item.post.as_mut()),
        (Method::DELETE, item.delete.as_mut()),
        (Method::OPTIONS, item.options.as_mut()),
        (Method::HEAD, item.head.as_mut()),
        (Method::PATCH, item.patch.as_mut()),
        (Method::TRACE, item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.map(|op| (m, op)))
    .collect()
}

fn code_list(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn operation_codes(op: &Operation) -> Vec<String> {
    code_list(op.extensions.as_ref().and_then(|e| e.get(CODES_EXTENSION)))
}

fn set_operation_codes(op: &mut Operation, codes: Vec<String>) {
    let ext = op.extensions.get_or_insert_with(Default::default);
    ext.insert(CODES_EXTENSION.to_owned(), Value::from(codes));
}

fn finish_operation(
    op: &mut Operation,
    renderer: &Renderer,
    security: &[(String, Vec<Code>)],
) -> Vec<String> {
    let mut codes: Vec<String> = Vec::new();
    let add = |code: &str, codes: &mut Vec<String>| {
        if !codes.iter().any(|c| c == code) {
            codes.push(code.to_owned());
        }
    };
    let has_params = op.parameters.as_ref().is_some_and(|ps| {
        ps.iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    });
    if has_params {
        for c in PARAMETER_CODES {
            add(c.as_str(), &mut codes);
        }
    }
    if op.request_body.is_some() {
        for c in BODY_CODES {
            add(c.as_str(), &mut codes);
        }
    }
    let mut error_statuses = Vec::new();
    for (status, response) in &op.responses.responses {
        if let RefOr::T(response) = response {
            let listed = code_list(
                response
                    .extensions
                    .as_ref()
                    .and_then(|e| e.get(CODES_EXTENSION)),
            );
            if !listed.is_empty() {
                error_statuses.push(status.clone());
            }
            for c in listed {
                add(&c, &mut codes);
            }
        }
    }
    for (scheme, scheme_codes) in security {
        if requires(op, scheme) {
            for c in scheme_codes {
                add(c.as_str(), &mut codes);
            }
        }
    }
    for c in operation_codes(op) {
        add(&c, &mut codes);
    }
    for status in error_statuses {
        op.responses.responses.remove(&status);
    }
    let names: Vec<&str> = codes.iter().map(String::as_str).collect();
    let mut ordered = Vec::new();
    for (status, response) in crate::openapi::error_responses_named(renderer, &names) {
        if let RefOr::T(r) = &response {
            ordered.extend(code_list(
                r.extensions.as_ref().and_then(|e| e.get(CODES_EXTENSION)),
            ));
        }
        op.responses.responses.insert(status, response);
    }
    for code in &codes {
        if !ordered.contains(code) {
            tracing::warn!(code = %code, "errata: a declared code is not in the catalog");
        }
    }
    set_operation_codes(op, ordered.clone());
    ordered
}

fn requires(op: &Operation, scheme: &str) -> bool {
    op.security.as_ref().is_some_and(|reqs| {
        reqs.iter().any(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.contains_key(scheme)))
                .unwrap_or(false)
        })
    })
}

/// The layer of [`Declared::layer`].
#[derive(Debug, Clone)]
pub struct DeclaredLayer {
    shared: Arc<Shared>,
}

impl<S> Layer<S> for DeclaredLayer {
    type Service = DeclaredService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeclaredService {
            inner,
            declared: Declared {
                shared: Arc::clone(&self.shared),
            },
        }
    }
}

/// The service of [`DeclaredLayer`].
#[derive(Debug, Clone)]
pub struct DeclaredService<S> {
    inner: S,
    declared: Declared,
}

impl<S, B, RB> Service<Request<B>> for DeclaredService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<RB>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let route = if cfg!(debug_assertions) {
            req.extensions()
                .get::<MatchedPath>()
                .map(|p| (req.method().clone(), p.as_str().to_owned()))
        } else {
            None
        };
        let fut = self.inner.call(req);
        let Some((method, route)) = route else {
            return Box::pin(fut);
        };
        let declared = self.declared.clone();
        Box::pin(async move {
            let response = fut.await?;
            if let Some(PendingError(err)) = response.extensions().get::<PendingError>() {
                declared.check(&method, &route, err.code());
            }
            Ok(response)
        })
    }
}
