//! The spotlight command line: one module per subcommand ([`cmd`]), the
//! terminal chart ([`tui`]: state and rendering pure) and the load
//! generators ([`bench`]). The binary only parses arguments and calls
//! [`cmd::run`].

pub mod bench;
pub mod cmd;
pub mod tui;
