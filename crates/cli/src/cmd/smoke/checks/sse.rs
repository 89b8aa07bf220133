//! The stream checks: headers and preamble, buffering, continuity, resume.

use std::time::Instant;

use futures::StreamExt;

use super::stream::{everything, received, Received, Stream};
use super::{Ctx, Outcome};
use spotlight_client::sequence::Sequence;
use spotlight_client::sse::Subscribe;
use spotlight_wire::Reset;

pub(super) async fn sse_open(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let t = Instant::now();
    let res = ctx
        .client
        .get("/realtime/sse")
        .header("accept", "text/event-stream")
        .send()
        .await?;
    let status = res.status();
    if !status.is_success() {
        return Ok(Outcome::fail(format!("answered {status}")));
    }
    // Over TLS a browser's streams share one HTTP/2 connection: the
    // server must offer it (ALPN h2).
    let protocol = res.version();
    if res.url().scheme() == "https" && protocol != reqwest::Version::HTTP_2 {
        return Ok(Outcome::fail(format!(
            "over TLS the stream ran over {protocol:?}, not HTTP/2 (the server does not offer h2)"
        )));
    }
    let wrong = wrong_headers(res.headers());
    if !wrong.is_empty() {
        return Ok(Outcome::fail(format!(
            "wrong headers: {}",
            wrong.join(", ")
        )));
    }
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let mut first_byte = None;
    while !text.contains("event: hello")
        || !text[text.find("event: hello").unwrap_or(0)..].contains("\n\n")
    {
        match body.next().await {
            Some(chunk) => {
                first_byte.get_or_insert_with(|| t.elapsed());
                text.push_str(&String::from_utf8_lossy(&chunk?));
            }
            None => return Ok(Outcome::fail("the stream ended before hello")),
        }
        if text.len() > 64 * 1024 {
            return Ok(Outcome::fail("no hello in the first 64 KiB"));
        }
    }
    if !text.starts_with("retry:") {
        return Ok(Outcome::fail(format!(
            "the stream does not start with retry: but {:?}",
            spotlight_wire::text::shorten(&text, 60)
        )));
    }
    let first_event = text.lines().find(|l| l.starts_with("event:"));
    if first_event != Some("event: hello") {
        return Ok(Outcome::fail(format!(
            "the first event is {first_event:?}, not hello"
        )));
    }
    let retry = text.lines().next().unwrap_or_default();
    Ok(Outcome::pass(format!(
        "{protocol:?} 200, text/event-stream, no-cache, no-transform, x-accel-buffering no; {retry}, hello first; first byte after {:.0} ms",
        first_byte.unwrap_or_default().as_secs_f64() * 1e3
    )))
}

/// What is wrong with a stream's response headers (nothing: empty).
fn wrong_headers(headers: &reqwest::header::HeaderMap) -> Vec<String> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (kind, cache, accel) = (
        header("content-type"),
        header("cache-control"),
        header("x-accel-buffering"),
    );
    let mut wrong = Vec::new();
    if !kind.starts_with("text/event-stream") {
        wrong.push(format!("content-type {kind:?}"));
    }
    if !cache.contains("no-cache") || !cache.contains("no-transform") {
        wrong.push(format!("cache-control {cache:?}"));
    }
    if accel != "no" {
        wrong.push(format!("x-accel-buffering {accel:?}"));
    }
    wrong
}

/// The most an event may be held back, beyond the quickest one, before
/// the stream counts as buffered.
const HELD_AT_MOST_MS: i64 = 500;

pub(super) async fn sse_buffering(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut stream = Stream::open(ctx, &everything()).await?;
    let bars = stream.bars(Instant::now() + ctx.sample, usize::MAX).await?;
    if bars.len() < 5 {
        return Ok(Outcome::skipped(format!(
            "{} events in {}: too few to judge (a source with no live updates?)",
            bars.len(),
            humantime::format_duration(ctx.sample)
        )));
    }
    // Arrival minus send time, less the smallest: how long each event was
    // held beyond the quickest (the clocks' offset cancels out).
    let lags: Vec<i64> = bars.iter().map(|b| b.at - b.bar.ts).collect();
    let quickest = lags.iter().copied().min().unwrap_or(0);
    let mut held: Vec<i64> = lags.iter().map(|l| l - quickest).collect();
    held.sort_unstable();
    let p90 = held[held.len() * 9 / 10];
    let worst = held[held.len() - 1];
    if p90 > HELD_AT_MOST_MS {
        return Ok(Outcome::fail(format!(
            "{} events arrived in bursts: held up to {worst} ms (p90 {p90} ms) after they were sent — is a buffering proxy in between? (nginx: proxy_buffering off)",
            bars.len()
        )));
    }
    Ok(Outcome::pass(format!(
        "{} events arrived as sent: held p90 {p90} ms, at most {worst} ms",
        bars.len()
    )))
}

