//! `spotlight probe voice` and `spotlight probe sse`, the real binary
//! against real servers: healthy ones pass, broken ones fail with exit 1,
//! an unreachable one exits 3.

use crate::common;

use std::time::Duration;

use common::*;
use spotlight_server::VoiceConfig;

/// Runs `spotlight --url URL --json probe ARGS…`: exit code and report.
async fn probe(url: &str, args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--url", url, "--json", "probe"];
    all.extend_from_slice(args);
    let (code, out, err) = spotlight(&all, &[]).await;
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, report)
}

/// The names of the report's steps whose `ok` is `ok`.
fn steps(report: &serde_json::Value, ok: bool) -> Vec<String> {
    report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["ok"] == ok)
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn probe_voice_passes_against_a_healthy_server() {
    let server = voice_server(VoiceConfig::default()).await;
    let (code, r) = probe(&server.url, &["voice", "--drops", "1", "--frames", "60"]).await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["passed"], true);
    let passed = steps(&r, true);
    for step in [
        "hello",
        "tool get_quote",
        "tool get_bars",
        "tool replay_status",
        "echo",
        "drops resumed",
        "reused token rejected",
    ] {
        assert!(
            passed.iter().any(|s| s == step),
            "{step} missing from {passed:?}"
        );
    }
    assert_eq!(r["figures"]["echoed"], 60);
    assert_eq!(r["figures"]["reconnectMs"].as_array().unwrap().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn probe_voice_fails_when_sessions_cannot_be_resumed() {
    let server = voice_server(VoiceConfig {
        resume_ttl: Duration::ZERO,
        ..VoiceConfig::default()
    })
    .await;
    let (code, r) = probe(&server.url, &["voice", "--drops", "1", "--frames", "40"]).await;
    assert_eq!(code, 1, "{r}");
    assert_eq!(r["passed"], false);
    let failed = steps(&r, false);
    assert!(failed.iter().any(|s| s == "drops resumed"), "{failed:?}");
    server.stop().await;
}

#[tokio::test]
async fn probes_exit_3_when_nothing_listens() {
    let port = common::process::free_port();
    let url = format!("http://127.0.0.1:{port}");
    for target in ["voice", "sse"] {
        let (code, out, err) = spotlight(
            &["--url", &url, "probe", target, "--connect-attempts", "2"],
            &[],
        )
        .await;
        assert_eq!(code, 3, "{target}: {out}\n{err}");
        assert!(
            err.contains("cannot reach") && err.contains("after 2 attempts"),
            "{target}: {err}"
        );
    }
}

#[tokio::test]
async fn probe_sse_passes_against_a_healthy_server() {
    let server = TestServer::sim(&["SPY", "QQQ"], 30.0, 20).await;
    let (code, r) = probe(&server.url, &["sse", "--cuts", "3", "--duration", "3s"]).await;
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["passed"], true, "{r}");
    assert_eq!(r["figures"]["resumeMs"].as_array().unwrap().len(), 3);
    assert!(r["figures"]["events"].as_u64().unwrap() > 10);
    server.stop().await;
}

#[tokio::test]
async fn probe_sse_fails_when_an_event_goes_missing() {
    let server = TestServer::sim(&["SPY", "QQQ"], 30.0, 20).await;
    let proxy_url = proxy::start(&server.url, proxy::Fault::DropOneBar(20)).await;
    let (code, r) = probe(&proxy_url, &["sse", "--cuts", "2", "--duration", "3s"]).await;
    assert_eq!(code, 1, "{r}");
    let gap = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "no gap, no duplicate")
        .unwrap();
    assert_eq!(gap["ok"], false, "{r}");
    assert!(
        gap["detail"].as_str().unwrap().contains("1 missing"),
        "{gap}"
    );
    server.stop().await;
}
