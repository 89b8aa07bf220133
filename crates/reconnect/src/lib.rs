//! The reconnect policy every client shares: 1 s × 2ⁿ, capped at 30 s,
//! ±20 % jitter, at most 10 attempts, reset by a successful connection.

use std::time::Duration;

use rand::Rng;

/// Reconnect delays and the attempt budget.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// First delay.
    pub base: Duration,
    /// Largest delay.
    pub cap: Duration,
    /// Relative jitter (0.2 = ±20 %).
    pub jitter: f64,
    /// Attempts before giving up.
    pub max_attempts: u32,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
            jitter: 0.2,
            max_attempts: 10,
            attempt: 0,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt, or `None` when the budget is spent.
    pub fn next_delay(&mut self) -> Option<Duration> {
        if self.attempt >= self.max_attempts {
            return None;
        }
        let exp = self.base.as_secs_f64() * 2f64.powi(self.attempt as i32);
        let nominal = exp.min(self.cap.as_secs_f64());
        self.attempt += 1;
        let factor = 1.0 + rand::rng().random_range(-self.jitter..=self.jitter);
        Some(Duration::from_secs_f64(nominal * factor))
    }

    /// Sleeps the next delay; `false` (at once) when the budget is spent.
    pub async fn wait(&mut self) -> bool {
        match self.next_delay() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }

    /// Attempts made since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The same policy with a different attempt budget.
    pub fn attempts_at_most(max_attempts: u32) -> Backoff {
        Backoff {
            max_attempts,
            ..Backoff::default()
        }
    }

    /// A connection succeeded: start over.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ten_waits_take_about_three_minutes_then_it_gives_up() {
        let mut b = Backoff::default();
        let start = tokio::time::Instant::now();
        let mut waits = 0;
        while b.wait().await {
            waits += 1;
        }
        let nominal = 1.0 + 2.0 + 4.0 + 8.0 + 16.0 + 30.0 * 5.0;
        let took = start.elapsed().as_secs_f64();
        assert_eq!(waits, 10);
        assert!(took >= nominal * 0.8 && took <= nominal * 1.2, "{took}");
    }

    #[test]
    fn delays_double_to_the_cap_with_jitter_then_stop() {
        let mut b = Backoff::default();
        let nominal = [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0, 30.0];
        for n in nominal {
            let d = b.next_delay().unwrap().as_secs_f64();
            assert!(d >= n * 0.8 - 1e-9 && d <= n * 1.2 + 1e-9, "{d} vs {n}");
        }
        assert_eq!(b.next_delay(), None, "10 attempts at most");
        b.reset();
        assert!(b.next_delay().unwrap() <= Duration::from_millis(1200));
    }
}
