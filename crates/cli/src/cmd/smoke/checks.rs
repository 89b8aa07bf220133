//! The smoke checks, each an outside client's view of one promise of the
//! contract. `Ok(outcome)` says what the server did; `Err` says the check
//! could not run to the end.

use std::time::{Duration, Instant};

mod sse;
mod stream;

use super::{Check, Outcome};
use crate::cmd::probe::{probe_voice, VoiceProbeArgs};
use crate::cmd::GlobalArgs;
use spotlight_client::exposition;
use spotlight_client::sse::{RawEvent, Subscribe};
use spotlight_client::Client;
use spotlight_market::{Bar, Timeframe};
use spotlight_wire::{Diag, ReplayStart, ReplayState, Reset, ResetReason};
use stream::{everything, Stream};

/// What every check gets.
pub struct Ctx {
    /// A client of the server, signed in when the session has credentials.
    pub client: Client,
    /// Whether the replay check may drive replay (own server, or admin rights).
    pub may_replay: bool,
    /// How long the stream checks watch the stream.
    pub sample: Duration,
    /// The global options (URL, credentials) for the voice probe.
    pub global: GlobalArgs,
}

/// Runs one check.
pub async fn run(check: Check, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match check {
        Check::Health => health(ctx).await,
        Check::SseOpen => sse::sse_open(ctx).await,
        Check::SseBuffering => sse::sse_buffering(ctx).await,
        Check::SseContinuity => sse::sse_continuity(ctx).await,
        Check::SseResume => sse::sse_resume(ctx).await,
        Check::History => history(ctx).await,
        Check::Metrics => metrics(ctx).await,
        Check::Diag => diag(ctx).await,
        Check::Replay => replay(ctx).await,
        Check::Voice => voice(ctx).await,
    }
}

async fn health(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut figures = Vec::new();
    for path in ["/health", "/api/healthz", "/api/readyz"] {
        let t = Instant::now();
        let res = ctx.client.get(path).send().await?;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        if !status.is_success() {
            return Ok(Outcome::fail(format!(
                "{path} answered {status}: {}",
                spotlight_wire::text::shorten(&body, 120)
            )));
        }
        let doc: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) => v,
            Err(_) => {
                return Ok(Outcome::fail(format!(
                    "{path} did not answer JSON: {body:?}"
                )))
            }
        };
        if path != "/api/readyz" && doc["status"] != "ok" {
            return Ok(Outcome::fail(format!("{path} answered {doc}")));
        }
        figures.push(format!(
            "{path} {} {:.0} ms",
            status.as_u16(),
            t.elapsed().as_secs_f64() * 1e3
        ));
    }
    Ok(Outcome::pass(figures.join(", ")))
}

