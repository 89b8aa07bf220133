//! `/api/replay/*`: drive the server-wide replay.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use crate::market::replay::{ReplayError, StartRequest};
use crate::market::time::parse_instant;
use crate::wire::{ReplaySpeed, ReplayStart, ReplayStatus};

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

/// `POST /api/replay/start {symbols?, from?, to?, speed?}` (an empty body is all defaults).
pub async fn start(
    State(state): State<AppState>,
    raw: axum::body::Bytes,
) -> Result<Json<ReplayStatus>, ApiError> {
    let req: ReplayStart = if raw.iter().all(u8::is_ascii_whitespace) {
        ReplayStart::default()
    } else {
        serde_json::from_slice(&raw).map_err(|e| ApiError::bad_request(format!("body: {e}")))?
    };
    let request = StartRequest {
        symbols: req.symbols,
        from: instant("from", req.from)?,
        to: instant("to", req.to)?,
        speed: req.speed,
    };
    state.local_control()?;
    Ok(Json(state.replay.start(request)?))
}

/// `POST /api/replay/stop`.
pub async fn stop(State(state): State<AppState>) -> Result<Json<ReplayStatus>, ApiError> {
    state.local_control()?;
    Ok(Json(state.replay.stop()?))
}

/// `POST /api/replay/pause`.
pub async fn pause(State(state): State<AppState>) -> Result<Json<ReplayStatus>, ApiError> {
    state.local_control()?;
    Ok(Json(state.replay.pause()?))
}

/// `POST /api/replay/resume`.
pub async fn resume(State(state): State<AppState>) -> Result<Json<ReplayStatus>, ApiError> {
    state.local_control()?;
    Ok(Json(state.replay.resume()?))
}

/// `POST /api/replay/speed {speed}`.
pub async fn speed(
    State(state): State<AppState>,
    req: Result<Json<ReplaySpeed>, JsonRejection>,
) -> Result<Json<ReplayStatus>, ApiError> {
    state.local_control()?;
    Ok(Json(state.replay.set_speed(body(req)?.speed)?))
}

/// `GET /api/replay/status`.
pub async fn status(State(state): State<AppState>) -> Json<ReplayStatus> {
    Json(state.replay.status())
}
