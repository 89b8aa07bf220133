//! The shared market log: a Redis stream whose entry ids are the seqs
//! (`<seq>-0`), each entry holding the epoch, the event's key (symbol and
//! timeframe) and its SSE bytes. Appends go through one Lua step that
//! checks the lease, takes the next seq and `XADD`s, trimming the stream to
//! about `max_len` entries.

use bytes::Bytes;
use redis::aio::ConnectionLike;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::{Script, ScriptInvocation};

use super::{BusError, Keys};

const APPEND: &str = concat!(
    lua_holder!(),
    lua_epoch!(),
    lua_keep!(),
    r"
local expected = tonumber(ARGV[4])
if expected > 0 and tonumber(redis.call('GET', KEYS[2]) or '0') + 1 ~= expected then
  return redis.error_reply('SEQ_MISMATCH the log is not where this producer is')
end
local now = redis.call('TIME')
local t = now[1] * 1000 + math.floor(now[2] / 1000)
local first = 0
for i = 7, #ARGV, 3 do
  local seq = redis.call('INCR', KEYS[2])
  if first == 0 then first = seq end
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-0',
    'e', ARGV[3], 'k', ARGV[i], 'b', ARGV[i + 1], 't', t)
  if ARGV[i + 2] ~= '' then
    keep(ARGV[6], ARGV[5], KEYS[5], ARGV[i], ARGV[i + 2])
  end
end
return first"
);

const BEAT: &str = concat!(
    lua_holder!(),
    lua_epoch!(),
    r"
local head = redis.call('GET', KEYS[2]) or '0'
return redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], head .. '-*', 'e', ARGV[3], 'hb', '1')"
);

const MARK: &str = concat!(
    lua_holder!(),
    lua_epoch!(),
    lua_keep!(),
    r"
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[4]) then
  return redis.error_reply('SEQ_MISMATCH the log is not where this producer is')
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], ARGV[4] .. '-*',
  'e', ARGV[3], 'm', ARGV[5], 'b', ARGV[6])
if ARGV[5] == 'began' then
  redis.call('DEL', KEYS[5])
  redis.call('HSET', KEYS[5], 'at', ARGV[4], 'began', ARGV[6])
elseif ARGV[5] == 'ended' then
  redis.call('DEL', KEYS[5])
  for i = 9, #ARGV, 2 do
    keep(ARGV[8], ARGV[7], KEYS[6], ARGV[i], ARGV[i + 1])
  end
end
return id"
);

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its seq (the entry id's first part).
    pub seq: u64,
    /// The epoch it was written in.
    pub epoch: String,
    /// Symbol and timeframe, as the hub keys events.
    pub key: String,
    /// The event as sent to SSE clients.
    pub bytes: Bytes,
    /// When it was appended, Unix ms by Redis's clock (0: not recorded).
    pub appended_ms: i64,
}

/// The log of one deployment.
#[derive(Debug, Clone)]
pub struct Log {
    keys: Keys,
    max_len: usize,
    retain: usize,
    append: Script,
    beat: Script,
    mark: Script,
}

/// One event to append: its key (the symbol), its bytes, and the final
/// 1m bars it carries (JSON lines; empty when none) for the kept history.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The symbol.
    pub key: &'a str,
    /// The encoded event.
    pub bytes: &'a [u8],
    /// Final 1m candles, one JSON object per line.
    pub finals: &'a str,
}

/// Where a reader of the log is: the id of the last entry it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// The seq of the last event.
    pub seq: u64,
    /// Heartbeats written since that event.
    pub beat: u64,
}

impl Position {
    /// Right after event `seq`.
    pub fn after(seq: u64) -> Position {
        Position { seq, beat: 0 }
    }

    fn id(&self) -> String {
        format!("{}-{}", self.seq, self.beat)
    }
}

/// One entry read by a follower.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    /// Its position in the log.
    pub at: Position,
    /// The epoch it was written in.
    pub epoch: String,
    /// The event (`None`: a heartbeat or a mark).
    pub event: Option<LogEntry>,
    /// The mark: its kind's name and bytes (see [`super::event::encode_mark`]).
    pub mark: Option<(String, Bytes)>,
}

