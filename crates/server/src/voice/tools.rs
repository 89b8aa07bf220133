//! Tool calls over the voice WebSocket, answered from the same state as
//! the HTTP API (not through HTTP).

use serde_json::{json, Value};

use crate::AppState;
use spotlight_market::{symbol, Timeframe};

/// Bars `get_bars` returns when no `limit` is given.
const DEFAULT_BARS: u64 = 50;
/// The largest `limit` of `get_bars`.
const MAX_BARS: u64 = 5000;

/// The tools there are.
pub const TOOLS: [&str; 3] = ["get_quote", "get_bars", "replay_status"];

/// Runs tool `name` with `args`: its result, or what is wrong.
pub fn call(state: &AppState, name: &str, args: &Value) -> Result<Value, String> {
    match name {
        "get_quote" => {
            let symbol = symbol_arg(args)?;
            state
                .hub
                .symbols()
                .into_iter()
                .find(|s| s.symbol == symbol)
                .map(|q| json!(q))
                .ok_or_else(|| format!("no quote for {symbol:?}"))
        }
        "get_bars" => {
            let symbol = symbol_arg(args)?;
            let tf = match args.get("timeframe") {
                None | Some(Value::Null) => Timeframe::M1,
                Some(Value::String(s)) => s.parse::<Timeframe>().map_err(|e| e.to_string())?,
                Some(_) => return Err("`timeframe` must be text such as \"5m\"".into()),
            };
            let limit = match args.get("limit") {
                None | Some(Value::Null) => DEFAULT_BARS,
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=MAX_BARS).contains(n))
                    .ok_or_else(|| {
                        format!("`limit` must be a whole number from 1 to {MAX_BARS}")
                    })?,
            };
            let history = state
                .hub
                .history(&symbol, tf, None, limit as usize)
                .map_err(|e| e.to_string())?;
            Ok(json!(history))
        }
        "replay_status" => Ok(json!(state.replay_status())),
        other => Err(format!(
            "unknown tool {} (tools: {})",
            crate::error::quote(other),
            TOOLS.join(", ")
        )),
    }
}

fn symbol_arg(args: &Value) -> Result<String, String> {
    let s = args
        .get("symbol")
        .and_then(Value::as_str)
        .ok_or("`symbol` is required (text)")?;
    symbol::check(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}
