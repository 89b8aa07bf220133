//! OpenTelemetry traces: spans recorded by the SDK's in-memory exporter
//! while a real server in this process answers real clients (the request
//! span with its id continuing the caller's `traceparent`, an SSE
//! connection and a voice session as its children, an upstream request
//! sending the trace on), and once through `serve --otlp-endpoint` to an
//! OTLP/HTTP receiver in the test.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::fake_polygon::FakePolygon;
use common::process::serve;
use common::*;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use spotlight_client::sse::Subscribe;
use spotlight_client::voice::VoiceClient;
use spotlight_market::{Hub, HubConfig};
use spotlight_provider::polygon::{Polygon, PolygonConfig};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE}-{PARENT}-01")
}

/// Spans of this thread go to an in-memory exporter while the guard lives.
fn in_memory() -> (
    InMemorySpanExporter,
    SdkTracerProvider,
    tracing::subscriber::DefaultGuard,
) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    spotlight_telemetry::enable();
    let subscriber = tracing_subscriber::registry().with(spotlight_telemetry::layer(&provider));
    (
        exporter,
        provider,
        tracing::subscriber::set_default(subscriber),
    )
}

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

#[tokio::test]
async fn requests_streams_and_voice_sessions_are_spans_continuing_the_callers_trace() {
    let (exporter, provider, _guard) = in_memory();
    let server = voice_server(Default::default()).await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}/api/history?symbol=SPY&limit=5", server.url))
        .header("traceparent", traceparent())
        .header("x-request-id", "req-traced-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // An SSE connection, opened and closed.
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        ..Subscribe::default()
    };
    let (_, stream) = open(&server.client(), sub).await;
    drop(stream);
    // A voice session, opened and closed.
    let client = VoiceClient::connect(&server.url, None).await.unwrap();
    drop(client);
    for name in ["sse.connection", "voice.session"] {
        eventually(&format!("the span {name} to end"), || async {
            let _ = provider.force_flush();
            let spans = exporter.get_finished_spans().unwrap();
            !named(&spans, name).is_empty()
        })
        .await;
    }

    let spans = exporter.get_finished_spans().unwrap();
    let request = spans
        .iter()
        .find(|s| s.name == "http" && attr(s, "request_id").as_deref() == Some("req-traced-1"))
        .expect("the request's span");
    assert_eq!(
        request.span_context.trace_id(),
        TraceId::from_hex(TRACE).unwrap()
    );
    assert_eq!(request.parent_span_id, SpanId::from_hex(PARENT).unwrap());
    assert_eq!(attr(request, "method").as_deref(), Some("GET"));

    let sse = named(&spans, "sse.connection")[0];
    assert_eq!(attr(sse, "symbols").as_deref(), Some("SPY"));
    assert_eq!(attr(sse, "resume").as_deref(), Some("live"));
    let parent = spans
        .iter()
        .find(|s| s.span_context.span_id() == sse.parent_span_id)
        .expect("the stream's parent is exported");
    assert_eq!(parent.name, "http", "a child of its request");

    let voice = named(&spans, "voice.session")[0];
    assert!(
        attr(voice, "session").is_some_and(|s| !s.is_empty()),
        "{voice:?}"
    );
    assert!(spans
        .iter()
        .any(|s| s.span_context.span_id() == voice.parent_span_id && s.name == "http"));
    server.stop().await;
}

#[tokio::test]
async fn an_upstream_request_is_a_span_and_carries_the_trace_to_the_provider() {
    let (exporter, provider, _guard) = in_memory();
    let fake = FakePolygon::start("k", 50).await;
    let mut config = PolygonConfig::new("k", vec!["SPY".into()]);
    config.ws_url = fake.ws_url();
    config.rest_url = fake.url.clone();
    config.backfill = Duration::from_secs(600);
    let polygon = Arc::new(Polygon::new(config));
    let stop = CancellationToken::new();
    polygon.spawn(Hub::new(HubConfig::default()), stop.clone());
    eventually("the feed to subscribe", || async { fake.listeners() == 1 }).await;
    let _ = provider.force_flush();
    let spans = exporter.get_finished_spans().unwrap();
    let request = named(&spans, "upstream.request")[0];
    assert_eq!(attr(request, "upstream").as_deref(), Some("polygon_rest"));
    assert_eq!(attr(request, "status").as_deref(), Some("200"));
    assert!(
        !attr(request, "url").unwrap().contains("apiKey"),
        "the key stays out of traces"
    );
    let sent = fake.traceparents()[0].clone().expect("a traceparent sent");
    let trace = request.span_context.trace_id().to_string();
    assert!(sent.contains(&trace), "{sent} carries {trace}");
    stop.cancel();
}

/// What the receiver got: content type and body of each POST.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// An OTLP/HTTP receiver: the bodies POSTed to `/v1/traces`.
async fn receiver() -> (String, Received) {
    use axum::routing::post;
    let got: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let store = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let store = store.clone();
                async move {
                    let kind = headers
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    store.lock().unwrap().push((kind, body.to_vec()));
                    ""
                }
            },
        ),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn serve_exports_its_spans_over_otlp_http() {
    let (collector, got) = receiver().await;
    let server = serve("127.0.0.1:0", &["--otlp-endpoint", &collector]).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/healthz", server.url))
        .header("traceparent", traceparent())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A graceful stop exports what the batch holds.
    let (exit, logs) = server.stop("-TERM").await;
    assert!(exit.success(), "{logs}");
    let bodies = got.lock().unwrap().clone();
    assert!(!bodies.is_empty(), "nothing exported: {logs}");
    assert!(bodies
        .iter()
        .all(|(kind, _)| kind == "application/x-protobuf"));
    let all: Vec<u8> = bodies.into_iter().flat_map(|(_, b)| b).collect();
    let trace = TraceId::from_hex(TRACE).unwrap().to_bytes();
    assert!(
        all.windows(trace.len()).any(|w| w == trace),
        "the caller's trace id is in the export"
    );
    assert!(all.windows(4).any(|w| w == b"http"), "the request span");
    assert!(
        all.windows(9).any(|w| w == b"spotlight"),
        "the service name"
    );
}
