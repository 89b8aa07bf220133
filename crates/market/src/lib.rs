//! The market domain: bars, timeframes, rollups, sources and the hub.
//! Nothing here knows about HTTP.

pub mod command;
pub mod hub;
pub mod replay;
pub mod rollup;
pub mod source;
pub mod state_file;
pub mod symbol;
#[cfg(test)]
mod testing;
pub mod time;

pub use bar::{Bar, Candle};
pub use hub::{Hub, HubConfig};
pub use spotlight_wire::{bar, timeframe};
pub use timeframe::Timeframe;
