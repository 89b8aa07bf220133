//! `serve --bus`: real `spotlight serve` processes sharing one market log
//! in a real `redis-server`, judged by their SSE clients and readiness:
//! identical events on every instance, a resume on another instance, a
//! killed producer replaced without a gap, a stalled Redis reported, a log
//! Redis lost answered with a new epoch and `reset`, a replay driven
//! through any instance played on all.

use crate::common;

use common::process::{serve, Served};
use common::redis_server::Redis;
use common::*;
use futures::StreamExt;
use spotlight_client::sse::{RawEventStream, Subscribe};
use spotlight_client::{Client, ClientError};
use spotlight_market::Timeframe;
use spotlight_wire::{ReplayStart, ReplayState};

/// An instance on the bus at `redis`, simulating fast (a minute a second).
async fn instance(redis: &Redis, role: &str) -> Served {
    serve(
        "127.0.0.1:0",
        &[
            "--bus",
            &redis.url,
            "--role",
            role,
            "--bus-lease",
            "2s",
            "--bus-stall",
            "2s",
            "--backfill",
            "1h",
            "--sim-speed",
            "60",
            "--tick-ms",
            "50",
            "--symbols",
            "SPY",
        ],
    )
    .await
}

async fn stream(url: &str, last_event_id: Option<String>) -> RawEventStream {
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        last_event_id,
        ..Subscribe::default()
    };
    Client::new(url).subscribe_raw(&sub).await.unwrap()
}

/// Two streams of one log agree over the seqs both reached: an event both
/// got is the same bytes on both, and one only one got is an in-progress
/// update the other's queue conflated (a reader that falls behind keeps
/// only the newest pending update of a symbol; finals are never dropped).
fn assert_same_log(a: &[(String, String)], b: &[(String, String)]) {
    let reached = seq(&a.last().unwrap().0).min(seq(&b.last().unwrap().0));
    let within = |s: &[(String, String)]| -> std::collections::BTreeMap<String, String> {
        s.iter()
            .filter(|(id, _)| seq(id) <= reached)
            .cloned()
            .collect()
    };
    let (a, b) = (within(a), within(b));
    for (id, data) in &a {
        match b.get(id) {
            Some(other) => assert_eq!(data, other, "event {id}: same bytes on both instances"),
            None => assert!(
                data.contains("\"final\":false"),
                "{id} only on one instance: {data}"
            ),
        }
    }
    for (id, data) in b.iter().filter(|(id, _)| !a.contains_key(*id)) {
        assert!(
            data.contains("\"final\":false"),
            "{id} only on one instance: {data}"
        );
    }
    assert!(
        a.keys().any(|id| b.contains_key(id)),
        "the streams share events"
    );
}

