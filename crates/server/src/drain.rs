//! Drain mode for deploys behind a load balancer: readiness fails so the
//! balancer stops routing here, admission refuses new streams and new voice
//! sessions (resumes of voice sessions are still taken), current streams
//! go on. `GET/POST /api/admin/drain`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use rand::Rng;

use axum::extract::State;
use axum::Json;

use super::error::ApiError;
use super::AppState;
use spotlight_market::time::now_ms;
use spotlight_market::Hub;
use spotlight_wire::{DrainRequest, DrainStatus};

/// Whether the server is draining, and since when.
#[derive(Debug, Default)]
pub struct Drain {
    on: AtomicBool,
    since_ms: AtomicI64,
}

impl Drain {
    /// Turns drain mode on or off; whether that changed anything.
    pub fn set(&self, on: bool) -> bool {
        let was = self.on.swap(on, Ordering::SeqCst);
        if was != on {
            self.since_ms
                .store(if on { now_ms() } else { 0 }, Ordering::SeqCst);
        }
        was != on
    }

    /// Whether new work is refused.
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::SeqCst)
    }

    /// When drain mode was turned on, Unix ms.
    pub fn since(&self) -> Option<i64> {
        self.is_on().then(|| self.since_ms.load(Ordering::SeqCst))
    }
}

/// Streams a shutdown closes per wave: each stream draws one of them.
pub const WAVES: usize = 8;

/// A shutdown closes streams in waves spread across the drain window, so
/// their clients do not all come back at the same moment. A stream draws
/// its wave at start and looks whether it is due when it wakes — a fired
/// wave wakes every stream through its queue ([`Hub::nudge_all`]), so
/// nothing is polled per event.
#[derive(Debug, Default)]
pub struct Waves {
    /// Waves fired so far.
    fired: AtomicUsize,
}

impl Waves {
    /// The wave a new stream ends in (drawn at random).
    pub fn assign(&self) -> usize {
        rand::rng().random_range(0..WAVES)
    }

    /// Whether `wave` has fired.
    pub fn is_due(&self, wave: usize) -> bool {
        self.fired.load(Ordering::Acquire) > wave
    }

    /// Fires the waves evenly over the first 60 % of `drain` (the rest is
    /// for the last writes), counting each.
    pub async fn run(&self, drain: Duration, hub: &Hub, metrics: &super::metrics::Metrics) {
        let start = tokio::time::Instant::now();
        let window = drain.mul_f64(0.6);
        for i in 0..WAVES {
            tokio::time::sleep_until(start + window.mul_f64(i as f64 / WAVES as f64)).await;
            self.fired.store(i + 1, Ordering::Release);
            hub.nudge_all();
            metrics.shutdown_wave();
        }
    }
}

/// The reconnect delay a shutdown notice suggests: drawn over the drain
/// window (at least 1 s), so the comeback is spread too.
pub fn retry_ms(drain: Duration) -> u64 {
    let top = (drain.as_millis() as u64).max(2000);
    rand::rng().random_range(1000..=top)
}

/// The drain state with what is still connected.
pub fn status(state: &AppState) -> DrainStatus {
    DrainStatus {
        draining: state.drain.is_on() || state.shutdown.is_cancelled(),
        since: state.drain.since(),
        streams: state.hub.stats().subscribers.load(Ordering::Relaxed),
        voice_sessions: state.voice.counts().0 as u64,
    }
}

/// `GET /api/admin/drain`.
pub async fn get(State(state): State<AppState>) -> Json<DrainStatus> {
    Json(status(&state))
}

/// `POST /api/admin/drain {"on": true|false}`.
pub async fn post(
    State(state): State<AppState>,
    body: Result<Json<DrainRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<DrainStatus>, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if state.drain.set(req.on) {
        state.metrics.set_draining(req.on);
        state.admission.voice.dismiss(req.on);
        if req.on {
            tracing::info!("drain mode on: not ready, no new streams or voice sessions");
        } else {
            tracing::info!("drain mode off: taking new work again");
        }
    }
    Ok(Json(status(&state)))
}
