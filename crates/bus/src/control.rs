//! Commands sent to any instance, run by the producer: the caller pushes a
//! request (a [`Command`]) on a Redis list and waits on its own reply list;
//! the producer pops requests, runs them on its market, and pushes what
//! they did or why they were refused back. A request carries a deadline,
//! so one nobody answered in time is never run later.

use std::time::Duration;

use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{BusError, Keys};
use spotlight_market::command::{Command, Done, Refused};
use spotlight_market::hub::new_epoch;
use spotlight_market::time::now_ms;

/// One request for the producer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ControlRequest {
    /// Names the reply list.
    id: String,
    /// What to do.
    command: Command,
    /// Not to be run after this, Unix ms.
    deadline_ms: i64,
}

/// The producer's answer: what the command did, or why it was refused.
pub type Reply = Result<Done, Refused>;

fn reply_key(keys: &Keys, id: &str) -> String {
    format!("{}:reply:{id}", keys.prefix)
}

/// Sends `command` to the producer and waits up to `wait` for its answer
/// (`Ok(None)`: no producer answered). Use a connection without a
/// response timeout shorter than `wait`.
pub async fn call<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    command: Command,
    wait: Duration,
) -> Result<Option<Reply>, BusError> {
    let request = ControlRequest {
        id: format!("{}{}", new_epoch(), new_epoch()),
        command,
        deadline_ms: now_ms() + wait.as_millis() as i64,
    };
    let json = serde_json::to_string(&request).unwrap_or_default();
    let _: i64 = redis::cmd("RPUSH")
        .arg(&keys.control)
        .arg(json)
        .query_async(con)
        .await?;
    let popped: Option<(String, String)> = redis::cmd("BLPOP")
        .arg(reply_key(keys, &request.id))
        .arg(wait.as_secs_f64())
        .query_async(con)
        .await?;
    Ok(popped.and_then(|(_, reply)| serde_json::from_str(&reply).ok()))
}

/// Runs requests as they come until `stop`, answering each with what
/// `run` returns; requests past their deadline are dropped unanswered.
/// Use a connection without a short response timeout (it blocks).
pub async fn serve<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    run: impl Fn(Command) -> Reply,
    stop: &CancellationToken,
) -> Result<(), BusError> {
    let mut pop = redis::cmd("BLPOP");
    pop.arg(&keys.control).arg(1);
    loop {
        let popped: Option<(String, String)> = tokio::select! {
            r = pop.query_async(con) => r?,
            () = stop.cancelled() => return Ok(()),
        };
        let Some((_, json)) = popped else { continue };
        let request = match serde_json::from_str::<ControlRequest>(&json) {
            Ok(request) => request,
            Err(e) => {
                tracing::warn!(error = %e, "a control request that cannot be read was dropped (an instance of another version?)");
                continue;
            }
        };
        if request.deadline_ms < now_ms() {
            continue;
        }
        let key = reply_key(keys, &request.id);
        let reply = run(request.command);
        let json = serde_json::to_string(&reply).unwrap_or_default();
        redis::pipe()
            .rpush(&key, json)
            .expire(&key, 60)
            .query_async::<()>(con)
            .await?;
    }
}
