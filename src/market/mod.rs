//! The market domain: bars, timeframes, rollups, sources and the hub.
//! Nothing here knows about HTTP.

pub mod bar;
pub mod hub;
pub mod replay;
pub mod rollup;
pub mod source;
pub mod state;
pub mod symbol;
pub mod time;
pub mod timeframe;

pub use bar::{Bar, Candle};
pub use hub::{Hub, HubConfig};
pub use timeframe::Timeframe;
