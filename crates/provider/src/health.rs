//! What the server knows of each upstream it depends on — up or down and
//! since when, the age of its last message, its errors by kind, the
//! problem it reported, its circuit — for readiness, diag and metrics.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::breaker::Breaker;
use spotlight_market::time::now_ms;
use spotlight_wire::{DiagGap, DiagUpstream};

/// Gap fills remembered for diag.
const GAPS_KEPT: usize = 8;

/// One upstream's health.
#[derive(Debug)]
pub struct UpstreamHealth {
    /// Its name in metrics and diag (`polygon_ws`, `polygon_rest`, `voice`).
    pub name: &'static str,
    /// The breaker around its calls, if it has one.
    pub breaker: Option<Arc<Breaker>>,
    up: AtomicBool,
    degraded: AtomicBool,
    /// When it last went up or down, Unix ms.
    since_ms: AtomicI64,
    last_message_ms: AtomicI64,
    /// When the next attempt is due, Unix ms (0: none waiting).
    next_attempt_ms: AtomicI64,
    errors: Mutex<BTreeMap<String, u64>>,
    problem: Mutex<Option<String>>,
    gaps: Mutex<VecDeque<DiagGap>>,
}

impl UpstreamHealth {
    /// A new upstream, down until it connects.
    pub fn new(name: &'static str, breaker: Option<Arc<Breaker>>) -> Arc<UpstreamHealth> {
        Arc::new(UpstreamHealth {
            name,
            breaker,
            up: AtomicBool::new(false),
            degraded: AtomicBool::new(false),
            since_ms: AtomicI64::new(now_ms()),
            last_message_ms: AtomicI64::new(0),
            next_attempt_ms: AtomicI64::new(0),
            errors: Mutex::default(),
            problem: Mutex::default(),
            gaps: Mutex::default(),
        })
    }

    /// Connected (and, for a feed, signed in and subscribed).
    pub fn set_up(&self) {
        if !self.up.swap(true, Ordering::SeqCst) {
            self.since_ms.store(now_ms(), Ordering::SeqCst);
        }
        self.next_attempt_ms.store(0, Ordering::SeqCst);
        *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Lost; `problem` says why when the upstream said (or it is known).
    pub fn set_down(&self, problem: Option<String>) {
        if self.up.swap(false, Ordering::SeqCst) {
            self.since_ms.store(now_ms(), Ordering::SeqCst);
        }
        if problem.is_some() {
            *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = problem;
        }
    }

    /// Serving what it holds because the upstream cannot fill it.
    pub fn set_degraded(&self, degraded: bool) {
        self.degraded.store(degraded, Ordering::SeqCst);
    }

    /// The next attempt is due in `ms`.
    pub fn next_attempt_in(&self, ms: i64) {
        self.next_attempt_ms.store(now_ms() + ms, Ordering::SeqCst);
    }

    /// A message came.
    pub fn message(&self) {
        self.last_message_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Counts an error of `kind` (`connect`, `auth_failed`, `http_429`, …).
    pub fn error(&self, kind: &str) {
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        *errors.entry(kind.to_string()).or_default() += 1;
    }

    /// Records a gap filled (or not) from the upstream.
    pub fn gap(&self, gap: DiagGap) {
        let mut gaps = self.gaps.lock().unwrap_or_else(|e| e.into_inner());
        if gaps.len() == GAPS_KEPT {
            gaps.pop_front();
        }
        gaps.push_back(gap);
    }

    /// Whether it is up.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    /// Whether it is degraded.
    pub fn is_degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    /// Milliseconds it has been in its current state (up or down).
    pub fn state_for_ms(&self) -> i64 {
        (now_ms() - self.since_ms.load(Ordering::SeqCst)).max(0)
    }

    /// Milliseconds since the last message (`None`: none yet).
    pub fn last_message_age_ms(&self) -> Option<i64> {
        let at = self.last_message_ms.load(Ordering::Relaxed);
        (at > 0).then(|| (now_ms() - at).max(0))
    }

    /// Errors by kind.
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The problem it reported last (cleared when it comes up).
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `up`, `degraded` or `down`.
    pub fn state_name(&self) -> &'static str {
        if self.is_degraded() {
            "degraded"
        } else if self.is_up() {
            "up"
        } else {
            "down"
        }
    }

    /// Its diag entry.
    pub fn diag(&self) -> DiagUpstream {
        let next = self.next_attempt_ms.load(Ordering::SeqCst);
        DiagUpstream {
            name: self.name.to_string(),
            state: self.state_name().to_string(),
            state_for_ms: self.state_for_ms(),
            last_message_age_ms: self.last_message_age_ms(),
            problem: self.problem(),
            circuit: self.breaker.as_ref().map(|b| b.state().name().to_string()),
            next_attempt_in_ms: (next > 0).then(|| (next - now_ms()).max(0)),
            errors: self.errors(),
            gaps: self
                .gaps
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .cloned()
                .collect(),
        }
    }
}