/// Whether every id reads `{epoch}:{seq}` with the event's own seq.
fn bad_id<'a>(epoch: &str, bars: impl IntoIterator<Item = &'a Received>) -> Option<String> {
    bars.into_iter()
        .find(|b| b.id != format!("{epoch}:{}", b.bar.seq))
        .map(|b| format!("id {:?} for seq {} of epoch {epoch}", b.id, b.bar.seq))
}

pub(super) async fn sse_continuity(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut stream = Stream::open(ctx, &everything()).await?;
    let bars = stream.bars(Instant::now() + ctx.sample, usize::MAX).await?;
    if bars.is_empty() {
        return Ok(Outcome::skipped(format!(
            "no events in {}: nothing to judge",
            humantime::format_duration(ctx.sample)
        )));
    }
    if let Some(bad) = bad_id(&stream.hello.epoch, &bars) {
        return Ok(Outcome::fail(format!(
            "ids are not {{epoch}}:{{seq}}: {bad}"
        )));
    }
    let (missing, repeated) = Sequence::count(stream.hello.seq, bars.iter().map(|b| b.bar.seq));
    if missing > 0 || repeated > 0 {
        return Ok(Outcome::fail(format!(
            "{missing} missing, {repeated} repeated among {} events after hello's seq {}",
            bars.len(),
            stream.hello.seq
        )));
    }
    Ok(Outcome::pass(format!(
        "{} events, seq {}…{}, no gap, no repeat",
        bars.len(),
        stream.hello.seq + 1,
        bars.last().map_or(0, |b| b.bar.seq)
    )))
}

pub(super) async fn sse_resume(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let half = ctx.sample / 2;
    let mut first = Stream::open(ctx, &everything()).await?;
    let before = first.bars(Instant::now() + half, 5).await?;
    let Some(last) = before.last() else {
        return Ok(Outcome::skipped(
            "no events to resume after: nothing to judge",
        ));
    };
    let (last_id, last_seq) = (last.id.clone(), last.bar.seq);
    drop(first);
    let mut second = Stream::open(
        ctx,
        &Subscribe {
            last_event_id: Some(last_id.clone()),
            ..everything()
        },
    )
    .await?;
    if !second.hello.resumed {
        return Ok(Outcome::fail(format!(
            "Last-Event-ID {last_id} was not resumed (hello.resumed false)"
        )));
    }
    let mut after = Vec::new();
    let deadline = Instant::now() + half;
    while after.len() < 5 {
        let Some(ev) = second.next_until(deadline).await? else {
            break;
        };
        match ev.event.as_str() {
            "bar" => after.push(received(ev)?),
            "reset" => {
                let reset: Option<Reset> = serde_json::from_str(&ev.data).ok();
                return Ok(Outcome::fail(format!(
                    "a reset instead of the missed events: {:?}",
                    reset.map(|r| r.reason)
                )));
            }
            _ => {}
        }
    }
    if after.is_empty() {
        return Ok(Outcome::skipped(
            "no events after the resume: nothing to judge",
        ));
    }
    if let Some(bad) = bad_id(&second.hello.epoch, &after) {
        return Ok(Outcome::fail(format!(
            "ids are not {{epoch}}:{{seq}}: {bad}"
        )));
    }
    let (missing, repeated) = Sequence::count(last_seq, after.iter().map(|b| b.bar.seq));
    if missing > 0 || repeated > 0 {
        return Ok(Outcome::fail(format!(
            "after resuming from {last_id}: {missing} missing, {repeated} repeated"
        )));
    }
    Ok(Outcome::pass(format!(
        "cut after seq {last_seq}, resumed with Last-Event-ID: {} events from seq {}, no gap, no repeat",
        after.len(),
        last_seq + 1
    )))
}
