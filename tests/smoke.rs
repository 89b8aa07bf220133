//! `spotlight smoke`, the real binary against real servers: a healthy one
//! passes every check, every time; each injected fault (a buffering proxy,
//! a proxy that drops an event, a truncated exposition, voice sessions that
//! cannot resume, a closed port) is caught by its check and only by
//! plausibly related ones; JUnit XML for CI.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::proxy::{self, Fault};
use common::*;
use spotlight_server::{AuthConfig, ServerConfig, VoiceConfig};

const PIN: &str = "8642-1357";

/// Runs `spotlight --url URL --json smoke ARGS…` (`--sample 1s` unless
/// given): exit code, report, stderr.
async fn smoke(url: &str, args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--url", url, "--json", "smoke"];
    all.extend_from_slice(args);
    if !args.contains(&"--sample") {
        all.extend_from_slice(&["--sample", "1s"]);
    }
    let (code, out, err) = spotlight(&all, &[]).await;
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, report, err)
}

/// Each check's status by name.
fn statuses(report: &serde_json::Value) -> BTreeMap<String, String> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The checks that did not pass.
fn not_passed(report: &serde_json::Value) -> Vec<String> {
    statuses(report)
        .into_iter()
        .filter(|(_, s)| s != "pass")
        .map(|(n, _)| n)
        .collect()
}

/// A sim server with updates every 50 ms and a PIN (so replay may run).
async fn healthy(voice: VoiceConfig) -> TestServer {
    TestServer::sim_with(
        &["SPY", "QQQ"],
        1.0,
        50,
        ServerConfig {
            auth: AuthConfig {
                pin: Some(PIN.into()),
                ..AuthConfig::default()
            },
            voice,
            ..ServerConfig::default()
        },
    )
    .await
}

#[tokio::test]
async fn a_healthy_server_passes_every_check_every_time() {
    let server = healthy(VoiceConfig::default()).await;
    // One sign-in for all twenty runs: the PIN's rate limit is per minute.
    let token = server.client().login(PIN).await.unwrap().token;
    for run in 1..=20 {
        let (code, report, err) = smoke(&server.url, &["--token", &token]).await;
        assert_eq!(
            not_passed(&report),
            Vec::<String>::new(),
            "run {run}: {report:#}\n{err}"
        );
        assert_eq!(code, 0, "run {run}: {report:#}");
        assert_eq!(report["checks"].as_array().unwrap().len(), 10);
    }
    server.stop().await;
}

#[tokio::test]
async fn a_buffering_proxy_is_caught_by_sse_buffering() {
    let server = healthy(VoiceConfig::default()).await;
    let url = proxy::start(&server.url, Fault::Buffer(Duration::from_secs(2))).await;
    let (code, report, _) = smoke(&url, &["--pin", PIN, "--sample", "3s"]).await;
    assert_eq!(code, 1, "{report:#}");
    let failed = not_passed(&report);
    assert!(failed.contains(&"sse-buffering".to_string()), "{report:#}");
    for name in &failed {
        assert!(
            name.starts_with("sse-") || name == "history",
            "{name}: {report:#}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn a_proxy_that_drops_an_event_is_caught_by_continuity() {
    let server = healthy(VoiceConfig::default()).await;
    let url = proxy::start(&server.url, Fault::DropBar(3)).await;
    let (code, report, _) = smoke(&url, &["--pin", PIN]).await;
    assert_eq!(code, 1, "{report:#}");
    let failed = not_passed(&report);
    assert!(failed.contains(&"sse-continuity".to_string()), "{report:#}");
    for name in &failed {
        assert!(
            ["sse-continuity", "sse-resume", "history", "replay"].contains(&name.as_str()),
            "{name}: {report:#}"
        );
    }
    let continuity = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sse-continuity")
        .unwrap();
    assert!(
        continuity["message"]
            .as_str()
            .unwrap()
            .contains("1 missing"),
        "{continuity}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_truncated_exposition_is_caught_by_metrics_alone() {
    let server = healthy(VoiceConfig::default()).await;
    let url = proxy::start(&server.url, Fault::TruncateMetrics).await;
    let (code, report, _) = smoke(&url, &["--pin", PIN]).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        not_passed(&report),
        vec!["metrics".to_string()],
        "{report:#}"
    );
    server.stop().await;
}

#[tokio::test]
async fn voice_sessions_that_cannot_resume_fail_the_voice_check_alone() {
    let server = healthy(VoiceConfig {
        resume_ttl: Duration::ZERO,
        ..VoiceConfig::default()
    })
    .await;
    let (code, report, _) = smoke(&server.url, &["--pin", PIN]).await;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(not_passed(&report), vec!["voice".to_string()], "{report:#}");
    server.stop().await;
}

#[tokio::test]
async fn a_closed_port_exits_3() {
    let port = common::process::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, out, err) =
        spotlight(&["--url", &url, "smoke", "--connect-attempts", "1"], &[]).await;
    assert_eq!(code, 3, "{out}\n{err}");
    assert!(err.contains("cannot reach"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[tokio::test]
async fn spawn_checks_its_own_server_and_writes_junit() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("smoke.xml");
    let (code, out, err) = spotlight(
        &["smoke", "--spawn", "--junit", junit.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    // One line per check, then the summary.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 11, "{out}");
    assert!(lines.iter().take(10).all(|l| l.starts_with('✓')), "{out}");
    assert!(lines[10].contains("10 passed"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites"), "{xml}");
    assert!(
        xml.contains("tests=\"10\" failures=\"0\" errors=\"0\" skipped=\"0\""),
        "{xml}"
    );
    assert_eq!(
        xml.matches("<testcase classname=\"spotlight.smoke\"")
            .count(),
        10,
        "{xml}"
    );
    assert!(xml.contains("name=\"replay\""), "{xml}");
}

#[tokio::test]
async fn only_and_skip_choose_the_checks_and_unknown_names_are_usage_errors() {
    let server = TestServer::sim(&["SPY"], 1.0, 50).await;
    let (code, report, _) = smoke(&server.url, &["--only", "health,diag"]).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report).into_keys().collect::<Vec<_>>(),
        vec!["diag", "health"]
    );
    let (code, report, _) = smoke(&server.url, &["--only", "health,replay"]).await;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        statuses(&report)["replay"],
        "skipped",
        "no admin rights: {report:#}"
    );
    let (code, _, err) = spotlight(&["--url", &server.url, "smoke", "--only", "nope"], &[]).await;
    assert_eq!(code, 2, "{err}");
    server.stop().await;
}
