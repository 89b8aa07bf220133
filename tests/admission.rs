//! One admission pipeline for every way in: the same stream request gets the
//! same answer whether it is a connection's first request (the lean socket
//! path) or the second request of a keep-alive connection (hyper and the
//! router). Raw TCP, so the bytes are what a client really sees.

use crate::common;

use common::*;
use spotlight_market::HubConfig;
use spotlight_server::{AuthConfig, Limits, ServerConfig};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
const STREAM: &str = "/realtime/sse?symbols=SPY";

/// Headers whose values must agree between the two paths.
const COMPARED: [&str; 7] = [
    "content-type",
    "cache-control",
    "x-accel-buffering",
    "retry-after",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
];

struct Case {
    name: &'static str,
    config: ServerConfig,
    request: String,
    status: u16,
    code: Option<&'static str>,
}

fn cases() -> Vec<Case> {
    let open = ServerConfig::default;
    let with_pin = || ServerConfig {
        auth: AuthConfig {
            pin: Some("4321".into()),
            secret: Some(SECRET.into()),
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    };
    vec![
        Case {
            name: "good",
            config: open(),
            request: raw_get(STREAM, &[]),
            status: 200,
            code: None,
        },
        Case {
            name: "bad parameter",
            config: open(),
            request: raw_get("/realtime/sse?symbols=SPY&timeframe=7m", &[]),
            status: 400,
            code: Some("bad_request"),
        },
        Case {
            name: "bad symbol",
            config: open(),
            request: raw_get("/realtime/sse?symbols=%3Cscript%3E", &[]),
            status: 400,
            code: Some("bad_request"),
        },
        Case {
            name: "no auth",
            config: with_pin(),
            request: raw_get(STREAM, &[]),
            status: 401,
            code: Some("unauthorized"),
        },
        Case {
            name: "wrong token",
            config: with_pin(),
            request: raw_get(STREAM, &[("Authorization", "Bearer forged.token")]),
            status: 401,
            code: Some("unauthorized"),
        },
        Case {
            name: "rate-limited",
            config: ServerConfig {
                auth: AuthConfig {
                    requests_per_minute: 1,
                    ..AuthConfig::default()
                },
                ..ServerConfig::default()
            },
            request: raw_get(STREAM, &[]),
            status: 429,
            code: Some("rate_limited"),
        },
        Case {
            name: "over capacity",
            config: ServerConfig {
                limits: Limits {
                    max_streams_per_addr: 1,
                    ..Limits::default()
                },
                ..ServerConfig::default()
            },
            request: raw_get(STREAM, &[]),
            status: 503,
            code: Some("at_capacity"),
        },
        Case {
            name: "foreign Host",
            config: open(),
            request: STREAM_HEAD_FOREIGN_HOST.to_string(),
            status: 403,
            code: Some("forbidden_host"),
        },
        Case {
            name: "foreign Origin",
            config: open(),
            request: raw_get(STREAM, &[("Origin", "https://evil.example")]),
            status: 403,
            code: Some("forbidden_origin"),
        },
    ]
}

const STREAM_HEAD_FOREIGN_HOST: &str =
    "GET /realtime/sse?symbols=SPY HTTP/1.1\r\nHost: rebind.evil.example:5000\r\n\r\n";

/// A server for `case`, with SPY known and whatever the case needs used up
/// beforehand; returns what must stay open while the request is made.
async fn prepare(case: &Case) -> (TestServer, Vec<tokio::net::TcpStream>) {
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig::default()),
        case.config.clone(),
    )
    .await;
    server.hub().publish_batch(&finals(&["SPY"], 0, 1)).unwrap();
    let mut held = Vec::new();
    match case.name {
        "rate-limited" => {
            let used = raw_exchange(&server.url, &[raw_get("/api/symbols", &[])]).await;
            assert_eq!(used[0].status, 200);
        }
        "over capacity" => {
            use tokio::io::AsyncWriteExt;
            let mut tcp = tokio::net::TcpStream::connect(server.url.trim_start_matches("http://"))
                .await
                .unwrap();
            tcp.write_all(raw_get(STREAM, &[]).as_bytes())
                .await
                .unwrap();
            assert_eq!(read_response(&mut tcp).await.status, 200);
            held.push(tcp);
        }
        _ => {}
    }
    (server, held)
}

