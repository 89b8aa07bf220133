//! A client that stops reading: it is conflated, then closed, never delays
//! the others, never grows server memory past its queue bound, and resumes
//! without loss.

use crate::common;

use std::sync::atomic::Ordering;

use common::*;
use spotlight_client::sse::{decode, ServerEvent, Subscribe};
use spotlight_market::HubConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const QUEUE: usize = 1024;
const BATCH: i64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_closed_and_resumes_without_loss() {
    let server = TestServer::empty(HubConfig {
        client_queue: QUEUE,
        ..HubConfig::default()
    })
    .await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 1)))
        .await
        .unwrap();

    // The stalled client: HTTP/1.0 (the body ends when the server closes),
    // a tiny receive buffer, and no reads until the flood is over.
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /realtime/sse?symbols=SPY HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();

    let (_, mut healthy) = open(&client, Subscribe::default()).await;
    // Wait until the server has both subscribers (the healthy one is past
    // its hello, so it is registered; the stalled one is the other).
    guard(async {
        while server.hub().stats().subscribers.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
    })
    .await;

    // The healthy client is read all along; it reports the newest seq seen
    // and checks final bars arrive in order.
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel(1u64);
    let reader = tokio::spawn(async move {
        let mut next_final_minute = 1;
        loop {
            let b = next_bar(&mut healthy).await;
            if b.bar.is_final {
                assert_eq!(
                    b.bar.t,
                    T0 + next_final_minute * MIN,
                    "final bars in order, none lost"
                );
                next_final_minute += 1;
            }
            if seen_tx.send(b.seq).is_err() {
                return next_final_minute;
            }
        }
    });

    // In-progress updates of one minute, then far more final bars than the
    // socket buffers and the queue can hold, in batches the healthy client
    // drains before the next one comes.
    let updates: Vec<_> = (0..200)
        .map(|i| bar("SPY", 1, 100.0 + i as f64 / 100.0, false))
        .collect();
    let mut head = client.ingest(ndjson(&updates)).await.unwrap().head_seq;
    let mut minute = 1;
    while minute <= 40_000 {
        guard(seen_rx.wait_for(|s| *s == head)).await.unwrap();
        head = client
            .ingest(ndjson(&finals(&["SPY"], minute, minute + BATCH)))
            .await
            .unwrap()
            .head_seq;
        minute += BATCH;
    }
    guard(seen_rx.wait_for(|s| *s == head)).await.unwrap();
    assert_eq!(head, 1 + 200 + 40_000);
    drop(seen_rx);

    let stats = server.hub().stats();
    assert_eq!(
        stats.slow_disconnects.load(Ordering::SeqCst),
        1,
        "only the stalled client was closed"
    );
    assert!(
        stats.conflated.load(Ordering::SeqCst) > 0,
        "its in-progress updates were conflated first"
    );

    // Closing closes: the stalled client's socket was reset at once, not
    // left holding what it never read.
    eventually("the stalled stream is gone from the server", || async {
        server.state.metrics.sse.connections.get() == 1
    })
    .await;

    // The healthy client got every final bar, in order.
    client
        .ingest(ndjson(&finals(&["SPY"], minute, minute + 1)))
        .await
        .unwrap();
    assert_eq!(guard(reader).await.unwrap(), minute + 1);

    // It reads whatever reached it before the reset, then the end.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        match guard(stalled.read(&mut chunk)).await {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let body = text.find("\r\n\r\n").map_or("", |i| &text[i + 4..]);
    let complete = &body[..body.rfind("\n\n").map_or(0, |i| i + 2)];
    let mut last_id = None;
    let mut received = 0;
    for message in complete.split("\n\n").filter(|m| !m.is_empty()) {
        if let Some(id) = message.lines().find_map(|l| l.strip_prefix("id: ")) {
            last_id = Some(id.to_string());
            received += 1;
        }
    }
    assert!(
        received < 40_000,
        "bounded: it got {received} events, not the flood"
    );

    // It comes back with the last id it has (or from seq 1, where it
    // started) and gets everything after, exactly once.
    let last_id = last_id.unwrap_or_else(|| format!("{}:1", server.hub().epoch()));
    let last_seq: u64 = last_id.split(':').nth(1).unwrap().parse().unwrap();
    let resume = Subscribe {
        symbols: vec!["SPY".into()],
        last_event_id: Some(last_id),
        ..Subscribe::default()
    };
    let (hello, mut stream) = open(&client, resume).await;
    assert!(hello.resumed);
    let mut expect = last_seq + 1;
    while expect <= head + 1 {
        let b = next_bar(&mut stream).await;
        assert_eq!(b.seq, expect, "no gap, no duplicate after resume");
        expect += 1;
    }
    assert!(matches!(
        decode("bar", "{}".into()),
        ServerEvent::Other { .. }
    ));
    server.stop().await;
}

