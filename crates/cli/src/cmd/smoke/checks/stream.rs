//! An SSE stream as the checks read it: `hello` first, then raw events
//! with their ids and arrival times.

use std::time::Instant;

use anyhow::{anyhow, bail, Context};
use futures::StreamExt;

use super::Ctx;
use spotlight_client::sse::{RawEvent, RawEventStream, Subscribe};
use spotlight_market::time::now_ms;
use spotlight_wire::{BarEvent, Hello};

/// An open stream after its `hello`.
pub(super) struct Stream {
    pub(super) hello: Hello,
    events: RawEventStream,
}

/// A `bar` event as received.
pub(super) struct Received {
    /// Its `id:` line.
    pub(super) id: String,
    /// Its data.
    pub(super) bar: BarEvent,
    /// When it arrived, Unix ms.
    pub(super) at: i64,
}

impl Stream {
    /// Opens `/realtime/sse` and reads its first event, which must be `hello`.
    pub(super) async fn open(ctx: &Ctx, sub: &Subscribe) -> anyhow::Result<Stream> {
        let mut events = ctx.client.subscribe_raw(sub).await?;
        let first = events
            .next()
            .await
            .ok_or_else(|| anyhow!("the stream ended before its first event"))??;
        if first.event != "hello" {
            bail!("the first event is {:?}, not hello", first.event);
        }
        let hello = serde_json::from_str(&first.data)
            .with_context(|| format!("hello does not decode: {}", first.data))?;
        Ok(Stream { hello, events })
    }

    /// The next event, if one comes before `deadline`.
    pub(super) async fn next_until(
        &mut self,
        deadline: Instant,
    ) -> anyhow::Result<Option<RawEvent>> {
        match tokio::time::timeout_at(deadline.into(), self.events.next()).await {
            Err(_) => Ok(None),
            Ok(None) => bail!("the stream ended"),
            Ok(Some(e)) => Ok(Some(e?)),
        }
    }

    /// The `bar` events until `deadline` or until `max` of them.
    pub(super) async fn bars(
        &mut self,
        deadline: Instant,
        max: usize,
    ) -> anyhow::Result<Vec<Received>> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(ev) = self.next_until(deadline).await? else {
                break;
            };
            if ev.event == "bar" {
                out.push(received(ev)?);
            }
        }
        Ok(out)
    }
}

pub(super) fn received(ev: RawEvent) -> anyhow::Result<Received> {
    let at = now_ms();
    let bar = serde_json::from_str(&ev.data)
        .with_context(|| format!("a bar event does not decode: {}", ev.data))?;
    Ok(Received { id: ev.id, bar, at })
}

/// Every symbol on the 1m stream: every seq of the hub, in order.
pub(super) fn everything() -> Subscribe {
    Subscribe::default()
}
