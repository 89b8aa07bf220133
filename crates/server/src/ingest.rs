//! `POST /api/ingest`: external feeds push NDJSON 1m bars.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::error::ApiError;
use super::AppState;
use spotlight_market::hub::PublishError;
use spotlight_market::{Bar, Hub};
use spotlight_wire::IngestResult;

/// Parses the NDJSON body and publishes every bar, or none when one is
/// bad; on a bus, the producer does (and its answer is the answer).
pub async fn ingest(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    state.market().ingest(text).await
}

/// Publishes the bars of an NDJSON body into `hub`, all or none.
pub fn publish(hub: &Hub, text: &str) -> Result<IngestResult, ApiError> {
    let mut bars = Vec::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bar: Bar = serde_json::from_str(line).map_err(|e| {
            ApiError::bad_request(format!(
                "line {}: {}",
                i + 1,
                spotlight_wire::text::shorten(&e.to_string(), 160)
            ))
        })?;
        bars.push(bar);
        lines.push(i + 1);
    }
    if bars.is_empty() {
        return Err(ApiError::bad_request(
            "body holds no bars (NDJSON: one bar object per line)",
        ));
    }
    let head_seq = hub.publish_batch(&bars).map_err(|e| {
        let message = format!("line {}: {}; nothing was applied", lines[e.index], e.error);
        match e.error {
            PublishError::TooManySymbols(_) => {
                ApiError::new(StatusCode::CONFLICT, "too_many_symbols", message)
            }
            _ => ApiError::bad_request(message),
        }
    })?;
    Ok(IngestResult {
        accepted: bars.len(),
        head_seq,
    })
}
