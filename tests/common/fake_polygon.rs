//! A fake Polygon-compatible provider for the tests: the stocks WebSocket
//! (status `connected`, `auth`, `subscribe`, then what the test sends) and
//! REST minute aggregates (pages of `page_size` with a `next_url` that
//! carries no key), with faults on demand: a bad key, a dropped socket, an
//! eviction, 429s, 500s, a request left hanging. It records every request.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// What the socket side sends to every signed-in connection.
#[derive(Debug, Clone)]
pub enum Push {
    /// A message (a JSON array of events).
    Text(String),
    /// Close the TCP connection without a close frame.
    Drop,
    /// `max_connections`, then a close: another connection took over.
    Evict,
}

/// A REST fault, used by the next request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// No fault: answer as usual.
    Pass,
    /// Answer with this status (and `Retry-After` seconds for a 429).
    Status(u16, Option<u64>),
    /// Never answer (a provider that hangs): the client's timeout ends it.
    Hang,
}

#[derive(Default)]
struct Inner {
    bars: BTreeMap<String, Vec<Value>>,
    faults: VecDeque<Fault>,
    requests: Vec<String>,
    traceparents: Vec<Option<String>>,
    auths: usize,
    subscriptions: Vec<String>,
}

/// The provider's state, shared with the test.
#[derive(Clone)]
pub struct FakePolygon {
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    /// The key it accepts.
    pub key: String,
    page_size: usize,
    inner: Arc<Mutex<Inner>>,
    push: broadcast::Sender<Push>,
}

