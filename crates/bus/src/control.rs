//! Control sent to any instance, run by the producer: the caller pushes a
//! request on a Redis list and waits on its own reply list; the producer
//! pops requests, runs them, and pushes the answer (status and JSON body)
//! back. A request carries a deadline, so one nobody answered in time is
//! never run later.

use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionLike;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{BusError, Keys};
use spotlight_market::hub::new_epoch;
use spotlight_market::time::now_ms;

/// One request for the producer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRequest {
    /// Names the reply list.
    pub id: String,
    /// What to do (`ingest`).
    pub op: String,
    /// Its input, as the HTTP body was.
    pub body: String,
    /// Not to be run after this, Unix ms.
    pub deadline_ms: i64,
}

/// The producer's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlReply {
    /// The HTTP status it answered with.
    pub status: u16,
    /// Its JSON body.
    pub body: String,
}

fn reply_key(keys: &Keys, id: &str) -> String {
    format!("{}:reply:{id}", keys.prefix)
}

/// Sends `op` with `body` to the producer and waits up to `wait` for its
/// answer (`Ok(None)`: no producer answered). Use a connection without a
/// response timeout shorter than `wait`.
pub async fn call<C: ConnectionLike>(
    con: &mut C,
    keys: &Keys,
    op: &str,
    body: String,
    wait: Duration,
) -> Result<Option<ControlReply>, BusError> {
    let request = ControlRequest {
        id: format!("{}{}", new_epoch(), new_epoch()),
        op: op.to_string(),
        body,
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
pub async fn serve<C, F, Fut>(
    con: &mut C,
    keys: &Keys,
    run: F,
    stop: &CancellationToken,
) -> Result<(), BusError>
where
    C: ConnectionLike,
    F: Fn(ControlRequest) -> Fut,
    Fut: Future<Output = ControlReply>,
{
    let mut pop = redis::cmd("BLPOP");
    pop.arg(&keys.control).arg(1);
    loop {
        let popped: Option<(String, String)> = tokio::select! {
            r = pop.query_async(con) => r?,
            () = stop.cancelled() => return Ok(()),
        };
        let Some(request) =
            popped.and_then(|(_, r)| serde_json::from_str::<ControlRequest>(&r).ok())
        else {
            continue;
        };
        if request.deadline_ms < now_ms() {
            continue;
        }
        let key = reply_key(keys, &request.id);
        let reply = run(request).await;
        let json = serde_json::to_string(&reply).unwrap_or_default();
        redis::pipe()
            .rpush(&key, json)
            .expire(&key, 60)
            .query_async::<()>(con)
            .await?;
    }
}
