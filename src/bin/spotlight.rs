//! The `spotlight` binary: parse the command line, dispatch, exit.

use std::process::ExitCode;

use clap::Parser;
use spotlight_cli::cmd::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    cmd::run(Cli::parse()).await
}
