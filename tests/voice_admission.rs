//! Admission control for voice sessions and SSE streams, against a real
//! server with real WebSocket and HTTP clients: seats, the fair queue with
//! its positions, a resume that jumps the queue, queue overflow, draining,
//! the SSE cap — and `/api/admission`, diag and the metrics agreeing with
//! what the clients saw.

use crate::common;

use common::*;
use futures::StreamExt;
use spotlight_client::sse::Subscribe;
use spotlight_client::voice::{self, VoiceClient, Ws};
use spotlight_market::{Hub, HubConfig};
use spotlight_server::{Limits, ServerConfig};
use spotlight_wire::voice::{close, ServerMessage};
use spotlight_wire::AdmissionStatus;
use tokio_tungstenite::tungstenite::Message;

async fn server(limits: Limits) -> TestServer {
    TestServer::start(
        Hub::new(HubConfig::default()),
        ServerConfig {
            limits,
            ..ServerConfig::default()
        },
    )
    .await
}

fn voice_limits(seats: usize, queue: usize) -> Limits {
    Limits {
        voice_max_sessions: seats,
        voice_queue_max: queue,
        ..Limits::default()
    }
}

/// A raw WebSocket to the voice path (no hello read yet).
async fn dial(server: &TestServer) -> Ws {
    voice::dial(&voice::voice_url(&server.url), None, "")
        .await
        .unwrap()
}

/// The next control message, skipping pings; panics on a close.
async fn message(ws: &mut Ws) -> ServerMessage {
    loop {
        match guard(ws.next()).await {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
            Some(Ok(Message::Close(frame))) => panic!("closed: {frame:?}"),
            Some(Ok(_)) => continue,
            other => panic!("connection ended: {other:?}"),
        }
    }
}

/// The queue position a `queued` message gives.
async fn position(ws: &mut Ws) -> u64 {
    match message(ws).await {
        ServerMessage::Queued { position, eta_ms } => {
            assert!(eta_ms > 0, "an ETA for position {position}");
            position
        }
        other => panic!("expected queued, got {other:?}"),
    }
}

async fn hello(ws: &mut Ws) {
    match message(ws).await {
        ServerMessage::Hello { resumed, .. } => assert!(!resumed),
        other => panic!("expected hello, got {other:?}"),
    }
}

