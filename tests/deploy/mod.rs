//! The operations kit in `deploy/`, each file proved against the real
//! program with the real tool: nginx in front of a real server
//! ([`nginx`]), the systemd unit and its environment ([`systemd`]), the
//! alert rules and the Grafana dashboard with promtool and a real
//! Prometheus ([`monitoring`]).

use std::path::Path;
use std::process::{Command, Stdio};

mod monitoring;
mod nginx;
mod systemd;

/// A file of `deploy/`.
pub fn deploy_file(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `text` with each `(from, to)` replaced once; every `from` must be
/// there (a test of a rewritten file must still be a test of the file).
pub fn rewrite(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_string(), |text, (from, to)| {
        assert!(text.contains(from), "{from:?} is not in the file any more");
        text.replacen(from, to, 1)
    })
}

/// Runs `program args` to its end; a missing program fails the test and
/// names the package to install.
pub fn run(program: &str, package: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install the Debian package {package} (scripts/test does)")
        })
}

/// The `spotlight` binary as a command, no inherited settings.
pub fn spotlight(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("spotlight").unwrap();
    cmd.args(args)
        .env_remove("SPOTLIGHT_CACERT")
        .env_remove("SPOTLIGHT_PIN")
        .env("NO_COLOR", "1");
    cmd
}

/// Stops a child by its PID with `signal` and waits for it.
pub fn signal(child: &mut std::process::Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}
