//! The command line itself: the committed completions and man pages are
//! current, every subcommand's `--help` runs, `--version` names the commit.

use crate::common;

use std::path::Path;

use clap::CommandFactory;
use common::*;
use spotlight_cli::cmd::{completions, man, Cli};

/// Files in `committed` that differ from, or are missing in, `fresh`, and
/// the other way round.
fn drift(committed: &Path, fresh: &Path) -> Vec<String> {
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let mut out = Vec::new();
    let (old, new) = (names(committed), names(fresh));
    for name in new.iter().filter(|n| !old.contains(n)) {
        out.push(format!("{name}: not committed"));
    }
    for name in old.iter().filter(|n| !new.contains(n)) {
        out.push(format!("{name}: committed but no longer generated"));
    }
    for name in new.iter().filter(|n| old.contains(n)) {
        if std::fs::read(committed.join(name)).ok() != std::fs::read(fresh.join(name)).ok() {
            out.push(format!("{name}: differs"));
        }
    }
    out
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("completions");
    for shell in completions::SHELLS {
        completions::write(shell, &fresh).unwrap();
    }
    let pages = tmp.path().join("man");
    man::write_all(&pages).unwrap();
    let mut stale = drift(&root.join("completions"), &fresh);
    stale.extend(drift(&root.join("man"), &pages));
    assert!(
        stale.is_empty(),
        "completions/ or man/ drifted from the command line; run scripts/generate and commit:\n{}",
        stale.join("\n")
    );
}

#[tokio::test]
async fn every_subcommand_help_runs() {
    fn paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            let mut path = prefix.clone();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            paths(sub, path, out);
        }
    }
    let mut all = vec![Vec::new()];
    paths(&Cli::command(), Vec::new(), &mut all);
    assert!(all.len() > 15, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let (code, out, err) = spotlight(&args, &[]).await;
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("Usage: spotlight"), "{args:?}: {out}");
        assert!(out.contains("Examples:"), "{args:?}: {out}");
    }
}

#[tokio::test]
async fn version_names_the_commit() {
    let (code, out, _) = spotlight(&["--version"], &[]).await;
    assert_eq!(code, 0);
    let line = out.trim();
    let expected = format!("spotlight {} (", env!("CARGO_PKG_VERSION"));
    assert!(line.starts_with(&expected) && line.ends_with(')'), "{line}");
    let sha = &line[expected.len()..line.len() - 1];
    let in_checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join(".git").exists();
    if in_checkout {
        assert!(
            sha.len() == 12 && sha.chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    } else {
        assert_eq!(sha, "unknown", "{line}");
    }
}

#[tokio::test]
async fn completions_print_a_script_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef spotlight"),
        ("fish", "complete -c spotlight"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        let (code, out, err) = spotlight(&["completions", shell], &[]).await;
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(
            out.contains(marker),
            "{shell}: {}",
            &out[..out.len().min(200)]
        );
        assert!(out.contains("smoke"), "{shell}: subcommands are completed");
    }
    let (code, _, err) = spotlight(&["completions", "tcsh"], &[]).await;
    assert_eq!(code, 2, "{err}");
}
