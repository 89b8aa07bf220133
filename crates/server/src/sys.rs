//! Process figures from Linux `/proc` (absent elsewhere).

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, …), in bytes.
pub fn status_bytes(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The soft limit on open files (`RLIMIT_NOFILE`), when there is one.
pub fn open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
        match getrlimit(Resource::RLIMIT_NOFILE) {
            Ok((soft, _)) if soft != RLIM_INFINITY => Some(soft),
            _ => None,
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Resident set size, bytes.
pub fn rss(pid: u32) -> Option<u64> {
    status_bytes(pid, "VmRSS")
}

/// User + system CPU seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let me = std::process::id();
        assert!(super::rss(me).unwrap() > 0);
        assert!(super::cpu_seconds(me).is_some());
        assert!(super::status_bytes(me, "VmHWM").unwrap() >= super::rss(me).unwrap() / 2);
    }
}
