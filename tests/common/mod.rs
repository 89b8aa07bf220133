//! Test harness: a real server on 127.0.0.1:0 and real clients.

pub mod fake_polygon;
pub mod netns;
pub mod process;
pub mod proxy;
pub mod redis_server;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use spotlight_client::sse::{EventStream, ServerEvent, Subscribe};
use spotlight_client::Client;
use spotlight_market::source::sim_driver::{run_sim, start_sim, SimClock};
use spotlight_market::{Bar, Candle, Hub, HubConfig, Timeframe};
use spotlight_server::{launch, AppState, ServerConfig};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// 2011-01-03T14:30:00Z.
pub const T0: i64 = 1_294_065_000_000;
/// One minute, ms.
pub const MIN: i64 = 60_000;

/// Hang guard for waits on the server: generous, so it only trips on a bug.
pub const HANG: Duration = Duration::from_secs(60);

/// A running server.
pub struct TestServer {
    pub url: String,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    feed: CancellationToken,
}

impl TestServer {
    /// Serves `hub` with `config` on an ephemeral port.
    pub async fn start(hub: Arc<Hub>, config: ServerConfig) -> TestServer {
        TestServer::with_state(AppState::new(hub, config).unwrap()).await
    }

    /// Serves a prepared state (e.g. with recordings to replay).
    pub async fn with_state(state: AppState) -> TestServer {
        TestServer::with_state_at("127.0.0.1:0", state).await
    }

    /// Serves `hub` again at the address of a stopped server (same epoch).
    pub async fn restart_at(url: &str, hub: Arc<Hub>) -> TestServer {
        let state = AppState::new(hub, ServerConfig::default()).unwrap();
        TestServer::with_state_at(url.trim_start_matches("http://"), state).await
    }

    async fn with_state_at(addr: &str, state: AppState) -> TestServer {
        let listener = TcpListener::bind(addr).await.unwrap();
        TestServer::on_listener(listener, state)
    }

    /// Serves a prepared state on a listener of the test's own (e.g. one
    /// made in a network namespace).
    pub fn on_listener(listener: TcpListener, state: AppState) -> TestServer {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(launch(listener, state.clone(), async {
            let _ = rx.await;
        }));
        TestServer {
            url,
            state,
            stop: Some(tx),
            task,
            feed: CancellationToken::new(),
        }
    }

    /// A server with an empty hub, fed by the test through ingest.
    pub async fn empty(config: HubConfig) -> TestServer {
        TestServer::start(Hub::new(config), ServerConfig::default()).await
    }

    /// A server on the sim source: `symbols`, an hour of backfill, the
    /// A server over an empty hub holding the final 1m bars
    /// [`finals`]`(symbols, from, to)`, pushed through `POST /api/ingest`.
    pub async fn with_finals(symbols: &[&str], from: i64, to: i64) -> TestServer {
        let server = TestServer::empty(HubConfig::default()).await;
        server
            .client()
            .ingest(ndjson(&finals(symbols, from, to)))
            .await
            .unwrap();
        server
    }

    /// simulated clock at `speed`, updates every `tick_ms`.
    pub async fn sim(symbols: &[&str], speed: f64, tick_ms: u64) -> TestServer {
        TestServer::sim_with(symbols, speed, tick_ms, ServerConfig::default()).await
    }

    /// [`TestServer::sim`] with a server config of the test's own.
    pub async fn sim_with(
        symbols: &[&str],
        speed: f64,
        tick_ms: u64,
        config: ServerConfig,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestServer::sim_on(listener, symbols, speed, tick_ms, config)
    }

