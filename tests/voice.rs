//! The voice WebSocket against a real server with real WebSocket clients:
//! hello, keepalives, idle close, lossless resume across a cut connection,
//! refused resumes, reported loss, echo integrity, tools, in-band errors,
//! backpressure, 1009, auth before the upgrade, and the upstream relay.

use crate::common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use futures::{SinkExt, StreamExt};
use spotlight_client::voice::{self, Incoming, VoiceClient, VoiceError};
use spotlight_market::HubConfig;
use spotlight_server::{AuthConfig, ServerConfig, VoiceConfig};
use spotlight_wire::voice::{close, ClientMessage, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

/// Frame `i` of `len` bytes: its index first.
fn frame(i: u64, len: usize) -> Bytes {
    let mut b = vec![(i % 251) as u8; len];
    b[..8].copy_from_slice(&i.to_be_bytes());
    Bytes::from(b)
}

fn index(b: &[u8]) -> u64 {
    u64::from_be_bytes(b[..8].try_into().unwrap())
}

/// The next message, within the hang guard.
async fn next(client: &mut VoiceClient) -> Incoming {
    guard(client.next()).await.expect("a message")
}

/// Reads until a text message matching `pick`.
async fn next_text<T>(
    client: &mut VoiceClient,
    mut pick: impl FnMut(ServerMessage) -> Option<T>,
) -> T {
    loop {
        if let Incoming::Text(m) = next(client).await {
            if let Some(t) = pick(m) {
                return t;
            }
        }
    }
}

/// Reads binary echoes until `count` have arrived; returns their indices.
async fn echoes(client: &mut VoiceClient, count: usize) -> Vec<u64> {
    let mut out = Vec::new();
    while out.len() < count {
        if let Incoming::Binary(b) = next(client).await {
            out.push(index(&b));
        }
    }
    out
}

#[tokio::test]
async fn hello_keepalive_and_echo_integrity() {
    let server = voice_server(VoiceConfig::default()).await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    let hello = client.hello().clone();
    assert!(!hello.resumed && !hello.resume_token.is_empty());
    assert_eq!(
        (hello.heartbeat_ms, hello.seq, hello.received),
        (5000, 0, 0)
    );

    client
        .send_control(&ClientMessage::Ping { id: None })
        .await
        .unwrap();
    let pong = next_text(&mut client, |m| match m {
        ServerMessage::Pong { seq } => Some(seq),
        _ => None,
    })
    .await;
    assert_eq!(pong, 1, "the first message after hello is seq 1");

    // 200 frames of varied content come back byte for byte, in order.
    let sent: Vec<Bytes> = (0..200u64)
        .map(|i| {
            let mut b = frame(i, 640).to_vec();
            for (j, x) in b.iter_mut().enumerate().skip(8) {
                *x = (i as usize * 7 + j * 13) as u8;
            }
            Bytes::from(b)
        })
        .collect();
    for b in &sent {
        client.send(Message::Binary(b.clone())).await.unwrap();
    }
    for expected in &sent {
        match next(&mut client).await {
            Incoming::Binary(b) => assert_eq!(&b, expected),
            other => panic!("expected an echo, got {other:?}"),
        }
    }
    assert_eq!(client.last(), 201);
    client.close().await;
    let text = server.client().get_text("/api/metrics").await.unwrap();
    assert!(
        text.contains("spotlight_voice_messages_total{dir=\"in\",kind=\"binary\"} 200"),
        "{text}"
    );
    assert!(text.contains("spotlight_voice_sessions_total{outcome=\"new\"} 1"));
    server.stop().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_as_idle() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = voice_server(VoiceConfig {
        heartbeat: Duration::from_millis(50),
        idle: Duration::from_millis(200),
        ..VoiceConfig::default()
    })
    .await;
    // A raw socket: the handshake, then reading without ever answering a
    // ping (a WebSocket library would answer them as it reads).
    let mut tcp = tokio::net::TcpStream::connect(server.url.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(
        b"GET /voice/ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut raw = Vec::new();
    guard(tcp.read_to_end(&mut raw)).await.unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 101"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
    // Server frames are unmasked: a close frame with code 4408 (0x1138).
    let close_4408 = [0x88u8, 0x06, 0x11, 0x38];
    assert!(
        raw.windows(4).any(|w| w == close_4408),
        "no idle close in {:?}",
        String::from_utf8_lossy(&raw)
    );
    let pings = raw.windows(2).filter(|w| *w == [0x89, 0x00]).count();
    assert!(pings >= 1, "pinged before giving up");
    server.stop().await;
}

#[tokio::test]
async fn a_cut_connection_resumes_with_nothing_lost_either_way() {
    let server = voice_server(VoiceConfig::default()).await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    for i in 0..10 {
        client.send(Message::Binary(frame(i, 640))).await.unwrap();
    }
    assert_eq!(echoes(&mut client, 5).await, vec![0, 1, 2, 3, 4]);
    // The network goes away: no close frame. Frames sent meanwhile are kept.
    client.cut();
    for i in 10..15 {
        client.send(Message::Binary(frame(i, 640))).await.unwrap();
    }
    let hello = guard(client.resume()).await.unwrap();
    assert!(hello.resumed, "{hello:?}");
    assert_eq!(
        hello.received, 10,
        "the server got frames 0..10 before the cut"
    );
    assert_eq!(hello.lost, 0);
    assert!(hello.replayed >= 5, "{hello:?}");
    // Echoes 5..10 are replayed by the server, 10..15 come from the re-sent frames.
    assert_eq!(echoes(&mut client, 10).await, (5..15).collect::<Vec<u64>>());
    let text = server.client().get_text("/api/metrics").await.unwrap();
    assert!(
        text.contains("spotlight_voice_sessions_total{outcome=\"resumed\"} 1"),
        "{text}"
    );
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn spent_forged_and_expired_tokens_get_a_new_session() {
    let server = voice_server(VoiceConfig::default()).await;
    let url = voice::voice_url(&server.url);
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    let first = client.hello().resume_token.clone();
    client.cut();
    guard(client.resume()).await.unwrap();
    for (token, why) in [(first.as_str(), "used"), ("not-a-token", "valid")] {
        let mut ws = voice::dial(&url, None, &format!("resume={token}&last=0"))
            .await
            .unwrap();
        let hello = voice::read_hello(&mut ws).await.unwrap();
        assert!(!hello.resumed, "{why}");
        assert!(
            hello.rejected.as_deref().unwrap().contains(why),
            "{hello:?}"
        );
    }
    server.stop().await;

    let no_ttl = voice_server(VoiceConfig {
        resume_ttl: Duration::ZERO,
        ..VoiceConfig::default()
    })
    .await;
    let mut client = VoiceClient::connect(&no_ttl.url, None).await.unwrap();
    client.cut();
    let hello = guard(client.resume()).await.unwrap();
    assert!(!hello.resumed && hello.rejected.is_some(), "{hello:?}");
    no_ttl.stop().await;
}

#[tokio::test]
async fn what_fell_out_of_the_window_is_reported_lost() {
    let server = voice_server(VoiceConfig {
        resume_window_bytes: 2000,
        ..VoiceConfig::default()
    })
    .await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    for i in 0..10 {
        client.send(Message::Binary(frame(i, 640))).await.unwrap();
    }
    // A tool call answered after the frames proves they were all echoed
    // (the server takes a connection's messages in order): wait for it
    // before cutting, unread.
    client
        .send_control(&ClientMessage::Tool {
            id: "after".into(),
            name: "replay_status".into(),
            args: serde_json::json!({}),
        })
        .await
        .unwrap();
    eventually("the tool call after the frames is answered", || async {
        let text = server.client().get_text("/api/metrics").await.unwrap();
        text.contains("spotlight_voice_tool_calls_total{ok=\"true\",tool=\"replay_status\"} 1")
    })
    .await;
    let mut raw = client;
    raw.cut();
    let hello = guard(raw.resume()).await.unwrap();
    assert!(hello.resumed);
    assert!(hello.lost > 0, "{hello:?}");
    assert_eq!(
        hello.seq, hello.lost,
        "counting resumes after what was lost"
    );
    server.stop().await;
}

#[tokio::test]
async fn every_tool_and_in_band_errors_with_their_ref() {
    let server = voice_server(VoiceConfig::default()).await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    let calls = [
        ("q", "get_quote", serde_json::json!({"symbol": "SPY"}), true),
        (
            "b",
            "get_bars",
            serde_json::json!({"symbol": "SPY", "timeframe": "5m", "limit": 2}),
            true,
        ),
        ("r", "replay_status", serde_json::json!({}), true),
        ("u", "launch_rocket", serde_json::json!({}), false),
        (
            "x",
            "get_bars",
            serde_json::json!({"symbol": "SPY", "limit": 0}),
            false,
        ),
        (
            "n",
            "get_quote",
            serde_json::json!({"symbol": "NOPE"}),
            false,
        ),
    ];
    for (id, name, args, want_ok) in calls {
        client
            .send_control(&ClientMessage::Tool {
                id: id.into(),
                name: name.into(),
                args,
            })
            .await
            .unwrap();
        let (ok, result, error) = next_text(&mut client, |m| match m {
            ServerMessage::ToolResult {
                id: got,
                ok,
                result,
                error,
                ..
            } if got == id => Some((ok, result, error)),
            _ => None,
        })
        .await;
        assert_eq!(ok, want_ok, "{name}: {error:?}");
        if name == "get_bars" && ok {
            assert_eq!(
                result.as_ref().unwrap()["bars"].as_array().unwrap().len(),
                2
            );
        }
        if name == "get_quote" && ok {
            assert_eq!(result.as_ref().unwrap()["symbol"], "SPY");
        }
    }
    for (text, code, reference) in [
        ("not json", "not_json", None),
        (r#"{"type":"dance","id":"7"}"#, "unknown_type", Some("7")),
        (r#"{"type":"tool","id":"9"}"#, "bad_message", Some("9")),
    ] {
        client.send(Message::Text(text.into())).await.unwrap();
        let (got_code, got_ref) = next_text(&mut client, |m| match m {
            ServerMessage::Error {
                code, reference, ..
            } => Some((code, reference)),
            _ => None,
        })
        .await;
        assert_eq!(got_code, code, "{text}");
        assert_eq!(got_ref.as_deref(), reference, "{text}");
    }
    // The connection stays.
    client.send(Message::Binary(frame(1, 64))).await.unwrap();
    assert_eq!(echoes(&mut client, 1).await, vec![1]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_drops_audio_never_control() {
    let server = voice_server(VoiceConfig {
        outbound_limit: 16 * 1024,
        ..VoiceConfig::default()
    })
    .await;
    // A client with a tiny receive buffer that sends and does not read.
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(voice::voice_url(&server.url), tcp)
        .await
        .unwrap();
    let payload = Bytes::from(vec![7u8; 16 * 1024]);
    for _ in 0..400 {
        ws.send(Message::Binary(payload.clone())).await.unwrap();
    }
    let tool = serde_json::to_string(&ClientMessage::Tool {
        id: "still-here".into(),
        name: "replay_status".into(),
        args: serde_json::json!({}),
    })
    .unwrap();
    ws.send(Message::Text(tool.into())).await.unwrap();
    eventually("audio is dropped under backpressure", || async {
        let text = server.client().get_text("/api/metrics").await.unwrap();
        text.contains("spotlight_voice_frames_dropped_total{reason=\"backpressure\"}")
    })
    .await;
    // Now read: the tool result arrives, whatever audio was dropped.
    let answered = guard(async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                if t.contains("still-here") {
                    return true;
                }
            }
        }
        false
    })
    .await;
    assert!(answered);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_takes_nothing_is_closed_as_slow() {
    let mut config = ServerConfig {
        voice: VoiceConfig {
            outbound_limit: 16 * 1024,
            ..VoiceConfig::default()
        },
        ..ServerConfig::default()
    };
    config.limits.stall_timeout = Duration::from_millis(500);
    let server = with_config(config).await;
    let addr: std::net::SocketAddr = server.url.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(voice::voice_url(&server.url), tcp)
        .await
        .unwrap();
    // Tool calls, whose answers are control messages and never dropped,
    // more than the kernel's buffers hold: the socket fills, and stays
    // full while the client reads nothing.
    let call = serde_json::to_string(&ClientMessage::Tool {
        id: "bars".into(),
        name: "get_bars".into(),
        args: serde_json::json!({"symbol": "SPY", "timeframe": "1m", "limit": 10}),
    })
    .unwrap();
    let closed = "spotlight_voice_closes_total{code=\"4008\"} 1";
    let stalled = guard(async {
        loop {
            for _ in 0..1000 {
                if ws.feed(Message::Text(call.clone().into())).await.is_err() {
                    break;
                }
            }
            let _ = ws.flush().await;
            let text = server.client().get_text("/api/metrics").await.unwrap();
            if text.contains(closed) {
                return true;
            }
        }
    })
    .await;
    assert!(stalled, "{closed}");
    server.stop().await;
}

#[tokio::test]
async fn a_frame_over_1_mib_closes_with_1009() {
    sending_closes_with_1009(1024 * 1024 + 1).await;
}

/// A frame beyond twice the limit is refused unread by the WebSocket
/// layer; its error is recognised by type and closes with 1009 too.
#[tokio::test]
async fn a_frame_the_websocket_layer_refuses_closes_with_1009() {
    sending_closes_with_1009(3 * 1024 * 1024).await;
}

/// Sends one binary frame of `len` bytes; the server must close 1009.
async fn sending_closes_with_1009(len: usize) {
    let server = voice_server(VoiceConfig::default()).await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    client
        .send(Message::Binary(Bytes::from(vec![0u8; len])))
        .await
        .unwrap();
    let closed = loop {
        match guard(client.next()).await {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(
        matches!(
            closed,
            VoiceError::Closed {
                code: close::TOO_BIG,
                ..
            }
        ),
        "{closed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn with_a_pin_the_upgrade_needs_a_session() {
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig::default()),
        ServerConfig {
            auth: AuthConfig {
                pin: Some("4321".into()),
                ..AuthConfig::default()
            },
            ..ServerConfig::default()
        },
    )
    .await;
    let refused = VoiceClient::connect(&server.url, None).await.unwrap_err();
    assert!(
        matches!(refused, VoiceError::Refused { status: 401, .. }),
        "{refused:?}"
    );
    let mut http = server.client();
    let token = http.login("4321").await.unwrap().token;
    let client = VoiceClient::connect(&server.url, Some(token))
        .await
        .unwrap();
    assert!(!client.hello().session.is_empty());
    // A foreign page cannot open it either.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            voice::voice_url(&server.url),
        )
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    let err = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    server.stop().await;
}

/// A WebSocket echo server standing in for a speech service; aborting it
/// ends its connections too.
async fn echo_upstream(listener: tokio::net::TcpListener) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((tcp, _)) = listener.accept().await {
        connections.spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            while let Some(Ok(m)) = ws.next().await {
                if m.is_binary() && ws.send(m).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[tokio::test]
async fn audio_is_relayed_upstream_and_the_client_hears_when_it_goes_and_comes_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    let upstream = tokio::spawn(echo_upstream(listener));
    let server = voice_server(VoiceConfig {
        upstream: Some(format!("ws://{upstream_addr}")),
        ..VoiceConfig::default()
    })
    .await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    // Relayed there and back: a frame sent before the relay is connected
    // waits for it.
    client.send(Message::Binary(frame(0, 320))).await.unwrap();
    assert_eq!(echoes(&mut client, 1).await, vec![0]);
    let i = 1;
    // The upstream goes away: the client is told.
    upstream.abort();
    let _ = upstream.await;
    // Its connections died with it; a frame sent now finds the relay broken.
    client.send(Message::Binary(frame(i, 320))).await.unwrap();
    let down = next_text(&mut client, |m| match m {
        ServerMessage::Upstream { state, .. } => Some(state),
        _ => None,
    })
    .await;
    assert_eq!(down, "down");
    // It comes back on the same address: the relay reconnects and says so.
    let listener = tokio::net::TcpListener::bind(upstream_addr).await.unwrap();
    let _upstream = tokio::spawn(echo_upstream(listener));
    let up = next_text(&mut client, |m| match m {
        ServerMessage::Upstream { state, .. } => Some(state),
        _ => None,
    })
    .await;
    assert_eq!(up, "up");
    server.stop().await;
}

#[tokio::test]
async fn a_failing_voice_upstream_opens_the_shared_circuit_and_a_probe_closes_it() {
    use spotlight_provider::breaker::{Breaker, CircuitState};
    use spotlight_provider::health::UpstreamHealth;
    let addr = common::process::free_port();
    let breaker = std::sync::Arc::new(Breaker::new(2, Duration::from_secs(5)));
    let health = UpstreamHealth::new("voice", Some(breaker.clone()));
    let server = voice_server(VoiceConfig {
        upstream: Some(format!("ws://127.0.0.1:{addr}")),
        upstream_health: Some(health.clone()),
        ..VoiceConfig::default()
    })
    .await;
    let mut client = VoiceClient::connect(&server.url, None).await.unwrap();
    let state = |m| match m {
        ServerMessage::Upstream { state, .. } => Some(state),
        _ => None,
    };
    assert_eq!(next_text(&mut client, state).await, "down");
    // Two failed dials open it; while open the relay does not dial.
    eventually("the circuit to open", || async {
        breaker.state() == CircuitState::Open
    })
    .await;
    eventually("a dial refused by the open circuit", || async {
        health.errors().contains_key("circuit_open")
    })
    .await;
    assert_eq!(health.errors()["connect"], 2, "{:?}", health.errors());
    assert_eq!(health.diag().circuit.as_deref(), Some("open"));
    // The upstream comes back: after the cool-down one probe connects.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", addr))
        .await
        .unwrap();
    let _upstream = tokio::spawn(echo_upstream(listener));
    assert_eq!(next_text(&mut client, state).await, "up");
    assert_eq!(breaker.state(), CircuitState::Closed);
    assert!(health.is_up());
    server.stop().await;
}
