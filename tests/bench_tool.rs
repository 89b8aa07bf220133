//! The load generator behind `spotlight bench sse`, against a real server.

use crate::common;

use std::time::Duration;

use common::*;
use spotlight_cli::bench::{run, LoadConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_connect_receive_everything_and_are_counted() {
    // 600x: final bars close every 100 ms, so the window holds several.
    let server = TestServer::sim(&["SPY", "QQQ"], 600.0, 10).await;
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let report = run(LoadConfig {
        addr,
        tls: None,
        path: "/realtime/sse?timeframe=1m".into(),
        clients: 20,
        ramp_concurrency: 8,
        source_addrs: vec!["127.0.0.1".parse().unwrap()],
        duration: Duration::from_millis(1500),
        publish: None,
        server_pid: Some(std::process::id()),
    })
    .await
    .unwrap();
    assert_eq!((report.connected, report.failed), (20, 0), "{report:?}");
    assert!(report.delivered > 0, "{report:?}");
    assert_eq!(report.lost, 0, "{report:?}");
    assert_eq!(report.out_of_order, 0, "{report:?}");
    assert!(report.latency_ms.max >= report.latency_ms.p50);
    assert!(report.server_rss.is_some() && report.server_cpu_per_1k.is_some());
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_symbol_is_reported_as_a_failed_subscriber() {
    let server = TestServer::sim(&["SPY"], 1.0, 250).await;
    let report = run(LoadConfig {
        addr: server.url.trim_start_matches("http://").parse().unwrap(),
        tls: None,
        path: "/realtime/sse?symbols=NOPE".into(),
        clients: 2,
        ramp_concurrency: 2,
        source_addrs: vec![],
        duration: Duration::from_millis(10),
        publish: None,
        server_pid: None,
    })
    .await
    .unwrap();
    assert_eq!((report.connected, report.failed), (0, 2));
    assert!(report.first_error.unwrap().contains("404"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_publisher_times_every_message_to_every_subscriber() {
    use spotlight_cli::bench::{Publish, Publisher};
    let server = TestServer::empty(spotlight_market::HubConfig::default()).await;
    let report = run(LoadConfig {
        addr: server.url.trim_start_matches("http://").parse().unwrap(),
        tls: None,
        path: "/realtime/sse?symbols=BENCH".into(),
        clients: 5,
        ramp_concurrency: 5,
        source_addrs: vec![],
        duration: Duration::ZERO,
        publish: Some(Publish {
            publisher: Publisher::Ingest {
                url: server.url.clone(),
                symbol: "BENCH".into(),
                token: None,
            },
            rate: 500.0,
            messages: 40,
            warmup: 10,
            payload_bytes: 200,
            // Slots on the wall clock's grid, as for two servers side by side.
            grid_offset: Some(Duration::from_millis(1)),
        }),
        server_pid: None,
    })
    .await
    .unwrap();
    assert_eq!(
        (report.connected, report.failed, report.messages),
        (5, 0, 40),
        "{report:?}"
    );
    assert_eq!(report.delivered, 200, "{report:?}");
    assert_eq!(
        (report.lost, report.duplicated, report.out_of_order),
        (0, 0, 0),
        "{report:?}"
    );
    let (arrival, read) = (&report.latency_ms, &report.read_latency_ms);
    assert!(arrival.p50 > 0.0 && arrival.max >= arrival.p99);
    // Every delivery has the kernel's receive time, which precedes its read.
    assert_eq!(report.unstamped, 0, "{report:?}");
    assert!(
        read.p50 >= arrival.p50 && read.max >= arrival.max,
        "{report:?}"
    );
    // Per message: its first arrival is one of the deliveries, and so is the
    // span from it to the last one at most.
    let (first, span) = (&report.first_arrival_ms, &report.span_ms);
    assert!(first.p50 > 0.0 && first.max <= arrival.max, "{report:?}");
    assert!(span.max <= arrival.max, "{report:?}");
    // The symbol's first bar, 10 warm-up messages and 40 measured ones.
    assert_eq!(server.hub().ring_bounds().1, 51);
    server.stop().await;
}
