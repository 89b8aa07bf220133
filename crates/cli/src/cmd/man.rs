//! `spotlight man`: man pages (clap_mangen), one for `spotlight` and one per
//! subcommand, written into `--out DIR`; without it, the top page on stdout.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use super::{out, Cli, CliError, Exit};

/// Options of `spotlight man`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight man | man -l -
  spotlight man --out ~/.local/share/man/man1")]
pub struct ManArgs {
    /// Write every page (`spotlight.1`, `spotlight-serve.1`, …) into this folder.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The command as the pages describe it: the package version only, so
/// the committed pages do not change with every commit.
fn command() -> clap::Command {
    Cli::command().version(env!("CARGO_PKG_VERSION"))
}

/// Writes every page into `dir`.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(command(), dir)
}

/// Runs the command.
pub fn run(args: ManArgs) -> anyhow::Result<Exit> {
    match &args.out {
        Some(dir) => {
            write_all(dir).map_err(|e| {
                CliError::usage(format!("--out {}: cannot write: {e}", dir.display()))
            })?;
            out::line(&format!("man pages written to {}", dir.display()))?;
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command()).render(&mut page)?;
            out::text(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(Exit::Ok)
}
