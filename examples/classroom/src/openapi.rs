//! `/openapi.json`: every route with every error code it can return, declared once next to
//! its handler (`ENROLL_ERRORS` and friends) and rendered here as responses grouped by HTTP
//! status, each code with an example body rendered by the catalog itself.

use std::collections::BTreeMap;

use errata::{Code, Renderer};
use errata_axum::openapi::{add_error_schemas, error_responses};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem,
    PathsBuilder, Ref, Required, ResponseBuilder, ResponsesBuilder, Schema,
};

use crate::errors::codes;
use crate::{auth, kakao, lectures, sessions, uploads, ws};

/// An HTTP method of a documented route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// POST.
    Post,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    fn http(self) -> HttpMethod {
        match self {
            Method::Get => HttpMethod::Get,
            Method::Post => HttpMethod::Post,
            Method::Patch => HttpMethod::Patch,
            Method::Delete => HttpMethod::Delete,
        }
    }
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method.
    pub method: Method,
    /// Path template (`/v1/lectures/{id}`).
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Whether it needs `Authorization: Bearer`.
    pub auth: bool,
    /// The JSON body schema, when it takes one.
    pub body: Option<&'static str>,
    /// Status of a success.
    pub success: u16,
    /// A second success status (e.g. 200 when a join already existed, 201 when it was created).
    pub also: Option<u16>,
    /// Errors of the route itself (auth, body and rate-limit errors are added).
    pub errors: &'static [Code],
}

const fn route(
    method: Method,
    path: &'static str,
    summary: &'static str,
    success: u16,
    errors: &'static [Code],
) -> RouteDoc {
    RouteDoc {
        method,
        path,
        summary,
        auth: true,
        body: None,
        success,
        also: None,
        errors,
    }
}

const fn also(mut r: RouteDoc, status: u16) -> RouteDoc {
    r.also = Some(status);
    r
}

const fn public(mut r: RouteDoc) -> RouteDoc {
    r.auth = false;
    r
}

const fn body(mut r: RouteDoc, schema: &'static str) -> RouteDoc {
    r.body = Some(schema);
    r
}

/// Every route of the API.
pub const ROUTES: &[RouteDoc] = &[
    public(body(
        route(
            Method::Post,
            "/v1/auth/signup",
            "Create an account",
            201,
            auth::SIGNUP_ERRORS,
        ),
        "SignupRequest",
    )),
    public(body(
        route(
            Method::Post,
            "/v1/auth/login",
            "Log in",
            200,
            auth::LOGIN_ERRORS,
        ),
        "LoginRequest",
    )),
    public(body(
        route(
            Method::Post,
            "/v1/auth/refresh",
            "Rotate the refresh token",
            200,
            auth::REFRESH_ERRORS,
        ),
        "RefreshRequest",
    )),
    public(body(
        route(
            Method::Post,
            "/v1/auth/logout",
            "Retire the refresh token",
            204,
            auth::LOGOUT_ERRORS,
        ),
        "RefreshRequest",
    )),
    route(
        Method::Get,
        "/v1/user/me",
        "The current user",
        200,
        auth::ME_ERRORS,
    ),
    route(
        Method::Get,
        "/v1/user/kakao-channel-added",
        "Whether the user added the Kakao channel",
        200,
        kakao::CHANNEL_ADDED_ERRORS,
    ),
    route(
        Method::Get,
        "/v1/lectures",
        "List lectures",
        200,
        lectures::LIST_ERRORS,
    ),
    body(
        route(
            Method::Post,
            "/v1/lectures",
            "Create a lecture (instructors)",
            201,
            lectures::CREATE_ERRORS,
        ),
        "CreateLecture",
    ),
    route(
        Method::Get,
        "/v1/lectures/{id}",
        "A lecture",
        200,
        lectures::GET_ERRORS,
    ),
    body(
        route(
            Method::Patch,
            "/v1/lectures/{id}",
            "Edit a lecture (its instructor)",
            200,
            lectures::UPDATE_ERRORS,
        ),
        "UpdateLecture",
    ),
    route(
        Method::Delete,
        "/v1/lectures/{id}",
        "Delete a lecture without sessions (its instructor)",
        204,
        lectures::DELETE_ERRORS,
    ),
    route(
        Method::Post,
        "/v1/lectures/{id}/enroll",
        "Enroll",
        201,
        lectures::ENROLL_ERRORS,
    ),
    route(
        Method::Delete,
        "/v1/lectures/{id}/enroll",
        "Leave a lecture",
        204,
        lectures::UNENROLL_ERRORS,
    ),
    route(
        Method::Get,
        "/v1/lectures/{id}/students",
        "Students of a lecture (its instructor)",
        200,
        lectures::STUDENTS_ERRORS,
    ),
    body(
        route(
            Method::Post,
            "/v1/lectures/{id}/sessions",
            "Open a live session (its instructor)",
            201,
            sessions::CREATE_ERRORS,
        ),
        "CreateSession",
    ),
    route(
        Method::Get,
        "/v1/sessions/{code}",
        "A live session",
        200,
        sessions::GET_ERRORS,
    ),
    route(
        Method::Post,
        "/v1/sessions/{code}/start",
        "WAITING → IN_PROGRESS",
        200,
        sessions::START_ERRORS,
    ),
    route(
        Method::Post,
        "/v1/sessions/{code}/next-step",
        "Advance the current step",
        200,
        sessions::NEXT_STEP_ERRORS,
    ),
    route(
        Method::Post,
        "/v1/sessions/{code}/end",
        "IN_PROGRESS → ENDED",
        200,
        sessions::END_ERRORS,
    ),
    also(
        body(
            route(
                Method::Post,
                "/v1/sessions/{code}/join",
                "Join with a device (201 when new, 200 when the device had joined)",
                201,
                sessions::JOIN_ERRORS,
            ),
            "DeviceRequest",
        ),
        200,
    ),
    body(
        route(
            Method::Post,
            "/v1/sessions/{code}/complete",
            "Report the current step complete",
            200,
            sessions::COMPLETE_ERRORS,
        ),
        "DeviceRequest",
    ),
    body(
        route(
            Method::Post,
            "/v1/uploads/images",
            "Upload a base64 image",
            201,
            uploads::UPLOAD_ERRORS,
        ),
        "UploadImage",
    ),
    route(
        Method::Get,
        "/v1/uploads/images/{id}",
        "Download an uploaded image",
        200,
        uploads::DOWNLOAD_ERRORS,
    ),
    public(route(
        Method::Get,
        "/ws/sessions/{code}",
        "WebSocket of a session (`?token=`; errors are close codes)",
        101,
        ws::WS_ERRORS,
    )),
];

