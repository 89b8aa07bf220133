//! `GET /api/diag`: the triage snapshot.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;

use super::AppState;
use spotlight_market::time::{format_ms, now_ms};
use spotlight_wire::{
    Diag, DiagAdmission, DiagAuth, DiagEpoch, DiagMarket, DiagMemory, DiagMetrics, DiagProcess,
    DiagRing, DiagSymbol, DiagVoice,
};

/// How many lagging clients diag lists.
pub const LAGGING: usize = 5;

/// Connections, streams and seats against their limits.
fn admission_of(state: &AppState) -> DiagAdmission {
    let limits = &state.config.limits;
    let admission = super::admission::status(state);
    DiagAdmission {
        connections: state.admission.connections() as u64,
        max_connections: limits.max_connections as u64,
        streams: state.admission.streams() as u64,
        max_streams_per_addr: limits.max_streams_per_addr as u64,
        sse_max_clients: limits.sse_max_clients as u64,
        rejected: state.metrics.connections_rejected().into_iter().collect(),
        sse: admission.sse,
        voice: admission.voice,
    }
}

/// Voice sessions connected and waiting for a resume.
fn voice_of(state: &AppState) -> DiagVoice {
    let (connected, resumable) = state.voice.counts();
    DiagVoice {
        connected: connected as u64,
        resumable: resumable as u64,
        upstream: state.voice.config.upstream.is_some(),
    }
}

/// Everything `GET /api/diag` reports.
pub fn snapshot(state: &AppState) -> Diag {
    let hub = &state.hub;
    let now = now_ms();
    let stats = hub.stats();
    let (low_seq, head_seq) = hub.ring_bounds();
    let symbols: Vec<DiagSymbol> = hub
        .last_bar_times()
        .into_iter()
        .map(|(symbol, last_bar_t)| DiagSymbol { symbol, last_bar_t })
        .collect();
    let newest = symbols.iter().filter_map(|s| s.last_bar_t).max();
    let pid = std::process::id();
    let uptime = (now - hub.started_ms()) as f64 / 1000.0;
    Diag {
        timestamp: now,
        epoch: DiagEpoch {
            id: hub.epoch().to_string(),
            start_ms: hub.started_ms(),
            started_at: format_ms(hub.started_ms()),
            uptime_seconds: uptime,
        },
        ring: DiagRing {
            low_seq,
            head_seq,
            capacity: hub.ring_capacity(),
            bytes: hub.ring_bytes() as u64,
        },
        market: DiagMarket {
            source: state.config.source.clone(),
            symbols,
            last_bar_age_seconds: last_bar_age(
                now,
                stats.last_event_ms.load(Ordering::Relaxed),
                newest,
            ),
        },
        memory: DiagMemory {
            rss_bytes: crate::sys::rss(pid),
            peak_rss_bytes: crate::sys::status_bytes(pid, "VmHWM"),
            virtual_bytes: crate::sys::status_bytes(pid, "VmSize"),
        },
        process: DiagProcess {
            pid,
            uptime_seconds: uptime,
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_sha: crate::GIT_SHA.to_string(),
            platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        },
        metrics: DiagMetrics {
            sse_connections: state.metrics.sse.connections.get().max(0) as u64,
            sse_connections_total: state.metrics.sse.connections_total.get(),
            sse_conflated_total: stats.conflated.load(Ordering::Relaxed),
            sse_slow_disconnects_total: stats.slow_disconnects.load(Ordering::Relaxed),
            events_total: stats.events.load(Ordering::Relaxed),
            http_requests_total: state.metrics.http_requests_total(),
        },
        auth: DiagAuth {
            enabled: state.auth.enabled(),
            private_diag: state.auth.private_diag,
            persistent_sessions: state.auth.persistent_key,
        },
        replay: state.replay_status(),
        lagging_clients: hub.lagging(LAGGING),
        admission: admission_of(state),
        voice: voice_of(state),
        drain: super::drain::status(state),
        bus: state.market().diag(),
        tls: state.config.tls.as_ref().map(|tls| tls_section(tls)),
        upstreams: state
            .upstreams
            .upstreams
            .list
            .iter()
            .map(|u| u.diag())
            .collect(),
    }
}

/// Seconds since the hub last received a bar; for history-only sources
/// (no event yet), since the end of the newest bar's minute.
fn last_bar_age(now: i64, last_event_ms: i64, newest_bar_t: Option<i64>) -> Option<f64> {
    let since = if last_event_ms > 0 {
        last_event_ms
    } else {
        newest_bar_t? + spotlight_wire::timeframe::MINUTE_MS
    };
    Some((now - since).max(0) as f64 / 1000.0)
}

/// The handler.
pub async fn diag(State(state): State<AppState>) -> Json<Diag> {
    Json(snapshot(&state))
}

/// The certificate served, for diag.
fn tls_section(tls: &crate::tls::Tls) -> spotlight_wire::DiagTls {
    let cert = tls.info();
    spotlight_wire::DiagTls {
        subject: cert.subject,
        expires_ms: cert.not_after * 1000,
    }
}
