//! HTTP endpoints and bad input against a real server: always a JSON error
//! with the right status, never a panic or a 500, nothing half-applied.

use crate::common;

use common::*;
use spotlight_market::{Hub, HubConfig, Timeframe};
use spotlight_server::ServerConfig;
use spotlight_wire::{ErrorBody, Status};

/// GETs `path` (with optional headers) and returns status and error code.
async fn error_of(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(format!("{url}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["content-type"], "application/json", "{path}");
    let body: ErrorBody = res.json().await.unwrap();
    (status, body.error.code, body.error.message)
}

async fn post(url: &str, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    let content_type = if path == "/api/ingest" {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    reqwest::Client::new()
        .post(format!("{url}{path}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::empty(HubConfig::default()).await;
    for path in ["/health", "/api/healthz"] {
        let s: Status = reqwest::get(format!("{}{path}", server.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s.status, "ok");
    }
    let (status, code, _) = error_of(&server.url, "/api/readyz", &[]).await;
    assert_eq!((status, code.as_str()), (503, "not_ready"));
    server
        .client()
        .ingest(ndjson(&finals(&["SPY"], 0, 1)))
        .await
        .unwrap();
    let res = reqwest::get(format!("{}/api/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    server.stop().await;
}

#[tokio::test]
async fn history_rolls_up_and_pages_with_before() {
    let server = TestServer::with_finals(&["SPY"], 0, 60).await;
    let client = server.client();
    let h = client
        .history("SPY", Timeframe::M15, 100, None)
        .await
        .unwrap();
    assert_eq!(
        (h.symbol.as_str(), h.timeframe, h.seq),
        ("SPY", Timeframe::M15, 60)
    );
    assert_eq!(*h.epoch, *server.hub().epoch());
    assert_eq!(h.bars.len(), 4);
    let first = &h.bars[0];
    assert_eq!((first.t, first.o, first.c), (T0, 99.5, 101.4));
    assert_eq!(first.v, (100..115).sum::<u64>());
    assert!(h.bars.iter().all(|b| b.is_final));
    let page = client
        .history("SPY", Timeframe::M15, 2, Some(T0 + 45 * MIN))
        .await
        .unwrap();
    assert_eq!(
        page.bars.iter().map(|b| b.t).collect::<Vec<_>>(),
        vec![T0 + 15 * MIN, T0 + 30 * MIN]
    );
    let rfc = reqwest::get(format!(
        "{}/api/history?symbol=SPY&timeframe=1h&before=2011-01-03T15:00:00Z",
        server.url
    ))
    .await
    .unwrap();
    assert_eq!(rfc.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn symbols_list_last_price_and_change() {
    let server = TestServer::with_finals(&["SPY", "QQQ"], 0, 3).await;
    let symbols = server.client().symbols().await.unwrap().symbols;
    assert_eq!(
        symbols
            .iter()
            .map(|s| s.symbol.as_str())
            .collect::<Vec<_>>(),
        vec!["QQQ", "SPY"]
    );
    let spy = &symbols[1];
    assert_eq!((spy.last, spy.reference), (100.2, 99.5));
    assert_eq!(spy.change, 0.7);
    server.stop().await;
}

/// Path, request headers, expected status, a word the message must hold.
type BadRequest<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);

#[tokio::test]
async fn bad_query_parameters_are_json_errors() {
    let server = TestServer::with_finals(&["SPY"], 0, 3).await;
    let cases: &[BadRequest] = &[
        (
            "/api/history?symbol=SPY&timeframe=2m",
            &[],
            400,
            "timeframe",
        ),
        ("/api/history?symbol=SPY&limit=0", &[], 400, "limit"),
        ("/api/history?symbol=SPY&limit=-5", &[], 400, "limit"),
        ("/api/history?symbol=SPY&limit=5001", &[], 400, "limit"),
        ("/api/history?symbol=SPY&limit=lots", &[], 400, "limit"),
        (
            "/api/history?symbol=SPY&limit=99999999999999999999999",
            &[],
            400,
            "limit",
        ),
        ("/api/history?timeframe=5m", &[], 400, "symbol"),
        ("/api/history?symbol=NOPE", &[], 404, "NOPE"),
        (
            "/api/history?symbol=SPY&before=tomorrow",
            &[],
            400,
            "before",
        ),
        ("/realtime/sse?symbols=SPY,NOPE", &[], 404, "NOPE"),
        ("/realtime/sse?timeframe=7m", &[], 400, "timeframe"),
        ("/realtime/sse?sinceSeq=abc", &[], 400, "sinceSeq"),
        ("/realtime/sse?sinceSeq=-1", &[], 400, "sinceSeq"),
        ("/realtime/sse?sinceSeq=999", &[], 400, "ahead"),
        (
            "/realtime/sse",
            &[("last-event-id", "x:y:z")],
            400,
            "Last-Event-ID",
        ),
        (
            "/realtime/sse",
            &[("last-event-id", "abc")],
            400,
            "Last-Event-ID",
        ),
        ("/no/such/route", &[], 404, "/no/such/route"),
    ];
    for (path, headers, want_status, needle) in cases {
        let (status, code, message) = error_of(&server.url, path, headers).await;
        assert_eq!(status, *want_status, "{path}: {message}");
        assert_eq!(
            code,
            if *want_status == 404 {
                "not_found"
            } else {
                "bad_request"
            },
            "{path}"
        );
        assert!(
            message.contains(needle),
            "{path}: {message:?} should mention {needle:?}"
        );
    }
    let res = reqwest::Client::new()
        .delete(format!("{}/api/history", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let body: ErrorBody = res.json().await.unwrap();
    assert_eq!(body.error.code, "method_not_allowed");
    server.stop().await;
}

#[tokio::test]
async fn bad_ingest_bodies_are_rejected_whole() {
    let config = ServerConfig {
        ingest_limit: 4096,
        ..ServerConfig::default()
    };
    let server = TestServer::start(Hub::new(HubConfig::default()), config).await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 2)))
        .await
        .unwrap();
    let good = ndjson(&finals(&["SPY"], 2, 3));
    let inconsistent = good.replace("\"h\":101.2", "\"h\":90.0");
    let cases: Vec<(String, u16, &str)> = vec![
        (String::new(), 400, "no bars"),
        ("\n\n".into(), 400, "no bars"),
        (format!("{good}{{not json\n"), 400, "line 2"),
        (
            format!("{good}{}", ndjson(&finals(&["SPY"], 1, 2))),
            400,
            "line 2",
        ),
        (inconsistent, 400, "inconsistent"),
        (good.replace("\"1m\"", "\"5m\""), 400, "only 1m"),
        (good.replace("\"t\":", "\"t\":1,\"x\":"), 400, "line 1"),
        (good.replace("\"v\":102", "\"v\":-3"), 400, "line 1"),
        (
            good.replace("\"t\":1294065120000", "\"t\":9223372036854720000"),
            400,
            "1900 to 9999",
        ),
        (good.repeat(100), 413, "length limit"),
        ("\u{fffd}".into(), 400, "line 1"),
    ];
    for (body, want_status, needle) in cases {
        let res = post(&server.url, "/api/ingest", body.clone()).await;
        let status = res.status().as_u16();
        let err: ErrorBody = res.json().await.unwrap();
        assert_eq!(status, want_status, "{body:?}: {}", err.error.message);
        assert!(
            err.error.message.contains(needle),
            "{:?} should mention {needle:?}",
            err.error.message
        );
        assert_eq!(server.hub().ring_bounds().1, 2, "nothing was applied");
    }
    let raw = post(&server.url, "/api/ingest", vec![0xff, 0xfe, b'\n']).await;
    assert_eq!(raw.status(), 400);
    let ok = client.ingest(good).await.unwrap();
    assert_eq!((ok.accepted, ok.head_seq), (1, 3));
    server.stop().await;
}

#[tokio::test]
async fn the_operator_page_and_its_assets_come_with_a_strict_policy() {
    let server = TestServer::sim(&["SPY"], 1.0, 250).await;
    let page = reqwest::get(format!("{}/", server.url)).await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-cache");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    let mut weight = html.len();
    for asset in [
        "app.js",
        "app.css",
        "lightweight-charts.standalone.production.js",
        "lightweight-charts.LICENSE",
    ] {
        assert!(html.contains(asset), "{asset} is linked from the page");
        let res = reqwest::get(format!("{}/assets/{asset}", server.url))
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=3600");
        assert_eq!(res.headers()["x-content-type-options"], "nosniff");
        weight += res.bytes().await.unwrap().len();
    }
    assert_eq!(
        weight,
        spotlight_server::page::weight(),
        "everything it weighs is served"
    );
    let missing = reqwest::get(format!("{}/assets/nope.js", server.url))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    server.stop().await;
}
