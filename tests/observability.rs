//! Metrics and diag against a real server: promtool-clean, every metric
//! present and moving with its event, diag consistent and schema-valid.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use spotlight_client::sse::Subscribe;
use spotlight_market::HubConfig;
use spotlight_server::ServerConfig;
use spotlight_wire::Diag;

const METRICS: &[&str] = &[
    "spotlight_sse_connections",
    "spotlight_sse_connections_total",
    "spotlight_sse_events_sent_total",
    "spotlight_sse_conflated_total",
    "spotlight_sse_slow_disconnects_total",
    "spotlight_sse_resumes_total",
    "spotlight_sse_connection_duration_seconds_bucket",
    "spotlight_broadcast_latency_seconds_bucket",
    "spotlight_http_requests_total",
    "spotlight_http_request_duration_seconds_bucket",
    "spotlight_bars_ingested_total",
    "spotlight_epoch_start_timestamp_seconds",
    "spotlight_ring_low_seq",
    "spotlight_ring_head_seq",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
    "process_open_fds",
];

async fn exposition(url: &str) -> String {
    let res = reqwest::get(format!("{url}/api/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    res.text().await.unwrap()
}

/// Sample values by `name{labels}` as written in the exposition.
async fn samples(url: &str) -> HashMap<String, f64> {
    exposition(url)
        .await
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn metrics_pass_promtool_and_every_named_metric_is_there() {
    let server = TestServer::sim(&["SPY"], 1.0, 50).await;
    let (_, mut stream) = open(&server.client(), Subscribe::default()).await;
    next_bar(&mut stream).await;
    let text = exposition(&server.url).await;
    promtool_check(&text);
    for name in METRICS {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing from:\n{text}"
        );
    }
    // A standard parser reads it.
    let rows = spotlight_cli::cmd::metrics::parse(&text, None).unwrap();
    assert!(rows
        .iter()
        .any(|r| r.name == "spotlight_broadcast_latency_seconds" && r.count.unwrap_or(0.0) >= 1.0));
    server.stop().await;
}

#[tokio::test]
async fn sse_metrics_move_with_connections_and_resumes() {
    let config = ServerConfig {
        heartbeat: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig {
            ring: 4,
            ..HubConfig::default()
        }),
        config,
    )
    .await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 2)))
        .await
        .unwrap();
    let url = server.url.clone();
    let m = samples(&url).await;
    assert_eq!(m["spotlight_sse_connections"], 0.0);
    assert_eq!(m["spotlight_bars_ingested_total{source=\"ingest\"}"], 2.0);

    let (_, mut stream) = open(&client, Subscribe::default()).await;
    let m = samples(&url).await;
    assert_eq!(m["spotlight_sse_connections"], 1.0);
    assert_eq!(m["spotlight_sse_connections_total"], 1.0);
    client
        .ingest(ndjson(&finals(&["SPY"], 2, 3)))
        .await
        .unwrap();
    next_bar(&mut stream).await;
    drop(stream);
    // The server notices the closed socket on its next write (a ping).
    eventually("the gauge returns to 0", || {
        let url = url.clone();
        async move { samples(&url).await["spotlight_sse_connections"] == 0.0 }
    })
    .await;
    let m = samples(&url).await;
    assert!(m["spotlight_broadcast_latency_seconds_count"] >= 1.0);
    assert!(m["spotlight_sse_connection_duration_seconds_count"] >= 1.0);
    assert!(m["spotlight_sse_events_sent_total{event=\"hello\"}"] >= 1.0);
    // The live bar the stream got, however it was written.
    assert!(m["spotlight_sse_events_sent_total{event=\"bar\"}"] >= 1.0);

    let epoch = server.hub().epoch().to_string();
    let cases = [
        (format!("{epoch}:3"), "resumed"),
        ("1".to_string(), "reset_gap"),
        ("zzzzzzzz:3".to_string(), "reset_epoch"),
    ];
    client
        .ingest(ndjson(&finals(&["SPY"], 3, 7)))
        .await
        .unwrap();
    for (id, outcome) in cases {
        let key = format!("spotlight_sse_resumes_total{{outcome=\"{outcome}\"}}");
        let before = samples(&url).await[&key];
        let sub = Subscribe {
            last_event_id: Some(id),
            ..Subscribe::default()
        };
        let _stream = open(&client, sub).await;
        assert_eq!(samples(&url).await[&key], before + 1.0, "{outcome}");
    }
    let m = samples(&url).await;
    let (low, head) = server.hub().ring_bounds();
    assert_eq!(
        (m["spotlight_ring_low_seq"], m["spotlight_ring_head_seq"]),
        (low as f64, head as f64)
    );
    server.stop().await;
}

