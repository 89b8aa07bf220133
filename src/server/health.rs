//! Liveness and readiness.

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use crate::wire::Status;

/// `GET /health`, `GET /api/healthz`: the process is up.
pub async fn healthz() -> Json<Status> {
    Json(Status {
        status: "ok".into(),
    })
}

/// `GET /api/readyz`: 200 once the source has produced data, else 503.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    if state.hub.has_data() {
        Ok(Json(Status {
            status: "ok".into(),
        }))
    } else {
        Err(ApiError::not_ready(
            "the market source has not produced data yet",
        ))
    }
}