#[tokio::test]
async fn every_refusal_is_the_same_on_the_lean_path_and_through_the_router() {
    for case in cases() {
        // A connection's first request: the lean stream path.
        let (server, held) = prepare(&case).await;
        let lean = raw_exchange(&server.url, std::slice::from_ref(&case.request))
            .await
            .remove(0);
        drop(held);
        server.stop().await;
        // The second request of a keep-alive connection: hyper and the router.
        let (server, held) = prepare(&case).await;
        let mut answers = raw_exchange(
            &server.url,
            &[raw_get("/health", &[]), case.request.clone()],
        )
        .await;
        assert_eq!(answers[0].status, 200, "{}: warm-up request", case.name);
        let routed = answers.remove(1);
        drop(held);
        server.stop().await;

        for (path, answer) in [("lean", &lean), ("router", &routed)] {
            assert_eq!(
                answer.status,
                case.status,
                "{} ({path}): {}",
                case.name,
                answer.text()
            );
            assert!(
                answer.header("x-request-id").is_some(),
                "{} ({path})",
                case.name
            );
            if let Some(code) = case.code {
                let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
                assert_eq!(body["error"]["code"], code, "{} ({path})", case.name);
            }
        }
        for name in COMPARED {
            assert_eq!(
                lean.header(name),
                routed.header(name),
                "{}: header {name} differs between the paths",
                case.name
            );
        }
        assert_eq!(lean.text(), routed.text(), "{}: bodies differ", case.name);
        if case.status == 429 || case.status == 503 {
            assert!(lean.header("retry-after").is_some(), "{}", case.name);
        }
    }
}

async fn server_with(limits: Limits) -> TestServer {
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig::default()),
        ServerConfig {
            limits,
            ..ServerConfig::default()
        },
    )
    .await;
    server.hub().publish_batch(&finals(&["SPY"], 0, 1)).unwrap();
    server
}

async fn connect(server: &TestServer) -> tokio::net::TcpStream {
    tokio::net::TcpStream::connect(server.url.trim_start_matches("http://"))
        .await
        .unwrap()
}

#[tokio::test]
async fn beyond_max_connections_streams_get_503_json_and_other_requests_are_closed() {
    let server = server_with(Limits {
        max_connections: 2,
        ..Limits::default()
    })
    .await;
    // Two connections that have not sent anything yet are connections too.
    let _a = connect(&server).await;
    let _b = connect(&server).await;
    let stream = raw_exchange(&server.url, &[raw_get(STREAM, &[])])
        .await
        .remove(0);
    assert_eq!(stream.status, 503, "{}", stream.text());
    assert_eq!(stream.header("retry-after"), Some("5"));
    let body: serde_json::Value = serde_json::from_slice(&stream.body).unwrap();
    assert_eq!(body["error"]["code"], "at_capacity");

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut other = connect(&server).await;
    other
        .write_all(raw_get("/api/symbols", &[]).as_bytes())
        .await
        .unwrap();
    let answer = read_response(&mut other).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.header("connection"), Some("close"));
    let mut rest = Vec::new();
    assert_eq!(
        guard(other.read_to_end(&mut rest)).await.unwrap(),
        0,
        "closed after the answer"
    );

    let diag = server.client().diag().await;
    drop((_a, _b));
    let diag = match diag {
        Ok(d) => d,
        // The diag request itself may be refused while the two are held.
        Err(_) => server.client().diag().await.unwrap(),
    };
    assert!(diag.admission.rejected["max_connections"] >= 2);
    assert_eq!(diag.admission.max_connections, 2);
    server.stop().await;
}

