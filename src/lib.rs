//! spotlight: a real-time market-data streaming server and the operator's
//! toolkit around it. The binary only parses arguments and calls [`cmd::run`].

pub mod bench;
pub mod bus;
pub mod client;
pub mod cmd;
pub mod market;
pub mod server;
pub mod sys;
pub mod telemetry;
pub mod text;
pub mod tui;
pub mod upstream;
pub mod wire;