/// A mark to append: where it goes, what it is, and for a replay's end
/// the live final 1m bars to keep per symbol (JSON lines).
#[derive(Debug, Clone, Copy)]
pub struct OutgoingMark<'a> {
    /// The seq of the event it follows (the log's head).
    pub after: u64,
    /// Its kind's name.
    pub name: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Final 1m candles to keep, per symbol.
    pub finals: &'a [(String, String)],
}

impl Log {
    /// The log under `keys`, trimmed to about `max_len` entries.
    pub fn new(keys: Keys, max_len: usize) -> Log {
        Log {
            keys,
            max_len,
            retain: 200_000,
            append: Script::new(APPEND),
            beat: Script::new(BEAT),
            mark: Script::new(MARK),
        }
    }

    /// Keeps at most `retain` final 1m bars per symbol.
    pub fn with_retain(mut self, retain: usize) -> Log {
        self.retain = retain.max(1);
        self
    }

    /// Final 1m bars kept per symbol.
    pub fn retain(&self) -> usize {
        self.retain
    }

    /// The keys.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The current epoch (`None`: no log, or Redis lost it).
    pub async fn current_epoch<C: ConnectionLike>(
        &self,
        con: &mut C,
    ) -> Result<Option<String>, BusError> {
        Ok(redis::cmd("GET")
            .arg(&self.keys.epoch)
            .query_async(con)
            .await?)
    }

