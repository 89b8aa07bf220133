//! `deploy/systemd`: `systemd-analyze verify` of the unit; its
//! environment's variables all settings of `serve`; the server started
//! with them serving, surviving a reload and saving its state.

use super::{deploy_file, rewrite, run, spotlight};
use crate::common::process::serve_with_env;

/// `KEY=value` lines of an environment file (comments and blanks left out).
fn env_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A duration as systemd and spotlight write them here (`60`, `30s`, `5m`).
fn seconds(value: &str) -> u64 {
    let (n, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    n.parse::<u64>().unwrap() * if unit == "m" || unit == "min" { 60 } else { 1 }
}

/// What the unit's `Environment=` lines and the example environment file
/// set, in that order.
fn settings(unit: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(env_lines)
        .collect();
    vars.extend(env_lines(&deploy_file("systemd/spotlight.env")));
    vars
}

#[test]
fn the_unit_verifies_and_sets_only_what_serve_knows() {
    let unit = deploy_file("systemd/spotlight.service");
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("spotlight");
    let exec = format!("ExecStart={}", bin.display());
    let here = rewrite(&unit, &[("ExecStart=/usr/local/bin/spotlight", &exec)]);
    let path = dir.path().join("spotlight.service");
    std::fs::write(&path, here).unwrap();
    let verified = run(
        "systemd-analyze",
        "systemd",
        &["verify", path.to_str().unwrap()],
    );
    let said = String::from_utf8_lossy(&verified.stderr).into_owned();
    assert!(verified.status.success(), "{said}");
    assert!(
        !said.contains("spotlight.service:"),
        "warnings about the unit: {said}"
    );

    let vars = settings(&unit);
    let help = spotlight(&["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    // Settings of the environment only (docs/operations.md).
    let env_only = ["SPOTLIGHT_SECRET"];
    for (name, _) in vars
        .iter()
        .filter(|(name, _)| !env_only.contains(&name.as_str()))
    {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is no setting of serve"
        );
    }
    let setting = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let stop = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap();
    let drain = setting("SPOTLIGHT_DRAIN").unwrap();
    // A stream whose client stopped reading ends by the stall rule: a
    // stop takes up to the drain plus the stall timeout.
    let stall = setting("SPOTLIGHT_STALL_TIMEOUT").map_or_else(
        || spotlight_server::Limits::default().stall_timeout.as_secs(),
        |s| seconds(&s),
    );
    assert!(
        seconds(stop) > seconds(&drain) + stall,
        "TimeoutStopSec={stop} must outlast the drain {drain} plus the stall timeout {stall}s"
    );
    assert!(unit.contains("StateDirectory=spotlight"));
    assert_eq!(
        setting("SPOTLIGHT_STATE_DIR").as_deref(),
        Some("/var/lib/spotlight")
    );
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}

#[tokio::test]
async fn the_environment_serves_survives_a_reload_and_saves_its_state() {
    // The unit's and the example's settings, the address and the state
    // directory moved here (and the plain log, which the harness reads).
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let moved = [
        "SPOTLIGHT_ADDR",
        "SPOTLIGHT_STATE_DIR",
        "SPOTLIGHT_LOG_FORMAT",
    ];
    let mut pairs: Vec<(String, String)> = settings(&deploy_file("systemd/spotlight.service"))
        .into_iter()
        .filter(|(k, _)| !moved.contains(&k.as_str()))
        .collect();
    pairs.push(("SPOTLIGHT_STATE_DIR".into(), state.to_str().unwrap().into()));
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let server = serve_with_env("127.0.0.1:0", &[], &pairs).await;
    let ready = |url: String| async move {
        reqwest::get(format!("{url}/api/readyz"))
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(server.url.clone()).await, 200);
    // `systemctl reload` (ExecReload): SIGHUP.
    let pid = server.child.id().unwrap().to_string();
    assert!(run("kill", "procps", &["-HUP", &pid]).status.success());
    assert_eq!(
        ready(server.url.clone()).await,
        200,
        "a reload leaves it serving"
    );
    let (status, logs) = server.stop("-TERM").await;
    assert!(status.success(), "{logs}");
    assert!(
        state.join("state.bin").exists(),
        "the state is saved: {logs}"
    );
}
