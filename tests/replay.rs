//! Replay against a real server: recorded bars come through unchanged, the
//! controls work and are refused in the wrong state, the CLI drives it.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use spotlight_client::sse::{EventStream, ServerEvent, Subscribe};
use spotlight_client::Client;
use spotlight_market::replay::Replayer;
use spotlight_market::rollup::rollup;
use spotlight_market::source::file::{load, FileOptions};
use spotlight_market::{Candle, Hub, HubConfig, Timeframe};
use spotlight_server::{AppState, ServerConfig};
use spotlight_wire::{ReplayStart, ReplayState, ResetReason};

fn shared(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; skipping the recorded-data replay test",
            dir.display()
        );
        return None;
    }
    Some(dir.join(name))
}

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .timestamp_millis()
}

/// A server whose replay plays `recording` for `symbol`, beside a live symbol `LIVE`.
async fn replay_server(symbol: &str, recording: Vec<Candle>) -> TestServer {
    let hub = Hub::new(HubConfig::default());
    hub.load(
        "LIVE",
        vec![Candle {
            t: T0,
            o: 1.0,
            h: 1.0,
            l: 1.0,
            c: 1.0,
            v: 1,
        }],
    )
    .unwrap();
    // The recording's symbol exists (with no live history) so streams can follow it.
    hub.load(symbol, Vec::new()).unwrap();
    let replayer = Replayer::new(
        hub.clone(),
        HashMap::from([(symbol.to_string(), recording)]),
    );
    TestServer::with_state(AppState::with_replay(hub, ServerConfig::default(), replayer).unwrap())
        .await
}

/// Final bars of a stream until `n` have come; asserts the replay started with a reset.
async fn finals(stream: &mut EventStream, n: usize) -> Vec<Candle> {
    guard(finals_unguarded(stream, n)).await
}

async fn finals_unguarded(stream: &mut EventStream, n: usize) -> Vec<Candle> {
    let mut out = Vec::new();
    let mut saw_reset = false;
    while out.len() < n {
        match next(stream).await {
            ServerEvent::Reset(r) => {
                assert_eq!(r.reason, ResetReason::ReplayStarted);
                saw_reset = true;
            }
            ServerEvent::Bar(b) if b.bar.is_final => out.push(b.bar.candle()),
            _ => {}
        }
    }
    assert!(saw_reset, "a replay start sends reset first");
    out
}

async fn subscribe(client: &Client, symbol: &str, tf: Timeframe) -> EventStream {
    let sub = Subscribe {
        symbols: vec![symbol.into()],
        timeframe: Some(tf),
        ..Subscribe::default()
    };
    open(client, sub).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_of_the_spy_recording_replays_exactly_with_rollups() {
    let Some(path) = shared("nt-spy-minute-2011.csv") else {
        return;
    };
    let opts = FileOptions {
        symbol: Some("SPY".into()),
        ..FileOptions::default()
    };
    let rows = load(&path, &opts).unwrap().bars.remove("SPY").unwrap();
    let server = replay_server("SPY", rows.clone()).await;
    let client = server.client();
    let (from, to) = (ms("2011-01-03T14:30:00Z"), ms("2011-01-03T15:00:00Z"));
    let window: Vec<Candle> = rows
        .iter()
        .filter(|c| c.t >= from && c.t < to)
        .copied()
        .collect();
    assert_eq!(window.len(), 30);
    let mut m1 = subscribe(&client, "SPY", Timeframe::M1).await;
    let mut m5 = subscribe(&client, "SPY", Timeframe::M5).await;
    let mut m15 = subscribe(&client, "SPY", Timeframe::M15).await;
    let req = ReplayStart {
        symbols: Some(vec!["SPY".into()]),
        from: Some("2011-01-03T14:30:00Z".into()),
        to: Some(to.into()),
        speed: Some(1000.0),
    };
    client.replay_start(&req).await.unwrap();
    let got = finals(&mut m1, 30).await;
    assert_eq!(
        got, window,
        "o/h/l/c/v and UTC bucket starts (the file stamps bar ends) are the file's"
    );
    assert_eq!(got[0].t, from);
    assert_eq!(finals(&mut m5, 6).await, rollup(&window, Timeframe::M5));
    assert_eq!(finals(&mut m15, 2).await, rollup(&window, Timeframe::M15));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sp500_csv_replays_with_new_york_times_and_its_column_order() {
    let Some(path) = shared("SP500_NOV2019_IDay.csv") else {
        return;
    };
    // Through the real binary and its --replay flag.
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--replay",
        &format!("SPX={}", path.display()),
    ];
    let (_child, url) = serve_binary(&args).await;
    let client = Client::new(&url);
    let req = ReplayStart {
        symbols: Some(vec!["SPX".into()]),
        from: None,
        to: Some("2019-11-05T14:35:00Z".into()),
        speed: Some(1000.0),
    };
    let status = client.replay_start(&req).await.unwrap();
    assert_eq!(
        status.from,
        Some(ms("2019-11-05T14:30:00Z")),
        "9:30 New York (EST) is 14:30 UTC"
    );
    assert_eq!(status.progress.total, 5);
    let mut stream = subscribe(&client, "SPX", Timeframe::M1).await;
    // Restart so this stream sees the whole window from its reset.
    client.replay_action("stop").await.unwrap();
    client.replay_start(&req).await.unwrap();
    let got = guard(async {
        loop {
            if let ServerEvent::Reset(r) = next(&mut stream).await {
                if r.reason == ResetReason::ReplayStarted {
                    break finals_after_reset(&mut stream, 5).await;
                }
            }
        }
    })
    .await;
    // `11/5/2019 9:30,3080.8,3080.49,3081.47,3080.3,0`: Open, Close, High, Low.
    assert_eq!(
        (got[0].t, got[0].o, got[0].h, got[0].l, got[0].c, got[0].v),
        (
            ms("2019-11-05T14:30:00Z"),
            3080.8,
            3081.47,
            3080.3,
            3080.49,
            0
        )
    );
    assert_eq!(got[4].t, ms("2019-11-05T14:34:00Z"));
}

async fn finals_after_reset(stream: &mut EventStream, n: usize) -> Vec<Candle> {
    let mut out = Vec::new();
    while out.len() < n {
        if let ServerEvent::Bar(b) = next(stream).await {
            if b.bar.is_final {
                out.push(b.bar.candle());
            }
        }
    }
    out
}

/// `serve` as a process on an ephemeral port; returns it and its URL.
async fn serve_binary(args: &[&str]) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .arg("serve")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = guard(lines.next_line())
            .await
            .unwrap()
            .expect("serve exited before listening");
        if let Some(i) = line.find("listening on http://") {
            let url = line[i + "listening on ".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .to_string();
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return (child, url);
        }
    }
}

