//! PIN auth: signed session cookies (and the same value as a Bearer token),
//! constant-time PIN checks, per-address rate limits.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRef, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::market::time::now_ms;
use crate::wire::{PinRequest, PinResponse};

/// Name of the session cookie.
pub const COOKIE: &str = "spotlight_session";
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(30 * 24 * 3600);

type Limiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// How auth and rate limits are set up.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The PIN; auth is off without one.
    pub pin: Option<String>,
    /// Cookie signing secret (at least 32 bytes); random when absent.
    pub secret: Option<String>,
    /// Production cookies: `SameSite=None; Secure`.
    pub prod: bool,
    /// `/api/diag` needs a session too.
    pub private_diag: bool,
    /// PIN attempts per minute per address.
    pub pin_per_minute: u32,
    /// API requests per minute per address.
    pub requests_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            pin: None,
            secret: None,
            prod: false,
            private_diag: false,
            pin_per_minute: 5,
            requests_per_minute: 1200,
        }
    }
}

/// Auth state shared by the handlers.
pub struct Auth {
    pin: Option<String>,
    key: Key,
    prod: bool,
    /// Whether `/api/diag` needs a session.
    pub private_diag: bool,
    /// Whether the key came from `SPOTLIGHT_SECRET` (sessions survive restarts).
    pub persistent_key: bool,
    pin_limiter: Limiter,
    api_limiter: Limiter,
    api_per_minute: u32,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.enabled())
            .finish_non_exhaustive()
    }
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least one"))
}

impl Auth {
    /// Builds auth; a secret shorter than 32 bytes is refused.
    pub fn new(config: &AuthConfig) -> Result<Auth, String> {
        let (key, persistent_key) = match &config.secret {
            Some(s) if s.len() < 32 => {
                return Err("SPOTLIGHT_SECRET must be at least 32 bytes".into())
            }
            Some(s) => (Key::derive_from(s.as_bytes()), true),
            None => (Key::generate(), false),
        };
        let pin = config.pin.clone().filter(|p| !p.is_empty());
        Ok(Auth {
            pin,
            key,
            prod: config.prod,
            private_diag: config.private_diag,
            persistent_key,
            pin_limiter: RateLimiter::keyed(per_minute(config.pin_per_minute))
                .with_middleware::<StateInformationMiddleware>(),
            api_limiter: RateLimiter::keyed(per_minute(config.requests_per_minute))
                .with_middleware::<StateInformationMiddleware>(),
            api_per_minute: config.requests_per_minute.max(1),
        })
    }

    /// Whether a PIN is set.
    pub fn enabled(&self) -> bool {
        self.pin.is_some()
    }

    /// Forgets rate-limit state of addresses not seen lately (bounds memory).
    pub fn forget_idle(&self) {
        for l in [&self.pin_limiter, &self.api_limiter] {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }

    fn session_cookie(&self, value: String, max_age: Duration) -> Cookie<'static> {
        let mut c = Cookie::build((COOKIE, value))
            .path("/")
            .http_only(true)
            .max_age(cookie_duration(max_age));
        c = if self.prod {
            c.same_site(SameSite::None).secure(true)
        } else {
            c.same_site(SameSite::Lax)
        };
        c.build()
    }

    /// Whether a signed session value is valid and unexpired.
    fn valid(&self, headers: &HeaderMap) -> bool {
        SignedCookieJar::from_headers(headers, self.key.clone())
            .get(COOKIE)
            .and_then(|c| c.value().parse::<i64>().ok())
            .is_some_and(|expires| expires > now_ms())
    }

    /// Whether the request carries a valid session cookie or Bearer token.
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        if self.valid(headers) {
            return true;
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = bearer else { return false };
        let mut as_cookie = HeaderMap::new();
        match HeaderValue::from_str(&format!("{COOKIE}={token}")) {
            Ok(v) => {
                as_cookie.insert(header::COOKIE, v);
                self.valid(&as_cookie)
            }
            Err(_) => false,
        }
    }
}

fn cookie_duration(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.auth.key.clone()
    }
}

