//! The operator-facing side: one module per subcommand, each with its args
//! and a `run`. [`run`] dispatches a parsed [`Cli`].

pub mod bench;
pub mod completions;
pub mod connect;
pub mod diag;
pub mod drain;
pub mod logging;
pub mod man;
pub mod metrics;
pub mod out;
pub mod probe;
pub mod replay;
pub mod serve;
pub mod smoke;
pub mod watch;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The version and the commit it was built from (`unknown` outside a checkout).
pub const VERSION: &str = spotlight_server::VERSION;

/// Default server URL of every client command.
pub const DEFAULT_URL: &str = "http://127.0.0.1:5000";

/// spotlight: a real-time market-data streaming server and the tools to run it.
#[derive(Debug, Parser)]
#[command(
    name = "spotlight",
    version = VERSION,
    about = "Real-time market-data streaming server (SSE) and the operator's toolkit",
    propagate_version = true,
    after_help = "Examples:
  spotlight serve                      run the server on the embedded sim source
  spotlight watch SPY                  a live chart in the terminal
  spotlight replay --speed 4           replay history at 4x
  spotlight smoke --spawn              the CI smoke check against an in-process server
  spotlight --url https://md.example.com --pin \"$PIN\" diag

Exit codes: 0 ok, 1 a check failed or the server answered an error,
2 bad usage, 3 the server cannot be reached."
)]
pub struct Cli {
    /// Options every subcommand understands.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Server URL for client commands.
    #[arg(long, global = true, env = "SPOTLIGHT_URL", default_value = DEFAULT_URL)]
    pub url: String,
    /// PIN: `serve` protects data with it; client commands exchange it for a session token.
    #[arg(long, global = true, env = "SPOTLIGHT_PIN", hide_env_values = true)]
    pub pin: Option<String>,
    /// Trust the CA certificates in this PEM file (beside the public roots) for `https://` and `wss://`.
    #[arg(long, global = true, env = "SPOTLIGHT_CACERT", value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
    /// Session token for client commands (from `POST /api/auth/pin`).
    #[arg(long, global = true, env = "SPOTLIGHT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Machine-readable output on stdout (short for `--output json`).
    #[arg(long, env = "SPOTLIGHT_JSON", global = true)]
    pub json: bool,
    /// Output format, where a command has several: table, json, raw (metrics), plain (watch, replay).
    #[arg(long, env = "SPOTLIGHT_OUTPUT", global = true, value_enum)]
    pub output: Option<Output>,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less log output.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// When to use colour (NO_COLOR is honoured with `auto`).
    #[arg(long, global = true, value_enum, env = "SPOTLIGHT_COLOR", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// What a command prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns for a person.
    Table,
    /// JSON (NDJSON for streams).
    Json,
    /// As the server sent it (`metrics`: the Prometheus exposition).
    Raw,
    /// One line per item, no decoration (`watch`, `replay`).
    Plain,
}

impl GlobalArgs {
    /// The output asked for (`--json` or `--output`), checked against
    /// what `command` can print; `None` for its default.
    pub fn output_for(&self, command: &str, allowed: &[Output]) -> anyhow::Result<Option<Output>> {
        let asked = if self.json {
            Some(Output::Json)
        } else {
            self.output
        };
        match asked {
            Some(o) if !allowed.contains(&o) => {
                let names: Vec<String> = allowed
                    .iter()
                    .filter_map(|a| a.to_possible_value().map(|v| v.get_name().to_string()))
                    .collect();
                Err(CliError::usage(format!(
                    "{command} cannot print --output {}: it prints {}",
                    o.to_possible_value()
                        .map_or_else(String::new, |v| v.get_name().to_string()),
                    if names.is_empty() {
                        "no output of that kind".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
            other => Ok(other),
        }
    }
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                is_terminal
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the streaming server.
    Serve(Box<serve::ServeArgs>),
    /// Show the server's triage snapshot.
    Diag(diag::DiagArgs),
    /// Show the server's Prometheus metrics as a table.
    Metrics(metrics::MetricsArgs),
    /// Tail a symbol's bars (`--plain`: one line per final bar).
    Watch(watch::WatchArgs),
    /// Start a replay (`--speed 4`), or drive it: stop, pause, resume, status, speed N.
    Replay(replay::ReplayArgs),
    /// Benchmark a server (SSE fan-out, voice echo).
    Bench(bench::BenchArgs),
    /// Prove resume from outside: `probe voice` (WebSocket), `probe sse` (stream).
    Probe(probe::ProbeArgs),
    /// Drain mode for deploys: on, off, status; `--wait` until the streams are gone.
    Drain(drain::DrainArgs),
    /// CI smoke check of a running (or `--spawn`ed) server: one line per check, JUnit XML.
    Smoke(smoke::SmokeArgs),
    /// Shell completions (bash, zsh, fish, powershell, elvish).
    Completions(completions::CompletionsArgs),
    /// Man pages: one for spotlight and one per subcommand.
    Man(man::ManArgs),
}

/// Exit codes: 0 ok, 1 check failed, 2 usage error, 3 cannot reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A check failed or the server answered with an error.
    Failed = 1,
    /// Bad usage or input.
    Usage = 2,
    /// The server could not be reached.
    Unreachable = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// An error that carries the exit code it should end the process with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    /// How the process should exit.
    pub exit: Exit,
    /// One line for the user.
    pub message: String,
}

impl CliError {
    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> anyhow::Error {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
        }
        .into()
    }
}

/// Runs a parsed command line; errors are printed as one line on stderr.
pub async fn run(cli: Cli) -> ExitCode {
    let mut cli = cli;
    let allowed = cli.command.outputs();
    let result = match cli.global.output_for(cli.command.name(), allowed) {
        Err(e) => Err(e),
        Ok(output) => {
            // `--output json` and `--json` are the same thing from here on.
            cli.global.json = output == Some(Output::Json);
            match cli
                .global
                .cacert
                .as_deref()
                .map(spotlight_client::trust::trust_ca_file)
            {
                Some(Err(e)) => Err(CliError::usage(e.to_string())),
                _ => dispatch(cli).await,
            }
        }
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) if e.is::<out::Closed>() => Exit::Ok.into(),
        Err(e) => {
            let exit = e
                .downcast_ref::<CliError>()
                .map_or(Exit::Failed, |c| c.exit);
            eprintln!("spotlight: error: {e:#}");
            exit.into()
        }
    }
}

impl Command {
    /// Its name on the command line.
    fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "serve",
            Command::Diag(_) => "diag",
            Command::Metrics(_) => "metrics",
            Command::Watch(_) => "watch",
            Command::Replay(_) => "replay",
            Command::Bench(_) => "bench",
            Command::Probe(_) => "probe",
            Command::Smoke(_) => "smoke",
            Command::Drain(_) => "drain",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }

    /// The `--output` formats it can print.
    fn outputs(&self) -> &'static [Output] {
        match self {
            Command::Metrics(_) => &[Output::Table, Output::Json, Output::Raw],
            Command::Watch(_) => &[Output::Plain, Output::Json],
            Command::Replay(_) => &[Output::Plain, Output::Json],
            Command::Drain(_) => &[Output::Plain, Output::Json],
            Command::Diag(_) | Command::Bench(_) | Command::Probe(_) | Command::Smoke(_) => {
                &[Output::Table, Output::Json]
            }
            Command::Serve(_) | Command::Completions(_) | Command::Man(_) => &[],
        }
    }
}

