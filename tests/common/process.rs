//! `spotlight serve` as a real process: start it, wait until it listens,
//! signal it, collect its logs.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::guard;

/// A running `spotlight serve` and its log lines so far.
pub struct Served {
    pub child: Child,
    pub url: String,
    logs: tokio::task::JoinHandle<Vec<String>>,
    startup: Vec<String>,
}

/// Starts `serve --addr ADDR ARGS…` and waits for its "listening on" line.
pub async fn serve(addr: &str, args: &[&str]) -> Served {
    serve_with_env(addr, args, &[]).await
}

/// [`serve`] with `env` set for the process.
pub async fn serve_with_env(addr: &str, args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .args(["serve", "--addr", addr])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut startup = Vec::new();
    let url = loop {
        let line = guard(lines.next_line())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("serve exited before listening: {startup:#?}"));
        let url = line.find("listening on http").map(|i| {
            let rest = &line[i + "listening on ".len()..];
            rest.split_whitespace().next().unwrap().to_string()
        });
        startup.push(line);
        if let Some(url) = url {
            break url;
        }
    };
    let logs = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            all.push(l);
        }
        all
    });
    Served {
        child,
        url,
        logs,
        startup,
    }
}

impl Served {
    /// Sends `signal` (`-TERM`, `-KILL`…), then returns its exit and every
    /// log line.
    pub async fn stop(mut self, signal: &str) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
        let status = guard(self.child.wait()).await.unwrap();
        let mut logs = self.startup.join("\n");
        logs.push('\n');
        logs.push_str(&self.logs.await.unwrap().join("\n"));
        (status, logs)
    }

    /// The log lines up to "listening on".
    pub fn startup(&self) -> String {
        self.startup.join("\n")
    }
}

/// A loopback port nothing listens on now, and that nothing else in this
/// machine's tests will be handed: it is taken below the kernel's
/// ephemeral range (which every `bind(:0)` and outgoing connection draws
/// from), and never twice by one test process. A port from `bind(:0)`
/// could be given to another test's server or client between its check
/// and its use (a "closed" port then answers; a server restarted on its
/// old port finds it taken).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static TAKEN: AtomicU32 = AtomicU32::new(0);
    let (low, span) = below_ephemeral();
    // Each test process starts in its own place, so two at once rarely meet.
    let start = std::process::id() % span;
    for _ in 0..span {
        let n = TAKEN.fetch_add(1, Ordering::Relaxed);
        let port = (low + (start + n) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port below the ephemeral range");
}

/// The ports `[low, low + span)` below the kernel's ephemeral range
/// (Linux's `ip_local_port_range`, 32768–60999 unless changed).
fn below_ephemeral() -> (u32, u32) {
    let first = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32768);
    let low = 10_000.min(first.saturating_sub(2_000)).max(1_024);
    assert!(
        first > low + 1_000,
        "the ephemeral port range starts at {first}: the tests need ports below it (sysctl net.ipv4.ip_local_port_range)"
    );
    (low, first - low)
}
