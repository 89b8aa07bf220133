//! `spotlight probe voice` and `spotlight probe sse`, the real binary
//! against real servers: healthy ones pass, broken ones fail with exit 1,
//! an unreachable one exits 3.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use spotlight::server::VoiceConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
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

/// Relays one connection, dropping the `drop_at`-th `bar` event of an
/// event stream (counted over every connection).
async fn relay(mut client: TcpStream, upstream: String, bars: Arc<AtomicUsize>, drop_at: usize) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let up = tokio::io::copy(&mut cr, &mut sw);
    let down = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let mut streaming = false;
        loop {
            let n = match sr.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            if !streaming {
                let text = String::from_utf8_lossy(&buf);
                match text.find("\r\n\r\n") {
                    Some(end) if text[..end].contains("text/event-stream") => {
                        streaming = true;
                        let head: Vec<u8> = buf.drain(..end + 4).collect();
                        if cw.write_all(&head).await.is_err() {
                            return;
                        }
                    }
                    Some(_) | None => {
                        if cw.write_all(&buf).await.is_err() {
                            return;
                        }
                        buf.clear();
                        continue;
                    }
                }
            }
            // Whole SSE messages only; the one chosen is not passed on.
            while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                let message: Vec<u8> = buf.drain(..end + 2).collect();
                let is_bar = message.windows(10).any(|w| w == b"event: bar");
                if is_bar && bars.fetch_add(1, Ordering::SeqCst) + 1 == drop_at {
                    continue;
                }
                if cw.write_all(&message).await.is_err() {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

#[tokio::test]
async fn probe_sse_fails_when_an_event_goes_missing() {
    let server = TestServer::sim(&["SPY", "QQQ"], 30.0, 20).await;
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let upstream = server.url.trim_start_matches("http://").to_string();
    let bars = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = proxy.accept().await {
            tokio::spawn(relay(client, upstream.clone(), bars.clone(), 20));
        }
    });
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
