//! Why the hub refuses something.

use crate::symbol::SymbolError;
use crate::time::format_ms;
use spotlight_wire::bar::BarError;
use spotlight_wire::timeframe::Timeframe;

/// Why a bar was not published.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PublishError {
    /// Older than what the hub already has for the symbol.
    #[error("{symbol} bar at {} is older than the newest bar at {} (bars must move forward in time)", format_ms(*t), format_ms(*latest))]
    Stale {
        /// Symbol.
        symbol: String,
        /// The bar's time.
        t: i64,
        /// The newest bar time the hub has.
        latest: i64,
    },
    /// Not a 1m bar.
    #[error("timeframe {0}: only 1m bars can be published (higher timeframes are rolled up)")]
    NotBase(Timeframe),
    /// A replayed bar for a symbol that is not being replayed.
    #[error("{0} is not being replayed")]
    NotReplaying(String),
    /// A symbol name that is not allowed.
    #[error(transparent)]
    BadSymbol(#[from] SymbolError),
    /// A new symbol beyond `max_symbols`.
    #[error("the server holds {0} symbols already (--max-symbols)")]
    TooManySymbols(usize),
    /// Prices or time are not valid.
    #[error(transparent)]
    Invalid(#[from] BarError),
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscribeError {
    /// A symbol the hub has never seen.
    #[error("unknown symbol {0:?}")]
    UnknownSymbol(String),
    /// A seq newer than anything published in this epoch.
    #[error("seq {seq} is ahead of the newest event ({head})")]
    AheadOfHead {
        /// The seq asked for.
        seq: u64,
        /// The newest seq.
        head: u64,
    },
}

/// A symbol the hub does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown symbol {0:?}")]
pub struct UnknownSymbol(pub String);

/// An ingest batch rejected as a whole: which bar, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bar {}: {error}", index + 1)]
pub struct BatchError {
    /// 0-based index of the first bad bar.
    pub index: usize,
    /// What is wrong with it.
    pub error: PublishError,
}
