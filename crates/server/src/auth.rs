//! PIN auth: signed session cookies (and the same value as a Bearer token),
//! constant-time PIN checks, attempts limited per address (IPv6 per /64)
//! and globally, revocable sessions, and the API's per-address rate limit.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Extension, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use rand::Rng;
use subtle::ConstantTimeEq;

use super::admission::{limit_key, ClientAddr};
use super::error::ApiError;
use super::AppState;
use spotlight_market::time::now_ms;
use spotlight_wire::{PinRequest, PinResponse};

/// Name of the session cookie.
pub const COOKIE: &str = "spotlight_session";
/// How long a session lasts.
pub const SESSION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Shortest PIN (`--env dev`).
pub const MIN_PIN: usize = 4;
/// Shortest PIN with `--env prod`.
pub const MIN_PIN_PROD: usize = 6;
/// Revoked sessions remembered at most (the soonest to expire go first).
const MAX_REVOKED: usize = 100_000;

type Limiter =
    RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock, StateInformationMiddleware>;

/// How auth and rate limits are set up.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The PIN; auth is off without one.
    pub pin: Option<String>,
    /// Cookie signing secret (at least 32 bytes); random when absent.
    pub secret: Option<String>,
    /// Production: `SameSite=None; Secure` cookies, PINs of 6 or more.
    pub prod: bool,
    /// `/api/diag` needs a session too.
    pub private_diag: bool,
    /// PIN attempts per minute per address (IPv6: per /64).
    pub pin_per_minute: u32,
    /// Failed PIN attempts per minute over all addresses.
    pub pin_failures_global: u32,
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
            pin_failures_global: 60,
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
    failures: Mutex<VecDeque<Instant>>,
    failures_per_minute: usize,
    revoked: Mutex<HashMap<String, i64>>,
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

/// A signed session value: `{expires_ms}.{id}`.
struct SessionValue<'a> {
    expires: i64,
    id: &'a str,
}

fn parse_session(value: &str) -> Option<SessionValue<'_>> {
    let (expires, id) = value.split_once('.')?;
    Some(SessionValue {
        expires: expires.parse().ok()?,
        id,
    })
}

impl Auth {
    /// Builds auth; a secret shorter than 32 bytes or a PIN shorter than
    /// [`MIN_PIN`] ([`MIN_PIN_PROD`] in prod) is refused.
    pub fn new(config: &AuthConfig) -> Result<Auth, String> {
        let pin = config.pin.clone().filter(|p| !p.is_empty());
        if let Some(p) = &pin {
            let min = if config.prod { MIN_PIN_PROD } else { MIN_PIN };
            if p.chars().count() < min {
                return Err(format!(
                    "the PIN must be at least {min} characters{}",
                    if config.prod { " with --env prod" } else { "" }
                ));
            }
        }
        let (master, persistent_key) = match &config.secret {
            Some(s) if s.len() < 32 => {
                return Err("SPOTLIGHT_SECRET must be at least 32 bytes".into())
            }
            Some(s) => (s.as_bytes().to_vec(), true),
            None => (rand::rng().random::<[u8; 32]>().to_vec(), false),
        };
        // The signing key is bound to the secret and the PIN: a new PIN
        // ends every session signed under the old one.
        let mut material = master;
        material.push(0);
        material.extend_from_slice(pin.as_deref().unwrap_or("").as_bytes());
        Ok(Auth {
            pin,
            key: Key::derive_from(&material),
            prod: config.prod,
            private_diag: config.private_diag,
            persistent_key,
            pin_limiter: RateLimiter::keyed(per_minute(config.pin_per_minute))
                .with_middleware::<StateInformationMiddleware>(),
            api_limiter: RateLimiter::keyed(per_minute(config.requests_per_minute))
                .with_middleware::<StateInformationMiddleware>(),
            api_per_minute: config.requests_per_minute.max(1),
            failures: Mutex::new(VecDeque::new()),
            failures_per_minute: config.pin_failures_global.max(1) as usize,
            revoked: Mutex::new(HashMap::new()),
        })
    }

    /// The signing key (sessions, voice resume tokens).
    pub fn key(&self) -> Key {
        self.key.clone()
    }

    /// Whether a PIN is set.
    pub fn enabled(&self) -> bool {
        self.pin.is_some()
    }

