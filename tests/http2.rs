//! HTTP/2 stream by stream, with a raw client (the `h2` crate over
//! rustls) that reads some streams of one connection and starves
//! another of flow-control window: the starved stream is reset
//! (`RST_STREAM`) — for the stall time without window, or for its queue
//! overflowing — while the others on the connection get every event
//! after it; a connection with no stream is closed after the header
//! timeout while one holding a stream is not.

use axum::http::Request;
use bytes::Bytes;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::common::*;
use crate::tls::{metrics_text, seq, started, Certs};

/// The streams these tests open: the simulated SPY and the QQQ bars the
/// tests push (the first push makes QQQ known).
const PATH: &str = "/realtime/sse?symbols=SPY,QQQ";

/// A raw HTTP/2 connection over TLS.
struct Conn {
    send: h2::client::SendRequest<Bytes>,
    authority: String,
    /// Drives the connection; ends when it is closed.
    driver: tokio::task::JoinHandle<Result<(), h2::Error>>,
}

impl Conn {
    /// Opens a connection to `url` trusting `certs`' CA, offering only
    /// `h2`, with `window` bytes of window per stream.
    async fn open(certs: &Certs, url: &str, window: u32) -> Conn {
        let config = certs.rustls_client(b"h2");
        let authority = url.trim_start_matches("https://").to_string();
        let tcp = TcpStream::connect(&authority).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = TlsConnector::from(config).connect(name, tcp).await.unwrap();
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(window)
            .initial_connection_window_size(4 << 20)
            .handshake::<_, Bytes>(tls)
            .await
            .unwrap();
        Conn {
            send,
            authority,
            driver: tokio::spawn(connection),
        }
    }

    /// `GET path` on a new stream of the connection: its body.
    async fn get(&mut self, path: &str) -> h2::RecvStream {
        let request = Request::get(format!("https://{}{path}", self.authority))
            .body(())
            .unwrap();
        let mut send = guard(self.send.clone().ready()).await.unwrap();
        let (response, _) = send.send_request(request, true).unwrap();
        let response = guard(response).await.unwrap();
        assert_eq!(response.status(), 200);
        response.into_body()
    }
}

/// A stream read as it comes by a task of its own, each chunk's window
/// given back: the sequence number of the newest bar read.
fn read(body: h2::RecvStream) -> tokio::sync::watch::Receiver<u64> {
    let chunks = futures::stream::unfold(body, |mut body| async move {
        let data = body.data().await?.ok()?;
        let _ = body.flow_control().release_capacity(data.len());
        Some((Ok::<_, std::io::Error>(data), body))
    });
    let mut events = Box::pin(chunks.eventsource());
    let (newest, seen) = tokio::sync::watch::channel(0);
    tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if event.event == "bar" && newest.send(seq(&event.id)).is_err() {
                return;
            }
        }
    });
    seen
}

/// Reads a stream without ever giving window back, until it ends: the
/// reason it was reset with (`None`: it ended without a reset).
async fn starve(mut body: h2::RecvStream) -> Option<h2::Reason> {
    while let Some(data) = body.data().await {
        if let Err(e) = data {
            return e.reason();
        }
    }
    None
}

/// Waits until a reader has read the bar numbered `head`.
async fn read_through(reader: &mut tokio::sync::watch::Receiver<u64>, head: u64) {
    let read = guard(reader.wait_for(|&newest| newest >= head)).await;
    read.expect("the stream ended before the bar numbered head");
}

/// Pushes QQQ final bars for minutes `from..to`: the head sequence after.
async fn push(client: &reqwest::Client, url: &str, from: i64, to: i64) -> u64 {
    let response = client
        .post(format!("{url}/api/ingest"))
        .header("content-type", "application/x-ndjson")
        .body(ndjson(&finals(&["QQQ"], from, to)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["headSeq"].as_u64().unwrap()
}

/// A metric's value in an exposition.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[tokio::test]
async fn a_stream_given_no_window_is_reset_and_the_others_on_its_connection_go_on() {
    let (certs, server) = started(&["--stall-timeout", "1s"]).await;
    let client = certs.client(false);
    push(&client, &server.url, 0, 1).await;
    let mut conn = Conn::open(&certs, &server.url, 8 * 1024).await;
    let mut readers = [read(conn.get(PATH).await), read(conn.get(PATH).await)];
    let starved = tokio::spawn(starve(conn.get(PATH).await));
    // More than the starved stream's window, at once.
    let head = push(&client, &server.url, 1, 200).await;
    assert_eq!(guard(starved).await.unwrap(), Some(h2::Reason::CANCEL));
    let after = push(&client, &server.url, 200, 203).await;
    assert!(after > head);
    for reader in &mut readers {
        read_through(reader, after).await;
    }
    let metrics = metrics_text(&client, &server.url).await;
    let stalled = r#"spotlight_stalled_disconnects_total{reason="no_window"}"#;
    assert_eq!(metric(&metrics, stalled), 1.0);
    assert_eq!(metric(&metrics, "spotlight_sse_connections"), 2.0);
    assert!(!conn.driver.is_finished(), "the connection goes on");
    server.stop("-TERM").await;
}

#[tokio::test]
async fn a_stream_whose_queue_overflows_is_reset_and_the_others_on_its_connection_go_on() {
    let (certs, server) = started(&["--client-queue", "16", "--rate-limit", "100000"]).await;
    let client = certs.client(false);
    push(&client, &server.url, 0, 1).await;
    let mut conn = Conn::open(&certs, &server.url, 8 * 1024).await;
    let mut readers = [read(conn.get(PATH).await), read(conn.get(PATH).await)];
    let starved = tokio::spawn(starve(conn.get(PATH).await));
    // Batches the readers' queues hold, read through before the next:
    // only the starved stream's queue fills.
    let mut minute = 1;
    while !starved.is_finished() {
        let head = push(&client, &server.url, minute, minute + 8).await;
        minute += 8;
        for reader in &mut readers {
            read_through(reader, head).await;
        }
    }
    assert_eq!(starved.await.unwrap(), Some(h2::Reason::CANCEL));
    let after = push(&client, &server.url, minute, minute + 3).await;
    for reader in &mut readers {
        read_through(reader, after).await;
    }
    let metrics = metrics_text(&client, &server.url).await;
    assert_eq!(
        metric(&metrics, "spotlight_sse_slow_disconnects_total"),
        1.0
    );
    assert_eq!(metric(&metrics, "spotlight_sse_connections"), 2.0);
    assert!(!conn.driver.is_finished(), "the connection goes on");
    server.stop("-TERM").await;
}

#[tokio::test]
async fn an_http2_connection_without_streams_is_closed_after_the_header_timeout() {
    let (certs, server) = started(&["--header-timeout", "1s"]).await;
    let client = certs.client(false);
    push(&client, &server.url, 0, 1).await;
    let mut streaming = Conn::open(&certs, &server.url, 64 * 1024).await;
    let mut reader = read(streaming.get(PATH).await);
    let mut idle = Conn::open(&certs, &server.url, 64 * 1024).await;
    drop(idle.get("/api/healthz").await);
    // The idle connection ends (GOAWAY, then closed by the server) ...
    let _ended = guard(&mut idle.driver).await.unwrap();
    // ... while the one holding a stream goes on.
    let head = push(&client, &server.url, 1, 4).await;
    read_through(&mut reader, head).await;
    assert!(!streaming.driver.is_finished());
    server.stop("-TERM").await;
}