fn client_ip(req_ext: &axum::http::Extensions) -> IpAddr {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// The 429 for a wait: the error and the `Retry-After` seconds (at least 1).
pub fn too_many_requests(wait: Duration) -> (ApiError, u64) {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {secs} s"),
    );
    (error, secs)
}

fn too_many(wait: Duration) -> Response {
    let (error, secs) = too_many_requests(wait);
    let mut r = error.into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// `POST /api/auth/pin`: checks the PIN (rate-limited per address) and
/// answers with a session cookie and the same session as a token.
pub async fn pin(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: SignedCookieJar,
    body: Result<Json<PinRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let auth = &state.auth;
    if let Err(not_until) = auth.pin_limiter.check_key(&peer.ip()) {
        return too_many(not_until.wait_time_from(DefaultClock::default().now()));
    }
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    let Some(expected) = &auth.pin else {
        return ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "auth is off: this server has no PIN",
        )
        .into_response();
    };
    if !bool::from(body.pin.as_bytes().ct_eq(expected.as_bytes())) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong PIN")
            .into_response();
    }
    let expires_at = now_ms() + SESSION.as_millis() as i64;
    let jar = jar.add(auth.session_cookie(expires_at.to_string(), SESSION));
    let signed = jar
        .clone()
        .into_response()
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Cookie::parse(v.to_string()).ok())
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    (
        jar,
        Json(PinResponse {
            token: signed,
            expires_at,
        }),
    )
        .into_response()
}

/// `POST /api/auth/logout`: clears the session cookie (always answered
/// with an expired cookie, whether or not the request carried one).
pub async fn logout(State(state): State<AppState>) -> Response {
    let mut removal = state.auth.session_cookie(String::new(), Duration::ZERO);
    removal.make_removal();
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// Middleware: a session is required when auth is on.
pub async fn require_session(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match state.auth.denies(req.headers()) {
        None => next.run(req).await,
        Some(e) => e.into_response(),
    }
}

/// The API limiter's decision for one request.
#[derive(Debug, Clone, Copy)]
pub struct RateDecision {
    /// Requests left in the budget; 0 when limited.
    pub remaining: u32,
    /// When limited: how long until the next request is allowed.
    pub wait: Option<Duration>,
}

impl Auth {
    /// Counts a request from `ip` against the API budget.
    pub fn check_rate(&self, ip: IpAddr) -> RateDecision {
        match self.api_limiter.check_key(&ip) {
            Ok(snapshot) => RateDecision {
                remaining: snapshot.remaining_burst_capacity(),
                wait: None,
            },
            Err(not_until) => RateDecision {
                remaining: 0,
                wait: Some(not_until.wait_time_from(DefaultClock::default().now())),
            },
        }
    }

    /// `X-RateLimit-Limit`, `-Remaining` and `-Reset` for a decision.
    pub fn rate_headers(&self, decision: RateDecision) -> [(&'static str, u64); 3] {
        let limit = self.api_per_minute;
        let refill = 60.0 / f64::from(limit);
        let reset = (f64::from(limit - decision.remaining.min(limit)) * refill).ceil() as u64;
        [
            ("x-ratelimit-limit", u64::from(limit)),
            ("x-ratelimit-remaining", u64::from(decision.remaining)),
            ("x-ratelimit-reset", reset),
        ]
    }

    /// The 401 to answer when a session is needed and the request has none.
    pub fn denies(&self, headers: &HeaderMap) -> Option<ApiError> {
        (self.enabled() && !self.authorized(headers)).then(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "sign in first: POST /api/auth/pin {\"pin\"}, then send the cookie or Authorization: Bearer <token>",
            )
        })
    }
}

/// Middleware: the per-address API limit, with `X-RateLimit-*` headers.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let decision = state.auth.check_rate(client_ip(req.extensions()));
    let mut response = match decision.wait {
        None => next.run(req).await,
        Some(wait) => too_many(wait),
    };
    let h = response.headers_mut();
    for (name, value) in state.auth.rate_headers(decision) {
        h.insert(name, HeaderValue::from(value));
    }
    response
}
