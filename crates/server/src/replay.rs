//! `/api/replay/*`: drive the server-wide replay.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::response::Response;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use spotlight_market::command::Command;
use spotlight_market::replay::StartRequest;
use spotlight_market::time::parse_instant;
use spotlight_wire::{ReplaySpeed, ReplayStart};

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

/// A start request from its body (empty: every default).
fn start_request(raw: &[u8]) -> Result<StartRequest, ApiError> {
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

/// Runs `command` on the market (here, or by the producer on a bus).
async fn run(state: &AppState, command: Command) -> Result<Response, ApiError> {
    state.market().answer(command).await
}

/// `POST /api/replay/start {symbols?, from?, to?, speed?}` (an empty body is all defaults).
pub async fn start(State(state): State<AppState>, raw: Bytes) -> Result<Response, ApiError> {
    run(&state, Command::ReplayStart(start_request(&raw)?)).await
}

/// `POST /api/replay/stop`.
pub async fn stop(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, Command::ReplayStop).await
}

/// `POST /api/replay/pause`.
pub async fn pause(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, Command::ReplayPause).await
}

/// `POST /api/replay/resume`.
pub async fn resume(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, Command::ReplayResume).await
}

/// `POST /api/replay/speed {speed}`.
pub async fn speed(
    State(state): State<AppState>,
    req: Result<Json<ReplaySpeed>, JsonRejection>,
) -> Result<Response, ApiError> {
    let speed = body(req)?.speed;
    run(&state, Command::ReplaySpeed { speed }).await
}

/// `GET /api/replay/status`.
pub async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    run(&state, Command::ReplayStatus).await
}