/// The 1m bars of each 5m bucket rolled up by hand: (t, o, h, l, c, v).
fn rollup(bars: &[Bar], tf: Timeframe) -> Vec<(i64, f64, f64, f64, f64, u64)> {
    let mut out: Vec<(i64, f64, f64, f64, f64, u64)> = Vec::new();
    for b in bars {
        let t = tf.bucket_start(b.t);
        match out.last_mut() {
            Some(r) if r.0 == t => {
                r.2 = r.2.max(b.h);
                r.3 = r.3.min(b.l);
                r.4 = b.c;
                r.5 += b.v;
            }
            _ => out.push((t, b.o, b.h, b.l, b.c, b.v)),
        }
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

async fn history(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let symbols = ctx.client.symbols().await?;
    let Some(symbol) = symbols.symbols.first().map(|s| s.symbol.clone()) else {
        return Ok(Outcome::skipped("the server has no symbols"));
    };
    let tf = Timeframe::M5;
    let fine = ctx.client.history(&symbol, Timeframe::M1, 60, None).await?;
    let coarse = ctx.client.history(&symbol, tf, 12, None).await?;
    if fine.epoch != coarse.epoch {
        return Ok(Outcome::fail(
            "1m and 5m history come from different epochs",
        ));
    }
    let Some(first_t) = fine.bars.first().map(|b| b.t) else {
        return Ok(Outcome::skipped(format!("no 1m history for {symbol}")));
    };
    // Compare each final 5m bar whose minutes the 1m history covers whole.
    let rolled = rollup(&fine.bars, tf);
    let mut compared = 0;
    for bar in coarse.bars.iter().filter(|b| b.is_final && b.t >= first_t) {
        let Some(mine) = rolled.iter().find(|r| r.0 == bar.t) else {
            continue;
        };
        let same = close(mine.1, bar.o)
            && close(mine.2, bar.h)
            && close(mine.3, bar.l)
            && close(mine.4, bar.c)
            && mine.5 == bar.v;
        if !same {
            return Ok(Outcome::fail(format!(
                "{symbol} 5m bar at {} is o {} h {} l {} c {} v {}, its 1m bars give o {} h {} l {} c {} v {}",
                bar.t, bar.o, bar.h, bar.l, bar.c, bar.v, mine.1, mine.2, mine.3, mine.4, mine.5
            )));
        }
        compared += 1;
    }
    // The handoff: subscribing from history's seq continues right after it.
    let mut stream = Stream::open(
        ctx,
        &Subscribe {
            since_seq: Some(fine.seq),
            ..everything()
        },
    )
    .await?;
    if stream.hello.epoch != fine.epoch {
        return Ok(Outcome::fail(
            "history and the stream come from different epochs",
        ));
    }
    let handoff = match stream.bars(Instant::now() + ctx.sample, 1).await?.first() {
        Some(b) if b.bar.seq == fine.seq + 1 => {
            format!("the stream continues at seq {}", fine.seq + 1)
        }
        Some(b) => {
            return Ok(Outcome::fail(format!(
                "history's seq is {}, but the stream subscribed from it starts at seq {}",
                fine.seq, b.bar.seq
            )))
        }
        None if stream.hello.seq == fine.seq => format!("seq {} (no events since)", fine.seq),
        None => {
            return Ok(Outcome::fail(format!(
                "history's seq is {}, the stream's head {}, and nothing in between arrived",
                fine.seq, stream.hello.seq
            )))
        }
    };
    Ok(Outcome::pass(format!(
        "{symbol}: {compared} final 5m bars equal their 1m rollups; handoff at seq {}: {handoff}",
        fine.seq
    )))
}

/// Series a healthy server always exposes.
const REQUIRED: [&str; 8] = [
    "spotlight_sse_connections",
    "spotlight_sse_connections_total",
    "spotlight_sse_events_sent_total",
    "spotlight_http_requests_total",
    "spotlight_connections",
    "spotlight_ring_head_seq",
    "spotlight_epoch_start_timestamp_seconds",
    "spotlight_voice_connections",
];

async fn scrape(ctx: &Ctx) -> anyhow::Result<Result<Vec<exposition::Sample>, String>> {
    let res = ctx.client.get("/api/metrics").send().await?;
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await?;
    if !status.is_success() {
        return Ok(Err(format!("/api/metrics answered {status}")));
    }
    if !kind.starts_with("text/plain") {
        return Ok(Err(format!("/api/metrics has content-type {kind:?}")));
    }
    Ok(exposition::parse(&text))
}

async fn metrics(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let before = match scrape(ctx).await? {
        Ok(s) => s,
        Err(e) => return Ok(Outcome::fail(e)),
    };
    let names = exposition::names(&before);
    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|n| !names.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Ok(Outcome::fail(format!(
            "missing series: {}",
            missing.join(", ")
        )));
    }
    let opened = "spotlight_sse_connections_total";
    let was = exposition::total(&before, opened).unwrap_or(0.0);
    // Our own stream must be counted.
    let stream = Stream::open(ctx, &everything()).await?;
    let after = match scrape(ctx).await? {
        Ok(s) => s,
        Err(e) => return Ok(Outcome::fail(e)),
    };
    drop(stream);
    let now = exposition::total(&after, opened).unwrap_or(0.0);
    if now <= was {
        return Ok(Outcome::fail(format!(
            "{opened} did not move ({was} → {now}) when this check opened a stream"
        )));
    }
    Ok(Outcome::pass(format!(
        "{} samples of {} series parse; the {} required are there; {opened} {was} → {now}",
        before.len(),
        names.len(),
        REQUIRED.len()
    )))
}

async fn diag(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let res = ctx.client.get("/api/diag").send().await?;
    let status = res.status();
    if !status.is_success() {
        return Ok(Outcome::fail(format!("/api/diag answered {status}")));
    }
    let text = res.text().await?;
    let diag: Diag = match serde_json::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Outcome::fail(format!(
                "/api/diag lacks a field or has a wrong one: {e}"
            )))
        }
    };
    let stream = Stream::open(ctx, &everything()).await?;
    if stream.hello.epoch != diag.epoch.id {
        return Ok(Outcome::fail(format!(
            "diag's epoch {} is not the stream's {}",
            diag.epoch.id, stream.hello.epoch
        )));
    }
    Ok(Outcome::pass(format!(
        "every field there; epoch {} (the stream's), up {:.0} s, ring {}…{}",
        diag.epoch.id, diag.epoch.uptime_seconds, diag.ring.low_seq, diag.ring.head_seq
    )))
}

