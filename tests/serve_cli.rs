//! `spotlight serve` as a process: startup, SIGTERM, refusals.

use crate::common;

use std::process::Stdio;

use common::process::serve;
use common::*;
use futures::StreamExt;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_client::Client;
use tokio::process::Command;

fn spotlight() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("spotlight"));
    cmd.env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

#[tokio::test]
async fn sigterm_sends_shutdown_to_clients_and_exits_zero() {
    let served = serve("127.0.0.1:0", &["--drain", "3s"]).await;
    let url = served.url.clone();
    let client = Client::new(&url);
    let (hello, mut stream) = open(&client, Subscribe::default()).await;
    assert_eq!(hello.source, "sim");
    assert_eq!(hello.symbols, vec!["IWM", "QQQ", "SPY"]);
    let history = client
        .history("SPY", spotlight_market::Timeframe::M15, 100, None)
        .await
        .unwrap();
    assert_eq!(
        history.bars.len(),
        100,
        "two days of backfill exist from the start"
    );

    let stopping = tokio::spawn(served.stop("-TERM"));
    let notice = guard(async {
        loop {
            match next(&mut stream).await {
                ServerEvent::Shutdown(s) => break s,
                ServerEvent::Bar(_) | ServerEvent::Ping(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert!((1000..=5000).contains(&notice.retry_ms));
    assert!(
        guard(stream.next()).await.is_none(),
        "the stream ends after shutdown"
    );
    let (exit, logs) = guard(stopping).await.unwrap();
    assert!(exit.success(), "exit status {exit:?}");
    assert!(logs.contains("shutting down"), "{logs}");
}

#[tokio::test]
async fn a_file_with_a_bad_row_is_one_line_naming_file_and_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "20110103 143100;1;1;1;1;1\n20110103 143200;1;x;1;1;1\n",
    )
    .unwrap();
    let out = spotlight()
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--symbol",
            "SPY",
            "--source",
        ])
        .arg(format!("file:{}", path.display()))
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let last = stderr.lines().last().unwrap();
    assert_eq!(
        last,
        format!(
            "spotlight: error: {}:2: high \"x\" is not a number",
            path.display()
        )
    );
}

#[tokio::test]
async fn open_non_loopback_listening_is_refused_without_allow_open() {
    let out = spotlight()
        .args(["serve", "--addr", "0.0.0.0:0"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--allow-open"), "{stderr}");
}

#[tokio::test]
async fn the_live_provider_without_its_key_is_a_one_line_usage_error() {
    let out = spotlight()
        .args(["serve", "--addr", "127.0.0.1:0", "--source", "polygon"])
        .env_remove("POLYGON_API_KEY")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("POLYGON_API_KEY"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let out = spotlight()
        .args([
            "serve",
            "--source",
            "polygon",
            "--polygon-ws-url",
            "http://x",
        ])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "not a ws:// URL");
}

#[tokio::test]
async fn usage_errors_exit_2() {
    for args in [
        &["serve", "--source", "polygon:x"][..],
        &["serve", "--tick-ms", "0"],
        &["nope"],
    ] {
        let out = spotlight().args(args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[tokio::test]
async fn file_source_serves_recorded_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bars.ndjson");
    std::fs::write(&path, ndjson(&finals(&["ABC"], 0, 30))).unwrap();
    let served = serve(
        "127.0.0.1:0",
        &["--source", &format!("file:{}", path.display())],
    )
    .await;
    let url = served.url.clone();
    let client = Client::new(&url);
    let h = client
        .history("ABC", spotlight_market::Timeframe::M5, 50, None)
        .await
        .unwrap();
    assert_eq!(h.bars.len(), 6);
    assert_eq!(h.bars[0].t, T0);
    let ready = reqwest::get(format!("{url}/api/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn zero_takes_the_limit_off_every_capacity_flag() {
    let served = serve(
        "127.0.0.1:0",
        &[
            "--max-connections",
            "0",
            "--max-streams-per-addr",
            "0",
            "--sse-max-clients",
            "0",
            "--voice-max-sessions",
            "0",
        ],
    )
    .await;
    let client = Client::new(&served.url);
    let (_, mut a) = open(&client, Subscribe::default()).await;
    let (_, mut b) = open(&client, Subscribe::default()).await;
    assert!(matches!(
        next(&mut a).await,
        ServerEvent::Bar(_) | ServerEvent::Ping(_)
    ));
    assert!(matches!(
        next(&mut b).await,
        ServerEvent::Bar(_) | ServerEvent::Ping(_)
    ));
    let diag: serde_json::Value = diag_json(&served.url).await;
    let admission = &diag["admission"];
    assert_eq!(admission["maxConnections"], 0, "{admission}");
    assert_eq!(admission["maxStreamsPerAddr"], 0, "{admission}");
    assert_eq!(admission["streams"], 2, "{admission}");
    served.stop("-TERM").await;
}
