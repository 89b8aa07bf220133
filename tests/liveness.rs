//! Liveness by progress, on real sockets and real kernels: a peer whose
//! link vanished and a reader that stopped are closed within the stall
//! time plus one heartbeat, whatever the kernel would still buffer, while
//! a slow reader that keeps reading is never closed for it.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use common::netns::Hosts;
use common::*;
use futures::StreamExt;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_server::{Limits, ServerConfig, VoiceConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

const STALL: Duration = Duration::from_secs(2);
const HEARTBEAT: Duration = Duration::from_secs(1);

fn config() -> ServerConfig {
    ServerConfig {
        heartbeat: HEARTBEAT,
        limits: Limits {
            stall_timeout: STALL,
            ..Limits::default()
        },
        voice: VoiceConfig {
            idle: Duration::from_secs(3),
            ..VoiceConfig::default()
        },
        ..ServerConfig::default()
    }
}

/// `spotlight_stalled_disconnects_total{reason=…}` now.
async fn stalled(server: &TestServer, reason: &str) -> u64 {
    let text = server.client().get_text("/api/metrics").await.unwrap();
    series(
        &text,
        &format!("spotlight_stalled_disconnects_total{{reason=\"{reason}\"}}"),
    )
}

fn series(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0)
}

/// Reads `tcp` until the response head is over; the body that came with
/// it is left unread in the buffer.
async fn read_head<S: AsyncRead + Unpin>(tcp: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(guard(tcp.read(&mut byte)).await.unwrap(), 1, "closed early");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

const STREAM_REQUEST: &[u8] = b"GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// A raw stream client with a receive buffer of `rcvbuf` bytes, past the
/// response head.
async fn raw_stream(addr: SocketAddr, rcvbuf: u32) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(rcvbuf).unwrap();
    let mut tcp = socket.connect(addr).await.unwrap();
    tcp.write_all(STREAM_REQUEST).await.unwrap();
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_stops_on_a_trickle_is_closed_and_the_others_get_every_final_bar() {
    // Default pace (an update every 250 ms), a simulated minute every 2 s.
    let server = TestServer::sim_with(&["SPY"], 30.0, 250, config()).await;
    let client = server.client();
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        ..Subscribe::default()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let mut readers = Vec::new();
    for _ in 0..200 {
        let (_, mut stream) = open(&client, sub.clone()).await;
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut finals = Vec::new();
            let mut last_seq = 0;
            loop {
                let ev = tokio::select! {
                    ev = stream.next() => ev,
                    () = stop.cancelled() => return finals,
                };
                match ev.expect("a reader's stream ended").expect("stream error") {
                    ServerEvent::Bar(b) => {
                        assert!(b.seq > last_seq, "seqs rise");
                        last_seq = b.seq;
                        if b.bar.is_final {
                            finals.push(b.bar.t);
                        }
                    }
                    ServerEvent::Ping(_) => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
        }));
    }
    let addr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut silent = raw_stream(addr, 4096).await;
    // It reads nothing more; the kernel keeps taking the trickle until
    // the reader's window is shut, and then the server closes it.
    eventually(
        "the silent reader is closed for reading nothing",
        || async { stalled(&server, "no_read").await == 1 },
    )
    .await;
    let mut rest = Vec::new();
    let end = guard(silent.read_to_end(&mut rest)).await;
    assert!(
        end.is_err() || !rest.is_empty(),
        "the silent reader's connection is over"
    );
    assert_eq!(server.state.metrics.sse.connections.get(), 200);
    // One more closed minute reaches every reader.
    let events_now = server
        .hub()
        .stats()
        .events
        .load(std::sync::atomic::Ordering::SeqCst);
    eventually("another minute closes", || async {
        server
            .hub()
            .stats()
            .events
            .load(std::sync::atomic::Ordering::SeqCst)
            > events_now + 12
    })
    .await;
    stop.cancel();
    for r in readers {
        let finals = guard(r).await.unwrap();
        assert!(!finals.is_empty(), "final bars arrived");
        for pair in finals.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                MIN,
                "every final bar, in order: {finals:?}"
            );
        }
    }
    assert_eq!(stalled(&server, "no_ack").await, 0);
    assert_eq!(stalled(&server, "write_blocked").await, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_that_keeps_reading_is_never_closed_for_stalling() {
    // An update every 10 ms: the stream is faster than the reader. The
    // stall time is the one of the reports (5 s). The reader's buffer is an
    // ordinary fixed one (64 KiB): with 4 KiB, Linux's receive-side window
    // rules can keep a drained reader's window shut for seconds.
    let stall = Duration::from_secs(5);
    let mut config = config();
    config.limits.stall_timeout = stall;
    let server = TestServer::sim_with(&["SPY"], 30.0, 10, config).await;
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = raw_stream(addr, 64 * 1024).await;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut got = 0usize;
    // Three stall times of reading 1 KiB every 200 ms.
    for _ in 0..(3 * stall.as_millis() / 200) {
        tick.tick().await;
        let mut chunk = [0u8; 1024];
        let n = guard(slow.read(&mut chunk)).await.unwrap_or(0);
        if n == 0 {
            let text = server.client().get_text("/api/metrics").await.unwrap();
            let why: Vec<_> = text
                .lines()
                .filter(|l| l.contains("stalled_disconnects") || l.contains("slow_disconnects"))
                .collect();
            panic!("the slow reader's stream was closed after {got} bytes: {why:#?}");
        }
        got += n;
    }
    let text = server.client().get_text("/api/metrics").await.unwrap();
    for reason in ["no_ack", "no_read", "write_blocked"] {
        let name = format!("spotlight_stalled_disconnects_total{{reason=\"{reason}\"}}");
        assert_eq!(series(&text, &name), 0, "{reason}");
    }
    assert!(
        series(&text, "spotlight_sse_conflated_total") > 0,
        "it was conflated, not closed"
    );
    assert_eq!(server.state.metrics.sse.connections.get(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_link_goes_down_is_closed_stream_and_voice_alike() {
    let hosts = Hosts::new();
    let server = TestServer::sim_on(hosts.listen(), &["SPY"], 30.0, 250, config());
    let addr: SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();

    // A stream, read all along until the link goes.
    let mut tcp = hosts.connect(addr);
    tcp.write_all(STREAM_REQUEST).await.unwrap();
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let stream_reader = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n) = tcp.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    });
    // A voice session, answering the server's pings until the link goes.
    let url = format!("ws://{addr}/voice/ws");
    let (mut ws, _) = tokio_tungstenite::client_async(url, hosts.connect(addr))
        .await
        .unwrap();
    let hello = guard(ws.next()).await.unwrap().unwrap();
    assert!(
        matches!(&hello, Message::Text(t) if t.contains("\"hello\"")),
        "{hello:?}"
    );
    let voice_reader = tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    eventually("both are open", || async {
        server.state.metrics.sse.connections.get() == 1
            && server.state.metrics.voice.connections.get() == 1
    })
    .await;

    hosts.cut_client();
    let operator = |path: &'static str| {
        let tcp = hosts.connect_locally(addr);
        async move { http_get(tcp, path).await }
    };
    eventually(
        "the stream is closed: its peer acknowledged nothing",
        || {
            let metrics = operator("/api/metrics");
            async move {
                let text = metrics.await;
                series(
                    &text,
                    "spotlight_stalled_disconnects_total{reason=\"no_ack\"}",
                ) == 1
            }
        },
    )
    .await;
    eventually("the voice session is closed by the idle rule", || {
        let metrics = operator("/api/metrics");
        async move {
            let text = metrics.await;
            series(&text, "spotlight_voice_closes_total{code=\"4408\"}") == 1
        }
    })
    .await;
    assert_eq!(server.state.metrics.sse.connections.get(), 0);
    stream_reader.abort();
    voice_reader.abort();
    server.stop().await;
}

/// A plain HTTP/1.1 GET on `tcp`, the body as text.
async fn http_get(mut tcp: TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: spotlight\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut all = Vec::new();
    guard(tcp.read_to_end(&mut all)).await.unwrap();
    let text = String::from_utf8_lossy(&all).into_owned();
    text.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or(text)
}