    /// Forgets rate-limit state of addresses not seen lately and expired
    /// revocations (bounds memory).
    pub fn forget_idle(&self) {
        for l in [&self.pin_limiter, &self.api_limiter] {
            l.retain_recent();
            l.shrink_to_fit();
        }
        let now = now_ms();
        lock(&self.revoked).retain(|_, expires| *expires > now);
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

    /// The verified session value of a request's cookie or Bearer token.
    fn session_value(&self, headers: &HeaderMap) -> Option<String> {
        let jar = SignedCookieJar::from_headers(headers, self.key.clone());
        if let Some(c) = jar.get(COOKIE) {
            return Some(c.value().to_string());
        }
        let token = bearer(headers)?;
        let mut as_cookie = HeaderMap::new();
        as_cookie.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{COOKIE}={token}")).ok()?,
        );
        SignedCookieJar::from_headers(&as_cookie, self.key.clone())
            .get(COOKIE)
            .map(|c| c.value().to_string())
    }

    /// Whether the request carries a valid, unexpired, unrevoked session.
    pub fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = self.session_value(headers) else {
            return false;
        };
        let Some(session) = parse_session(&value) else {
            return false;
        };
        session.expires > now_ms() && !lock(&self.revoked).contains_key(session.id)
    }

    /// Revokes the session a request carries (until its own expiry).
    fn revoke(&self, headers: &HeaderMap) {
        let Some(value) = self.session_value(headers) else {
            return;
        };
        let Some(session) = parse_session(&value) else {
            return;
        };
        let mut revoked = lock(&self.revoked);
        if revoked.len() >= MAX_REVOKED {
            let now = now_ms();
            revoked.retain(|_, e| *e > now);
            if revoked.len() >= MAX_REVOKED {
                let soonest = revoked
                    .iter()
                    .min_by_key(|(_, e)| **e)
                    .map(|(k, _)| k.clone());
                if let Some(k) = soonest {
                    revoked.remove(&k);
                }
            }
        }
        revoked.insert(session.id.to_string(), session.expires);
    }

    /// Whether the global budget of failed PIN attempts is spent: how long
    /// until the oldest failure leaves the minute.
    fn global_wait(&self) -> Option<Duration> {
        let mut failures = lock(&self.failures);
        let now = Instant::now();
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            failures.pop_front();
        }
        (failures.len() >= self.failures_per_minute).then(|| {
            failures.front().map_or(Duration::from_secs(60), |t| {
                Duration::from_secs(60).saturating_sub(now.duration_since(*t))
            })
        })
    }

    fn failed(&self) {
        let mut failures = lock(&self.failures);
        failures.push_back(Instant::now());
        while failures.len() > self.failures_per_minute {
            failures.pop_front();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The token of an `Authorization: Bearer …` header (scheme in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

impl axum::extract::FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.auth.key.clone()
    }
}

fn cookie_duration(d: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(d.as_secs() as i64)
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
    error.retry_after(secs).into_response()
}

/// `POST /api/auth/pin`: checks the PIN (attempts limited per address and
/// globally) and answers with a session cookie and the same session as a
/// token.
pub async fn pin(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    jar: SignedCookieJar,
    body: Result<Json<PinRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let auth = &state.auth;
    let fail = |reason: &'static str| {
        state.metrics.auth_failure(reason);
        tracing::warn!(%client, reason, "PIN sign-in refused");
    };
    if let Err(not_until) = auth.pin_limiter.check_key(&limit_key(client)) {
        fail("rate_limited");
        return too_many(not_until.wait_time_from(DefaultClock::default().now()));
    }
    if let Some(wait) = auth.global_wait() {
        fail("global_limit");
        return too_many(wait);
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
        auth.failed();
        fail("wrong_pin");
        return ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong PIN")
            .into_response();
    }
    let expires_at = now_ms() + SESSION.as_millis() as i64;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let jar = jar.add(auth.session_cookie(format!("{expires_at}.{id}"), SESSION));
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

/// `POST /api/auth/logout`: revokes the session the request carries (cookie
/// or token) and clears the cookie (always answered with an expired
/// cookie, whether or not the request carried one).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.auth.revoke(&headers);
    let mut removal = state.auth.session_cookie(String::new(), Duration::ZERO);
    removal.make_removal();
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
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
    /// Counts a request from `ip` (IPv6: its /64) against the API budget.
    pub fn check_rate(&self, ip: IpAddr) -> RateDecision {
        match self.api_limiter.check_key(&limit_key(ip)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for v in ["Bearer abc", "bearer abc", "BEARER  abc "] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            assert_eq!(bearer(&h), Some("abc"), "{v}");
        }
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn short_pins_are_refused() {
        let dev = |pin: &str, prod| {
            Auth::new(&AuthConfig {
                pin: Some(pin.into()),
                prod,
                ..AuthConfig::default()
            })
        };
        assert!(dev("123", false).is_err());
        assert!(dev("1234", false).is_ok());
        assert!(dev("12345", true).is_err());
        assert!(dev("123456", true).is_ok());
    }
}
