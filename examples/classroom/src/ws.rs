//! `GET /ws/sessions/{code}?token=<access token>`: live state of a session.
//!
//! The socket is upgraded first, then authenticated: a missing, expired or invalid token
//! closes it with the catalog's close code (`4001`, from [`errata::Renderer::ws_close`]) and
//! the message in the client's language as the reason; an unknown session closes with `4004`.
//! A user who neither teaches the session's lecture nor is enrolled in it is refused with
//! `NOT_ENROLLED` (`4003`). A client that breaks the protocol (a malformed or unmasked frame, a
//! message over [`MAX_MESSAGE`] bytes, text that is not UTF-8) gets a close frame with
//! `WS_PROTOCOL_ERROR` (`4000`) rather than a dropped connection.
//! Otherwise the server sends the session's state at once (`{"type": "session", "session":
//! {...}}`), then again after every change (start, step, end, join, completion), and closes
//! normally (`1000`) once the session has ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use errata::{ApiError, Code, LocaleId};
use errata_axum::{Path, Query, RequestContext};
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::app::AppState;
use crate::auth;
use crate::errors::{self, codes};
use crate::sessions::{self, SessionCode, SessionView, Status};

/// Errors that close the socket (with their `ws_close` codes).
pub const WS_ERRORS: &[Code] = &[
    // A plain GET without the WebSocket upgrade headers.
    codes::VALIDATION_ERROR,
    codes::AUTH_REQUIRED,
    codes::TOKEN_EXPIRED,
    codes::TOKEN_INVALID,
    codes::SESSION_NOT_FOUND,
    codes::NOT_ENROLLED,
    codes::WS_PROTOCOL_ERROR,
];
errata_axum::error_set! {
    /// The codes of [`WS_ERRORS`] (errors of the route).
    pub struct WsErrors for crate::errors::catalog = WS_ERRORS;
}

/// Largest message a client may send (the server expects none but control frames).
pub const MAX_MESSAGE: usize = 64 * 1024;

/// The `token` parameter of a query string, decoded.
pub fn query_token(query: Option<&str>) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .filter(|token| !token.is_empty())
}

/// Close code for errors without a `ws_close` in the catalog (RFC 6455 "internal error").
const CLOSE_INTERNAL: u16 = 1011;

/// Messages per session kept for slow clients before they skip to the latest state.
const BACKLOG: usize = 64;

/// One pushed state: the session's status and the JSON text sent.
#[derive(Debug)]
pub struct Update {
    /// The status in the message.
    pub status: Status,
    /// `{"type": "session", "session": {...}}`.
    pub text: String,
}

/// Fans session changes out to the sockets watching them.
#[derive(Debug, Clone, Default)]
pub struct SessionHub {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<Update>>>>>,
}

impl SessionHub {
    /// Receives every state pushed for session `code` from now on.
    pub fn subscribe(&self, code: &str) -> broadcast::Receiver<Arc<Update>> {
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        channels
            .entry(code.to_owned())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe()
    }

    /// Pushes a session's new state to its watchers (dropping the channel once nobody watches).
    pub fn publish(&self, view: &SessionView) {
        let message = Arc::new(update(view));
        let mut channels = self
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = channels.get(&view.code) {
            if sender.send(message).is_err() {
                channels.remove(&view.code);
            }
        }
    }

    /// Number of sessions somebody watches.
    pub fn watched(&self) -> usize {
        self.channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

fn update(view: &SessionView) -> Update {
    Update {
        status: view.status.0,
        text: serde_json::json!({"type": "session", "session": view}).to_string(),
    }
}

/// Query of the socket URL.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// The access token (browsers cannot set headers on a WebSocket).
    pub token: Option<String>,
}

/// `GET /ws/sessions/{code}`.
#[utoipa::path(get, path = "/ws/sessions/{code}", params(SessionCode, WsQuery), tag = "sessions",
    responses((status = 101, description = "The WebSocket of the session (`?token=`); errors after the upgrade are close codes"), WsErrors))]
pub async fn connect(
    State(state): State<AppState>,
    ctx: RequestContext,
    Path(SessionCode { code }): Path<SessionCode>,
    Query(query): Query<WsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let verdict = match auth::authenticate(&state, query.token.as_deref()) {
        Ok(user) => match state.db.acquire().await {
            Ok(mut conn) => sessions::load_for_member(&mut conn, &code, user).await,
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    let locale = ctx.locale();
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            match verdict {
                Ok(view) => watch(socket, &state, view, locale).await,
                Err(err) => close_with_error(socket, &state, &err, locale).await,
            }
        })
}

async fn close_with_error(
    mut socket: WebSocket,
    state: &AppState,
    err: &ApiError,
    locale: LocaleId,
) {
    let (code, reason) = state.renderer.ws_close(err, locale).unwrap_or_else(|| {
        (
            CLOSE_INTERNAL,
            state
                .renderer
                .message(&errata::builtin::server_error(), locale),
        )
    });
    if code == CLOSE_INTERNAL {
        tracing::error!(error = %err, "websocket refused");
    }
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn watch(mut socket: WebSocket, state: &AppState, view: SessionView, locale: LocaleId) {
    let mut updates = state.hub.subscribe(&view.code);
    let code = view.code.clone();
    // Re-read after subscribing, so no change slips between the first load and the subscription.
    let first = sessions::load(&state.db, &code).await.unwrap_or(view);
    let first = update(&first);
    if socket.send(Message::Text(first.text.into())).await.is_err() {
        return;
    }
    let mut ended = first.status == Status::Ended;
    while !ended {
        tokio::select! {
            next = updates.recv() => {
                let next: Arc<Update> = match next {
                    Ok(next) => next,
                    Err(broadcast::error::RecvError::Lagged(_)) => match sessions::load(&state.db, &code).await {
                        Ok(view) => Arc::new(update(&view)),
                        Err(_) => break,
                    },
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                ended = next.status == Status::Ended;
                if socket.send(Message::Text(next.text.as_str().into())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None => return,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "websocket protocol error");
                    let err = errors::ws_protocol_error();
                    close_with_error(socket, state, &err, locale).await;
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let frame = CloseFrame {
        code: 1000,
        reason: "session ended".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
