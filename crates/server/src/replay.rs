//! `/api/replay/*`: drive the server-wide replay.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use spotlight_market::replay::{ReplayError, Replayer, StartRequest};
use spotlight_market::time::parse_instant;
use spotlight_wire::{ReplaySpeed, ReplayStart, ReplayStatus};

impl From<ReplayError> for ApiError {
    fn from(e: ReplayError) -> ApiError {
        match e {
            ReplayError::WrongState(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            ReplayError::BadRequest(m) => ApiError::bad_request(m),
        }
    }
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError::bad_request(e.body_text()))
}

/// A `from`/`to` value: RFC 3339 text or Unix ms.
fn instant(name: &str, v: Option<serde_json::Value>) -> Result<Option<i64>, ApiError> {
    let bad = || ApiError::bad_request(format!("`{name}` must be RFC 3339 or Unix milliseconds"));
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(serde_json::Value::String(s)) => parse_instant(&s).map(Some).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// Runs replay control `op` (`replay_start`, `replay_stop`, `replay_pause`,
/// `replay_resume`, `replay_speed`, `replay_status`) with its request body
/// on `replay`: what the HTTP routes do here, and what a bus producer does
/// for a route on another instance.
pub fn control(replay: &Arc<Replayer>, op: &str, raw: &[u8]) -> Result<ReplayStatus, ApiError> {
    match op {
        "replay_start" => Ok(replay.start(start_request(raw)?)?),
        "replay_stop" => Ok(replay.stop()?),
        "replay_pause" => Ok(replay.pause()?),
        "replay_resume" => Ok(replay.resume()?),
        "replay_speed" => {
            let req: ReplaySpeed = serde_json::from_slice(raw)
                .map_err(|e| ApiError::bad_request(format!("body: {e}")))?;
            Ok(replay.set_speed(req.speed)?)
        }
        "replay_status" => Ok(replay.status()),
        other => Err(ApiError::bad_request(format!("unknown control {other:?}"))),
    }
}

/// A start request from its body (empty: every default).
pub(crate) fn start_request(raw: &[u8]) -> Result<StartRequest, ApiError> {
    let req: ReplayStart = if raw.iter().all(u8::is_ascii_whitespace) {
        ReplayStart::default()
    } else {
        serde_json::from_slice(raw).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    Ok(StartRequest {
        symbols: req.symbols,
        from: instant("from", req.from)?,
        to: instant("to", req.to)?,
        speed: req.speed,
    })
}

/// Runs `op` on the market (here, or by the producer on a bus).
async fn run(state: &AppState, op: &str, raw: &[u8]) -> Result<Response, ApiError> {
    state.market().replay(op, raw).await
}

/// `POST /api/replay/start {symbols?, from?, to?, speed?}` (an empty body is all defaults).
pub async fn start(State(state): State<AppState>, raw: Bytes) -> Result<Response, ApiError> {
    run(&state, "replay_start", &raw).await
}

/// `POST /api/replay/stop`.
pub async fn stop(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, "replay_stop", b"").await
}

/// `POST /api/replay/pause`.
pub async fn pause(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, "replay_pause", b"").await
}

/// `POST /api/replay/resume`.
pub async fn resume(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, "replay_resume", b"").await
}

/// `POST /api/replay/speed {speed}`.
pub async fn speed(
    State(state): State<AppState>,
    req: Result<Json<ReplaySpeed>, JsonRejection>,
) -> Result<Response, ApiError> {
    let raw = serde_json::to_vec(&body(req)?).unwrap_or_default();
    run(&state, "replay_speed", &raw).await
}

/// `GET /api/replay/status`.
pub async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, "replay_status", b"").await
}