fn seq(id: &str) -> u64 {
    id.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// Pauses Redis (SIGSTOP) until the instance at `url` reports 503, then
/// kills it and starts it again empty on the same port.
async fn pause_then_restart_empty(redis: Redis, url: &str) -> Redis {
    let paused = tokio::process::Command::new("kill")
        .args(["-STOP", &redis.pid().to_string()])
        .status()
        .await
        .unwrap();
    assert!(paused.success());
    eventually("503 while Redis is away", || async {
        ready(url).await == 503
    })
    .await;
    redis.restart_empty().await
}

async fn ready(url: &str) -> u16 {
    reqwest::get(format!("{url}/api/readyz"))
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test]
async fn two_instances_serve_the_same_events_and_a_client_resumes_on_either() {
    let redis = Redis::start().await;
    let a = instance(&redis, "auto").await;
    let b = instance(&redis, "edge").await;
    let h = |url: &str| format!("{url}/api/history?symbol=SPY&limit=30");
    let ha: serde_json::Value = reqwest::get(h(&a.url)).await.unwrap().json().await.unwrap();
    let hb: serde_json::Value = reqwest::get(h(&b.url)).await.unwrap().json().await.unwrap();
    assert_eq!(ha["epoch"], hb["epoch"], "one epoch");
    // A minute a second: one may have closed between the two requests.
    let finals = |h: &serde_json::Value| -> std::collections::BTreeMap<i64, serde_json::Value> {
        h["bars"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["final"] == true)
            .map(|b| (b["t"].as_i64().unwrap(), b.clone()))
            .collect()
    };
    let (fa, fb) = (finals(&ha), finals(&hb));
    let both: Vec<&i64> = fa.keys().filter(|t| fb.contains_key(*t)).collect();
    assert!(both.len() >= 20, "{fa:?}\n{fb:?}");
    for t in both {
        assert_eq!(fa[t], fb[t], "history from the log on both");
    }

    // Both streams get the same ids and bytes.
    let mut on_a = stream(&a.url, None).await;
    let first = bars(&mut on_a, 1).await.remove(0);
    let mut on_b = stream(&b.url, Some(first.0.clone())).await;
    let from_a = bars(&mut on_a, 20).await;
    let from_b = bars(&mut on_b, 20).await;
    assert_same_log(&from_a, &from_b);

    // A client cut from A resumes on B with A's Last-Event-ID.
    let last = from_a.last().unwrap().0.clone();
    drop(on_a);
    let mut later = stream(&a.url, None).await;
    bars(&mut later, 10).await;
    let mut resumed = stream(&b.url, Some(last.clone())).await;
    let got = bars(&mut resumed, 10).await;
    let seqs: Vec<u64> = got.iter().map(|(id, _)| seq(id)).collect();
    let want: Vec<u64> = (seq(&last) + 1..=seq(&last) + 10).collect();
    assert_eq!(seqs, want, "every event after the cut, once, in order");
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn a_killed_producer_is_replaced_without_a_gap() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let c = instance(&redis, "auto").await;
    let mut on_c = stream(&c.url, None).await;
    let before = bars(&mut on_c, 5).await;
    let (_, logs) = a.stop("-KILL").await;
    assert!(logs.contains("producing to the shared log"), "{logs}");
    // The standby takes the lease after its time and continues the seq.
    let after = bars(&mut on_c, 40).await;
    let seqs: Vec<u64> = before.iter().chain(&after).map(|(id, _)| seq(id)).collect();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..first + seqs.len() as u64).collect::<Vec<_>>(),
        "no gap and no duplicate across the takeover"
    );
    let epochs: std::collections::BTreeSet<&str> = before
        .iter()
        .chain(&after)
        .map(|(id, _)| id.rsplit_once(':').unwrap().0)
        .collect();
    assert_eq!(epochs.len(), 1, "the same epoch: {epochs:?}");
    let (_, logs) = c.stop("-TERM").await;
    assert!(logs.contains("producing to the shared log"), "{logs}");
    redis.stop().await;
}

#[tokio::test]
async fn a_stalled_redis_makes_instances_unready_until_it_answers_again() {
    let redis = Redis::start().await;
    let a = instance(&redis, "auto").await;
    eventually("ready", || async { ready(&a.url).await == 200 }).await;
    let pid = redis.pid().to_string();
    let signal = |s: &'static str| {
        let pid = pid.clone();
        async move {
            let ok = tokio::process::Command::new("kill")
                .args([s, &pid])
                .status()
                .await
                .unwrap();
            assert!(ok.success());
        }
    };
    signal("-STOP").await;
    eventually("503 while Redis is paused", || async {
        ready(&a.url).await == 503
    })
    .await;
    let body = reqwest::get(format!("{}/api/readyz", a.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("bus"), "{body}");
    signal("-CONT").await;
    eventually("ready again", || async { ready(&a.url).await == 200 }).await;
    a.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn redis_stopped_and_restarted_empty_is_unready_then_a_new_epoch() {
    let redis = Redis::start().await;
    let a = instance(&redis, "auto").await;
    let mut on_a = stream(&a.url, None).await;
    let old = bars(&mut on_a, 2).await;
    let old_epoch = old[0].0.rsplit_once(':').unwrap().0.to_string();
    let port = redis.url.rsplit_once(':').unwrap().1.to_string();
    let redis = pause_then_restart_empty(redis, &a.url).await;
    assert!(redis.url.ends_with(&port));
    let reset = guard(async {
        loop {
            let ev = on_a.next().await.expect("stream ended").unwrap();
            if ev.event == "reset" {
                return ev.data;
            }
        }
    })
    .await;
    assert!(reset.contains("epoch_changed"), "{reset}");
    assert!(!reset.contains(&old_epoch), "{reset}");
    eventually("ready again", || async { ready(&a.url).await == 200 }).await;
    a.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn a_log_redis_lost_means_a_new_epoch_and_reset_for_clients() {
    let redis = Redis::start().await;
    let a = instance(&redis, "auto").await;
    let mut on_a = stream(&a.url, None).await;
    let old = bars(&mut on_a, 3).await;
    let old_epoch = old[0].0.rsplit_once(':').unwrap().0.to_string();
    // Redis restarted without persistence: everything is gone.
    let mut con = redis.connection().await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut con).await.unwrap();
    let reset = guard(async {
        loop {
            let ev = on_a.next().await.expect("stream ended").unwrap();
            if ev.event == "reset" {
                return ev.data;
            }
        }
    })
    .await;
    let reset: serde_json::Value = serde_json::from_str(&reset).unwrap();
    assert_eq!(reset["reason"], "epoch_changed");
    assert_ne!(reset["epoch"], old_epoch.as_str());
    let new = bars(&mut on_a, 3).await;
    assert!(new.iter().all(|(id, _)| !id.starts_with(&old_epoch)));
    eventually("ready in the new epoch", || async {
        ready(&a.url).await == 200
    })
    .await;
    a.stop("-TERM").await;
    redis.stop().await;
}

/// Events of a stream up to and including the next `reset`, as (event, data).
async fn until_reset(s: &mut RawEventStream) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        let ev = guard(s.next()).await.expect("stream ended").unwrap();
        out.push((ev.event.clone(), ev.data));
        if ev.event == "reset" {
            return out;
        }
    }
}