/// Errors of every JSON body.
const BODY_ERRORS: &[Code] = &[
    codes::MALFORMED_JSON,
    codes::VALIDATION_ERROR,
    codes::UNSUPPORTED_MEDIA_TYPE,
    codes::PAYLOAD_TOO_LARGE,
];
/// Errors of every authenticated route.
const AUTH_ERRORS: &[Code] = &[
    codes::AUTH_REQUIRED,
    codes::TOKEN_EXPIRED,
    codes::TOKEN_INVALID,
];
/// Errors of every rate-limited route (`/v1/*`).
const RATE_LIMITED: &[Code] = &[codes::RATE_LIMIT_EXCEEDED];

/// Every code a route can answer, in a stable order without repeats.
pub fn route_errors(route: &RouteDoc) -> Vec<Code> {
    let mut all: Vec<Code> = Vec::new();
    let extra: &[&[Code]] = &[
        route.errors,
        if route.auth { AUTH_ERRORS } else { &[] },
        if route.body.is_some() {
            BODY_ERRORS
        } else {
            &[]
        },
        if route.path.starts_with("/v1/") {
            RATE_LIMITED
        } else {
            &[]
        },
        &[codes::SERVER_ERROR],
    ];
    for code in extra.iter().flat_map(|list| list.iter()) {
        if !all.contains(code) {
            all.push(*code);
        }
    }
    all
}

fn schema(value: serde_json::Value) -> Schema {
    serde_json::from_value(value).unwrap_or_default()
}

/// The OpenAPI document of the service.
pub fn document(renderer: &Renderer) -> OpenApi {
    let catalog = renderer.catalog();
    let mut paths = PathsBuilder::new();
    let mut items: BTreeMap<&str, Vec<(HttpMethod, utoipa::openapi::path::Operation)>> =
        BTreeMap::new();
    for r in ROUTES {
        let success = |status: u16| match status {
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            _ => "No Content",
        };
        let mut responses = ResponsesBuilder::new().response(
            r.success.to_string(),
            ResponseBuilder::new()
                .description(success(r.success))
                .build(),
        );
        if let Some(also) = r.also {
            responses = responses.response(
                also.to_string(),
                ResponseBuilder::new().description(success(also)).build(),
            );
        }
        for (status, response) in error_responses(renderer, &route_errors(r)) {
            responses = responses.response(status, response);
        }
        let mut op = OperationBuilder::new()
            .summary(Some(r.summary))
            .responses(responses.build())
            .extensions(Some(
                [(
                    "x-error-codes".to_owned(),
                    serde_json::json!(route_errors(r)
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()),
                )]
                .into_iter()
                .collect(),
            ));
        for param in r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            let ty = if param == "code" { "string" } else { "integer" };
            op = op.parameter(
                ParameterBuilder::new()
                    .name(param)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .schema(Some(schema(serde_json::json!({"type": ty})))),
            );
        }
        if let Some(body) = r.body {
            op = op.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(body)))
                            .build(),
                    )
                    .build(),
            ));
        }
        if r.auth {
            op = op.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        items
            .entry(r.path)
            .or_default()
            .push((r.method.http(), op.build()));
    }
    for (path, ops) in items {
        let mut item: Option<PathItem> = None;
        for (method, op) in ops {
            let next = PathItem::new(method, op);
            match &mut item {
                Some(existing) => existing.merge_operations(next),
                None => item = Some(next),
            }
        }
        if let Some(item) = item {
            paths = paths.path(path, item);
        }
    }

    let components = ComponentsBuilder::new()
        .schema_from::<auth::Role>()
        .schema_from::<auth::SignupRequest>()
        .schema_from::<auth::LoginRequest>()
        .schema_from::<auth::RefreshRequest>()
        .schema_from::<lectures::CreateLecture>()
        .schema_from::<lectures::UpdateLecture>()
        .schema_from::<sessions::CreateSession>()
        .schema_from::<sessions::DeviceRequest>()
        .schema_from::<uploads::UploadImage>()
        .security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        )
        .build();

    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("classroom")
                .version(catalog.info.version.clone())
                .description(Some("Lectures, enrollment and live sessions. Every error is in the `ErrorEnvelope`; the codes are the catalog's (see `/errors`).")),
        )
        .paths(paths.build())
        .components(Some(components))
        .build();
    add_error_schemas(&mut doc, renderer);
    doc
}
