//! `spotlight diag`: the server's triage snapshot, readable or as JSON.

use crate::cmd::out;
use clap::Args;

use super::{connect, Exit, GlobalArgs};
use crate::market::time::format_ms;
use crate::wire::Diag;

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
fn admission(a: &crate::wire::DiagAdmission) -> String {
    let refused: Vec<String> = a
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    format!(
        "{} of {} connections, {} streams ({} per address); refused: {}",
        a.connections,
        a.max_connections,
        a.streams,
        a.max_streams_per_addr,
        if refused.is_empty() {
            "none".to_string()
        } else {
            refused.join(", ")
        }
    )
}

/// The aligned, readable summary.
pub fn render(d: &Diag) -> String {
    let symbols: Vec<&str> = d.market.symbols.iter().map(|s| s.symbol.as_str()).collect();
    let age = d
        .market
        .last_bar_age_seconds
        .map_or("no bar yet".into(), |a| {
            format!("last bar {} ago", duration(a))
        });
    let m = &d.metrics;
    let auth = match (d.auth.enabled, d.auth.persistent_sessions) {
        (false, _) => "open (no PIN)".to_string(),
        (true, true) => "PIN; sessions survive restarts".to_string(),
        (true, false) => "PIN; sessions end at restart (no SPOTLIGHT_SECRET)".to_string(),
    };
    let rows = [
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
        (
            "traffic",
            format!(
                "{} events published, {} HTTP requests",
                m.events_total, m.http_requests_total
            ),
        ),
        ("auth", auth),
        ("replay", super::replay::summary(&d.replay)),
        (
            "drain",
            if d.drain.draining {
                format!(
                    "DRAINING: {} streams, {} voice sessions still connected",
                    d.drain.streams, d.drain.voice_sessions
                )
            } else {
                "off".to_string()
            },
        ),
        (
            "process",
            format!(
                "pid {}  spotlight {} ({})  {}",
                d.process.pid, d.process.version, d.process.git_sha, d.process.platform
            ),
        ),
    ];
    let mut out: String = rows.iter().map(|(k, v)| format!("{k:<12} {v}\n")).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(6.4), "6s");
        assert_eq!(duration(245.0), "4m 05s");
        assert_eq!(duration(3723.0), "1h 02m 03s");
    }
}