/// The replay window: ten minutes of SPY's history, 20 minutes back.
async fn window(url: &str) -> (i64, i64) {
    let history = Client::new(url)
        .history("SPY", Timeframe::M1, 30, None)
        .await
        .unwrap();
    let from = history.bars[0].t;
    (from, from + 10 * MIN)
}

fn replay_request(from: i64, to: i64) -> ReplayStart {
    ReplayStart {
        symbols: Some(vec!["SPY".into()]),
        from: Some(from.into()),
        to: Some(to.into()),
        speed: Some(30.0),
    }
}

#[tokio::test]
async fn a_replay_started_through_an_edge_plays_on_every_instance() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let b = instance(&redis, "edge").await;
    let (on_a, on_b) = (Client::new(&a.url), Client::new(&b.url));
    let mut stream_a = stream(&a.url, None).await;
    let mut stream_b = stream(&b.url, None).await;
    bars(&mut stream_a, 1).await;
    bars(&mut stream_b, 1).await;
    let (from, to) = window(&b.url).await;

    let started = on_b.replay_start(&replay_request(from, to)).await.unwrap();
    assert_eq!(started.state, ReplayState::Running, "the producer's answer");
    assert_eq!(started.from, Some(from));
    for s in [&mut stream_a, &mut stream_b] {
        let reset = until_reset(s).await.pop().unwrap();
        assert!(reset.1.contains("replay_started"), "{reset:?}");
    }
    // The same replayed events, ids and bytes, on both instances.
    let played_a = bars(&mut stream_a, 12).await;
    let played_b = bars(&mut stream_b, 12).await;
    assert_same_log(&played_a, &played_b);
    for (_, data) in &played_a {
        let bar: serde_json::Value = serde_json::from_str(data).unwrap();
        let t = bar["t"].as_i64().unwrap();
        assert!((from..to).contains(&t), "a bar of the window: {data}");
    }
    let history_b = on_b.history("SPY", Timeframe::M1, 5, None).await.unwrap();
    assert!(
        history_b.bars.iter().all(|c| c.t < to),
        "B's history is the replay's: {history_b:?}"
    );
    // The status comes from the producer; B's diag shows it too.
    let status = on_b.replay_status().await.unwrap();
    assert_eq!(status.symbols, ["SPY"]);
    let diag: serde_json::Value = diag_json(&b.url).await;
    assert_eq!(diag["replay"]["from"], from, "{diag}");

    // Stopped through B: live data comes back on both.
    let stopped = on_b.replay_action("stop").await.unwrap();
    assert_eq!(stopped.state, ReplayState::Stopped);
    for s in [&mut stream_a, &mut stream_b] {
        let reset = until_reset(s).await.pop().unwrap();
        assert!(reset.1.contains("replay_stopped"), "{reset:?}");
    }
    let live_a = bars(&mut stream_a, 3).await;
    let live_b = bars(&mut stream_b, 3).await;
    assert_same_log(&live_a, &live_b);
    let history_a = on_a.history("SPY", Timeframe::M1, 5, None).await.unwrap();
    let history_b = on_b.history("SPY", Timeframe::M1, 5, None).await.unwrap();
    assert!(history_b.bars.iter().all(|c| c.t >= to), "{history_b:?}");
    assert_eq!(
        history_a.bars[..4],
        history_b.bars[..4],
        "the same live history"
    );
    // A refusal is the producer's too.
    match on_b.replay_action("pause").await {
        Err(ClientError::Api { status, .. }) => assert_eq!(status, 409),
        other => panic!("expected the producer's 409, got {other:?}"),
    }
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn an_instance_joining_during_a_replay_plays_it_and_a_takeover_ends_it() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let b = instance(&redis, "auto").await;
    let (from, to) = window(&a.url).await;
    let mut request = replay_request(from, to);
    request.speed = Some(1.0);
    Client::new(&a.url).replay_start(&request).await.unwrap();
    let mut stream_a = stream(&a.url, None).await;
    bars(&mut stream_a, 2).await;

    // C joins now: its SPY history is the replay's, and it plays on alike.
    let c = instance(&redis, "edge").await;
    let on_c = Client::new(&c.url);
    let history = on_c.history("SPY", Timeframe::M1, 5, None).await.unwrap();
    assert!(history.bars.iter().all(|c| c.t < to), "{history:?}");
    let mut stream_c = stream(&c.url, None).await;
    let first = bars(&mut stream_c, 1).await.remove(0);
    let mut again_a = stream(&a.url, Some(first.0.clone())).await;
    assert_same_log(&bars(&mut stream_c, 2).await, &bars(&mut again_a, 2).await);
    drop((stream_a, again_a));

    // The producer dies mid-replay: B takes over and ends the replay.
    a.stop("-KILL").await;
    let reset = until_reset(&mut stream_c).await.pop().unwrap();
    assert!(reset.1.contains("replay_stopped"), "{reset:?}");
    let live = bars(&mut stream_c, 2).await;
    let bar: serde_json::Value = serde_json::from_str(&live[1].1).unwrap();
    assert!(bar["t"].as_i64().unwrap() >= to, "live again: {live:?}");
    let status = on_c.replay_status().await.unwrap();
    assert_ne!(status.state, ReplayState::Running, "{status:?}");
    b.stop("-TERM").await;
    c.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn the_bus_and_the_lease_are_in_the_metrics_and_diag() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let b = instance(&redis, "edge").await;
    let mut on_b = stream(&b.url, None).await;
    bars(&mut on_b, 3).await;
    let text = |url: String| async move {
        reqwest::get(format!("{url}/api/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("{series} missing:\n{text}"))
    };
    let (ta, tb) = (text(a.url.clone()).await, text(b.url.clone()).await);
    promtool_check(&ta);
    assert_eq!(value(&ta, "spotlight_lease_holder "), 1.0);
    assert_eq!(value(&tb, "spotlight_lease_holder "), 0.0);
    // B streamed what A appended; A counts it once its append returned.
    eventually("A counts 3 events out", || async {
        value(
            &text(a.url.clone()).await,
            "spotlight_bus_events_total{dir=\"out\"} ",
        ) >= 3.0
    })
    .await;
    assert_eq!(value(&tb, "spotlight_bus_events_total{dir=\"out\"} "), 0.0);
    assert!(value(&tb, "spotlight_bus_events_total{dir=\"in\"} ") >= 3.0);
    assert!(value(&tb, "spotlight_bus_lag_seconds_count ") >= 3.0);
    assert_eq!(value(&tb, "spotlight_bus_state{state=\"receiving\"} "), 1.0);
    // Diag says the same, in its schema, and `spotlight diag` shows it.
    let diag: serde_json::Value = diag_json(&b.url).await;
    assert_diag_schema(&diag);
    assert_eq!(diag["bus"]["state"], "receiving");
    assert_eq!(diag["bus"]["producer"], false);
    let (code, out, _) = spotlight(&["--url", &a.url, "diag"], &[]).await;
    assert_eq!(code, 0);
    let line = out.lines().find(|l| l.starts_with("bus ")).unwrap();
    assert!(line.contains("receiving (producer)"), "{line}");
    // A plain instance has no bus metrics.
    let plain = serve("127.0.0.1:0", &["--backfill", "1h"]).await;
    assert!(!text(plain.url.clone()).await.contains("spotlight_bus_"));
    plain.stop("-TERM").await;
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn a_resume_older_than_the_ring_is_served_from_the_log() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let mut on_a = stream(&a.url, None).await;
    let early = bars(&mut on_a, 1).await.remove(0).0;
    bars(&mut on_a, 30).await;
    // B joins now: its ring starts at the log's head, after `early`.
    let b = instance(&redis, "edge").await;
    let mut resumed = stream(&b.url, Some(early.clone())).await;
    let hello = guard(resumed.next()).await.unwrap().unwrap();
    assert_eq!(hello.event, "hello");
    assert!(hello.data.contains("\"resumed\":true"), "{}", hello.data);
    let got = bars(&mut resumed, 60).await;
    let seqs: Vec<u64> = got.iter().map(|(id, _)| seq(id)).collect();
    let want: Vec<u64> = (seq(&early) + 1..=seq(&early) + 60).collect();
    assert_eq!(
        seqs, want,
        "from the log, then the ring and live, once each"
    );
    let from_a = bars(&mut on_a, 1).await;
    assert!(seq(&from_a[0].0) > seq(&early) + 30);
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    redis.stop().await;
}

#[tokio::test]
async fn ingest_through_an_edge_is_run_by_the_producer_and_reaches_every_instance() {
    let redis = Redis::start().await;
    let a = instance(&redis, "producer").await;
    let b = instance(&redis, "edge").await;
    let through_b = Client::new(&b.url);
    let answer = through_b
        .ingest(ndjson(&[bar("ZZZ", 0, 10.5, true)]))
        .await
        .unwrap();
    assert_eq!(answer.accepted, 1, "{answer:?}");
    // A holds it too, and its clients get it (resuming from before it).
    let on_a = Client::new(&a.url);
    eventually("the bar on A", || async {
        on_a.history("ZZZ", Timeframe::M1, 10, None).await.is_ok()
    })
    .await;
    let sub = Subscribe {
        symbols: vec!["ZZZ".into()],
        since_seq: Some(answer.head_seq - 1),
        ..Subscribe::default()
    };
    let mut from_a = on_a.subscribe_raw(&sub).await.unwrap();
    let (id, data) = bars(&mut from_a, 1).await.remove(0);
    assert_eq!(seq(&id), answer.head_seq);
    assert!(data.contains("10.5"), "{data}");
    let history = through_b
        .history("ZZZ", Timeframe::M1, 10, None)
        .await
        .unwrap();
    assert_eq!(history.bars[0].c, 10.5, "{history:?}");
    // A body that is not bars is refused where it came in.
    match through_b.ingest("{\"not\":\"a bar\"}\n".into()).await {
        Err(ClientError::Api {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert!(message.starts_with("line 1"), "{message}");
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // The producer's refusal is the answer: a final bar ZZZ has already
    // (blank line first, so the line named is the body's, not the batch's).
    let stale = format!("\n{}", ndjson(&[bar("ZZZ", 0, 10.0, true)]));
    match through_b.ingest(stale).await {
        Err(ClientError::Api {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert!(message.starts_with("line 2: ZZZ"), "{message}");
            assert!(message.ends_with("nothing was applied"), "{message}");
        }
        other => panic!("expected the producer's 400, got {other:?}"),
    }
    a.stop("-TERM").await;
    b.stop("-TERM").await;
    redis.stop().await;
}

/// Whether `url`'s metrics say it holds the lease.
async fn holds_lease(url: &str) -> bool {
    let Ok(r) = reqwest::get(format!("{url}/api/metrics")).await else {
        return false;
    };
    r.text()
        .await
        .unwrap_or_default()
        .lines()
        .any(|l| l == "spotlight_lease_holder 1")
}

#[tokio::test]
async fn a_producer_stopped_after_redis_was_paused_and_restarted_gives_the_lease_up() {
    let redis = Redis::start().await;
    let a = instance(&redis, "auto").await;
    eventually("a holds the lease", || holds_lease(&a.url)).await;
    let redis = pause_then_restart_empty(redis, &a.url).await;
    eventually("ready again", || async { ready(&a.url).await == 200 }).await;
    eventually("a holds the lease again", || holds_lease(&a.url)).await;
    let (status, logs) = a.stop("-TERM").await;
    assert!(status.success(), "{logs}");
    // By the time the process has exited, the lease is free: a standby
    // takes over at once instead of waiting out its time.
    let mut con = redis.connection().await.unwrap();
    let holder: Option<String> = redis::cmd("GET")
        .arg("spotlight:lease")
        .query_async(&mut con)
        .await
        .unwrap();
    assert_eq!(holder, None, "{logs}");
    redis.stop().await;
}