/// Runs the subcommand.
async fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Serve(args) => serve::run(*args, &cli.global).await,
        Command::Diag(args) => diag::run(args, &cli.global).await,
        Command::Metrics(args) => metrics::run(args, &cli.global).await,
        Command::Watch(args) => watch::run(args, &cli.global).await,
        Command::Replay(args) => replay::run(args, &cli.global).await,
        Command::Bench(args) => bench::run(args, &cli.global).await,
        Command::Probe(args) => probe::run(args, &cli.global).await,
        Command::Smoke(args) => smoke::run(args, &cli.global).await,
        Command::Drain(args) => drain::run(args, &cli.global).await,
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every subcommand (nested ones too) says what it does and shows an
    /// example; every visible option says what it is for.
    #[test]
    fn every_command_and_flag_has_help_and_an_example() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if cmd.get_about().is_none() && !path.is_empty() {
                missing.push(format!("{path}: no about"));
            }
            let examples = cmd
                .get_after_help()
                .is_some_and(|h| h.to_string().contains("Example"));
            if !examples {
                missing.push(format!("{path}: no example in after_help"));
            }
            for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
                if arg.get_help().is_none() {
                    missing.push(format!("{path} --{}: no help", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        let mut cmd = Cli::command();
        cmd.build();
        walk(&cmd, "", &mut missing);
        missing.retain(|m| !m.contains(" help"));
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// Every operator flag also reads `SPOTLIGHT_<FLAG>`.
    #[test]
    fn every_operator_flag_reads_the_environment() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                let exempt = arg.is_positional()
                    || ["help", "version", "verbose", "quiet", "out"].contains(&id);
                let flag = arg.get_long().unwrap_or(id);
                let expected = format!("SPOTLIGHT_{}", flag.to_uppercase().replace('-', "_"));
                if !exempt && arg.get_env().and_then(|e| e.to_str()) != Some(expected.as_str()) {
                    missing.push(format!("{path} --{id}: no {expected}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "{missing:#?}");
    }

    /// Every example in the help parses: the flags it shows exist.
    #[test]
    fn every_example_parses() {
        fn walk(cmd: &clap::Command, examples: &mut Vec<String>) {
            if let Some(help) = cmd.get_after_help() {
                for line in help.to_string().lines() {
                    let line = line.trim_start();
                    if line.starts_with("spotlight ") {
                        // Up to a pipe, a redirection or a description.
                        let end = ["|", ">", "   "]
                            .iter()
                            .filter_map(|m| line.find(m))
                            .min()
                            .unwrap_or(line.len());
                        examples.push(line[..end].trim().to_string());
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, examples);
            }
        }
        let mut examples = Vec::new();
        walk(&Cli::command(), &mut examples);
        assert!(examples.len() > 30, "{examples:#?}");
        for example in examples {
            // Shell variables stand for a number or a PIN: "1234" is both.
            let words = example
                .split_whitespace()
                .map(|w| w.trim_matches('"'))
                .map(|w| if w.starts_with('$') { "1234" } else { w });
            if let Err(e) = Cli::try_parse_from(words) {
                panic!("{example}: {e}");
            }
        }
    }
}
