//! Liveness and readiness.

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use spotlight_wire::Status;

/// `GET /health`, `GET /api/healthz`: the process is up.
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

/// `GET /api/readyz`: 200 once the source has produced data, else 503;
/// 503 `draining` in drain mode and while shutting down; 503 while the bus
/// or the live feed is down or stalled, with the reason.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    readiness(&state)?;
    Ok(Json(Status {
        status: "ok".into(),
    }))
}

/// Whether the server is ready, or why not (what `/api/readyz` answers).
pub fn readiness(state: &AppState) -> Result<(), ApiError> {
    if state.drain.is_on() || state.shutdown.is_cancelled() {
        return Err(ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "draining for a deploy: route new clients elsewhere",
        ));
    }
    if let Some(problem) = state.market().problem() {
        return Err(ApiError::not_ready(problem));
    }
    if let Some(problem) = state.upstreams.upstreams.problem() {
        return Err(ApiError::not_ready(problem));
    }
    if state.hub.has_data() {
        Ok(())
    } else {
        Err(ApiError::not_ready(
            "the market source has not produced data yet",
        ))
    }
}
