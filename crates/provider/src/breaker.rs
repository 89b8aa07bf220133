//! A circuit breaker around calls to an upstream: closed (calls go) →
//! open after `threshold` consecutive failures (calls refused at once) →
//! half-open after the cool-down (one probe goes; its success closes the
//! circuit, its failure opens it again for another cool-down).

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The circuit's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go.
    Closed,
    /// One probe may go (or is in flight).
    HalfOpen,
    /// Calls are refused until the cool-down has passed.
    Open,
}

impl CircuitState {
    /// Its name in diag.
    pub fn name(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::HalfOpen => "half_open",
            CircuitState::Open => "open",
        }
    }

    /// Its value in `spotlight_circuit_state` (0 closed, 1 half-open, 2 open).
    pub fn gauge(self) -> i64 {
        match self {
            CircuitState::Closed => 0,
            CircuitState::HalfOpen => 1,
            CircuitState::Open => 2,
        }
    }
}

#[derive(Debug)]
struct Inner {
    state: CircuitState,
    failures: u32,
    opened_at: Instant,
    probing: bool,
}

/// A circuit breaker, shared by every caller of one upstream.
#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    cool_down: Duration,
    inner: Mutex<Inner>,
}

/// A call refused by an open circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the circuit is open: the upstream failed repeatedly (next probe in {0:?})")]
pub struct Refused(pub Duration);

impl Breaker {
    /// Opens after `threshold` consecutive failures, probes after `cool_down`.
    pub fn new(threshold: u32, cool_down: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            cool_down,
            inner: Mutex::new(Inner {
                state: CircuitState::Closed,
                failures: 0,
                opened_at: Instant::now(),
                probing: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go now; an open circuit whose cool-down has
    /// passed lets one probe through.
    pub fn allow(&self) -> Result<(), Refused> {
        let mut s = self.lock();
        match s.state {
            CircuitState::Closed => Ok(()),
            CircuitState::Open => {
                let passed = s.opened_at.elapsed();
                if passed >= self.cool_down {
                    s.state = CircuitState::HalfOpen;
                    s.probing = true;
                    s.opened_at = Instant::now() - self.cool_down;
                    Ok(())
                } else {
                    Err(Refused(self.cool_down - passed))
                }
            }
            // A probe that never reported (its caller went away) gives way
            // to another after a cool-down.
            CircuitState::HalfOpen if !s.probing || s.opened_at.elapsed() >= self.cool_down * 2 => {
                s.probing = true;
                s.opened_at = Instant::now() - self.cool_down;
                Ok(())
            }
            CircuitState::HalfOpen => Err(Refused(Duration::ZERO)),
        }
    }

    /// The call succeeded: the circuit closes.
    pub fn success(&self) {
        let mut s = self.lock();
        s.state = CircuitState::Closed;
        s.failures = 0;
        s.probing = false;
    }

    /// The call failed: one more failure, or a failed probe.
    pub fn failure(&self) {
        let mut s = self.lock();
        s.failures = s.failures.saturating_add(1);
        s.probing = false;
        if s.state == CircuitState::HalfOpen || s.failures >= self.threshold {
            s.state = CircuitState::Open;
            s.opened_at = Instant::now();
        }
    }

    /// The state now (an open circuit past its cool-down reads half-open).
    pub fn state(&self) -> CircuitState {
        let s = self.lock();
        match s.state {
            CircuitState::Open if s.opened_at.elapsed() >= self.cool_down => CircuitState::HalfOpen,
            state => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_probes_after_the_cool_down() {
        let b = Breaker::new(3, Duration::from_secs(10));
        for _ in 0..2 {
            b.allow().unwrap();
            b.failure();
        }
        assert_eq!(b.state(), CircuitState::Closed, "two failures of three");
        b.success();
        for _ in 0..3 {
            b.allow().unwrap();
            b.failure();
        }
        assert_eq!(b.state(), CircuitState::Open);
        assert_eq!(b.allow(), Err(Refused(Duration::from_secs(10))));

        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.state(), CircuitState::HalfOpen);
        b.allow().expect("one probe");
        assert!(b.allow().is_err(), "only one probe at a time");
        tokio::time::advance(Duration::from_secs(10)).await;
        b.allow().expect("a probe that never reported gives way");
        b.failure();
        assert_eq!(
            b.state(),
            CircuitState::Open,
            "a failed probe opens it again"
        );

        tokio::time::advance(Duration::from_secs(10)).await;
        b.allow().expect("the next probe");
        b.success();
        assert_eq!(b.state(), CircuitState::Closed);
        b.allow().unwrap();
    }
}
