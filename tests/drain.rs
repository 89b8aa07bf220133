//! Deploys: drain mode behind a load balancer (readiness, admission, voice
//! resumes, `spotlight drain`), and a SIGTERM that closes streams in waves
//! with spread `retry:` values.

use crate::common;

use std::collections::BTreeSet;
use std::process::Stdio;

use common::process::serve;
use common::*;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_client::voice::{VoiceClient, VoiceError};
use spotlight_client::ClientError;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_mode_turns_readiness_and_admission_and_back() {
    let server = TestServer::sim(&["SPY", "QQQ"], 1.0, 50).await;
    let client = server.client();
    let (_, mut stream) = open(&client, Subscribe::default()).await;
    let mut voice = VoiceClient::connect(&server.url, None).await.unwrap();

    let on = client.drain_set(true).await.unwrap();
    assert!(on.draining && on.since.is_some(), "{on:?}");
    assert_eq!((on.streams, on.voice_sessions), (1, 1), "{on:?}");

    // The balancer sees not-ready; new streams and voice sessions are refused.
    let ready = reqwest::get(format!("{}/api/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "draining", "{body}");
    match client.subscribe(&Subscribe::default()).await {
        Err(ClientError::Api { status, code, .. }) => {
            assert_eq!((status, code.as_str()), (503, "draining"))
        }
        other => panic!("a new stream while draining: {:?}", other.map(|_| ())),
    }
    let refused = reqwest::Client::new()
        .get(format!("{}/realtime/sse", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    match VoiceClient::connect(&server.url, None).await {
        Err(VoiceError::Refused { status, .. }) => assert_eq!(status, 503),
        other => panic!(
            "a new voice session while draining: {:?}",
            other.map(|_| ())
        ),
    }
    // What is here goes on: the stream gets events, the voice session resumes.
    let bar = guard(async {
        loop {
            if let ServerEvent::Bar(b) = next(&mut stream).await {
                return b;
            }
        }
    })
    .await;
    assert_eq!(bar.bar.tf, spotlight_market::Timeframe::M1);
    voice.cut();
    let hello = guard(voice.resume()).await.unwrap();
    assert!(hello.resumed, "{hello:?}");
    let diag = client.diag().await.unwrap();
    assert!(diag.drain.draining);
    let metrics = client.get_text("/api/metrics").await.unwrap();
    assert!(metrics.contains("spotlight_draining 1"), "{metrics}");
    assert!(
        metrics.contains("spotlight_connections_rejected_total{reason=\"draining\"} 3"),
        "{metrics}"
    );

    // The CLI: status, then off; work is taken again.
    let (code, out, err) =
        spotlight(&["--url", &server.url, "--json", "drain", "status"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["draining"], true, "{status}");
    let (code, out, _) = spotlight(&["--url", &server.url, "drain", "off"], &[]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("not draining"), "{out}");
    let ready = reqwest::get(format!("{}/api/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let (_, again) = open(&client, Subscribe::default()).await;
    drop(again);

    // `drain on --wait` returns once the last stream and session are gone.
    let mut waiter = Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .args([
            "--url",
            &server.url,
            "drain",
            "on",
            "--wait",
            "--timeout",
            "60s",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let client2 = client.clone();
    eventually("drain mode is on", || {
        let c = client2.clone();
        async move { c.drain_status().await.is_ok_and(|s| s.draining) }
    })
    .await;
    drop(stream);
    voice.close().await;
    let done = guard(waiter.wait()).await.unwrap();
    assert!(done.success());
    let mut line = String::new();
    let mut out = BufReader::new(waiter.stdout.take().unwrap());
    out.read_line(&mut line).await.unwrap();
    assert!(line.contains(": 0 streams, 0 voice sessions"), "{line}");
    server.stop().await;
}

#[tokio::test]
async fn sigterm_closes_streams_in_waves_with_spread_retry_values() {
    let served = serve("127.0.0.1:0", &["--drain", "3s"]).await;
    let url = served.url.clone();
    let client = spotlight_client::Client::new(&url);
    let mut streams = Vec::new();
    for _ in 0..24 {
        streams.push(open(&client, Subscribe::default()).await.1);
    }
    let stopping = tokio::spawn(served.stop("-TERM"));
    let mut retries = BTreeSet::new();
    for mut stream in streams {
        let notice = guard(async {
            loop {
                match next(&mut stream).await {
                    ServerEvent::Shutdown(s) => break s,
                    _ => continue,
                }
            }
        })
        .await;
        assert!((1000..=3000).contains(&notice.retry_ms), "{notice:?}");
        retries.insert(notice.retry_ms);
    }
    assert!(
        retries.len() > 1,
        "every client told the same retry: {retries:?}"
    );
    let (status, logs) = guard(stopping).await.unwrap();
    assert!(status.success(), "{status:?}\n{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_ends_streams_in_more_than_one_wave() {
    let server = TestServer::sim_with(
        &["SPY"],
        1.0,
        50,
        spotlight_server::ServerConfig {
            drain: std::time::Duration::from_secs(1),
            ..spotlight_server::ServerConfig::default()
        },
    )
    .await;
    let client = server.client();
    let mut streams = Vec::new();
    for _ in 0..16 {
        streams.push(open(&client, Subscribe::default()).await.1);
    }
    let state = server.state.clone();
    let stopping = tokio::spawn(server.stop());
    for mut stream in streams {
        guard(async {
            loop {
                if let ServerEvent::Shutdown(_) = next(&mut stream).await {
                    return;
                }
            }
        })
        .await;
    }
    guard(stopping).await.unwrap();
    let text = state.metrics.render(&state.hub, &state.replay).unwrap();
    let waves: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("spotlight_shutdown_waves_total "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(waves >= 2, "16 streams, all in one wave: {text}");
}
