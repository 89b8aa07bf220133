//! `spotlight diag`: the server's triage snapshot, readable or as JSON.

use crate::cmd::out;
use clap::Args;

use super::{connect, Exit, GlobalArgs};
use spotlight_market::time::format_ms;
use spotlight_wire::{Diag, DrainStatus};

/// Options of `spotlight diag` (`--json` prints the snapshot as served).
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight diag
  spotlight --url https://md.example.com --json diag | jq .ring")]
pub struct DiagArgs {}

/// Fetches and prints the snapshot.
pub async fn run(_args: DiagArgs, global: &GlobalArgs) -> anyhow::Result<Exit> {
    let client = connect::client(global).await?;
    let diag = client.diag().await.map_err(connect::failure)?;
    if global.json {
        out::json(&diag)?;
    } else {
        out::text(&render(&diag))?;
    }
    Ok(Exit::Ok)
}

/// `1h 02m 03s`, `4m 05s`, `6s`.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, sec) => format!("{h}h {m:02}m {sec:02}s"),
    }
}

/// Bytes as MiB with one decimal.
pub fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1_048_576.0))
}

/// Connections and streams against their limits, and what was refused.
fn admission(a: &spotlight_wire::DiagAdmission) -> String {
    let refused: Vec<String> = a
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    let most = |n: u64| {
        if n == 0 {
            "no limit".to_string()
        } else {
            n.to_string()
        }
    };
    format!(
        "{} of {} connections, {} streams ({} per address); refused: {}",
        a.connections,
        most(a.max_connections),
        a.streams,
        most(a.max_streams_per_addr),
        if refused.is_empty() {
            "none".to_string()
        } else {
            refused.join(", ")
        }
    )
}

/// One kind's capacity, use and queue: `3 of 10 (30 %)`, `2 unlimited`,
/// then the queue and the decisions so far.
pub fn capacity(k: &spotlight_wire::KindAdmission, noun: &str) -> String {
    let used = if k.capacity == 0 {
        format!("{} {noun}, no limit", k.in_use)
    } else {
        format!(
            "{} of {} {noun} ({:.0} %)",
            k.in_use,
            k.capacity,
            k.utilization * 100.0
        )
    };
    let queue = match k.queue.last() {
        None if k.queue_max > 0 => ", queue empty".to_string(),
        None => String::new(),
        Some(last) => format!(
            ", {} queued (longest wait {}, last ETA {})",
            k.queue.len(),
            duration(k.queue[0].waited_ms as f64 / 1000.0),
            duration(last.eta_ms as f64 / 1000.0)
        ),
    };
    format!(
        "{used}{queue}; {} admitted, {} queued, {} refused so far",
        k.admitted, k.queued, k.rejected
    )
}

/// The aligned, readable summary.
pub fn render(d: &Diag) -> String {
    let mut out: String = rows(d)
        .iter()
        .map(|(k, v)| format!("{k:<12} {v}\n"))
        .collect();
    out.push_str(&lagging(d));
    out
}

/// One `name value` row per part of the server.
fn rows(d: &Diag) -> Vec<(&'static str, String)> {
    let symbols: Vec<&str> = d.market.symbols.iter().map(|s| s.symbol.as_str()).collect();
    let age = d
        .market
        .last_bar_age_seconds
        .map_or("no bar yet".into(), |a| {
            format!("last bar {} ago", duration(a))
        });
    let mut rows = vec![
        (
            "epoch",
            format!(
                "{}  started {}  up {}",
                d.epoch.id,
                format_ms(d.epoch.start_ms),
                duration(d.epoch.uptime_seconds)
            ),
        ),
        (
            "ring",
            format!(
                "seq {} … {}  (holds {}; {} now)",
                d.ring.low_seq,
                d.ring.head_seq,
                d.ring.capacity,
                mib(Some(d.ring.bytes))
            ),
        ),
        (
            "source",
            format!("{}: {}  ({age})", d.market.source, symbols.join(", ")),
        ),
        (
            "memory",
            format!(
                "RSS {}  peak {}",
                mib(d.memory.rss_bytes),
                mib(d.memory.peak_rss_bytes)
            ),
        ),
    ];
    rows.extend(traffic(d));
    rows.extend([
        ("replay", super::replay::summary(&d.replay)),
        ("drain", drain(&d.drain)),
        ("bus", bus(d.bus.as_ref())),
    ]);
    rows.extend(d.upstreams.iter().map(|u| ("upstream", upstream(u))));
    rows.extend(d.tls.as_ref().map(|t| {
        let expires = format_ms(t.expires_ms);
        ("tls", format!("{}  expires {expires}", t.subject))
    }));
    rows.push((
        "process",
        format!(
            "pid {}  spotlight {} ({})  {}",
            d.process.pid, d.process.version, d.process.git_sha, d.process.platform
        ),
    ));
    rows
}

