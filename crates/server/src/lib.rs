//! The HTTP server: router, handlers, shutdown. Started with [`launch`] on an
//! already-bound listener, so tests bind `127.0.0.1:0`.

pub mod admission;
pub mod auth;
pub mod browser;
pub mod bus;
pub mod client_addr;
mod conn;
pub mod diag;
pub mod drain;
pub mod error;
mod health;
mod history;
mod http2;
mod https;
pub mod ingest;
mod lean;
mod lean_tls;
pub mod liveness;
pub mod market;
pub mod metrics;
pub mod page;
mod params;
pub mod replay;
mod rewind;
mod sse;
pub mod stream_metrics;
pub mod sys;
pub mod tls;
pub mod upstream;
pub mod voice;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, Request, Uri};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// The commit this build is (`unknown` outside a checkout; `build.rs`).
pub const GIT_SHA: &str = env!("SPOTLIGHT_GIT_SHA");

/// The version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SPOTLIGHT_GIT_SHA"),
    ")"
);

pub use admission::{Admission, BrowserPolicy, Gate, Limits, RouteClass};
pub use auth::{Auth, AuthConfig};
pub use conn::check_head;
pub use error::ApiError;
pub use metrics::Metrics;
pub use sse::{StreamRequest, DEFAULT_HEARTBEAT, MIN_HEARTBEAT};
pub use voice::{Sessions, VoiceConfig};

use spotlight_market::replay::Replayer;
use spotlight_market::Hub;

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Interval of SSE `ping` events.
    pub heartbeat: Duration,
    /// The market source's name, reported in `hello`.
    pub source: String,
    /// Largest `POST /api/ingest` body, bytes.
    pub ingest_limit: usize,
    /// PIN, cookies and rate limits.
    pub auth: AuthConfig,
    /// Capacity and timing limits.
    pub limits: Limits,
    /// Hosts, origins and proxies the server trusts.
    pub browser: BrowserPolicy,
    /// The voice WebSocket.
    pub voice: VoiceConfig,
    /// Time a graceful shutdown has: streams close in waves across it.
    pub drain: Duration,
    /// The certificate the listener serves TLS with (`None`: plaintext).
    pub tls: Option<Arc<tls::Tls>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            heartbeat: DEFAULT_HEARTBEAT,
            source: "sim".into(),
            ingest_limit: 8 * 1024 * 1024,
            auth: AuthConfig::default(),
            limits: Limits::default(),
            browser: BrowserPolicy::default(),
            voice: VoiceConfig::default(),
            drain: Duration::from_secs(5),
            tls: None,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The market hub.
    pub hub: Arc<Hub>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Cancelled when the server starts shutting down: streams say goodbye.
    pub shutdown: CancellationToken,
    /// The metrics registry.
    pub metrics: Arc<Metrics>,
    /// PIN auth and rate limits.
    pub auth: Arc<Auth>,
    /// The server-wide replay.
    pub replay: Arc<Replayer>,
    /// Open connections and streams, for capacity.
    pub admission: Arc<Admission>,
    /// Voice sessions, live and resumable.
    pub voice: Arc<Sessions>,
    /// Drain mode for deploys.
    pub drain: Arc<drain::Drain>,
    /// The waves a shutdown closes streams in.
    pub waves: Arc<drain::Waves>,
    /// The scale-out bus, when this instance is on one (`serve --bus`).
    /// Behind a pointer: every connection holds a clone of the state.
    pub bus: Option<Arc<bus::Bus>>,
    /// The upstreams this server depends on (a live provider, the voice
    /// relay), with their metrics.
    pub upstreams: Arc<upstream::ServedUpstreams>,
}

impl AppState {
    /// State over a hub, with no recordings to replay (a replay plays the
    /// hub's own history); fails when the auth settings are unusable.
    pub fn new(hub: Arc<Hub>, config: ServerConfig) -> Result<AppState, String> {
        let replay = Replayer::new(hub.clone(), Default::default());
        AppState::with_replay(hub, config, replay)
    }

    /// State over a hub and a replayer.
    pub fn with_replay(
        hub: Arc<Hub>,
        config: ServerConfig,
        replay: Arc<Replayer>,
    ) -> Result<AppState, String> {
        let auth = Arc::new(Auth::new(&config.auth)?);
        let metrics = Metrics::new(&hub, &config.source);
        let voice = Arc::new(Sessions::new(auth.key(), config.voice.clone()));
        let admission = Arc::new(Admission::new(&config.limits));
        Ok(AppState {
            voice,
            replay,
            hub,
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
            metrics,
            auth,
            admission,
            drain: Arc::new(drain::Drain::default()),
            waves: Arc::new(drain::Waves::default()),
            bus: None,
            upstreams: Arc::default(),
        })
    }
}

