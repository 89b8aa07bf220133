//! `--source polygon` against a fake provider written here (WebSocket and
//! REST shapes, with faults), never the internet: backfill across pages,
//! live seconds and minutes into SSE, a bad key, a dropped socket and its
//! gap filled from REST without duplicates, an eviction, 429s, server
//! errors opening the circuit, a hanging answer.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_polygon::{aggregate, FakePolygon, Fault, Push};
use common::process::{serve_with_env, Served};
use common::*;
use futures::StreamExt;
use serde_json::{json, Value};
use spotlight_client::sse::{RawEventStream, Subscribe};
use spotlight_client::Client;
use spotlight_market::{Hub, HubConfig, Timeframe};
use spotlight_provider::polygon::{Polygon, PolygonConfig};
use spotlight_provider::Upstreams;
use spotlight_server::upstream::ServedUpstreams;
use spotlight_server::{AppState, ServerConfig};
use tokio_util::sync::CancellationToken;

const KEY: &str = "test-key-123";

/// The start of the current minute, Unix ms.
fn this_minute() -> i64 {
    let now = spotlight_market::time::now_ms();
    now - now % MIN
}

/// `n` bars of one minute each from `first`, volumes with fractions.
/// The REST requests of the first backfill's window: when the minute
/// turns during a test, the live session fills the new minute with a
/// window of its own, which is not what these tests count.
fn first_backfill(fake: &FakePolygon) -> Vec<String> {
    let requests = fake.requests();
    let window = |r: &String| r.split('?').next().map(String::from);
    let first = requests.first().and_then(window);
    requests
        .into_iter()
        .filter(|r| window(r) == first)
        .collect()
}

fn minutes(first: i64, n: i64) -> Vec<(i64, f64, f64, f64, f64, f64)> {
    (0..n)
        .map(|i| {
            let p = 100.0 + i as f64;
            (
                first + i * MIN,
                p,
                p + 1.0,
                p - 1.0,
                p + 0.5,
                1000.4 + i as f64,
            )
        })
        .collect()
}

async fn serve_polygon(fake: &FakePolygon, key: &str, extra: &[&str]) -> Served {
    serve_polygon_at(&fake.ws_url(), &fake.url, key, extra).await
}