/// The rows of who comes in: connections, admission, capacity, traffic, auth.
fn traffic(d: &Diag) -> [(&'static str, String); 6] {
    let m = &d.metrics;
    let auth = match (d.auth.enabled, d.auth.persistent_sessions) {
        (false, _) => "open (no PIN)",
        (true, true) => "PIN; sessions survive restarts",
        (true, false) => "PIN; sessions end at restart (no SPOTLIGHT_SECRET)",
    };
    [
        (
            "connections",
            format!(
                "{} open, {} total; {} conflated, {} slow disconnects",
                m.sse_connections,
                m.sse_connections_total,
                m.sse_conflated_total,
                m.sse_slow_disconnects_total
            ),
        ),
        ("admission", admission(&d.admission)),
        ("sse", capacity(&d.admission.sse, "streams")),
        ("voice", capacity(&d.admission.voice, "seats")),
        (
            "traffic",
            format!(
                "{} events published, {} HTTP requests",
                m.events_total, m.http_requests_total
            ),
        ),
        ("auth", auth.to_string()),
    ]
}

/// Drain mode: off, or who is still connected.
fn drain(drain: &DrainStatus) -> String {
    if drain.draining {
        format!(
            "DRAINING: {} streams, {} voice sessions still connected",
            drain.streams, drain.voice_sessions
        )
    } else {
        "off".to_string()
    }
}

/// The clients whose queues are longest, or `none`.
fn lagging(d: &Diag) -> String {
    let mut out = String::new();
    if d.lagging_clients.is_empty() {
        out.push_str("lagging      none\n");
    } else {
        out.push_str("lagging      client    queued  conflated  connected  stream\n");
        for c in &d.lagging_clients {
            out.push_str(&format!(
                "             {:<8}  {:>6}  {:>9}  {:>9}  {} × {}\n",
                c.id,
                c.queued,
                c.conflated,
                duration(c.connected_seconds),
                c.symbols,
                c.timeframe
            ));
        }
    }
    out
}

/// An `upstream` line: its name and state, the last message, the
/// circuit, the errors, the problem.
fn upstream(u: &spotlight_wire::DiagUpstream) -> String {
    let mut line = format!(
        "{} {} for {}",
        u.name,
        u.state,
        duration(u.state_for_ms as f64 / 1000.0)
    );
    if let Some(age) = u.last_message_age_ms {
        line.push_str(&format!(", last message {:.1}s ago", age as f64 / 1000.0));
    }
    if let Some(c) = &u.circuit {
        line.push_str(&format!(", circuit {c}"));
    }
    if let Some(next) = u.next_attempt_in_ms {
        line.push_str(&format!(", next try in {:.0}s", next as f64 / 1000.0));
    }
    if !u.errors.is_empty() {
        let errors: Vec<String> = u.errors.iter().map(|(k, n)| format!("{k}={n}")).collect();
        line.push_str(&format!(", errors {}", errors.join(" ")));
    }
    if let Some(p) = &u.problem {
        line.push_str(&format!(": {p}"));
    }
    line
}

/// The `bus` line: off, or the bus's state, the lease and the traffic.
fn bus(b: Option<&spotlight_wire::DiagBus>) -> String {
    let Some(b) = b else {
        return "off".to_string();
    };
    let role = if b.producer { "producer" } else { "follower" };
    let mut line = format!(
        "{} ({role}), seq {}, last entry {:.1}s ago; {} in, {} out, {} reconnects, {} lease changes",
        b.state,
        b.followed,
        b.silent_ms as f64 / 1000.0,
        b.events_in,
        b.events_out,
        b.reconnects,
        b.lease_changes
    );
    if let Some(p) = &b.problem {
        line.push_str(&format!(": {p}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_reads_as_one_line() {
        let u = spotlight_wire::DiagUpstream {
            name: "polygon_ws".into(),
            state: "down".into(),
            state_for_ms: 75_000,
            last_message_age_ms: Some(80_500),
            problem: Some("auth_failed: bad key".into()),
            circuit: None,
            next_attempt_in_ms: Some(45_000),
            errors: [("auth_failed".to_string(), 1)].into(),
            gaps: Vec::new(),
        };
        assert_eq!(
            upstream(&u),
            format!(
                "polygon_ws down for {}, last message 80.5s ago, next try in 45s, errors auth_failed=1: auth_failed: bad key",
                duration(75.0)
            )
        );
    }

    #[test]
    fn capacity_reads_as_use_queue_and_decisions() {
        let k = spotlight_wire::KindAdmission {
            capacity: 2,
            in_use: 2,
            utilization: 1.0,
            queue_max: 10,
            queue: vec![
                spotlight_wire::QueuedClient {
                    position: 1,
                    waited_ms: 65_000,
                    eta_ms: 30_000,
                },
                spotlight_wire::QueuedClient {
                    position: 2,
                    waited_ms: 1_000,
                    eta_ms: 60_000,
                },
            ],
            mean_session_ms: Some(60_000),
            admitted: 5,
            queued: 2,
            rejected: 1,
        };
        assert_eq!(
            capacity(&k, "seats"),
            "2 of 2 seats (100 %), 2 queued (longest wait 1m 05s, last ETA 1m 00s); 5 admitted, 2 queued, 1 refused so far"
        );
        let open = spotlight_wire::KindAdmission {
            in_use: 3,
            ..Default::default()
        };
        assert_eq!(
            capacity(&open, "streams"),
            "3 streams, no limit; 0 admitted, 0 queued, 0 refused so far"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(6.4), "6s");
        assert_eq!(duration(245.0), "4m 05s");
        assert_eq!(duration(3723.0), "1h 02m 03s");
    }
}
