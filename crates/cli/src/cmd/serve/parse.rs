//! Value parsers of `serve`'s flags: one clear message per bad value.

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use ipnet::IpNet;

pub(super) fn parse_symbol(s: &str) -> Result<String, String> {
    spotlight_market::symbol::check(s).map_err(|e| e.to_string())?;
    Ok(s.to_string())
}

pub(super) fn parse_replay(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((sym, path)) if !sym.is_empty() && !path.is_empty() => {
            Ok((parse_symbol(sym)?, PathBuf::from(path)))
        }
        _ => Err(format!("{s:?} is not SYMBOL=PATH")),
    }
}

pub(super) fn duration_at_least(s: &str, min: Duration) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))?;
    if d < min {
        return Err(format!(
            "{s:?} is too short (at least {})",
            humantime::format_duration(min)
        ));
    }
    Ok(d)
}

pub(super) fn parse_heartbeat(s: &str) -> Result<Duration, String> {
    duration_at_least(s, spotlight_server::MIN_HEARTBEAT)
}

pub(super) fn parse_drain(s: &str) -> Result<Duration, String> {
    duration_at_least(s, Duration::from_millis(100))
}

pub(super) fn parse_timeout(s: &str) -> Result<Duration, String> {
    duration_at_least(s, Duration::from_secs(1))
}

pub(super) fn parse_cidr(s: &str) -> Result<IpNet, String> {
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an address or CIDR (e.g. 10.0.0.0/8)"))
}

pub(super) fn parse_origin(s: &str) -> Result<String, String> {
    let o = s.trim().trim_end_matches('/');
    match o.split_once("://") {
        Some(("http" | "https", host)) if !host.is_empty() && !host.contains('/') => {
            Ok(o.to_string())
        }
        _ => Err(format!(
            "{s:?} is not an origin (scheme://host[:port], e.g. https://dash.example.com)"
        )),
    }
}

pub(super) fn parse_ws_url(s: &str) -> Result<String, String> {
    if s.starts_with("ws://") && s.len() > "ws://".len() {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a ws:// URL"))
    }
}

pub(super) fn parse_tz(s: &str) -> Result<Tz, String> {
    s.parse::<Tz>()
        .map_err(|_| format!("unknown time zone {s:?} (an IANA name such as America/New_York)"))
}

pub(super) fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

/// A default duration as `--help` shows it and the parsers read it back
/// (`5s`, `2days`): the flag's default comes from its config struct.
pub(super) fn shown(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
