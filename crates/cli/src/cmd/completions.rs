//! `spotlight completions SHELL`: the shell's completion script
//! (clap_complete), on stdout or written into `--out DIR`.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{out, Cli, CliError, Exit};

/// Options of `spotlight completions`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "Examples:
  spotlight completions bash > ~/.local/share/bash-completion/completions/spotlight
  spotlight completions zsh > \"${fpath[1]}/_spotlight\"
  spotlight completions fish > ~/.config/fish/completions/spotlight.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
    /// Write the script into this folder (under the shell's usual file name) instead of stdout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The shells `completions/` holds a script for.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::PowerShell,
    Shell::Elvish,
];

/// Writes `shell`'s script into `dir`; the file it wrote.
pub fn write(shell: Shell, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    clap_complete::generate_to(shell, &mut Cli::command(), "spotlight", dir)
}

/// Runs the command.
pub fn run(args: CompletionsArgs) -> anyhow::Result<Exit> {
    match &args.out {
        Some(dir) => {
            let path = write(args.shell, dir).map_err(|e| {
                CliError::usage(format!("--out {}: cannot write: {e}", dir.display()))
            })?;
            out::line(&path.display().to_string())?;
        }
        None => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "spotlight", &mut script);
            out::text(&String::from_utf8_lossy(&script))?;
        }
    }
    Ok(Exit::Ok)
}
