//! `POST /api/ingest`: external feeds push NDJSON 1m bars.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;

use super::error::ApiError;
use super::AppState;
use spotlight_market::command::{Command, Refused};
use spotlight_market::Bar;

/// Parses the NDJSON body and publishes every bar, or none when one is
/// bad; on a bus, the producer does (and its answer is the answer).
pub async fn ingest(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let text = std::str::from_utf8(&body)
        .map_err(|e| ApiError::bad_request(format!("body is not UTF-8: {e}")))?;
    let (bars, lines) = parse(text)?;
    let market = state.market();
    match market.run(Command::Publish { bars }).await? {
        Ok(done) => Ok(super::market::respond(done)),
        Err(Refused::Bar {
            index,
            full,
            message,
        }) => Err(Refused::Bar {
            index,
            full,
            message: format!(
                "line {}: {message}; nothing was applied",
                lines.get(index).copied().unwrap_or(index + 1)
            ),
        }
        .into()),
        Err(refused) => Err(refused.into()),
    }
}

/// The bars of an NDJSON body and the line each came from (blank lines
/// skipped); an unreadable line or no bar at all is a bad request.
fn parse(text: &str) -> Result<(Vec<Bar>, Vec<usize>), ApiError> {
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
    Ok((bars, lines))
}
