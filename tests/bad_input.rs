//! A table of bad requests, kept as data in `tests/data/bad_requests.tsv`:
//! malformed, missing, repeated, huge and non-UTF-8 parameters, bad JSON
//! and NDJSON bodies, wrong methods and content types, raw malformed
//! request heads. Each is sent raw to a real server: never a 5xx, never a
//! panic, always the JSON error shape. (Bad WebSocket frames and control
//! messages are `tests/voice.rs`'s in-band error and 1009 tests.)

use crate::common;

use common::*;
use tokio::io::AsyncWriteExt;

/// `\r \n \t \\ \xNN` escapes to bytes.
pub(crate) fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(hex, 16).unwrap());
                    i += 4;
                    continue;
                }
                other => out.extend_from_slice(&[b'\\', other]),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_request_is_a_json_4xx_and_the_server_stays_up() {
    let server = TestServer::sim(&["SPY", "QQQ"], 1.0, 250).await;
    let host = server.url.trim_start_matches("http://").to_string();
    let table = include_str!("data/bad_requests.tsv");
    let cases: Vec<(&str, &str, &str)> = table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            )
        })
        .collect();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (expected, name, request) in cases {
        let bytes = unescape(&request.replace("HOST", &host));
        let mut tcp = tokio::net::TcpStream::connect(&host).await.unwrap();
        tcp.write_all(&bytes).await.unwrap();
        let res = read_response(&mut tcp).await;
        let status_ok = match expected {
            "4xx" => (400..500).contains(&res.status),
            exact => res.status.to_string() == exact,
        };
        let doc: Option<serde_json::Value> = serde_json::from_slice(&res.body).ok();
        // Accepted on purpose (documented leniency): no error to shape.
        let shaped = res.status < 400
            || res
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
                && doc.as_ref().is_some_and(|d| {
                    d["error"]["code"].is_string() && d["error"]["message"].is_string()
                });
        if !status_ok || !shaped {
            wrong.push(format!(
                "{name}: expected {expected}, got {} {:?} {}",
                res.status,
                res.header("content-type"),
                String::from_utf8_lossy(&res.body)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Still serving, and nothing panicked.
    let metrics = server.client().get_text("/api/metrics").await.unwrap();
    assert!(metrics.contains("spotlight_panics_total 0"), "{metrics}");
    assert!(server.client().symbols().await.is_ok());
    server.stop().await;
}