#[tokio::test]
async fn streams_per_address_are_capped_and_counted() {
    let server = server_with(Limits {
        max_streams_per_addr: 2,
        ..Limits::default()
    })
    .await;
    let mut held = Vec::new();
    use tokio::io::AsyncWriteExt;
    for _ in 0..2 {
        let mut tcp = connect(&server).await;
        tcp.write_all(raw_get(STREAM, &[]).as_bytes())
            .await
            .unwrap();
        assert_eq!(read_response(&mut tcp).await.status, 200);
        held.push(tcp);
    }
    let third = raw_exchange(&server.url, &[raw_get(STREAM, &[])])
        .await
        .remove(0);
    assert_eq!(third.status, 503);
    assert!(third.text().contains("too many streams from this address"));
    // Plain requests are not streams: they still go through.
    let symbols = raw_exchange(&server.url, &[raw_get("/api/symbols", &[])]).await;
    assert_eq!(symbols[0].status, 200);
    // A stream that ends gives its slot back.
    drop(held.pop());
    eventually("the closed stream's slot is free", || async {
        raw_exchange(&server.url, &[raw_get(STREAM, &[])]).await[0].status == 200
    })
    .await;
    let text = server.client().get_text("/api/metrics").await.unwrap();
    let rejected: u64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix("spotlight_connections_rejected_total{reason=\"max_streams_per_addr\"} ")
        })
        .unwrap()
        .parse()
        .unwrap();
    assert!(rejected >= 1, "{text}");
    server.stop().await;
}

#[tokio::test]
async fn a_request_head_must_arrive_in_time_and_fit_in_16_kib() {
    let server = server_with(Limits {
        header_timeout: std::time::Duration::from_millis(300),
        ..Limits::default()
    })
    .await;
    use tokio::io::AsyncWriteExt;
    // Half a head, then nothing: answered 408 once the header timeout is up.
    let mut slow = connect(&server).await;
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    let answer = read_response(&mut slow).await;
    assert_eq!(answer.status, 408, "{}", answer.text());
    // Bare LF line endings are a complete head, as hyper accepts them.
    for request in [
        "GET /health HTTP/1.1\nHost: 127.0.0.1\n\n",
        "GET /realtime/sse?symbols=SPY HTTP/1.1\nHost: 127.0.0.1\n\n",
    ] {
        let answer = raw_exchange(&server.url, &[request.to_string()])
            .await
            .remove(0);
        assert_eq!(answer.status, 200, "{request:?}");
    }
    // Over 16 KiB of head: 431, on either path.
    let huge = raw_get("/health", &[("X-Padding", &"a".repeat(17 * 1024))]);
    let answer = raw_exchange(&server.url, &[huge]).await.remove(0);
    assert_eq!(answer.status, 431);
    let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(body["error"]["code"], "header_too_large");
    server.stop().await;
}

#[tokio::test]
async fn a_zero_heartbeat_is_raised_to_the_minimum_not_a_panic() {
    // A zero heartbeat cannot come from the command line (refused when
    // parsed); a library user's zero is raised to the minimum, not a panic.
    let server = TestServer::start(
        spotlight_market::Hub::new(HubConfig::default()),
        ServerConfig {
            heartbeat: std::time::Duration::ZERO,
            ..ServerConfig::default()
        },
    )
    .await;
    server.hub().publish_batch(&finals(&["SPY"], 0, 1)).unwrap();
    let answer = raw_exchange(&server.url, &[raw_get(STREAM, &[])])
        .await
        .remove(0);
    assert_eq!(answer.status, 200);
    let text = server.client().get_text("/api/metrics").await.unwrap();
    assert!(text.contains("spotlight_panics_total 0"), "{text}");
    server.stop().await;
}