fn synthetic() -> Vec<Candle> {
    (0..120)
        .map(|i| Candle {
            t: T0 + i * MIN,
            o: 100.0,
            h: 101.0,
            l: 99.0,
            c: 100.5,
            v: 10,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_change_state_and_history_follows_the_replay_clock() {
    let server = replay_server("REC", synthetic()).await;
    let client = server.client();
    let mut stream = open(&client, Subscribe::default()).await.1;
    // 60x: a replayed minute per second.
    let started = client
        .replay_start(&ReplayStart {
            speed: Some(60.0),
            ..ReplayStart::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (started.state, started.progress.total),
        (ReplayState::Running, 120)
    );
    let mut saw = (false, false);
    guard(async {
        loop {
            match next(&mut stream).await {
                ServerEvent::Reset(r) if r.reason == ResetReason::ReplayStarted => saw.0 = true,
                ServerEvent::Other { event, data } if event == "replay" => {
                    saw.1 = data.contains("\"running\"")
                }
                ServerEvent::Bar(b) if b.bar.is_final => return,
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(
        saw,
        (true, true),
        "reset and a replay event came before the bars"
    );
    let paused = client.replay_action("pause").await.unwrap();
    assert_eq!(paused.state, ReplayState::Paused);
    let history = client
        .history("REC", Timeframe::M1, 5000, None)
        .await
        .unwrap();
    let last = history.bars.last().unwrap();
    assert!(
        last.t + MIN <= paused.clock.unwrap() || !last.is_final,
        "history ends at the replay clock"
    );
    assert!(history.bars.iter().all(|b| b.t < paused.clock.unwrap()));
    assert_eq!(
        client.replay_status().await.unwrap().clock,
        paused.clock,
        "paused: the clock stands"
    );
    let faster = client.replay_speed(1000.0).await.unwrap();
    assert_eq!((faster.state, faster.speed), (ReplayState::Paused, 1000.0));
    assert_eq!(
        client.replay_action("resume").await.unwrap().state,
        ReplayState::Running
    );
    // Run to the end: every bar plays.
    guard(async {
        loop {
            if let ServerEvent::Other { event, data } = next(&mut stream).await {
                if event == "replay" && data.contains("\"finished\"") {
                    return;
                }
            }
        }
    })
    .await;
    let done = client.replay_status().await.unwrap();
    assert_eq!(
        (done.state, done.progress.done),
        (ReplayState::Finished, 120)
    );
    assert_eq!(
        client
            .history("REC", Timeframe::M1, 5000, None)
            .await
            .unwrap()
            .bars
            .len(),
        120
    );
    let stopped = client.replay_action("stop").await.unwrap();
    assert_eq!(stopped.state, ReplayState::Stopped);
    guard(async {
        loop {
            if let ServerEvent::Reset(r) = next(&mut stream).await {
                assert_eq!(r.reason, ResetReason::ReplayStopped);
                return;
            }
        }
    })
    .await;
    // Live is back: the replayed symbol's live history (empty) returns.
    assert!(client
        .history("REC", Timeframe::M1, 10, None)
        .await
        .unwrap()
        .bars
        .is_empty());
    server.stop().await;
}

#[tokio::test]
async fn wrong_states_and_bad_parameters_are_json_errors_and_the_cli_exits_non_zero() {
    let server = replay_server("REC", synthetic()).await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: &str| {
        http.post(format!("{}{path}", server.url))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let cases = [
        ("/api/replay/pause", "", 409, "conflict"),
        ("/api/replay/resume", "", 409, "conflict"),
        ("/api/replay/stop", "", 409, "conflict"),
        ("/api/replay/speed", r#"{"speed":2}"#, 409, "conflict"),
        ("/api/replay/speed", r#"{"speed":0.1}"#, 400, "bad_request"),
        ("/api/replay/speed", r#"{"fast":true}"#, 400, "bad_request"),
        ("/api/replay/start", r#"{"speed":5000}"#, 400, "bad_request"),
        (
            "/api/replay/start",
            r#"{"from":"yesterday"}"#,
            400,
            "bad_request",
        ),
        (
            "/api/replay/start",
            r#"{"symbols":["NOPE"]}"#,
            400,
            "bad_request",
        ),
        (
            "/api/replay/start",
            r#"{"from":1,"to":1}"#,
            400,
            "bad_request",
        ),
        ("/api/replay/start", r#"{"bogus":1}"#, 400, "bad_request"),
        ("/api/replay/start", "{not json", 400, "bad_request"),
    ];
    for (path, body, status, code) in cases {
        let res = post(path, body).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{path} {body}");
        let err: spotlight_wire::ErrorBody = res.json().await.unwrap();
        assert_eq!(err.error.code, code, "{path} {body}");
    }
    assert_eq!(
        post("/api/replay/start", "").await.unwrap().status(),
        200,
        "an empty body starts with defaults"
    );
    assert_eq!(
        post("/api/replay/start", "{}").await.unwrap().status(),
        409,
        "one replay at a time"
    );

    let (code, _, err) = spotlight(&["--url", &server.url, "replay", "--speed", "4"], &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(
        err.starts_with("spotlight: error: 409 conflict: a replay is already running"),
        "{err}"
    );
    let (code, out, _) = spotlight(&["--url", &server.url, "replay", "status"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("replay running ×1: REC"), "{out}");
    let (code, _, err) = spotlight(&["--url", &server.url, "replay", "speed", "9999"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("400 bad_request"), "{err}");
    let (code, json, _) = spotlight(&["--url", &server.url, "--json", "replay", "stop"], &[]).await;
    assert_eq!(code, 0);
    let status: spotlight_wire::ReplayStatus = serde_json::from_str(&json).unwrap();
    assert_eq!(status.state, ReplayState::Stopped);
    let (code, _, _) = spotlight(&["--url", &server.url, "replay", "pause"], &[]).await;
    assert_eq!(code, 1);
    let (code, _, err) = spotlight(&["--url", "http://127.0.0.1:9", "replay", "status"], &[]).await;
    assert_eq!(code, 3, "{err}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symbol_without_a_recording_replays_its_own_history_and_metrics_follow() {
    let server = TestServer::empty(HubConfig::default()).await;
    let client = server.client();
    client
        .ingest(ndjson(&finals_for("OWN", 0, 20)))
        .await
        .unwrap();
    let own = client
        .history("OWN", Timeframe::M1, 100, None)
        .await
        .unwrap()
        .bars;
    let mut stream = subscribe(&client, "OWN", Timeframe::M1).await;
    let req = ReplayStart {
        symbols: Some(vec!["OWN".into()]),
        from: Some((T0 + 10 * MIN).into()),
        speed: Some(1000.0),
        ..ReplayStart::default()
    };
    let started = client.replay_start(&req).await.unwrap();
    assert_eq!(started.progress.total, 10);
    let got = finals(&mut stream, 10).await;
    let want: Vec<Candle> = own[10..].iter().map(|b| b.candle()).collect();
    assert_eq!(got, want, "the server's own bars, unchanged");
    let metrics = reqwest::get(format!("{}/api/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("spotlight_replay_bars_total 10"),
        "{metrics}"
    );
    assert!(metrics.contains("spotlight_replay_speed 1000"), "{metrics}");
    let state_line = metrics
        .lines()
        .find(|l| l.starts_with("spotlight_replay_state "))
        .unwrap();
    assert!(
        state_line.ends_with(" 1") || state_line.ends_with(" 3"),
        "running or finished: {state_line}"
    );
    server.stop().await;
}

/// Final 1m bars of one symbol, minutes `from..to` after T0.
fn finals_for(symbol: &str, from: i64, to: i64) -> Vec<spotlight_market::Bar> {
    common::finals(&[symbol], from, to)
}