impl FakePolygon {
    /// Starts one accepting `key`, serving REST pages of `page_size` bars.
    pub async fn start(key: &str, page_size: usize) -> FakePolygon {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakePolygon {
            url,
            key: key.to_string(),
            page_size,
            inner: Arc::default(),
            push: broadcast::channel(1024).0,
        };
        let app = Router::new()
            .route("/stocks", get(socket))
            .route(
                "/v2/aggs/ticker/{ticker}/range/1/minute/{from}/{to}",
                get(aggregates),
            )
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        fake
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("{}/stocks", self.url.replacen("http", "ws", 1))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    /// Adds 1m bars of `symbol` for REST (`(t, o, h, l, c, v)`).
    pub fn add_bars(&self, symbol: &str, bars: &[(i64, f64, f64, f64, f64, f64)]) {
        let mut inner = self.lock();
        let list = inner.bars.entry(symbol.to_string()).or_default();
        for &(t, o, h, l, c, v) in bars {
            list.push(json!({"v": v, "vw": c, "o": o, "c": c, "h": h, "l": l, "t": t, "n": 3}));
        }
        list.sort_by_key(|b| b["t"].as_i64());
    }

    /// Queues REST faults, one per request, in order.
    pub fn fault(&self, faults: &[Fault]) {
        self.lock().faults.extend(faults.iter().cloned());
    }

    /// Every REST request so far, as path and query.
    pub fn requests(&self) -> Vec<String> {
        self.lock().requests.clone()
    }

    /// The `traceparent` header of every REST request so far.
    pub fn traceparents(&self) -> Vec<Option<String>> {
        self.lock().traceparents.clone()
    }

    /// Sign-in attempts so far.
    pub fn auths(&self) -> usize {
        self.lock().auths
    }

    /// The `subscribe` params received so far.
    pub fn subscriptions(&self) -> Vec<String> {
        self.lock().subscriptions.clone()
    }

    /// Sends to every signed-in, subscribed connection.
    pub fn push(&self, push: Push) {
        let _ = self.push.send(push);
    }

    /// Connections signed in and subscribed now.
    pub fn listeners(&self) -> usize {
        self.push.receiver_count()
    }
}

/// An aggregate event (`A` per second or `AM` per minute) as JSON.
pub fn aggregate(ev: &str, sym: &str, start: i64, ohlcv: (f64, f64, f64, f64, f64)) -> Value {
    let (o, h, l, c, v) = ohlcv;
    let len = if ev == "AM" { 60_000 } else { 1_000 };
    json!({"ev": ev, "sym": sym, "v": v, "av": v, "op": o, "vw": c, "o": o, "c": c,
           "h": h, "l": l, "a": c, "z": 10, "s": start, "e": start + len})
}

async fn socket(ws: WebSocketUpgrade, State(fake): State<FakePolygon>) -> Response {
    ws.on_upgrade(move |socket| session(socket, fake))
}

async fn send(socket: &mut WebSocket, events: Value) -> bool {
    socket
        .send(Message::Text(events.to_string().into()))
        .await
        .is_ok()
}

async fn session(mut socket: WebSocket, fake: FakePolygon) {
    let status = |s: &str, m: &str| json!([{"ev": "status", "status": s, "message": m}]);
    if !send(&mut socket, status("connected", "Connected Successfully")).await {
        return;
    }
    // Sign-in, then the subscription.
    let mut signed_in = false;
    while let Some(Ok(msg)) = socket.recv().await {
        let Message::Text(text) = msg else { continue };
        let Ok(req) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let params = req["params"].as_str().unwrap_or_default().to_string();
        match req["action"].as_str() {
            Some("auth") => {
                fake.lock().auths += 1;
                if params != fake.key {
                    send(&mut socket, status("auth_failed", "authentication failed")).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
                signed_in = true;
                send(&mut socket, status("auth_success", "authenticated")).await;
            }
            Some("subscribe") if signed_in => {
                fake.lock().subscriptions.push(params.clone());
                send(
                    &mut socket,
                    status("success", &format!("subscribed to: {params}")),
                )
                .await;
                break;
            }
            _ => {}
        }
    }
    let mut pushes = fake.push.subscribe();
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                Ok(Push::Text(text)) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                Ok(Push::Drop) | Err(_) => return,
                Ok(Push::Evict) => {
                    send(&mut socket, status("max_connections", "Maximum number of websocket connections exceeded. You have been disconnected.")).await;
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            incoming = socket.recv() => if !matches!(incoming, Some(Ok(_))) { return },
        }
    }
}

async fn aggregates(
    State(fake): State<FakePolygon>,
    Path((ticker, from, to)): Path<(String, i64, i64)>,
    Query(query): Query<BTreeMap<String, String>>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> Response {
    let fault = {
        let mut inner = fake.lock();
        let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok());
        inner.traceparents.push(traceparent.map(String::from));
        inner.requests.push(format!(
            "/v2/aggs/ticker/{ticker}/range/1/minute/{from}/{to}?{}",
            raw.unwrap_or_default()
        ));
        inner.faults.pop_front()
    };
    match fault {
        Some(Fault::Status(code, retry_after)) => {
            let status = StatusCode::from_u16(code).unwrap();
            let body = json!({"status": "ERROR", "error": format!("fault {code}")}).to_string();
            return match retry_after {
                Some(s) => (status, [(header::RETRY_AFTER, s.to_string())], body).into_response(),
                None => (status, body).into_response(),
            };
        }
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Pass) | None => {}
    }
    if query.get("apiKey") != Some(&fake.key) {
        let body = json!({"status": "ERROR", "error": "Unknown API Key"}).to_string();
        return (StatusCode::UNAUTHORIZED, body).into_response();
    }
    let all: Vec<Value> = fake
        .lock()
        .bars
        .get(&ticker)
        .map(|bars| {
            bars.iter()
                .filter(|b| (from..=to).contains(&b["t"].as_i64().unwrap()))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let cursor: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(cursor)
        .take(fake.page_size)
        .cloned()
        .collect();
    let mut body = json!({"ticker": ticker, "status": "OK", "adjusted": true,
                          "queryCount": page.len(), "resultsCount": page.len()});
    if !page.is_empty() {
        body["results"] = Value::Array(page);
    }
    if cursor + fake.page_size < all.len() {
        body["next_url"] = json!(format!(
            "{}/v2/aggs/ticker/{ticker}/range/1/minute/{from}/{to}?cursor={}",
            fake.url,
            cursor + fake.page_size
        ));
    }
    axum::Json(body).into_response()
}