/// Reads events until `want` holds for one; `what` names it in the error.
async fn expect_event(
    stream: &mut Stream,
    what: &str,
    want: impl Fn(&RawEvent) -> bool,
) -> anyhow::Result<Result<(), String>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match stream.next_until(deadline).await? {
            Some(ev) if want(&ev) => return Ok(Ok(())),
            Some(_) => {}
            None => return Ok(Err(format!("no {what} event within 5 s"))),
        }
    }
}

/// What an expected event must satisfy.
type Want = Box<dyn Fn(&RawEvent) -> bool + Send>;

fn reset_for(reason: ResetReason) -> impl Fn(&RawEvent) -> bool {
    move |ev| {
        ev.event == "reset"
            && serde_json::from_str::<Reset>(&ev.data).is_ok_and(|r| r.reason == reason)
    }
}

fn replay_in(state: &'static str) -> impl Fn(&RawEvent) -> bool {
    move |ev| {
        ev.event == "replay"
            && serde_json::from_str::<serde_json::Value>(&ev.data)
                .is_ok_and(|v| v["state"] == state)
    }
}

async fn replay(ctx: &Ctx) -> anyhow::Result<Outcome> {
    if !ctx.may_replay {
        return Ok(Outcome::skipped(
            "replay resets every client's charts: it runs with --spawn, or with --pin/--token (admin rights)",
        ));
    }
    let status = ctx.client.replay_status().await?;
    if matches!(status.state, ReplayState::Running | ReplayState::Paused) {
        return Ok(Outcome::skipped("a replay is running already: left alone"));
    }
    let mut stream = Stream::open(ctx, &everything()).await?;
    let t = Instant::now();
    let started = ctx
        .client
        .replay_start(&ReplayStart {
            symbols: None,
            from: None,
            to: None,
            speed: Some(500.0),
        })
        .await?;
    if started.state != ReplayState::Running {
        return Ok(Outcome::fail(format!(
            "start answered state {:?}",
            started.state
        )));
    }
    let checks: [(&str, Want); 2] = [
        (
            "reset replay_started",
            Box::new(reset_for(ResetReason::ReplayStarted)),
        ),
        ("replay running", Box::new(replay_in("running"))),
    ];
    for (what, want) in checks {
        if let Err(e) = expect_event(&mut stream, what, want).await? {
            let _ = ctx.client.replay_action("stop").await;
            return Ok(Outcome::fail(e));
        }
    }
    let sped = ctx.client.replay_speed(1000.0).await?;
    if sped.speed != 1000.0 {
        let _ = ctx.client.replay_action("stop").await;
        return Ok(Outcome::fail(format!(
            "speed 1000 answered speed {}",
            sped.speed
        )));
    }
    let stopped = ctx.client.replay_action("stop").await?;
    if stopped.state != ReplayState::Stopped {
        return Ok(Outcome::fail(format!(
            "stop answered state {:?}",
            stopped.state
        )));
    }
    let checks: [(&str, Want); 2] = [
        (
            "reset replay_stopped",
            Box::new(reset_for(ResetReason::ReplayStopped)),
        ),
        ("replay stopped", Box::new(replay_in("stopped"))),
    ];
    for (what, want) in checks {
        if let Err(e) = expect_event(&mut stream, what, want).await? {
            return Ok(Outcome::fail(e));
        }
    }
    Ok(Outcome::pass(format!(
        "started at 500×, sped to 1000×, stopped; reset and replay events seen for both, {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    )))
}

async fn voice(ctx: &Ctx) -> anyhow::Result<Outcome> {
    let args = VoiceProbeArgs {
        drops: 1,
        frames: 50,
        frame_bytes: 640,
        frame_interval: Duration::from_millis(20),
        expect_restart: false,
    };
    let report = probe_voice(&args, 1, &ctx.global).await?;
    let failed: Vec<String> = report
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{}: {}", s.step, s.detail))
        .collect();
    if !failed.is_empty() {
        return Ok(Outcome::fail(failed.join("; ")));
    }
    let step = |name: &str| {
        report
            .steps
            .iter()
            .find(|s| s.step == name)
            .map_or(String::new(), |s| s.detail.clone())
    };
    Ok(Outcome::pass(format!(
        "hello, tools, echo ({}), drop ({})",
        spotlight_wire::text::shorten(&step("echo"), 80),
        step("drops resumed")
    )))
}
