//! The scale-out bus: several `serve` instances share one market log in
//! Redis Streams. One instance — the holder of the lease — produces: it
//! appends every hub event to the log in one Lua step that checks the
//! lease, takes the next seq and `XADD`s with the seq as the entry id, so a
//! deposed producer cannot write and no two events share a seq. Every
//! instance reads the log on a dedicated connection.
//!
//! The crate holds the Redis side (keys, lease, log, forwarded commands)
//! and an instance's part in it ([`join`]: following the log into its
//! hub, producing while it holds the lease); the server reads it through
//! its market.

/// Lua that the producer's steps share, `concat!`ed into each: the lease
/// check (KEYS[1] holds ARGV[1]), the epoch check (KEYS[4] is ARGV[3]), and
/// `keep`, which appends final 1m bars (JSON lines) to a symbol's history
/// list, trims it, and lists the symbol.
macro_rules! lua_holder {
    () => {
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return redis.error_reply('NOT_HOLDER this instance does not hold the lease')
end
"
    };
}

macro_rules! lua_epoch {
    () => {
        r"
if redis.call('GET', KEYS[4]) ~= ARGV[3] then
  return redis.error_reply('EPOCH_MISMATCH the log is in another epoch')
end
"
    };
}

macro_rules! lua_keep {
    () => {
        r"
local function keep(prefix, retain, symbols, symbol, lines)
  local bars = prefix .. ':bars:' .. symbol
  for line in string.gmatch(lines, '[^\n]+') do
    redis.call('RPUSH', bars, line)
  end
  redis.call('LTRIM', bars, -tonumber(retain), -1)
  redis.call('SADD', symbols, symbol)
end
"
    };
}

pub mod apply;
pub mod control;
pub mod event;
pub mod join;
pub mod lease;
pub mod log;
pub mod node;
mod producer;
pub mod pump;
pub mod resume;
pub mod snapshot;

use std::time::Duration;

/// The Redis keys of one deployment (all under one prefix).
#[derive(Debug, Clone)]
pub struct Keys {
    /// The producer lease: its holder's id, with a time to live.
    pub lease: String,
    /// The log's epoch (a new one when Redis lost the log).
    pub epoch: String,
    /// The last seq given.
    pub seq: String,
    /// The stream of events, entry id `<seq>-0` (heartbeats: `<seq>-n`).
    pub log: String,
    /// What produces the log: its `source` and `origin`.
    pub meta: String,
    /// The symbols with final 1m bars kept (each under `<prefix>:bars:<symbol>`).
    pub symbols: String,
    /// Requests for the producer (see [`control`]).
    pub control: String,
    /// The replay running, if any: where it began (`at`) and its `began`
    /// mark, for an instance joining during it.
    pub replay: String,
    /// The prefix of every key.
    pub prefix: String,
}

impl Keys {
    /// The keys under `prefix` (`spotlight` by default).
    pub fn new(prefix: &str) -> Keys {
        Keys {
            lease: format!("{prefix}:lease"),
            epoch: format!("{prefix}:epoch"),
            seq: format!("{prefix}:seq"),
            log: format!("{prefix}:log"),
            meta: format!("{prefix}:meta"),
            symbols: format!("{prefix}:symbols"),
            control: format!("{prefix}:control"),
            replay: format!("{prefix}:replay"),
            prefix: prefix.to_string(),
        }
    }

    /// The list of final 1m bars of `symbol`.
    pub fn bars(&self, symbol: &str) -> String {
        format!("{}:bars:{symbol}", self.prefix)
    }
}

impl Default for Keys {
    fn default() -> Self {
        Keys::new("spotlight")
    }
}

/// How an instance takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Produce while holding the lease, stand by otherwise.
    Auto,
    /// Always try to hold the lease.
    Producer,
    /// Never produce: serve what the log holds.
    Edge,
}

/// The bus settings.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// `redis://host:port[/db]` or `rediss://…`.
    pub url: String,
    /// How this instance takes part.
    pub role: Role,
    /// Lease time to live (renewed at a third of it).
    pub lease_ttl: Duration,
    /// Events the log keeps (approximately: `MAXLEN ~`).
    pub max_len: usize,
    /// Final 1m bars kept per symbol (the history a joining instance starts from).
    pub retain: usize,
    /// Keys.
    pub keys: Keys,
}

/// A bus failure.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Redis refused or could not be reached.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// The instance does not hold the lease (it was deposed).
    #[error("this instance does not hold the producer lease")]
    NotHolder,
    /// The log's seq is not where the producer's hub is.
    #[error("the log's seq is not where this producer's hub is")]
    SeqMismatch,
    /// The events to ship have left the hub's ring: the log cannot be
    /// continued without a gap.
    #[error("the events to ship have left the ring")]
    Behind,
    /// The log is in another epoch (Redis lost it and it was started again).
    #[error("the log is in another epoch")]
    EpochMismatch,
}