    /// A call of one of the producer's steps with what they all read first:
    /// KEYS lease, seq, log, epoch; ARGV holder, the stream's length, epoch.
    fn producer_call<'a>(
        &'a self,
        script: &'a Script,
        holder: &str,
        epoch: &str,
    ) -> ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        call.key(&self.keys.lease)
            .key(&self.keys.seq)
            .key(&self.keys.log)
            .key(&self.keys.epoch)
            .arg(holder)
            .arg(self.max_len)
            .arg(epoch);
        call
    }

    /// Writes a heartbeat entry after the last event, as holder `holder`
    /// in `epoch`: readers hear the producer even when the market is quiet.
    pub async fn beat<C: ConnectionLike>(
        &self,
        con: &mut C,
        holder: &str,
        epoch: &str,
    ) -> Result<(), BusError> {
        self.producer_call(&self.beat, holder, epoch)
            .invoke_async::<String>(con)
            .await
            .map(drop)
            .map_err(refusal)
    }

    /// The last seq given (0: none yet).
    pub async fn head<C: ConnectionLike>(&self, con: &mut C) -> Result<u64, BusError> {
        let head: Option<u64> = redis::cmd("GET")
            .arg(&self.keys.seq)
            .query_async(con)
            .await?;
        Ok(head.unwrap_or(0))
    }

    /// Appends `events` as lease holder `holder` in `epoch`, only if the
    /// first takes seq `first` (0: whatever comes next), keeping each
    /// event's final 1m bars in its symbol's history list (trimmed to the
    /// retain count); returns the seq of the first. A deposed holder gets
    /// [`BusError::NotHolder`], another epoch [`BusError::EpochMismatch`],
    /// a producer whose hub is not where the log ends
    /// [`BusError::SeqMismatch`]; then nothing is written.
    pub async fn append_events<C: ConnectionLike>(
        &self,
        con: &mut C,
        holder: &str,
        epoch: &str,
        first: u64,
        events: &[Outgoing<'_>],
    ) -> Result<u64, BusError> {
        let mut call = self.producer_call(&self.append, holder, epoch);
        call.key(&self.keys.symbols)
            .arg(first)
            .arg(self.retain)
            .arg(&self.keys.prefix);
        for e in events {
            call.arg(e.key).arg(e.bytes).arg(e.finals);
        }
        call.invoke_async::<u64>(con).await.map_err(refusal)
    }

    /// Appends `mark` after event `mark.after` as lease holder `holder` in
    /// `epoch`, only if that is where the log ends (the same refusals as
    /// [`Log::append_events`]); a replay's start is also kept for instances
    /// joining during it, its end clears that and keeps the live bars.
    pub async fn append_mark<C: ConnectionLike>(
        &self,
        con: &mut C,
        holder: &str,
        epoch: &str,
        mark: OutgoingMark<'_>,
    ) -> Result<(), BusError> {
        let mut call = self.producer_call(&self.mark, holder, epoch);
        call.key(&self.keys.replay)
            .key(&self.keys.symbols)
            .arg(mark.after)
            .arg(mark.name)
            .arg(mark.bytes)
            .arg(self.retain)
            .arg(&self.keys.prefix);
        for (symbol, finals) in mark.finals {
            call.arg(symbol).arg(finals);
        }
        call.invoke_async::<String>(con)
            .await
            .map(drop)
            .map_err(refusal)
    }

    /// The events after `seq`, oldest first, from the next `count` entries
    /// (what a resume older than an instance's ring is served from).
    pub async fn after<C: ConnectionLike>(
        &self,
        con: &mut C,
        seq: u64,
        count: usize,
    ) -> Result<Vec<LogEntry>, BusError> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.keys.log)
            // Past every heartbeat and mark after event `seq` too: the
            // first entry is the next event.
            .arg(format!("({seq}-{}", u64::MAX))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(con)
            .await?;
        Ok(reply.ids.iter().filter_map(entry).collect())
    }

    /// The oldest seq the log still holds (`None`: empty).
    pub async fn low<C: ConnectionLike>(&self, con: &mut C) -> Result<Option<u64>, BusError> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.keys.log)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(con)
            .await?;
        Ok(reply.ids.first().and_then(|id| seq_of(&id.id)))
    }

    /// Waits up to `block_ms` for the log's next entry, whatever it is
    /// (`XREAD BLOCK … $`: use a connection of its own); whether one came.
    /// What an instance waiting for a producer to start the log waits on:
    /// the new producer's first heartbeat.
    pub async fn next_entry<C: ConnectionLike>(
        &self,
        con: &mut C,
        block_ms: u64,
    ) -> Result<bool, BusError> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.keys.log)
            .arg("$")
            .query_async(con)
            .await?;
        Ok(reply.is_some())
    }

    /// Waits up to `block_ms` for entries after `at`, heartbeats included
    /// (`XREAD BLOCK`: use a connection of its own, a blocked one serves
    /// nothing else).
    pub async fn read_from<C: ConnectionLike>(
        &self,
        con: &mut C,
        at: Position,
        block_ms: u64,
        count: usize,
    ) -> Result<Vec<Read>, BusError> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(count)
            .arg("BLOCK")
            .arg(block_ms)
            .arg("STREAMS")
            .arg(&self.keys.log)
            .arg(at.id())
            .query_async(con)
            .await?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .filter_map(|id| {
                let (seq, beat) = id.id.split_once('-')?;
                Some(Read {
                    at: Position {
                        seq: seq.parse().ok()?,
                        beat: beat.parse().ok()?,
                    },
                    epoch: id.get("e")?,
                    event: entry(&id),
                    mark: id
                        .get::<String>("m")
                        .zip(id.get::<Vec<u8>>("b").map(Bytes::from)),
                })
            })
            .collect())
    }
}

/// The refusals the Lua steps raise, as bus errors.
fn refusal(e: redis::RedisError) -> BusError {
    match e.code() {
        Some("NOT_HOLDER") => BusError::NotHolder,
        Some("SEQ_MISMATCH") => BusError::SeqMismatch,
        Some("EPOCH_MISMATCH") => BusError::EpochMismatch,
        _ => e.into(),
    }
}

fn seq_of(id: &str) -> Option<u64> {
    id.split_once('-').and_then(|(seq, _)| seq.parse().ok())
}

fn entry(id: &StreamId) -> Option<LogEntry> {
    Some(LogEntry {
        seq: seq_of(&id.id)?,
        epoch: id.get("e")?,
        key: id.get("k")?,
        bytes: Bytes::from(id.get::<Vec<u8>>("b")?),
        appended_ms: id.get("t").unwrap_or(0),
    })
}