/// A server whose queues never overflow, so only the stall timeout can
/// close a client that stops reading.
async fn stall_server() -> TestServer {
    let hub = spotlight_market::Hub::new(HubConfig {
        client_queue: 1_000_000,
        client_queue_bytes: 1 << 30,
        ..HubConfig::default()
    });
    let config = spotlight_server::ServerConfig {
        limits: spotlight_server::Limits {
            stall_timeout: std::time::Duration::from_millis(300),
            ..spotlight_server::Limits::default()
        },
        ..spotlight_server::ServerConfig::default()
    };
    let server = TestServer::start(hub, config).await;
    server
        .client()
        .ingest(ndjson(&finals(&["SPY"], 0, 1)))
        .await
        .unwrap();
    server
}

/// A raw client with a tiny receive buffer that sends `requests` and then
/// never reads again.
async fn never_reading(server: &TestServer, requests: &[u8]) -> tokio::net::TcpStream {
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(requests).await.unwrap();
    tcp
}

/// Floods SPY with final bars until the stream is gone; returns how many
/// bars it took.
async fn flood_until_gone(server: &TestServer) -> i64 {
    let client = server.client();
    let mut minute = 1;
    eventually("the stalled stream is closed", || {
        let client = client.clone();
        let from = minute;
        minute += 2000;
        async move {
            client
                .ingest(ndjson(&finals(&["SPY"], from, from + 2000)))
                .await
                .unwrap();
            server.state.metrics.sse.connections.get() == 0
        }
    })
    .await;
    minute
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_writes_make_no_progress_is_closed_on_either_path() {
    for (path, requests) in [
        (
            "lean",
            &b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"[..],
        ),
        (
            "router",
            &b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"[..],
        ),
    ] {
        let server = stall_server().await;
        let _stalled = never_reading(&server, requests).await;
        eventually("the stream is open", || async {
            server.state.metrics.sse.connections.get() == 1
        })
        .await;
        flood_until_gone(&server).await;
        let text = server.client().get_text("/api/metrics").await.unwrap();
        let stalled: u64 = text
            .lines()
            .filter(|l| l.starts_with("spotlight_stalled_disconnects_total{"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        assert_eq!(stalled, 1, "{path}: {text}");
        assert_eq!(
            server.hub().stats().slow_disconnects.load(Ordering::SeqCst),
            0,
            "{path}: closed for the stall, not for overflow"
        );
        server.stop().await;
    }
}

/// A raw HTTP/1.0 reader of `/realtime/sse?symbols=SPY` that reads all
/// along, reports the newest seq it has on `seen`, and returns every seq
/// it got once `until` has come.
async fn raw_reader(
    addr: std::net::SocketAddr,
    seen: tokio::sync::watch::Sender<u64>,
    until: tokio::sync::watch::Receiver<u64>,
) -> Vec<u64> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /realtime/sse?symbols=SPY HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    let mut seqs = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "a reading client was closed");
        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
        // Whole messages only; the rest waits for the next read.
        let done = text.rfind("\n\n").map_or(0, |i| i + 2);
        for message in text[..done].split("\n\n") {
            if let Some(id) = message.lines().find_map(|l| l.strip_prefix("id: ")) {
                seqs.push(id.rsplit(':').next().unwrap().parse().unwrap());
            }
        }
        text.drain(..done);
        if let Some(last) = seqs.last() {
            seen.send_replace(*last);
        }
        let target = *until.borrow();
        if target > 0 && seqs.last() == Some(&target) {
            return seqs;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stalled_client_beside_200_readers_is_closed_and_they_get_everything() {
    const BARS: i64 = 20_000;
    const STEP: i64 = 60;
    let server = TestServer::empty(HubConfig {
        client_queue: 64,
        ..HubConfig::default()
    })
    .await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 1)))
        .await
        .unwrap();
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /realtime/sse?symbols=SPY HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let (until_tx, until_rx) = tokio::sync::watch::channel(0u64);
    let mut seen = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..200 {
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        seen.push(rx);
        readers.push(tokio::spawn(raw_reader(addr, tx, until_rx.clone())));
    }
    eventually("201 subscribers", || async {
        server.hub().stats().subscribers.load(Ordering::SeqCst) == 201
    })
    .await;
    let start = server.hub().ring_bounds().1;
    // Far more than the stalled client's queue and socket hold, in steps
    // smaller than a queue, each read by all 200 before the next.
    let mut head = start;
    let mut minute = 1;
    while minute <= BARS {
        head = client
            .ingest(ndjson(&finals(&["SPY"], minute, minute + STEP)))
            .await
            .unwrap()
            .head_seq;
        minute += STEP;
        for rx in &mut seen {
            guard(rx.wait_for(|s| *s >= head)).await.unwrap();
        }
    }
    until_tx.send(head).unwrap();
    let expected: Vec<u64> = (start + 1..=head).collect();
    for reader in readers {
        assert_eq!(
            guard(reader).await.unwrap(),
            expected,
            "every event, once, in order"
        );
    }
    let stats = server.hub().stats();
    assert_eq!(
        stats.slow_disconnects.load(Ordering::SeqCst),
        1,
        "the stalled one was closed, and only it"
    );
    drop(stalled);
    server.stop().await;
}
