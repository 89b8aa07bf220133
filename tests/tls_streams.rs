//! Streams over HTTP/1.1 on TLS, on the lean path (the hub encrypting
//! events straight into each waiting stream's TLS session) and through
//! the router: every bar in order through a flood the socket cannot take
//! at once, and the resume after it; a reader that stops is cut for its
//! stall or its overflow while a reading one goes on; a client that hangs
//! up is let go at once; a shutdown ends the stream with `close_notify`.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use spotlight_market::{Hub, HubConfig};
use spotlight_server::tls::Tls;
use spotlight_server::{Limits, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::common::*;
use crate::tls::{metrics_text, seq, Certs};

const STREAM: &str = "GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: localhost\r\n\r\n";

/// A server speaking TLS with `hub` and `limits`, its CA and its
/// `https://` URL.
struct Secure {
    certs: Certs,
    server: TestServer,
    url: String,
    client: reqwest::Client,
}

impl Secure {
    async fn start(hub: HubConfig, limits: Limits) -> Secure {
        let certs = Certs::new();
        let (cert, key) = certs.issue("spotlight tls streams");
        let config = ServerConfig {
            tls: Some(Arc::new(Tls::load(&cert, &key).unwrap())),
            limits,
            // No ping to carry bytes a stream left unsent: every byte is
            // sent because it is due, not because the stream wrote again.
            heartbeat: Duration::from_secs(3600),
            ..ServerConfig::default()
        };
        let server = TestServer::start(Hub::new(hub), config).await;
        let url = server.url.replace("http://", "https://");
        let client = certs.client(true);
        let secure = Secure {
            certs,
            server,
            url,
            client,
        };
        secure.ingest(0, 1).await;
        secure
    }

    fn addr(&self) -> SocketAddr {
        self.url.trim_start_matches("https://").parse().unwrap()
    }

    /// Publishes final SPY bars for minutes `from..to` over HTTPS.
    async fn ingest(&self, from: i64, to: i64) {
        let request = self
            .client
            .post(format!("{}/api/ingest", self.url))
            .header("content-type", "application/x-ndjson")
            .body(ndjson(&finals(&["SPY"], from, to)));
        let response = guard(request.send()).await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// A raw TLS connection offering only HTTP/1.1, with `rcvbuf` bytes
    /// of receive buffer, that has sent `requests`.
    async fn raw(&self, rcvbuf: u32, requests: &str) -> TlsStream<TcpStream> {
        let config = self.certs.rustls_client(b"http/1.1");
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(rcvbuf).unwrap();
        let tcp = socket.connect(self.addr()).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let connector = TlsConnector::from(config);
        let mut tls = guard(connector.connect(name, tcp)).await.unwrap();
        tls.write_all(requests.as_bytes()).await.unwrap();
        tls.flush().await.unwrap();
        tls
    }

    fn streams(&self) -> i64 {
        self.server.state.metrics.sse.connections.get()
    }

    /// Publishes bars until no stream is left; the stall and overflow
    /// disconnects it took.
    async fn flood_until_gone(&self) -> (u64, u64) {
        let mut minute = 1;
        eventually("the stopped stream is closed", || {
            let from = minute;
            minute += 2000;
            async move {
                self.ingest(from, from + 2000).await;
                self.streams() == 0
            }
        })
        .await;
        let text = metrics_text(&self.client, &self.url).await;
        let stalled = text
            .lines()
            .filter(|l| l.starts_with("spotlight_stalled_disconnects_total{"))
            .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        let slow = self
            .server
            .hub()
            .stats()
            .slow_disconnects
            .load(Ordering::SeqCst);
        (stalled, slow)
    }
}

/// Queues no flood can fill.
fn unbounded() -> HubConfig {
    HubConfig {
        client_queue: 1_000_000,
        client_queue_bytes: 1 << 30,
        ..HubConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_stream_gets_every_bar_in_order_through_a_flood_and_resumes_after_it() {
    // A send buffer of a few KiB: the hub's encrypted writes keep finding
    // the socket full, and the stream's writer finishes them.
    let limits = Limits {
        stream_sndbuf: 4096,
        ..Limits::default()
    };
    let secure = Secure::start(unbounded(), limits).await;
    // A connection of its own (a stream as a connection's first request
    // takes the lean path).
    let response = secure
        .certs
        .client(true)
        .get(format!("{}/realtime/sse?symbols=SPY", secure.url))
        .send();
    let response = guard(response).await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let mut events = Box::pin(response.bytes_stream().eventsource());
    eventually("the stream is open", || async { secure.streams() == 1 }).await;
    // Each batch read to its end before the next: its last bytes are sent
    // because they are due, with no later event to push them out.
    const BATCH: usize = 300;
    let mut got = Vec::new();
    for from in (1..).step_by(BATCH).take(20) {
        secure.ingest(from, from + BATCH as i64).await;
        got.extend(bars(&mut events, BATCH).await);
    }
    drop(events);
    let seqs: Vec<u64> = got.iter().map(|(id, _)| seq(id)).collect();
    let want: Vec<u64> = (seqs[0]..).take(got.len()).collect();
    assert_eq!(seqs, want, "every bar once, in order");
    // The resume from the middle of the flood, over TLS again.
    let middle = &got[got.len() / 2].0;
    let resumed = secure
        .certs
        .client(true)
        .get(format!("{}/realtime/sse?symbols=SPY", secure.url))
        .header("Last-Event-ID", middle)
        .send()
        .await
        .unwrap();
    let mut resumed = Box::pin(resumed.bytes_stream().eventsource());
    let after: Vec<u64> = bars(&mut resumed, 100)
        .await
        .iter()
        .map(|(id, _)| seq(id))
        .collect();
    assert_eq!(
        after,
        (seq(middle) + 1..=seq(middle) + 100).collect::<Vec<_>>()
    );
    drop(resumed);
    assert_eq!(
        secure
            .server
            .hub()
            .stats()
            .slow_disconnects
            .load(Ordering::SeqCst),
        0
    );
    secure.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_reader_that_stops_is_cut_for_its_stall_or_its_overflow_on_either_path() {
    let lean = STREAM.to_string();
    let routed = format!("GET /api/healthz HTTP/1.1\r\nHost: localhost\r\n\r\n{STREAM}");
    for (path, requests) in [("lean", &lean), ("router", &routed)] {
        // Queues that never fill: only the stall can close the reader.
        let stall = Limits {
            stall_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let secure = Secure::start(unbounded(), stall).await;
        let _stopped = secure.raw(4096, requests).await;
        eventually("the stream is open", || async { secure.streams() == 1 }).await;
        assert_eq!(secure.flood_until_gone().await, (1, 0), "{path}: stalled");
        secure.server.stop().await;
        // Small queues and a long stall time: the overflow closes it.
        let small = HubConfig {
            client_queue: 256,
            ..HubConfig::default()
        };
        let secure = Secure::start(small, Limits::default()).await;
        let _stopped = secure.raw(4096, requests).await;
        eventually("the stream is open", || async { secure.streams() == 1 }).await;
        assert_eq!(
            secure.flood_until_gone().await,
            (0, 1),
            "{path}: overflowed"
        );
        secure.server.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_stream_is_let_go_when_its_client_hangs_up_and_ends_with_close_notify() {
    let secure = Secure::start(unbounded(), Limits::default()).await;
    for hang_up in ["close_notify", "fin"] {
        let mut tls = secure.raw(64 * 1024, STREAM).await;
        let mut head = [0u8; 12];
        guard(tls.read_exact(&mut head)).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        eventually("the stream is open", || async { secure.streams() == 1 }).await;
        if hang_up == "close_notify" {
            tls.shutdown().await.unwrap();
        } else {
            drop(tls);
        }
        eventually(&format!("the stream let go after {hang_up}"), || async {
            secure.streams() == 0
        })
        .await;
    }
    let mut tls = secure.raw(64 * 1024, STREAM).await;
    eventually("the stream is open", || async { secure.streams() == 1 }).await;
    let stopping = tokio::spawn(secure.server.stop());
    // To its end: an end without close_notify is an error here.
    let mut body = Vec::new();
    guard(tls.read_to_end(&mut body)).await.unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("event: shutdown"), "{body}");
    stopping.await.unwrap();
}
