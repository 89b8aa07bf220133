//! Starting a log and joining one. The first producer (or the first after
//! Redis lost the log) starts it: a new epoch, seq 0, what produces it
//! (`source`, `origin`) and the final 1m bars it begins with, in one Lua
//! step that checks the lease. An instance joining reads, in one step, the
//! epoch, the head and the kept bars: the history its hub starts from,
//! consistent with the head because the producer's appends keep the bars
//! in the same step as the events.

use redis::aio::ConnectionLike;
use redis::Script;

use super::log::Log;
use super::BusError;
use spotlight_market::hub::Preload;
use spotlight_market::Candle;

const INIT: &str = concat!(
    lua_holder!(),
    lua_keep!(),
    r"
for _, symbol in ipairs(redis.call('SMEMBERS', KEYS[6])) do
  redis.call('DEL', ARGV[6] .. ':bars:' .. symbol)
end
redis.call('DEL', KEYS[3], KEYS[6], KEYS[7])
redis.call('SET', KEYS[4], ARGV[2])
redis.call('SET', KEYS[2], ARGV[7])
redis.call('HSET', KEYS[5], 'source', ARGV[3], 'origin', ARGV[4])
for i = 8, #ARGV, 2 do
  keep(ARGV[6], ARGV[5], KEYS[6], ARGV[i], ARGV[i + 1])
end
return 1"
);

const SNAPSHOT: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch or redis.call('EXISTS', KEYS[3]) == 0 then
  return false
end
local meta = redis.call('HMGET', KEYS[3], 'source', 'origin')
local symbols = redis.call('SMEMBERS', KEYS[4])
local bars = {}
for i, symbol in ipairs(symbols) do
  bars[i] = redis.call('LRANGE', ARGV[1] .. ':bars:' .. symbol, 0, -1)
end
local replay = redis.call('HMGET', KEYS[5], 'at', 'began')
return {epoch, tonumber(redis.call('GET', KEYS[1]) or '0'), meta[1], meta[2], symbols, bars,
  replay[1], replay[2]}";

/// What a log starts from, or what an instance joining it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The log's epoch.
    pub epoch: String,
    /// The last seq given.
    pub head: u64,
    /// What produces the log (as `serve --state-dir` names a source).
    pub source: String,
    /// The source's origin (the simulation's start, Unix ms).
    pub origin: i64,
    /// Final 1m bars per symbol, oldest first.
    pub bars: Vec<(String, Vec<Candle>)>,
    /// The replay running: the seq it began after and its symbols with
    /// their preload (`None`: none, or a log being started).
    pub replay: Option<(u64, Preload)>,
}

impl Log {
    /// Starts the log afresh from `start` as holder `holder`: whatever the
    /// keys held is replaced.
    pub async fn init<C: ConnectionLike>(
        &self,
        con: &mut C,
        holder: &str,
        start: &Snapshot,
    ) -> Result<(), BusError> {
        let keys = self.keys();
        let script = Script::new(INIT);
        let mut call = script.prepare_invoke();
        call.key(&keys.lease)
            .key(&keys.seq)
            .key(&keys.log)
            .key(&keys.epoch)
            .key(&keys.meta)
            .key(&keys.symbols)
            .key(&keys.replay)
            .arg(holder)
            .arg(&start.epoch)
            .arg(&start.source)
            .arg(start.origin)
            .arg(self.retain())
            .arg(&keys.prefix)
            .arg(start.head);
        for (symbol, candles) in &start.bars {
            call.arg(symbol).arg(json_lines(candles));
        }
        match call.invoke_async::<i64>(con).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NOT_HOLDER") => Err(BusError::NotHolder),
            Err(e) => Err(e.into()),
        }
    }

    /// The origin of the log's source (`None`: no log).
    pub async fn origin<C: ConnectionLike>(&self, con: &mut C) -> Result<Option<i64>, BusError> {
        let origin: Option<String> = redis::cmd("HGET")
            .arg(&self.keys().meta)
            .arg("origin")
            .query_async(con)
            .await?;
        Ok(origin.and_then(|o| o.parse().ok()))
    }

    /// The log as an instance joining it needs it (`None`: nobody started
    /// it yet, or Redis lost it).
    pub async fn snapshot<C: ConnectionLike>(
        &self,
        con: &mut C,
    ) -> Result<Option<Snapshot>, BusError> {
        type Reply = (
            String,
            u64,
            String,
            String,
            Vec<String>,
            Vec<Vec<String>>,
            Option<u64>,
            Option<String>,
        );
        let keys = self.keys();
        let reply: Option<Reply> = Script::new(SNAPSHOT)
            .key(&keys.seq)
            .key(&keys.epoch)
            .key(&keys.meta)
            .key(&keys.symbols)
            .key(&keys.replay)
            .arg(&keys.prefix)
            .invoke_async(con)
            .await?;
        Ok(
            reply.map(|(epoch, head, source, origin, symbols, bars, at, began)| {
                let mut bars: Vec<(String, Vec<Candle>)> = symbols
                    .into_iter()
                    .zip(bars)
                    .map(|(symbol, lines)| {
                        let candles = lines
                            .iter()
                            .filter_map(|l| serde_json::from_str(l).ok())
                            .collect();
                        (symbol, candles)
                    })
                    .collect();
                bars.sort_by(|a, b| a.0.cmp(&b.0));
                Snapshot {
                    epoch,
                    head,
                    source,
                    origin: origin.parse().unwrap_or(0),
                    bars,
                    replay: at.zip(began.and_then(|b| serde_json::from_str(&b).ok())),
                }
            }),
        )
    }
}

/// Candles as the log keeps them: one JSON object per line.
pub fn json_lines(candles: &[Candle]) -> String {
    let mut out = String::with_capacity(candles.len() * 96);
    for c in candles {
        if let Ok(line) = serde_json::to_string(c) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}
