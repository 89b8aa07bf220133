//! REST minute aggregates for backfill: one window of one symbol, page by
//! page (`next_url` carries no key: it is added again), each page behind
//! the circuit breaker. A 429 waits (`Retry-After`, else the free tier's
//! pace) and asks for the same page again — a retry never starts the
//! pages over; server errors, timeouts and refused connections count
//! against the breaker and are retried a few times on the shared policy.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tracing::Instrument;

use super::messages::{AggsPage, RestBar};
use crate::breaker::{Breaker, Refused};
use crate::health::UpstreamHealth;
use spotlight_market::Candle;
use spotlight_reconnect::Backoff;

/// Tries of one page after server errors.
const SERVER_ERROR_TRIES: u32 = 3;
/// Tries of one page after 429s.
const RATE_LIMITED_TRIES: u32 = 5;

/// Why a window could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The breaker refused the call.
    #[error(transparent)]
    Open(#[from] Refused),
    /// The provider refused the key.
    #[error("the provider refused the key (HTTP {0})")]
    Unauthorized(u16),
    /// Still failing after the tries a page gets.
    #[error("{0}")]
    Failed(String),
}

/// The REST side of the provider.
#[derive(Debug, Clone)]
pub struct Rest {
    http: reqwest::Client,
    base: String,
    key: String,
    breaker: Arc<Breaker>,
    health: Arc<UpstreamHealth>,
    /// First wait after a server error (doubling).
    pub retry_base: Duration,
    /// Wait after a 429 without `Retry-After` (doubling).
    pub rate_limit_wait: Duration,
}

impl Rest {
    /// The provider at `base` (`https://api.polygon.io`) with `key`;
    /// each request may take `timeout`.
    pub fn new(
        base: &str,
        key: &str,
        timeout: Duration,
        breaker: Arc<Breaker>,
        health: Arc<UpstreamHealth>,
    ) -> Rest {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Rest {
            http,
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            breaker,
            health,
            retry_base: Duration::from_secs(1),
            rate_limit_wait: Duration::from_secs(12),
        }
    }

    /// The final 1m bars of `symbol` from `from` to `to` (exclusive), Unix
    /// ms, oldest first.
    pub async fn minutes(
        &self,
        symbol: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<Candle>, RestError> {
        let mut url = format!(
            "{}/v2/aggs/ticker/{symbol}/range/1/minute/{from}/{}?adjusted=true&sort=asc&limit=50000",
            self.base,
            to - 1
        );
        let mut out: Vec<Candle> = Vec::new();
        loop {
            let page = self.page(&url).await?;
            let bars = page.results.unwrap_or_default();
            out.extend(
                bars.iter()
                    .map(RestBar::candle)
                    .filter(|c| (from..to).contains(&c.t) && c.check().is_ok()),
            );
            match page.next_url {
                Some(next) if !next.is_empty() => url = next,
                _ => break,
            }
        }
        out.sort_by_key(|c| c.t);
        out.dedup_by_key(|c| c.t);
        Ok(out)
    }

    /// One GET of `url` with the key, in its own span (the trace sent on).
    async fn get(&self, url: &str) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "upstream.request",
            upstream = "polygon_rest",
            url = %url.split('?').next().unwrap_or_default(),
            status = tracing::field::Empty,
        );
        let sent = async {
            let mut headers = reqwest::header::HeaderMap::new();
            spotlight_telemetry::inject(&mut headers);
            self.http
                .get(url)
                .headers(headers)
                .query(&[("apiKey", self.key.as_str())])
                .send()
                .await
        }
        .instrument(span.clone())
        .await;
        if let Ok(res) = &sent {
            span.record("status", res.status().as_u16());
        }
        sent
    }

    /// One page, with the key added, retried as the module says.
    async fn page(&self, url: &str) -> Result<AggsPage, RestError> {
        let mut failures = Backoff::attempts_at_most(SERVER_ERROR_TRIES - 1);
        failures.base = self.retry_base;
        let mut limited = Backoff::attempts_at_most(RATE_LIMITED_TRIES - 1);
        limited.base = self.rate_limit_wait;
        limited.cap = self.rate_limit_wait * 8;
        loop {
            self.breaker.allow()?;
            let sent = self.get(url).await;
            let (kind, detail) = match sent {
                Ok(res) if res.status().is_success() => match res.json::<AggsPage>().await {
                    Ok(page) => {
                        self.breaker.success();
                        self.health.set_up();
                        self.health.message();
                        return Ok(page);
                    }
                    Err(e) => ("bad_body", e.to_string()),
                },
                Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
                    // The provider answers: not a fault of its own.
                    self.breaker.success();
                    self.health.error("http_429");
                    let hinted = retry_after(&res);
                    let pace = limited.next_delay().ok_or_else(|| {
                        RestError::Failed(format!(
                            "still rate limited (429) after {RATE_LIMITED_TRIES} tries"
                        ))
                    })?;
                    let wait = hinted.unwrap_or(pace);
                    tracing::warn!(?wait, "the provider rate-limits backfill (429): waiting");
                    self.wait(wait).await;
                    continue;
                }
                Ok(res) if matches!(res.status().as_u16(), 401 | 403) => {
                    self.breaker.success();
                    self.health.error("unauthorized");
                    return Err(RestError::Unauthorized(res.status().as_u16()));
                }
                Ok(res) if res.status().is_server_error() => {
                    ("http_5xx", format!("HTTP {}", res.status()))
                }
                Ok(res) => {
                    self.breaker.success();
                    self.health.error("http_4xx");
                    return Err(RestError::Failed(format!("HTTP {}", res.status())));
                }
                Err(e) if e.is_timeout() => ("timeout", e.to_string()),
                Err(e) => ("connect", e.to_string()),
            };
            self.breaker.failure();
            self.health.error(kind);
            self.health
                .set_down(Some(format!("backfill request failed: {detail}")));
            let Some(wait) = failures.next_delay() else {
                return Err(RestError::Failed(format!(
                    "{detail} ({SERVER_ERROR_TRIES} tries)"
                )));
            };
            tracing::warn!(kind, ?wait, "a backfill request failed: trying again");
            self.wait(wait).await;
        }
    }

    async fn wait(&self, wait: Duration) {
        self.health.next_attempt_in(wait.as_millis() as i64);
        tokio::time::sleep(wait).await;
    }
}

/// A `Retry-After` in seconds.
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let secs: u64 = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(300)))
}
