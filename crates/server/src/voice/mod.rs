//! `GET /voice/ws`: the voice WebSocket, with lossless resume. Admitted
//! through the same pipeline as streams (parameters, Host, Origin, rate
//! limit, auth, capacity); refusals before the upgrade are JSON errors.

mod conn;
pub mod metrics;
mod relay;
pub mod session;
pub mod tools;
mod waiting_room;

use axum::extract::ws::{
    rejection::WebSocketUpgradeRejection, Message, WebSocket, WebSocketUpgrade,
};
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

pub use metrics::VoiceMetrics;
use session::Attached;
pub use session::{Sessions, VoiceConfig};

use super::admission::Ticket;
use super::error::ApiError;
use super::params::Params;
use super::AppState;
use spotlight_wire::voice::ServerMessage;

/// The path of the voice WebSocket.
pub const VOICE_PATH: &str = "/voice/ws";
/// Read buffer of a voice connection (tungstenite's default is 128 KiB).
const READ_BUFFER: usize = 4 * 1024;
/// Bytes gathered before a write; the connection flushes every batch.
const WRITE_BATCH: usize = 16 * 1024;
/// Longest resume token accepted.
const MAX_TOKEN: usize = 512;

/// What a voice connection asks for: a new session, or to resume one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VoiceRequest {
    /// `resume`: the token of the session to continue.
    pub resume: Option<String>,
    /// `last`: the last outbound seq the client received.
    pub last: u64,
}

impl VoiceRequest {
    /// Reads `?resume=TOKEN&last=N`.
    pub fn parse(query: &str) -> Result<VoiceRequest, ApiError> {
        let params = Params::from_query(query);
        let resume = params.get("resume").map(String::from);
        if resume.as_ref().is_some_and(|t| t.len() > MAX_TOKEN) {
            return Err(ApiError::bad_request(format!(
                "parameter `resume`: a token is at most {MAX_TOKEN} characters"
            )));
        }
        let last = params.parse::<u64>("last")?.unwrap_or(0);
        Ok(VoiceRequest { resume, last })
    }
}

/// The handler: upgrades an admitted request and serves the session.
pub async fn voice(
    State(state): State<AppState>,
    Extension(ticket): Extension<Ticket>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => {
            let status = r.status();
            return ApiError::new(
                status,
                ApiError::code_for(status),
                format!("expected a WebSocket upgrade: {}", r.body_text()),
            )
            .into_response();
        }
    };
    let Some(admitted) = ticket.take() else {
        return ApiError::internal("voice connection was not admitted").into_response();
    };
    let (Some(request), Some(permit)) = (admitted.voice, admitted.permit) else {
        return ApiError::internal("voice connection was not admitted").into_response();
    };
    let config = &state.voice.config;
    // Frames up to twice the limit are read whole and answered 1009
    // cleanly; beyond that the WebSocket layer refuses them unread.
    let hard = config.max_frame * 2;
    // The session's trace span, a child of this request's (only with
    // `--otlp-endpoint`); it ends with the connection.
    let span = spotlight_telemetry::span(|| {
        tracing::info_span!(
            "voice.session",
            resume = request.resume.is_some(),
            session = tracing::field::Empty,
            resumed = tracing::field::Empty,
        )
    });
    ws.read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(hard + config.outbound_limit + 64 * 1024)
        .max_message_size(hard)
        .max_frame_size(hard)
        .on_upgrade(move |mut socket| {
            // An async block, not an async fn: its captures are stored
            // once in every connection's future (an async fn keeps its
            // arguments twice), and nothing of the wait outlives it.
            async move {
                let Some(attached) = attach(&mut socket, &state, &request).await else {
                    return;
                };
                conn::serve(socket, state, attached, permit).await;
            }
            .instrument(span)
        })
}

/// The connection's session: a resume goes straight back to its own (it
/// holds its seat); a new session (or a refused resume) first waits for a
/// seat. `None` when the connection went away meanwhile.
async fn attach(
    socket: &mut WebSocket,
    state: &AppState,
    request: &VoiceRequest,
) -> Option<Attached> {
    let metrics = &state.metrics.voice;
    if let Some(token) = &request.resume {
        match state.voice.resume(token, request.last) {
            Ok(attached) => {
                metrics.sessions.with_label_values(&["resumed"]).inc();
                state.metrics.admission.request("voice", "admitted");
                return Some(attached);
            }
            Err(why) => {
                metrics.sessions.with_label_values(&["rejected"]).inc();
                let e = ServerMessage::Error {
                    code: "resume_rejected".into(),
                    message: why.message().into(),
                    reference: None,
                    retry_ms: None,
                    seq: 0,
                };
                let text = serde_json::to_string(&e).unwrap_or_default();
                let stall = state.config.limits.stall_timeout;
                if !waiting_room::send(socket, Message::Text(text.into()), stall).await {
                    return None;
                }
            }
        }
    }
    let seat = waiting_room::seat(socket, state).await?;
    metrics.sessions.with_label_values(&["new"]).inc();
    Some(state.voice.create(seat))
}