    /// [`TestServer::sim_with`] on a listener of the test's own.
    pub fn sim_on(
        listener: TcpListener,
        symbols: &[&str],
        speed: f64,
        tick_ms: u64,
        config: ServerConfig,
    ) -> TestServer {
        let hub = Hub::new(HubConfig::default());
        let clock = SimClock::new(speed);
        let symbols: Vec<String> = symbols.iter().map(|s| s.to_string()).collect();
        let sim = start_sim(7, &symbols, Duration::from_secs(3600), &clock, &hub).unwrap();
        let state = AppState::new(hub.clone(), config).unwrap();
        let server = TestServer::on_listener(listener, state);
        tokio::spawn(run_sim(
            sim,
            hub,
            clock,
            Duration::from_millis(tick_ms),
            server.feed.clone(),
        ));
        server
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    pub fn hub(&self) -> &Arc<Hub> {
        &self.state.hub
    }

    /// Graceful stop: streams get `shutdown`, then the server returns.
    pub async fn stop(mut self) {
        self.feed.cancel();
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        guard(&mut self.task).await.unwrap().unwrap();
    }
}

/// Awaits `fut`, failing the test if it hangs.
pub async fn guard<F: Future>(fut: F) -> F::Output {
    tokio::time::timeout(HANG, fut)
        .await
        .expect("hung: no answer within the hang guard")
}

/// The next event of a stream.
pub async fn next(stream: &mut EventStream) -> ServerEvent {
    guard(stream.next())
        .await
        .expect("stream ended")
        .expect("stream error")
}

/// The next `bar` event, skipping pings (the whole wait is guarded, so
/// pings cannot keep a missing bar waiting forever).
pub async fn next_bar(stream: &mut EventStream) -> spotlight_wire::BarEvent {
    guard(async {
        loop {
            match stream
                .next()
                .await
                .expect("stream ended")
                .expect("stream error")
            {
                ServerEvent::Bar(b) => return b,
                ServerEvent::Ping(_) => continue,
                other => panic!("expected a bar, got {other:?}"),
            }
        }
    })
    .await
}

/// Opens a stream and returns it with its `hello`.
pub async fn open(client: &Client, sub: Subscribe) -> (spotlight_wire::Hello, EventStream) {
    let mut stream = client.subscribe(&sub).await.unwrap();
    match next(&mut stream).await {
        ServerEvent::Hello(h) => (h, stream),
        other => panic!("first event must be hello, got {other:?}"),
    }
}

/// A 1m bar at minute `i` after [`T0`] closing at `c`.
pub fn bar(symbol: &str, i: i64, c: f64, is_final: bool) -> Bar {
    let candle = Candle {
        t: T0 + i * MIN,
        o: c - 0.5,
        h: c + 1.0,
        l: c - 1.0,
        c,
        v: 100 + i as u64,
    };
    Bar::new(symbol.into(), Timeframe::M1, candle, is_final)
}

/// Bars as an NDJSON body.
pub fn ndjson(bars: &[Bar]) -> String {
    bars.iter()
        .map(|b| serde_json::to_string(b).unwrap() + "\n")
        .collect()
}

/// Final 1m bars for `symbols`, minutes `from..to`, interleaved by minute.
pub fn finals(symbols: &[&str], from: i64, to: i64) -> Vec<Bar> {
    (from..to)
        .flat_map(|i| {
            symbols
                .iter()
                .map(move |s| bar(s, i, 100.0 + i as f64 / 10.0, true))
        })
        .collect()
}

/// Polls `check` on a short interval until it holds; fails the test if it
/// never does within the hang guard. For effects that land asynchronously
/// on the server (a dropped connection noticed on its next write).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let wait = async {
        loop {
            tick.tick().await;
            if check().await {
                return;
            }
        }
    };
    if tokio::time::timeout(HANG, wait).await.is_err() {
        panic!("never happened: {what}");
    }
}