#[tokio::test]
async fn http_metrics_use_the_route_template() {
    let server = TestServer::with_finals(&["SPY"], 0, 1).await;
    for path in [
        "/api/history?symbol=SPY",
        "/api/history?symbol=NOPE",
        "/some/raw/path/42",
    ] {
        reqwest::get(format!("{}{path}", server.url)).await.unwrap();
    }
    let m = samples(&server.url).await;
    assert_eq!(
        m["spotlight_http_requests_total{route=\"/api/history\",status=\"200\"}"],
        1.0
    );
    assert_eq!(
        m["spotlight_http_requests_total{route=\"/api/history\",status=\"404\"}"],
        1.0
    );
    assert_eq!(
        m["spotlight_http_requests_total{route=\"unmatched\",status=\"404\"}"],
        1.0
    );
    assert!(
        !m.keys().any(|k| k.contains("/some/raw/path")),
        "raw paths never become labels"
    );
    assert!(m["spotlight_http_request_duration_seconds_count{route=\"/api/history\"}"] >= 2.0);
    server.stop().await;
}

#[tokio::test]
async fn diag_is_consistent_with_metrics_and_matches_its_schema() {
    let config = ServerConfig {
        heartbeat: Duration::from_millis(20),
        ..ServerConfig::default()
    };
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig {
            client_queue: 8,
            ..HubConfig::default()
        }),
        config,
    )
    .await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY", "QQQ"], 0, 2)))
        .await
        .unwrap();
    // One reading client and one that never reads: it lags.
    let (_, _reader) = open(&client, Subscribe::default()).await;
    let raw: serde_json::Value = diag_json(&server.url).await;
    assert_diag_schema(&raw);
    let diag: Diag = serde_json::from_value(raw).unwrap();
    let m = samples(&server.url).await;
    assert_eq!(*diag.epoch.id, *server.hub().epoch());
    assert_eq!(
        diag.epoch.start_ms as f64 / 1000.0,
        m["spotlight_epoch_start_timestamp_seconds"]
    );
    assert_eq!((diag.ring.low_seq, diag.ring.head_seq), (1, 4));
    assert_eq!(diag.market.source, "sim");
    assert_eq!(
        diag.market
            .symbols
            .iter()
            .map(|s| s.symbol.as_str())
            .collect::<Vec<_>>(),
        vec!["QQQ", "SPY"]
    );
    assert!(diag.memory.rss_bytes.unwrap() > 0);
    assert_eq!(
        diag.metrics.sse_connections,
        m["spotlight_sse_connections"] as u64
    );
    assert_eq!(diag.metrics.sse_connections, 1);
    assert_eq!(diag.metrics.events_total, 4);
    assert!(!diag.auth.enabled);
    assert_eq!(diag.process.pid, std::process::id());
    assert_eq!(diag.lagging_clients.len(), 1);
    assert_eq!(diag.lagging_clients[0].symbols, 2);
    server.stop().await;
}

#[tokio::test]
async fn metrics_json_carries_the_same_figures() {
    let server = TestServer::with_finals(&["SPY"], 0, 3).await;
    let client = server.client();
    let (_, _stream) = open(&client, Subscribe::default()).await;
    let json: serde_json::Value = client.get_json("/api/metrics/json").await.unwrap();
    let text = samples(&server.url).await;
    let value = |name: &str| json[name]["samples"][0]["value"].as_f64().unwrap();
    assert_eq!(json["spotlight_sse_connections"]["type"], "gauge");
    assert_eq!(
        value("spotlight_sse_connections"),
        text["spotlight_sse_connections"]
    );
    assert_eq!(value("spotlight_ring_head_seq"), 3.0);
    let ingested = json["spotlight_bars_ingested_total"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["source"] == "ingest")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(ingested, 3.0);
    assert_eq!(
        json["spotlight_broadcast_latency_seconds"]["type"],
        "histogram"
    );
    assert!(json["spotlight_broadcast_latency_seconds"]["samples"][0]["buckets"].is_array());
    server.stop().await;
}