/// The close code that ends the connection (after any messages).
async fn close_code(ws: &mut Ws) -> u16 {
    loop {
        match guard(ws.next()).await {
            Some(Ok(Message::Close(frame))) => return frame.map_or(1005, |f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            other => panic!("ended without a close frame: {other:?}"),
        }
    }
}

async fn admission(server: &TestServer) -> AdmissionStatus {
    server.client().get_json("/api/admission").await.unwrap()
}

/// A sample's value in the text exposition (`name{labels}` as written).
async fn metric(server: &TestServer, sample: &str) -> f64 {
    let text = server.client().get_text("/api/metrics").await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {sample} in:\n{text}"))
        .parse()
        .unwrap()
}

fn positions(status: &AdmissionStatus) -> Vec<u64> {
    status.voice.queue.iter().map(|q| q.position).collect()
}

#[tokio::test]
async fn beyond_capacity_clients_queue_in_order_and_move_up() {
    let server = server(voice_limits(2, 10)).await;
    let a = VoiceClient::connect(&server.url, None).await.unwrap();
    let b = VoiceClient::connect(&server.url, None).await.unwrap();
    let mut c = dial(&server).await;
    assert_eq!(position(&mut c).await, 1);
    let mut d = dial(&server).await;
    assert_eq!(position(&mut d).await, 2);
    let mut e = dial(&server).await;
    assert_eq!(position(&mut e).await, 3);

    // What the operator sees is what the clients were told.
    let status = admission(&server).await;
    assert_eq!((status.voice.capacity, status.voice.in_use), (2, 2));
    assert_eq!(positions(&status), [1, 2, 3]);
    assert_eq!(status.voice.utilization, 1.0);
    assert_eq!(
        (
            status.voice.admitted,
            status.voice.queued,
            status.voice.rejected
        ),
        (2, 3, 0)
    );
    // Diag shows the same (all but the time waited, which moves on).
    let diag = server.client().diag().await.unwrap().admission.voice;
    let places = |k: &spotlight_wire::KindAdmission| -> Vec<(u64, u64)> {
        k.queue.iter().map(|q| (q.position, q.eta_ms)).collect()
    };
    assert_eq!(places(&diag), places(&status.voice));
    assert_eq!(
        (diag.capacity, diag.in_use, diag.admitted, diag.queued),
        (2, 2, 2, 3)
    );
    let queue = r#"spotlight_admission_queue_size{kind="voice"}"#;
    assert_eq!(metric(&server, queue).await, 3.0);
    assert_eq!(
        metric(&server, r#"spotlight_capacity{kind="voice"}"#).await,
        2.0
    );
    assert_eq!(
        metric(&server, r#"spotlight_utilization_ratio{kind="voice"}"#).await,
        1.0
    );
    let queued = r#"spotlight_admission_requests_total{kind="voice",outcome="queued"}"#;
    assert_eq!(metric(&server, queued).await, 3.0);

    // A queued client leaving moves the ones behind it up.
    d.close(None).await.unwrap();
    assert_eq!(position(&mut e).await, 2);
    eventually("the queue to shrink", || async {
        positions(&admission(&server).await) == [1, 2]
    })
    .await;

    // A session ending seats the head of the queue; the rest move up.
    a.close().await;
    hello(&mut c).await;
    assert_eq!(position(&mut e).await, 1);
    b.close().await;
    hello(&mut e).await;

    let status = admission(&server).await;
    assert_eq!((status.voice.in_use, status.voice.queue.len()), (2, 0));
    assert_eq!(metric(&server, queue).await, 0.0);
    let waits = r#"spotlight_admission_wait_seconds_count{kind="voice"}"#;
    assert_eq!(metric(&server, waits).await, 3.0, "c, d and e waited");
    assert!(
        status.voice.mean_session_ms.is_some(),
        "two sessions measured"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_resuming_session_keeps_its_seat_and_jumps_the_queue() {
    let server = server(voice_limits(1, 10)).await;
    let mut a = VoiceClient::connect(&server.url, None).await.unwrap();
    let mut b = dial(&server).await;
    assert_eq!(position(&mut b).await, 1);

    // The drop is noticed, the seat stays held for the resume.
    a.cut();
    eventually("the server to notice the drop", || async {
        server.client().diag().await.unwrap().voice.resumable == 1
    })
    .await;
    let status = admission(&server).await;
    assert_eq!((status.voice.in_use, positions(&status)), (1, vec![1]));

    let hello = a.resume().await.unwrap();
    assert!(hello.resumed, "admitted ahead of the queue: {hello:?}");
    let status = admission(&server).await;
    assert_eq!((status.voice.in_use, positions(&status)), (1, vec![1]));

    a.close().await;
    self::hello(&mut b).await;
    server.stop().await;
}

#[tokio::test]
async fn a_full_queue_refuses_with_at_capacity_and_1013() {
    let server = server(voice_limits(1, 1)).await;
    let _a = VoiceClient::connect(&server.url, None).await.unwrap();
    let mut b = dial(&server).await;
    assert_eq!(position(&mut b).await, 1);
    let mut c = dial(&server).await;
    match message(&mut c).await {
        ServerMessage::Error { code, retry_ms, .. } => {
            assert_eq!(code, "at_capacity");
            assert!(retry_ms.is_some_and(|ms| ms > 0), "{retry_ms:?}");
        }
        other => panic!("expected at_capacity, got {other:?}"),
    }
    assert_eq!(close_code(&mut c).await, close::TRY_AGAIN);
    let status = admission(&server).await;
    assert_eq!(status.voice.rejected, 1);
    let rejected = r#"spotlight_admission_requests_total{kind="voice",outcome="rejected"}"#;
    assert_eq!(metric(&server, rejected).await, 1.0);
    // The client library reads the refusal as a close to try again after.
    match VoiceClient::connect(&server.url, None).await {
        Err(voice::VoiceError::Closed { code, .. }) => assert_eq!(code, close::TRY_AGAIN),
        other => panic!("expected close 1013, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}

#[tokio::test]
async fn draining_dismisses_the_queue_and_keeps_the_sessions() {
    let server = server(voice_limits(1, 10)).await;
    let mut a = VoiceClient::connect(&server.url, None).await.unwrap();
    let mut b = dial(&server).await;
    assert_eq!(position(&mut b).await, 1);

    server.client().drain_set(true).await.unwrap();
    match message(&mut b).await {
        ServerMessage::Draining { retry_ms } => assert!(retry_ms >= 1000),
        other => panic!("expected draining, got {other:?}"),
    }
    assert_eq!(close_code(&mut b).await, close::TRY_AGAIN);
    let status = admission(&server).await;
    assert!(status.draining);
    assert_eq!((status.voice.in_use, status.voice.queue.len()), (1, 0));

    // The seated session goes on.
    a.send_control(&spotlight_wire::voice::ClientMessage::Ping { id: None })
        .await
        .unwrap();
    loop {
        if let voice::Incoming::Text(ServerMessage::Pong { .. }) = guard(a.next()).await.unwrap() {
            break;
        }
    }
    // New sessions are refused before the upgrade while draining…
    match VoiceClient::connect(&server.url, None).await {
        Err(voice::VoiceError::Refused { status, .. }) => assert_eq!(status, 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    // A resume is let in, but one that is refused starts nothing new.
    let mut forged = voice::dial(&voice::voice_url(&server.url), None, "resume=abcd&last=0")
        .await
        .unwrap();
    match message(&mut forged).await {
        ServerMessage::Error { code, .. } => assert_eq!(code, "resume_rejected"),
        other => panic!("expected resume_rejected, got {other:?}"),
    }
    assert!(matches!(
        message(&mut forged).await,
        ServerMessage::Draining { .. }
    ));
    assert_eq!(close_code(&mut forged).await, close::TRY_AGAIN);
    assert_eq!(admission(&server).await.voice.in_use, 1);
    // …and queue again once it is off.
    server.client().drain_set(false).await.unwrap();
    let mut c = dial(&server).await;
    assert_eq!(position(&mut c).await, 1);
    server.stop().await;
}

#[tokio::test]
async fn the_sse_cap_answers_503_with_retry_after_and_rate_limit_headers() {
    let server = server(Limits {
        sse_max_clients: 1,
        ..Limits::default()
    })
    .await;
    let client = server.client();
    let (_hello, _stream) = open(&client, Subscribe::default()).await;
    let answers = raw_exchange(&server.url, &[raw_get("/realtime/sse", &[])]).await;
    let refused = &answers[0];
    assert_eq!(refused.status, 503, "{}", refused.text());
    let body: serde_json::Value = serde_json::from_slice(&refused.body).unwrap();
    assert_eq!(body["error"]["code"], "at_capacity", "{body}");
    assert!(refused.header("retry-after").is_some(), "{refused:?}");
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(refused.header(name).is_some(), "{name}: {refused:?}");
    }
    let status = admission(&server).await;
    assert_eq!(
        (status.sse.capacity, status.sse.in_use, status.sse.rejected),
        (1, 1, 1)
    );
    assert_eq!(
        metric(&server, r#"spotlight_utilization_ratio{kind="sse"}"#).await,
        1.0
    );
    let rejected = r#"spotlight_admission_requests_total{kind="sse",outcome="rejected"}"#;
    assert_eq!(metric(&server, rejected).await, 1.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_queue_tells_every_waiter_its_new_place_each_round() {
    let server = server(voice_limits(2, 50)).await;
    let (code, out, err) = spotlight(
        &[
            "--url",
            &server.url,
            "--json",
            "bench",
            "queue",
            "--waiting",
            "20",
            "--rounds",
            "3",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["seats"], 2, "{report:#}");
    assert_eq!(report["queued"], 20, "{report:#}");
    assert_eq!(report["missing"], 0, "{report:#}");
    assert_eq!(
        report["allToldMs"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    // It closed what it opened on purpose: the seats are free again.
    eventually("the bench's sessions to end", || async {
        let s = admission(&server).await;
        s.voice.in_use == 0 && s.voice.queue.is_empty()
    })
    .await;
    let status = admission(&server).await;
    assert_eq!(
        (status.voice.admitted, status.voice.queued),
        (2, 20),
        "{status:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn bench_queue_needs_a_voice_capacity() {
    let server = server(Limits::default()).await;
    let (code, _out, err) = spotlight(
        &["--url", &server.url, "bench", "queue", "--waiting", "5"],
        &[],
    )
    .await;
    assert_ne!(code, 0);
    assert!(err.contains("--voice-max-sessions"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    server.stop().await;
}
