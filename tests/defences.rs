//! Defences against clients that do not behave, tried from outside as an
//! attacker or a careless client would: symbol names and counts, DNS
//! rebinding, cross-site requests, CORS, PIN attacks behind proxies,
//! revocable sessions, and bad values that once made the server spin.

use crate::common;

use common::*;
use reqwest::StatusCode;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_market::{Hub, HubConfig};
use spotlight_server::{AuthConfig, BrowserPolicy, Limits, ServerConfig};
use spotlight_wire::{ErrorBody, PinResponse};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

async fn error_of(res: reqwest::Response) -> (StatusCode, String, String) {
    let status = res.status();
    let body: ErrorBody = res.json().await.unwrap();
    (status, body.error.code, body.error.message)
}

fn ingest_request(url: &str, body: String) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{url}/api/ingest"))
        .header("content-type", "application/x-ndjson")
        .body(body)
}

#[tokio::test]
async fn symbol_names_are_checked_and_their_number_bounded() {
    let server = TestServer::start(
        Hub::new(HubConfig {
            max_symbols: 6,
            ..HubConfig::default()
        }),
        ServerConfig {
            limits: Limits {
                max_symbols: 3,
                ..Limits::default()
            },
            ..ServerConfig::default()
        },
    )
    .await;
    // A 1 MiB symbol: refused, quoted short, nothing kept.
    let huge = "A".repeat(1 << 20);
    let (status, code, message) = error_of(
        ingest_request(&server.url, ndjson(&finals(&[huge.as_str()], 0, 7)))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    assert!(
        message.len() < 300,
        "message quotes little: {} bytes",
        message.len()
    );
    assert!(server.hub().symbol_names().is_empty());

    // Real-world symbols are fine.
    let real = ["BRK.B", "^GSPC", "ES=F", "X:BTCUSD", "EUR/USD"];
    let res = ingest_request(&server.url, ndjson(&finals(&real, 0, 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (hello, _stream) = open(
        &server.client(),
        Subscribe {
            symbols: vec!["BRK.B".into(), "^GSPC".into()],
            ..Subscribe::default()
        },
    )
    .await;
    assert_eq!(hello.symbols, vec!["BRK.B", "^GSPC"]);

    // One more symbol than --max-symbols allows: 409, saying which limit.
    let res = ingest_request(&server.url, ndjson(&finals(&["NEW1", "NEW2"], 0, 1)))
        .send()
        .await
        .unwrap();
    let (status, code, message) = error_of(res).await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::CONFLICT, "too_many_symbols")
    );
    assert!(message.contains("--max-symbols"), "{message}");
    assert_eq!(
        server.hub().symbol_names().len(),
        5,
        "nothing of the batch applied"
    );

    // A stream naming junk, or more symbols than allowed: 400.
    for query in [
        "symbols=SPY%20X",
        "symbols=A,B,C,D",
        "symbols=%3Cscript%3Ealert(1)%3C/script%3E",
    ] {
        let res = reqwest::get(format!("{}/realtime/sse?{query}", server.url))
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{query}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_loopback_server_answers_only_to_its_own_names() {
    let server = with_config(ServerConfig {
        browser: BrowserPolicy {
            allowed_hosts: vec!["dash.internal".into()],
            ..BrowserPolicy::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let port = server.url.rsplit(':').next().unwrap().to_string();
    for (host, want) in [
        (format!("127.0.0.1:{port}"), 200),
        (format!("localhost:{port}"), 200),
        (format!("[::1]:{port}"), 200),
        (format!("dash.internal:{port}"), 200),
        (format!("attacker.example:{port}"), 403),
        ("127.0.0.1.attacker.example".to_string(), 403),
    ] {
        let answer = raw_exchange(
            &server.url,
            &[format!("GET /api/symbols HTTP/1.1\r\nHost: {host}\r\n\r\n")],
        )
        .await
        .remove(0);
        assert_eq!(answer.status, want, "Host: {host}");
        if want == 403 {
            assert!(answer.text().contains("forbidden_host"));
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn cross_site_writes_are_refused_even_with_the_session_cookie() {
    let server = with_config(ServerConfig {
        auth: AuthConfig {
            pin: Some("4321".into()),
            secret: Some(SECRET.into()),
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    })
    .await;
    let signed_in = reqwest::Client::new()
        .post(format!("{}/api/auth/pin", server.url))
        .json(&serde_json::json!({"pin": "4321"}))
        .send()
        .await
        .unwrap();
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = ndjson(&finals(&["SPY"], 0, 1));
    let post = |content_type: &'static str, origin: Option<String>| {
        let mut req = reqwest::Client::new()
            .post(format!("{}/api/ingest", server.url))
            .header("cookie", cookie.clone())
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // What a page on another site can send without a preflight.
    let (status, code, _) = error_of(
        post("text/plain", Some("https://evil.example".into()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{code}");
    let (status, code, _) = error_of(
        post("application/x-ndjson", Some("https://evil.example".into()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, code.as_str()),
        (StatusCode::FORBIDDEN, "forbidden_origin")
    );
    let (status, _, _) = error_of(post("text/plain", None).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(server.hub().ring_bounds().1, 0, "nothing was ingested");
    // The server's own pages may.
    let own = post("application/x-ndjson", Some(server.url.clone()))
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn cors_origins_get_credentialed_cors_and_others_do_not() {
    const DASH: &str = "https://dash.example.com";
    let server = with_config(ServerConfig {
        browser: BrowserPolicy {
            cors_origins: vec![DASH.into()],
            ..BrowserPolicy::default()
        },
        ..ServerConfig::default()
    })
    .await;
    server.hub().publish_batch(&finals(&["SPY"], 0, 1)).unwrap();
    let http = reqwest::Client::new();
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/replay/start", server.url),
        )
        .header("origin", DASH)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let h = preflight.headers();
    assert_eq!(h["access-control-allow-origin"], DASH);
    assert_eq!(h["access-control-allow-credentials"], "true");
    assert!(h["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));

    // The stream and history, as `EventSource(url, {withCredentials: true})`
    // and `fetch(…, {credentials: "include"})` ask for them.
    for path in ["/api/history?symbol=SPY", "/realtime/sse?symbols=SPY"] {
        let res = http
            .get(format!("{}{path}", server.url))
            .header("origin", DASH)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.headers()["access-control-allow-origin"], DASH, "{path}");
        assert_eq!(res.headers()["access-control-allow-credentials"], "true");
    }
    // Another site gets no CORS grant and no stream.
    let res = http
        .get(format!("{}/realtime/sse?symbols=SPY", server.url))
        .header("origin", "https://other.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    server.stop().await;
}

fn behind_proxy(auth: AuthConfig) -> ServerConfig {
    ServerConfig {
        auth: AuthConfig {
            pin: Some("4321".into()),
            secret: Some(SECRET.into()),
            ..auth
        },
        browser: BrowserPolicy {
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            ..BrowserPolicy::default()
        },
        ..ServerConfig::default()
    }
}

async fn pin_from(url: &str, client: &str, pin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/auth/pin"))
        .header("x-forwarded-for", client)
        .json(&serde_json::json!({ "pin": pin }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pin_attempts_are_limited_per_ipv6_64_and_globally() {
    let server = with_config(behind_proxy(AuthConfig {
        pin_per_minute: 2,
        pin_failures_global: 6,
        ..AuthConfig::default()
    }))
    .await;
    let token = pin_from(&server.url, "198.51.100.1", "4321")
        .await
        .json::<PinResponse>()
        .await
        .unwrap()
        .token;
    // One /64: three addresses share one budget of two.
    for (client, want) in [
        ("2001:db8:1:2::a", 401),
        ("2001:db8:1:2::b", 401),
        ("2001:db8:1:2:ffff::c", 429),
        ("2001:db8:1:3::1", 401),
    ] {
        assert_eq!(
            pin_from(&server.url, client, "0000").await.status(),
            want,
            "{client}"
        );
    }
    // Many addresses, one global budget of failures (three used above).
    for i in 0..3 {
        let client = format!("203.0.113.{i}");
        assert_eq!(pin_from(&server.url, &client, "0000").await.status(), 401);
    }
    let res = pin_from(&server.url, "203.0.113.99", "4321").await;
    assert_eq!(res.status(), 429, "the global budget of failures is spent");
    assert!(res.headers().contains_key("retry-after"));
    // Someone signed in is not affected.
    let res = reqwest::Client::new()
        .get(format!("{}/api/symbols", server.url))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the Bearer scheme in any case");
    let text = server.client().get_text("/api/metrics").await.unwrap();
    assert!(
        text.contains("spotlight_auth_failures_total{reason=\"wrong_pin\"} 6"),
        "{text}"
    );
    assert!(text.contains("spotlight_auth_failures_total{reason=\"global_limit\"} 1"));
    server.stop().await;
}

#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_peer_is_a_trusted_proxy() {
    let server = with_config(ServerConfig {
        browser: BrowserPolicy::default(),
        ..behind_proxy(AuthConfig {
            pin_per_minute: 2,
            ..AuthConfig::default()
        })
    })
    .await;
    for (i, want) in [401, 401, 429].into_iter().enumerate() {
        let client = format!("192.0.2.{i}");
        assert_eq!(pin_from(&server.url, &client, "0000").await.status(), want);
    }
    server.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_token_and_a_new_pin_ends_every_session() {
    let config = |pin: &str| ServerConfig {
        auth: AuthConfig {
            pin: Some(pin.into()),
            secret: Some(SECRET.into()),
            ..AuthConfig::default()
        },
        ..ServerConfig::default()
    };
    let server = with_config(config("4321")).await;
    let mut client = server.client();
    let kept = client.login("4321").await.unwrap().token;
    let mut other = server.client();
    let revoked = other.login("4321").await.unwrap().token;
    let symbols = |token: String| {
        reqwest::Client::new()
            .get(format!("{}/api/symbols", server.url))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(symbols(revoked.clone()).await.unwrap().status(), 200);
    let out = reqwest::Client::new()
        .post(format!("{}/api/auth/logout", server.url))
        .bearer_auth(&revoked)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(symbols(revoked).await.unwrap().status(), 401, "logged out");
    assert_eq!(
        symbols(kept.clone()).await.unwrap().status(),
        200,
        "others stay"
    );
    server.stop().await;

    // Same secret, new PIN: every old session is over.
    let changed = with_config(config("98765")).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/symbols", changed.url))
        .bearer_auth(kept)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    changed.stop().await;
}

#[tokio::test]
async fn a_replay_from_the_far_past_is_refused_not_spun_on() {
    let server = TestServer::with_finals(&["SPY"], 0, 5).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/replay/start", server.url))
        .json(&serde_json::json!({"from": i64::MIN, "speed": 1000}))
        .send()
        .await
        .unwrap();
    let (status, _, message) = error_of(res).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("1900 to 9999"), "{message}");
    assert!(!server.hub().replay_mode().is_on());
    server.stop().await;
}

#[tokio::test]
async fn zero_intervals_short_pins_and_non_utf8_secrets_are_refused_at_start() {
    for (args, needle) in [
        (&["serve", "--heartbeat", "0s"][..], "too short"),
        (&["serve", "--stall-timeout", "0s"], "too short"),
        (&["serve", "--header-timeout", "10ms"], "too short"),
        (&["serve", "--symbols", "SPY,B@D"], "only A-Z"),
        (&["serve", "--cors-origin", "evil"], "not an origin"),
        (
            &["serve", "--trusted-proxy", "nope"],
            "not an address or CIDR",
        ),
    ] {
        let (code, _, err) = spotlight(args, &[]).await;
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = spotlight(
        &["serve", "--addr", "127.0.0.1:0"],
        &[("SPOTLIGHT_PIN", "12")],
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at least 4 characters"), "{err}");

    use std::os::unix::ffi::OsStrExt;
    let out = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("SPOTLIGHT_PIN", "4321")
        .env(
            "SPOTLIGHT_SECRET",
            std::ffi::OsStr::from_bytes(b"\xff\xfe-not-utf8-0123456789abcdef0123456789"),
        )
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SPOTLIGHT_SECRET is not valid UTF-8"), "{err}");
}

#[tokio::test]
async fn a_stream_resumed_from_an_unknown_position_says_so() {
    let server = TestServer::with_finals(&["SPY"], 0, 3).await;
    let (hello, mut stream) = open(
        &server.client(),
        Subscribe {
            last_event_id: Some("otherepoch:2".into()),
            ..Subscribe::default()
        },
    )
    .await;
    assert!(!hello.resumed);
    assert!(matches!(next(&mut stream).await, ServerEvent::Reset(_)));
    server.stop().await;
}