/// The router with every route and middleware. Routes are declared in
/// groups by admission class ([`RouteClass`]); each group, and the
/// fallback, passes [`admission::gate`] with its class, so no route can be
/// added without saying who may use it.
pub fn router(state: AppState) -> Router {
    let cors = cors_layer(&state.config.browser);
    let (state_tls, prod) = (state.config.tls.is_some(), state.config.auth.prod);
    let gated = |class: RouteClass| {
        let gate = Gate {
            state: state.clone(),
            class,
        };
        from_fn_with_state(gate, admission::gate)
    };
    let mut app = Router::new();
    for (class, routes) in routes(&state) {
        let routes = routes.method_not_allowed_fallback(method_not_allowed);
        app = app.merge(routes.route_layer(gated(class)));
    }
    let app = app
        .fallback(not_found.layer(gated(RouteClass::PUBLIC)))
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal("internal error"))
        }));
    let app = match cors {
        Some(cors) => app.layer(cors),
        None => app,
    };
    // Production over this server's own TLS: browsers are told to use
    // HTTPS only (a proxy that terminates TLS sets this itself).
    let hsts = (state_tls && prod).then(|| {
        tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000"),
        )
    });
    app.layer(tower::util::option_layer(hsts))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                let span = access_span(req.method().as_str(), &req.uri().to_string(), id);
                spotlight_telemetry::continue_trace(&span, req.headers());
                span
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Every route, in groups by admission class: a route is declared with
/// the class that admits it.
fn routes(state: &AppState) -> Vec<(RouteClass, Router<AppState>)> {
    let diag_class = if state.auth.private_diag {
        RouteClass::SESSION
    } else {
        RouteClass::PUBLIC
    };
    let open = Router::new()
        .route("/health", get(health::healthz))
        .route("/api/healthz", get(health::healthz))
        .route("/api/readyz", get(health::readyz))
        .route("/api/metrics", get(metrics::metrics));
    let public = Router::new()
        .route("/", get(page::index))
        .route("/assets/{name}", get(page::asset))
        .route("/api/auth/pin", post(auth::pin))
        .route("/api/auth/logout", post(auth::logout));
    let session = Router::new()
        .route("/api/history", get(history::history))
        .route("/api/symbols", get(history::symbols))
        .route("/api/metrics/json", get(metrics::metrics_json))
        .route("/api/replay/start", post(replay::start))
        .route("/api/replay/stop", post(replay::stop))
        .route("/api/replay/pause", post(replay::pause))
        .route("/api/replay/resume", post(replay::resume))
        .route("/api/replay/speed", post(replay::speed))
        .route("/api/replay/status", get(replay::status))
        .route("/api/admin/drain", get(drain::get).post(drain::post))
        .route("/api/admission", get(admission::get));
    let ingest = post(ingest::ingest).layer(DefaultBodyLimit::max(state.config.ingest_limit));
    vec![
        (RouteClass::OPEN, open),
        (RouteClass::PUBLIC, public),
        (RouteClass::SESSION, session),
        (
            RouteClass::INGEST,
            Router::new().route("/api/ingest", ingest),
        ),
        (
            diag_class,
            Router::new().route("/api/diag", get(diag::diag)),
        ),
        (
            RouteClass::STREAM,
            Router::new().route(admission::SSE_PATH, get(sse::sse)),
        ),
        (
            RouteClass::VOICE,
            Router::new().route(voice::VOICE_PATH, get(voice::voice)),
        ),
    ]
}

/// The access-log span of one request, on every path.
pub fn access_span(method: &str, uri: &str, request_id: &str) -> tracing::Span {
    tracing::info_span!(
        "http",
        method = %method,
        uri = %uri,
        request_id = %request_id,
        client = tracing::field::Empty
    )
}

/// CORS with credentials for exactly the `--cors-origin`s (none: no CORS).
fn cors_layer(policy: &BrowserPolicy) -> Option<CorsLayer> {
    use axum::http::{header, HeaderName, HeaderValue};
    if policy.cors_origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = policy
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_credentials(true)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                header::RETRY_AFTER,
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-reset"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    ApiError::new(
        status,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

/// Serves `state` on `listener` until `shutdown` resolves, then tells every
/// stream (`shutdown` event) and waits for connections to finish.
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let auth = state.auth.clone();
    let voice = state.voice.clone();
    let sweeper = state.shutdown.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        let mut ticks = 0u64;
        loop {
            tokio::select! {
                _ = every.tick() => {
                    voice.sweep();
                    ticks += 1;
                    if ticks % 12 == 0 {
                        auth.forget_idle();
                    }
                }
                _ = sweeper.cancelled() => return,
            }
        }
    });
    if let Ok(local) = listener.local_addr() {
        state.admission.set_local(local);
    }
    let app = router(state.clone());
    conn::serve(listener, state, app, shutdown).await
}

#[cfg(test)]
mod tests {
    /// Every connection's task holds a clone of the state (twice, across
    /// its phases): it must stay a handful of pointers. An inline field of
    /// a few hundred bytes here once cost every stream 3 KiB.
    #[test]
    fn the_state_every_connection_holds_is_a_handful_of_pointers() {
        let size = std::mem::size_of::<super::AppState>();
        assert!(
            size <= 16 * std::mem::size_of::<usize>(),
            "AppState is {size} bytes"
        );
    }
}
