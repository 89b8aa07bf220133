//! `spotlight watch --plain` end to end: the real binary against a real
//! server that goes away and comes back mid-way.

use crate::common;

use std::process::Stdio;
use std::sync::atomic::Ordering;

use std::collections::HashMap;

use common::*;
use spotlight_market::replay::Replayer;
use spotlight_market::source::file::{load, FileOptions};
use spotlight_market::{Bar, Candle, Hub, HubConfig};
use spotlight_server::{AppState, ServerConfig};
use spotlight_wire::ReplayStart;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

fn watch(url: &str, args: &[&str]) -> Child {
    watch_symbol(url, "ABC", args)
}

fn watch_symbol(url: &str, symbol: &str, args: &[&str]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .args(["--url", url, "watch", symbol, "--plain"])
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("SPOTLIGHT_PIN")
        .env_remove("SPOTLIGHT_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Starts `watch ABC --plain` (plus `args`) and waits until it is subscribed.
async fn watching(server: &TestServer, args: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut child = watch(&server.url, args);
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let hub = server.hub().clone();
    eventually("watch is subscribed", || {
        let n = hub.stats().subscribers.load(Ordering::SeqCst);
        async move { n == 1 }
    })
    .await;
    (child, lines)
}

async fn read_bars(lines: &mut Lines<BufReader<ChildStdout>>, n: usize) -> Vec<Bar> {
    let mut out = Vec::new();
    while out.len() < n {
        let line = guard(lines.next_line())
            .await
            .unwrap()
            .expect("watch ended");
        out.push(serde_json::from_str(&line).unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_every_final_bar_once_across_a_server_restart() {
    let server = TestServer::empty(HubConfig::default()).await;
    let client = server.client();
    // History: not printed, it is where watching starts.
    client
        .ingest(ndjson(&finals(&["ABC"], 0, 3)))
        .await
        .unwrap();
    let (_child, mut lines) = watching(&server, &["--json"]).await;
    let hub = server.hub().clone();
    // In-progress updates are not printed; final bars are.
    client
        .ingest(ndjson(&[bar("ABC", 3, 100.0, false)]))
        .await
        .unwrap();
    client
        .ingest(ndjson(&finals(&["ABC"], 3, 6)))
        .await
        .unwrap();
    let mut seen = read_bars(&mut lines, 3).await;

    // The server goes away; bars keep coming into the hub meanwhile.
    let url = server.url.clone();
    server.stop().await;
    hub.publish_batch(&finals(&["ABC"], 6, 9)).unwrap();
    let server = TestServer::restart_at(&url, hub.clone()).await;
    server
        .client()
        .ingest(ndjson(&finals(&["ABC"], 9, 11)))
        .await
        .unwrap();
    seen.extend(read_bars(&mut lines, 5).await);

    let want = finals(&["ABC"], 3, 11);
    assert_eq!(
        seen, want,
        "every final bar once, in order, none lost across the restart"
    );
    server.stop().await;
}

#[tokio::test]
async fn plain_lines_and_a_closed_pipe_end_quietly() {
    let server = TestServer::with_finals(&["ABC"], 0, 1).await;
    let client = server.client();
    let (mut child, mut lines) = watching(&server, &[]).await;
    client
        .ingest(ndjson(&finals(&["ABC"], 1, 2)))
        .await
        .unwrap();
    let line = guard(lines.next_line()).await.unwrap().unwrap();
    assert_eq!(
        line,
        "2011-01-03T14:31:00Z ABC 1m o=99.6 h=101.1 l=99.1 c=100.1 v=101"
    );
    // The reader goes away: the next write hits a broken pipe, and watch exits 0.
    drop(lines);
    client
        .ingest(ndjson(&finals(&["ABC"], 2, 4)))
        .await
        .unwrap();
    let status = guard(child.wait()).await.unwrap();
    assert!(status.success(), "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn three_missed_heartbeats_count_as_a_lost_connection() {
    use spotlight_client::follow::{follow, Follow, FollowEvent};
    use spotlight_reconnect::Backoff;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that answers history, then opens a stream that says hello
    // (heartbeat 100 ms) and falls silent.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = tcp.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            if head.starts_with("GET /api/history") {
                let body = r#"{"symbol":"ABC","timeframe":"1m","epoch":"ep","seq":0,"bars":[]}"#;
                let res = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                tcp.write_all(res.as_bytes()).await.unwrap();
            } else {
                let hello = r#"{"epoch":"ep","seq":0,"serverTime":0,"symbols":["ABC"],"timeframe":"1m","resumed":false,"heartbeatMs":100,"source":"test"}"#;
                let res = format!("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nevent: hello\ndata: {hello}\n\n");
                tcp.write_all(res.as_bytes()).await.unwrap();
                held.push(tcp);
            }
        }
    });
    let cfg = Follow {
        symbol: "ABC".into(),
        timeframe: spotlight_market::Timeframe::M1,
        history: 10,
        backoff: Backoff::default(),
    };
    let mut events = follow(spotlight_client::Client::new(&url), cfg);
    let lost = guard(async {
        loop {
            match events.recv().await.unwrap() {
                FollowEvent::Reconnecting {
                    reason, attempt, ..
                } => break (reason, attempt),
                FollowEvent::GaveUp(r) => panic!("gave up: {r}"),
                _ => {}
            }
        }
    })
    .await;
    assert_eq!(lost.1, 1);
    assert!(lost.0.contains("no heartbeat for 300ms"), "{}", lost.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_prints_its_bars_after_the_live_ones() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !dir.is_dir() {
        eprintln!(
            "note: {} is absent; skipping the SPY replay watch test",
            dir.display()
        );
        return;
    }
    let opts = FileOptions {
        symbol: Some("SPY".into()),
        ..FileOptions::default()
    };
    let recording = load(&dir.join("nt-spy-minute-2011-03.csv"), &opts)
        .unwrap()
        .bars
        .remove("SPY")
        .unwrap();
    // Live SPY bars from 2026: far newer than the 2011 recording.
    let hub = Hub::new(HubConfig::default());
    let live_t0 = 1_796_000_000_000 - 1_796_000_000_000 % 60_000;
    let live: Vec<Candle> = (0..3)
        .map(|i| Candle {
            t: live_t0 + i * 60_000,
            o: 600.0,
            h: 601.0,
            l: 599.0,
            c: 600.5,
            v: 10,
        })
        .collect();
    hub.load("SPY", live).unwrap();
    let replayer = Replayer::new(
        hub.clone(),
        HashMap::from([("SPY".to_string(), recording.clone())]),
    );
    let server = TestServer::with_state(
        AppState::with_replay(hub, ServerConfig::default(), replayer).unwrap(),
    )
    .await;
    let mut child = watch_symbol(&server.url, "SPY", &["--json"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let hub = server.hub().clone();
    eventually("watch is subscribed", || {
        let n = hub.stats().subscribers.load(Ordering::SeqCst);
        async move { n == 1 }
    })
    .await;
    server
        .client()
        .replay_start(&ReplayStart {
            symbols: Some(vec!["SPY".into()]),
            from: None,
            to: None,
            speed: Some(1000.0),
        })
        .await
        .unwrap();
    // Before the fix the printer still stood at 2026 and dropped every bar.
    let bars = read_bars(&mut lines, 5).await;
    let expected: Vec<i64> = recording.iter().take(5).map(|c| c.t).collect();
    assert_eq!(bars.iter().map(|b| b.t).collect::<Vec<_>>(), expected);
    assert!(bars
        .iter()
        .all(|b| b.symbol.as_ref() == "SPY" && b.is_final));
    let _ = child.kill().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_file_follows_v_and_rust_log() {
    let server = TestServer::with_finals(&["ABC"], 0, 1).await;
    let dir = tempfile::tempdir().unwrap();
    for (name, args, env, debug) in [
        ("quiet.log", vec![], None, false),
        ("verbose.log", vec!["-v"], None, true),
        ("rust_log.log", vec![], Some("spotlight=debug"), true),
    ] {
        let path = dir.path().join(name);
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("spotlight"));
        cmd.args([
            "--url",
            &server.url,
            "watch",
            "ABC",
            "--plain",
            "--log-file",
        ])
        .arg(&path)
        .args(&args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
        if let Some(filter) = env {
            cmd.env("RUST_LOG", filter);
        }
        let mut child = cmd.spawn().unwrap();
        let path_seen = path.clone();
        eventually("watch has opened its stream and logged it", || {
            let text = std::fs::read_to_string(&path_seen).unwrap_or_default();
            async move { !debug || text.contains("stream open") }
        })
        .await;
        let hub = server.hub().clone();
        eventually("watch is subscribed", || {
            let n = hub.stats().subscribers.load(Ordering::SeqCst);
            async move { n == 1 }
        })
        .await;
        let _ = child.kill().await;
        let _ = child.wait().await;
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(text.contains("DEBUG"), debug, "{name}: {text}");
        let hub = server.hub().clone();
        eventually("watch has gone", || {
            let n = hub.stats().subscribers.load(Ordering::SeqCst);
            async move { n == 0 }
        })
        .await;
    }
    server.stop().await;
}
