//! PIN auth, session cookies and tokens, rate limits — against a real server.

use crate::common;

use common::*;
use reqwest::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE};
use reqwest::StatusCode;
use spotlight_client::sse::Subscribe;
use spotlight_client::Client;
use spotlight_server::{AuthConfig, ServerConfig};
use spotlight_wire::{ErrorBody, PinResponse};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";

fn config(auth: AuthConfig) -> ServerConfig {
    ServerConfig {
        auth,
        ..ServerConfig::default()
    }
}

fn with_pin() -> AuthConfig {
    AuthConfig {
        pin: Some("4321".into()),
        secret: Some(SECRET.into()),
        ..AuthConfig::default()
    }
}

async fn pin(url: &str, pin: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}/api/auth/pin"))
        .json(&serde_json::json!({ "pin": pin }))
        .send()
        .await
        .unwrap()
}

async fn code(res: reqwest::Response) -> (StatusCode, String) {
    let status = res.status();
    let body: ErrorBody = res.json().await.unwrap();
    (status, body.error.code)
}

#[tokio::test]
async fn with_a_pin_data_and_admin_routes_need_a_session_public_ones_do_not() {
    let server = with_config(config(with_pin())).await;
    let http = reqwest::Client::new();
    for path in [
        "/api/history?symbol=SPY",
        "/api/symbols",
        "/realtime/sse",
        "/api/metrics/json",
    ] {
        let res = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(
            code(res).await,
            (StatusCode::UNAUTHORIZED, "unauthorized".into()),
            "{path}"
        );
    }
    let res = http
        .post(format!("{}/api/ingest", server.url))
        .header("content-type", "application/x-ndjson")
        .body(ndjson(&finals(&["SPY"], 0, 1)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        server.hub().ring_bounds().1,
        0,
        "nothing ingested without a session"
    );
    for path in ["/health", "/api/healthz", "/api/metrics", "/api/diag"] {
        let res = http
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
    assert_eq!(
        http.get(format!("{}/api/readyz", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    server.stop().await;
}

#[tokio::test]
async fn the_right_pin_gives_a_session_cookie_and_a_bearer_token() {
    let server = with_config(config(with_pin())).await;
    let (status, c) = code(pin(&server.url, "0000").await).await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    let res = pin(&server.url, "4321").await;
    assert_eq!(res.status(), 200);
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attr in [
        "spotlight_session=",
        "HttpOnly",
        "Path=/",
        "Max-Age=2592000",
        "SameSite=Lax",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "no Secure in dev: {cookie}");
    let body: PinResponse = res.json().await.unwrap();
    assert!(body.expires_at > spotlight_market::time::now_ms() + 29 * 86_400_000);

    let http = reqwest::Client::new();
    let symbols = format!("{}/api/symbols", server.url);
    let by_cookie = http
        .get(&symbols)
        .header(COOKIE, cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 200);
    let by_token = http
        .get(&symbols)
        .header(AUTHORIZATION, format!("Bearer {}", body.token))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200);
    let forged = http
        .get(&symbols)
        .header(AUTHORIZATION, "Bearer 9999999999999")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let tampered = body.token.replace(
        &body.expires_at.to_string(),
        &(body.expires_at + 1).to_string(),
    );
    let tampered = http
        .get(&symbols)
        .header(AUTHORIZATION, format!("Bearer {tampered}"))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);

    // The typed client signs in once and streams.
    let mut client = Client::new(&server.url);
    client.login("4321").await.unwrap();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 1)))
        .await
        .unwrap();
    let (hello, _) = open(&client, Subscribe::default()).await;
    assert_eq!(hello.symbols, vec!["SPY"]);

    let logout = http
        .post(format!("{}/api/auth/logout", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let cleared = logout.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("spotlight_session=") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    server.stop().await;
}

#[tokio::test]
async fn prod_cookies_are_samesite_none_and_secure() {
    let server = with_config(config(AuthConfig {
        prod: true,
        pin: Some("654321".into()),
        ..with_pin()
    }))
    .await;
    let res = pin(&server.url, "654321").await;
    let cookie = res.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("SameSite=None") && cookie.contains("Secure"),
        "{cookie}"
    );
    server.stop().await;
}

#[tokio::test]
async fn sessions_survive_a_restart_only_with_the_same_secret() {
    let first = with_config(config(with_pin())).await;
    let token = pin(&first.url, "4321")
        .await
        .json::<PinResponse>()
        .await
        .unwrap()
        .token;
    first.stop().await;
    let same = with_config(config(with_pin())).await;
    let other = with_config(config(AuthConfig {
        secret: None,
        ..with_pin()
    }))
    .await;
    let http = reqwest::Client::new();
    for (server, want) in [(&same, 200), (&other, 401)] {
        let res = http
            .get(format!("{}/api/symbols", server.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), want);
    }
    assert!(spotlight_server::Auth::new(&AuthConfig {
        secret: Some("short".into()),
        ..with_pin()
    })
    .is_err());
}

#[tokio::test]
async fn pin_attempts_are_rate_limited_per_address() {
    let server = with_config(config(AuthConfig {
        pin_per_minute: 3,
        ..with_pin()
    }))
    .await;
    for _ in 0..3 {
        assert_eq!(pin(&server.url, "0000").await.status(), 401);
    }
    let res = pin(&server.url, "4321").await;
    assert_eq!(
        res.status(),
        429,
        "even the right PIN waits once the budget is spent"
    );
    let retry: u64 = res.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(code(res).await.1, "rate_limited");
    server.stop().await;
}

#[tokio::test]
async fn the_api_is_rate_limited_per_address_with_headers() {
    let server = with_config(config(AuthConfig {
        requests_per_minute: 4,
        ..AuthConfig::default()
    }))
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/symbols", server.url);
    for remaining in (0..4).rev() {
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let h = res.headers();
        assert_eq!(h["x-ratelimit-limit"], "4");
        assert_eq!(h["x-ratelimit-remaining"], remaining.to_string().as_str());
        assert!(
            h["x-ratelimit-reset"]
                .to_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
                <= 60
        );
    }
    let limited = http.get(&url).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key(RETRY_AFTER));
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    // Stream connection attempts count against the same budget, on a reused
    // connection (served by hyper) and on a fresh one (the lean stream path).
    let fresh = reqwest::get(format!("{}/realtime/sse", server.url))
        .await
        .unwrap();
    assert_eq!(fresh.status(), 429);
    assert_eq!(fresh.headers()["x-ratelimit-remaining"], "0");
    assert!(
        fresh.headers()[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        fresh.json::<ErrorBody>().await.unwrap().error.code,
        "rate_limited"
    );
    assert_eq!(
        http.get(format!("{}/realtime/sse", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        429
    );
    // Health, readiness and metrics stay reachable for monitoring.
    for path in ["/health", "/api/metrics"] {
        assert_eq!(
            http.get(format!("{}{path}", server.url))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn private_diag_needs_a_session_and_an_open_server_has_no_pin_route() {
    let private = with_config(config(AuthConfig {
        private_diag: true,
        ..with_pin()
    }))
    .await;
    let res = reqwest::get(format!("{}/api/diag", private.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let mut client = Client::new(&private.url);
    client.login("4321").await.unwrap();
    assert!(client.diag().await.unwrap().auth.private_diag);
    private.stop().await;

    let open_server = with_config(ServerConfig::default()).await;
    assert_eq!(
        code(pin(&open_server.url, "1").await).await.0,
        StatusCode::CONFLICT
    );
    let bad = reqwest::Client::new()
        .post(format!("{}/api/auth/pin", open_server.url))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(code(bad).await.0, StatusCode::BAD_REQUEST);
    open_server.stop().await;
}
