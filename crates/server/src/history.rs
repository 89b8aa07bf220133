//! `GET /api/history` and `GET /api/symbols`.

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::params::Params;
use super::AppState;
use spotlight_market::time::parse_instant;
use spotlight_market::Timeframe;
use spotlight_wire::{History, Symbols};

/// Bars returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 500;
/// The largest `limit`.
pub const MAX_LIMIT: usize = 5000;

/// `GET /api/history?symbol=SPY&timeframe=5m&limit=50&before=T`.
pub async fn history(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<History>, ApiError> {
    let symbol = params.require("symbol")?;
    let tf = params
        .parse::<Timeframe>("timeframe")?
        .unwrap_or(Timeframe::M1);
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter `limit`={s:?}: expected a whole number from 1 to {MAX_LIMIT}"
                ))
            })?,
    };
    let before = params
        .get("before")
        .map(|s| {
            parse_instant(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "parameter `before`={s:?}: expected RFC 3339 or Unix milliseconds"
                ))
            })
        })
        .transpose()?;
    let history = state
        .hub
        .history(symbol, tf, before, limit)
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    Ok(Json(history))
}

/// `GET /api/symbols`: every symbol with last price and change.
pub async fn symbols(State(state): State<AppState>) -> Json<Symbols> {
    Json(Symbols {
        symbols: state.hub.symbols(),
    })
}
