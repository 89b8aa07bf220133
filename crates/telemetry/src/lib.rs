//! OpenTelemetry traces (`serve --otlp-endpoint URL`): spans exported over
//! OTLP/HTTP (protobuf) in batches, W3C trace context (`traceparent`)
//! honoured on incoming requests and sent on outgoing ones. Without the
//! flag nothing is exported and the spans that only tracing needs (one
//! per SSE connection, per voice session) are not even made.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// The OTLP/HTTP exporter for `endpoint` (a collector's base URL, e.g.
/// `http://127.0.0.1:4318`; `/v1/traces` is added unless it is there),
/// batching on a thread of its own; turns tracing on.
pub fn otlp(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    let endpoint = endpoint.trim_end_matches('/');
    let url = if endpoint.ends_with("/v1/traces") {
        endpoint.to_string()
    } else {
        format!("{endpoint}/v1/traces")
    };
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(url)
        .with_headers(Default::default())
        .build()?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name("spotlight").build())
        .build();
    enable();
    Ok(provider)
}

/// Turns tracing on (spans made, context propagated); [`otlp`] does it.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The tracing layer that turns spans into OpenTelemetry spans of
/// `provider`.
pub fn layer<S>(provider: &SdkTracerProvider) -> OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer().with_tracer(provider.tracer("spotlight"))
}

/// `make()` when tracing is on, else a span that costs nothing.
pub fn span(make: impl FnOnce() -> tracing::Span) -> tracing::Span {
    if enabled() {
        make()
    } else {
        tracing::Span::none()
    }
}

/// Makes `span` a child of the trace an incoming request names in its
/// `traceparent` (when tracing is on and it names one).
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !enabled() || !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let _ = span.set_parent(parent);
}

/// Adds the current span's `traceparent` to an outgoing request's headers
/// (when tracing is on).
pub fn inject(headers: &mut axum::http::HeaderMap) {
    if !enabled() {
        return;
    }
    let context = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
}