/// `GET {url}/api/diag` as JSON, unchecked.
pub async fn diag_json(url: &str) -> serde_json::Value {
    reqwest::get(format!("{url}/api/diag"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A server with a custom config and an empty hub.
pub async fn with_config(config: ServerConfig) -> TestServer {
    TestServer::start(Hub::new(HubConfig::default()), config).await
}

/// Validates a diag document against the committed `schemas/diag.schema.json`.
pub fn assert_diag_schema(doc: &serde_json::Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/diag.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "diag does not match schemas/diag.schema.json: {errors:#?}"
    );
}

/// Runs the `spotlight` binary with `args` (no colour, no inherited
/// credentials) and returns exit code, stdout and stderr.
pub async fn spotlight(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("spotlight"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("SPOTLIGHT_PIN")
        .env_remove("SPOTLIGHT_TOKEN")
        .env_remove("SPOTLIGHT_URL")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = guard(cmd.output()).await.unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// One HTTP/1.1 answer read off a raw socket.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body (empty for an event stream: only its head is read).
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A header's value, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A request head as a browser-less client writes it.
pub fn raw_get(path: &str, extra: &[(&str, &str)]) -> String {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head + "\r\n"
}

/// Reads one answer from `tcp`: the head, then a `Content-Length` body (an
/// event stream's body is left unread; a body of unknown length is read
/// to the end).
pub async fn read_response(tcp: &mut tokio::net::TcpStream) -> RawResponse {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let (status, headers, head_len) = loop {
        let mut chunk = [0u8; 4096];
        let n = guard(tcp.read(&mut chunk)).await.expect("read");
        assert!(
            n > 0,
            "connection closed before an answer: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&chunk[..n]);
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut slots);
        if let httparse::Status::Complete(len) = res.parse(&buf).expect("an HTTP answer") {
            let headers = res
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect::<Vec<_>>();
            break (res.code.unwrap(), headers, len);
        }
    };
    let mut response = RawResponse {
        status,
        headers,
        body: buf[head_len..].to_vec(),
    };
    if response.header("content-type") == Some("text/event-stream") {
        response.body.clear();
        return response;
    }
    match response
        .header("content-length")
        .map(|v| v.parse::<usize>().unwrap())
    {
        Some(len) => {
            while response.body.len() < len {
                let mut chunk = [0u8; 4096];
                let n = guard(tcp.read(&mut chunk)).await.expect("read");
                assert!(n > 0, "body cut short");
                response.body.extend_from_slice(&chunk[..n]);
            }
            response.body.truncate(len);
        }
        None => {
            guard(tcp.read_to_end(&mut response.body))
                .await
                .expect("read");
        }
    }
    response
}

/// Sends each request on one connection in turn and reads its answer.
pub async fn raw_exchange(url: &str, requests: &[String]) -> Vec<RawResponse> {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut out = Vec::new();
    for r in requests {
        tcp.write_all(r.as_bytes()).await.unwrap();
        out.push(read_response(&mut tcp).await);
    }
    out
}

/// A server with voice settings `voice` and SPY known (ten final bars).
pub async fn voice_server(voice: spotlight_server::VoiceConfig) -> TestServer {
    let server = TestServer::start(
        Hub::new(HubConfig::default()),
        ServerConfig {
            voice,
            ..ServerConfig::default()
        },
    )
    .await;
    server
        .client()
        .ingest(ndjson(&finals(&["SPY"], 0, 10)))
        .await
        .unwrap();
    server
}

/// Fails unless `promtool check metrics` finds `text` clean (a missing
/// promtool is a failure that says what to install).
#[allow(dead_code)]
pub fn promtool_check(text: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect(
            "promtool is required for this test (Debian package `prometheus`; .ci/run installs it)",
        );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics:\n{report}"
    );
}

/// The next `n` `bar` events of a raw event stream (the client's, or
/// eventsource-stream over any response) as (id, data).
pub async fn bars(
    events: &mut (impl futures::Stream<Item = Result<eventsource_stream::Event, impl std::fmt::Debug>>
              + Unpin),
    n: usize,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while out.len() < n {
        let event = guard(events.next()).await.expect("stream ended").unwrap();
        if event.event == "bar" {
            out.push((event.id, event.data));
        }
    }
    out
}