/// `serve --source polygon` for SPY with a 1h backfill from `ws` and `rest`.
async fn serve_polygon_at(ws: &str, rest: &str, key: &str, extra: &[&str]) -> Served {
    let mut args = vec![
        "--source",
        "polygon",
        "--symbols",
        "SPY",
        "--backfill",
        "1h",
        "--polygon-ws-url",
        ws,
        "--polygon-rest-url",
        rest,
    ];
    args.extend_from_slice(extra);
    serve_with_env("127.0.0.1:0", &args, &[("POLYGON_API_KEY", key)]).await
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn upstream(url: &str, name: &str) -> Value {
    let diag = get_json(&format!("{url}/api/diag")).await;
    diag["upstreams"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no upstream {name} in {diag}"))
}

async fn readyz(url: &str) -> (u16, String) {
    let res = reqwest::get(format!("{url}/api/readyz")).await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn spy_stream(url: &str) -> RawEventStream {
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        ..Subscribe::default()
    };
    Client::new(url).subscribe_raw(&sub).await.unwrap()
}

/// The next `bar` of a stream, parsed.
async fn next_bar(s: &mut RawEventStream) -> Value {
    loop {
        let ev = guard(s.next()).await.expect("stream ended").unwrap();
        if ev.event == "bar" {
            return serde_json::from_str(&ev.data).unwrap();
        }
    }
}

async fn listening(fake: &FakePolygon, n: usize) {
    eventually("the server subscribed to the feed", || async {
        fake.listeners() == n
    })
    .await;
}

fn push(fake: &FakePolygon, events: Vec<Value>) {
    fake.push(Push::Text(Value::Array(events).to_string()));
}

#[tokio::test]
async fn backfill_across_pages_then_live_seconds_and_minutes_reach_sse() {
    let fake = FakePolygon::start(KEY, 2).await;
    let now = this_minute();
    fake.add_bars("SPY", &minutes(now - 5 * MIN, 5));
    let server = serve_polygon(&fake, KEY, &[]).await;
    let url = server.url.clone();
    listening(&fake, 1).await;

    // History: five bars over three pages, the key on every page.
    let history = Client::new(&url)
        .history("SPY", Timeframe::M1, 10, None)
        .await
        .unwrap();
    assert_eq!(history.bars.len(), 5, "{history:?}");
    assert_eq!(history.bars[0].v, 1000, "a float volume, rounded");
    let requests = first_backfill(&fake);
    assert_eq!(requests.len(), 3, "{requests:#?}");
    assert!(requests
        .iter()
        .all(|r| r.contains(&format!("apiKey={KEY}"))));
    assert!(requests[0].contains("adjusted=true&sort=asc&limit=50000"));
    assert!(requests[1].contains("cursor=2") && requests[2].contains("cursor=4"));
    assert_eq!(fake.subscriptions(), ["AM.SPY,A.SPY"]);

    // Seconds build the forming minute; the minute aggregate closes it.
    let mut sse = spy_stream(&url).await;
    push(
        &fake,
        vec![aggregate(
            "A",
            "SPY",
            now + 1_000,
            (10.0, 11.0, 9.5, 10.5, 5.0),
        )],
    );
    push(
        &fake,
        vec![aggregate(
            "A",
            "SPY",
            now + 2_000,
            (10.5, 12.0, 10.0, 11.0, 5.0),
        )],
    );
    let first = next_bar(&mut sse).await;
    assert_eq!(
        (first["t"].as_i64(), first["final"].as_bool()),
        (Some(now), Some(false))
    );
    let forming = next_bar(&mut sse).await;
    assert_eq!(
        (
            &forming["o"],
            &forming["h"],
            &forming["l"],
            &forming["c"],
            &forming["v"]
        ),
        (
            &json!(10.0),
            &json!(12.0),
            &json!(9.5),
            &json!(11.0),
            &json!(10)
        ),
        "built from the seconds: {forming}"
    );
    push(
        &fake,
        vec![aggregate("AM", "SPY", now, (10.0, 12.5, 9.0, 11.2, 30.0))],
    );
    let closed = next_bar(&mut sse).await;
    assert_eq!(closed["final"], true);
    assert_eq!(
        (&closed["h"], &closed["l"], &closed["v"]),
        (&json!(12.5), &json!(9.0), &json!(30))
    );

    assert_eq!(readyz(&url).await.0, 200);
    let ws = upstream(&url, "polygon_ws").await;
    assert_eq!(ws["state"], "up", "{ws}");
    assert!(ws["lastMessageAgeMs"].is_i64(), "{ws}");
    let rest = upstream(&url, "polygon_rest").await;
    assert_eq!(rest["circuit"], "closed");
    assert_eq!(rest["gaps"][0]["bars"], 5, "{rest}");
    assert_diag_schema(&get_json(&format!("{url}/api/diag")).await);
    let metrics = reqwest::get(format!("{url}/api/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("spotlight_upstream_state{upstream=\"polygon_ws\"} 1"));
    assert!(metrics.contains("spotlight_circuit_state{upstream=\"polygon_rest\"} 0"));
    assert!(
        metrics.contains("spotlight_upstream_last_message_age_seconds{upstream=\"polygon_ws\"}")
    );
    promtool_check(&metrics);
    server.stop("-TERM").await;
}

#[tokio::test]
async fn a_bad_key_is_reported_and_not_retried_in_a_tight_loop() {
    let fake = FakePolygon::start(KEY, 50).await;
    let server = serve_polygon(&fake, "not-the-key", &[]).await;
    eventually("readiness to report the refusal", || async {
        readyz(&server.url).await.1.contains("auth_failed")
    })
    .await;
    let ws = upstream(&server.url, "polygon_ws").await;
    assert!(
        ws["problem"].as_str().unwrap().contains("auth_failed"),
        "{ws}"
    );
    assert!(ws["errors"]["auth_failed"].as_u64() >= Some(1), "{ws}");
    assert!(
        ws["nextAttemptInMs"].as_i64().unwrap() > 30_000,
        "the next try waits: {ws}"
    );
    assert_eq!(fake.auths(), 1, "one sign-in, no tight loop");
    // The operator's view says the same in one line.
    let (code, out, err) = spotlight(&["--url", &server.url, "diag"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("upstream") && l.contains("polygon_ws"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        line.contains("polygon_ws down") && line.contains("auth_failed"),
        "{line}"
    );
    let rest = upstream(&server.url, "polygon_rest").await;
    assert_eq!(rest["errors"]["unauthorized"], 1, "{rest}");
    let (_, logs) = server.stop("-TERM").await;
    assert!(logs.contains("auth_failed"), "{logs}");
}

#[tokio::test]
async fn a_dropped_socket_reconnects_and_its_gap_is_filled_once() {
    let fake = FakePolygon::start(KEY, 50).await;
    let now = this_minute();
    fake.add_bars("SPY", &minutes(now - 10 * MIN, 5));
    let server = serve_polygon(&fake, KEY, &[]).await;
    listening(&fake, 1).await;
    let mut sse = spy_stream(&server.url).await;
    push(
        &fake,
        vec![aggregate(
            "AM",
            "SPY",
            now - 5 * MIN,
            (1.0, 2.0, 0.5, 1.5, 10.0),
        )],
    );
    let live = next_bar(&mut sse).await;
    let seq = live["seq"].as_u64().unwrap();

    // The feed misses two minutes while down; REST has them.
    fake.add_bars("SPY", &minutes(now - 4 * MIN, 2));
    fake.push(Push::Drop);
    let filled = [next_bar(&mut sse).await, next_bar(&mut sse).await];
    let got: Vec<(i64, u64, bool)> = filled
        .iter()
        .map(|b| {
            (
                b["t"].as_i64().unwrap(),
                b["seq"].as_u64().unwrap(),
                b["final"] == true,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (now - 4 * MIN, seq + 1, true),
            (now - 3 * MIN, seq + 2, true)
        ],
        "the gap, in order, as final bars"
    );
    // The feed repeats a filled minute: not taken twice.
    listening(&fake, 1).await;
    push(
        &fake,
        vec![
            aggregate("AM", "SPY", now - 3 * MIN, (1.0, 2.0, 0.5, 1.5, 10.0)),
            aggregate("AM", "SPY", now - 2 * MIN, (1.0, 2.0, 0.5, 1.7, 10.0)),
        ],
    );
    let next = next_bar(&mut sse).await;
    assert_eq!(
        (next["t"].as_i64(), next["seq"].as_u64()),
        (Some(now - 2 * MIN), Some(seq + 3))
    );

    let ws = upstream(&server.url, "polygon_ws").await;
    assert!(ws["errors"]["disconnect"].as_u64() >= Some(1), "{ws}");
    let rest = upstream(&server.url, "polygon_rest").await;
    let gaps = rest["gaps"].as_array().unwrap();
    assert_eq!(gaps.last().unwrap()["bars"], 2, "{rest}");
    assert_eq!(fake.auths(), 2);
    server.stop("-TERM").await;
}

#[tokio::test]
async fn an_eviction_is_reported_and_waited_out() {
    let fake = FakePolygon::start(KEY, 50).await;
    fake.add_bars("SPY", &minutes(this_minute() - 3 * MIN, 3));
    let server = serve_polygon(&fake, KEY, &[]).await;
    listening(&fake, 1).await;
    eventually("ready", || async { readyz(&server.url).await.0 == 200 }).await;
    fake.push(Push::Evict);
    eventually("readiness to report the eviction", || async {
        readyz(&server.url).await.1.contains("max_connections")
    })
    .await;
    let ws = upstream(&server.url, "polygon_ws").await;
    assert_eq!(ws["state"], "down");
    assert!(ws["nextAttemptInMs"].as_i64().unwrap() > 30_000, "{ws}");
    assert_eq!(fake.auths(), 1, "no tight reconnect");
    // History is still served.
    let history = Client::new(&server.url)
        .history("SPY", Timeframe::M1, 10, None)
        .await
        .unwrap();
    assert_eq!(history.bars.len(), 3);
    server.stop("-TERM").await;
}

#[tokio::test]
async fn a_feed_down_past_the_stall_time_makes_the_server_unready() {
    let fake = FakePolygon::start(KEY, 50).await;
    fake.add_bars("SPY", &minutes(this_minute() - 3 * MIN, 3));
    // Nothing listens where the socket should be.
    let nowhere = format!("ws://127.0.0.1:{}/stocks", common::process::free_port());
    let server = serve_polygon_at(&nowhere, &fake.url, KEY, &["--source-stall", "1s"]).await;
    eventually("readiness to report the feed down", || async {
        let (status, body) = readyz(&server.url).await;
        status == 503 && body.contains("has been down")
    })
    .await;
    let ws = upstream(&server.url, "polygon_ws").await;
    assert!(ws["errors"]["connect"].as_u64() >= Some(1), "{ws}");
    server.stop("-TERM").await;
}

#[tokio::test]
async fn rate_limited_pages_wait_and_are_asked_again_never_from_the_first() {
    let fake = FakePolygon::start(KEY, 2).await;
    fake.add_bars("SPY", &minutes(this_minute() - 5 * MIN, 5));
    fake.fault(&[
        Fault::Pass,
        Fault::Status(429, Some(1)),
        Fault::Status(429, Some(1)),
    ]);
    let server = serve_polygon(&fake, KEY, &[]).await;
    let client = Client::new(&server.url);
    eventually("the backfill to finish", || async {
        client
            .history("SPY", Timeframe::M1, 10, None)
            .await
            .is_ok_and(|h| h.bars.len() == 5)
    })
    .await;
    let cursors: Vec<Option<String>> = first_backfill(&fake)
        .iter()
        .map(|r| r.split("cursor=").nth(1).map(|c| c[..1].to_string()))
        .collect();
    let want: Vec<Option<String>> = [None, Some("2"), Some("2"), Some("2"), Some("4")]
        .iter()
        .map(|c| c.map(String::from))
        .collect();
    assert_eq!(cursors, want, "the limited page again, the first page once");
    let rest = upstream(&server.url, "polygon_rest").await;
    assert_eq!(rest["errors"]["http_429"], 2, "{rest}");
    assert_eq!(
        rest["circuit"], "closed",
        "a 429 is not the provider failing"
    );
    server.stop("-TERM").await;
}

/// A server in this process over a polygon source with short waits.
async fn in_process(
    fake: &FakePolygon,
    tune: impl FnOnce(&mut PolygonConfig),
) -> (TestServer, CancellationToken) {
    let mut config = PolygonConfig::new(KEY, vec!["SPY".into()]);
    config.ws_url = fake.ws_url();
    config.rest_url = fake.url.clone();
    config.backfill = Duration::from_secs(3600);
    tune(&mut config);
    let mut polygon = Polygon::new(config);
    polygon.rest.retry_base = Duration::from_millis(20);
    let polygon = Arc::new(polygon);
    let hub = Hub::new(HubConfig::default());
    let mut state = AppState::new(hub.clone(), ServerConfig::default()).unwrap();
    let upstreams = Upstreams {
        list: polygon.upstreams(),
        feed: Some(polygon.feed.clone()),
        stall: Duration::from_secs(90),
        stall_always: false,
    };
    state.upstreams = Arc::new(ServedUpstreams::new(upstreams, state.metrics.registry()));
    let stop = CancellationToken::new();
    polygon.spawn(hub, stop.clone());
    (TestServer::with_state(state).await, stop)
}

#[tokio::test]
async fn server_errors_open_the_circuit_history_is_served_degraded_and_a_probe_closes_it() {
    let fake = FakePolygon::start(KEY, 50).await;
    fake.add_bars("SPY", &minutes(this_minute() - 3 * MIN, 3));
    fake.fault(&[
        Fault::Status(500, None),
        Fault::Status(500, None),
        Fault::Status(503, None),
    ]);
    let (server, stop) = in_process(&fake, |c| {
        c.breaker_failures = 3;
        c.breaker_cool_down = Duration::from_millis(500);
    })
    .await;
    eventually("the circuit to open", || async {
        upstream(&server.url, "polygon_rest").await["circuit"] == "open"
    })
    .await;
    let rest = upstream(&server.url, "polygon_rest").await;
    assert_eq!(rest["state"], "degraded", "{rest}");
    assert_eq!(
        rest["errors"]["http_5xx"], 3,
        "three tries of one page, no more"
    );
    assert!(
        rest["gaps"][0]["error"].as_str().unwrap().contains("503"),
        "{rest}"
    );
    let metrics = server.client().get_text("/api/metrics").await.unwrap();
    assert!(metrics.contains("spotlight_circuit_state{upstream=\"polygon_rest\"} 2"));
    assert!(metrics.contains("spotlight_upstream_state{upstream=\"polygon_rest\"} 2"));

    // After the cool-down the next fill (on a reconnect) probes and closes it.
    eventually("the cool-down", || async {
        upstream(&server.url, "polygon_rest").await["circuit"] == "half_open"
    })
    .await;
    listening(&fake, 1).await;
    fake.push(Push::Drop);
    eventually("the probe to close the circuit", || async {
        let rest = upstream(&server.url, "polygon_rest").await;
        rest["circuit"] == "closed" && rest["state"] == "up"
    })
    .await;
    let history = server
        .client()
        .history("SPY", Timeframe::M1, 10, None)
        .await
        .unwrap();
    assert_eq!(history.bars.len(), 3, "filled by the probe");
    stop.cancel();
    server.stop().await;
}

#[tokio::test]
async fn a_hanging_answer_times_out_and_is_asked_again() {
    let fake = FakePolygon::start(KEY, 50).await;
    fake.add_bars("SPY", &minutes(this_minute() - 3 * MIN, 3));
    fake.fault(&[Fault::Hang]);
    let (server, stop) =
        in_process(&fake, |c| c.request_timeout = Duration::from_millis(300)).await;
    let client = server.client();
    eventually("the backfill after the timeout", || async {
        client
            .history("SPY", Timeframe::M1, 10, None)
            .await
            .is_ok_and(|h| h.bars.len() == 3)
    })
    .await;
    let rest = upstream(&server.url, "polygon_rest").await;
    assert_eq!(rest["errors"]["timeout"], 1, "{rest}");
    assert_eq!(rest["circuit"], "closed");
    assert_eq!(first_backfill(&fake).len(), 2);
    stop.cancel();
    server.stop().await;
}
