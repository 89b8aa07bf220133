//! The producer lease: `SET key holder NX PX ttl` to take it, a Lua
//! compare-and-extend to renew it (only the holder may), a compare-and-
//! delete to give it up. A holder that fails to renew within the time to
//! live loses it to a standby.

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::Script;

use super::BusError;

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// One instance's claim on the lease.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    holder: String,
    ttl: Duration,
}

impl Lease {
    /// A claim on `key` as `holder` (a unique id per instance).
    pub fn new(key: &str, holder: &str, ttl: Duration) -> Lease {
        Lease {
            key: key.to_string(),
            holder: holder.to_string(),
            ttl,
        }
    }

    /// This claim's holder id.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How often to renew: a third of the time to live.
    pub fn renew_every(&self) -> Duration {
        self.ttl / 3
    }

    fn ttl_ms(&self) -> u64 {
        self.ttl.as_millis().max(1) as u64
    }

    /// Takes the lease if nobody holds it; `true` when this instance holds
    /// it now (taken, or renewed because it held it already).
    pub async fn acquire<C: ConnectionLike>(&self, con: &mut C) -> Result<bool, BusError> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&self.holder)
            .arg("NX")
            .arg("PX")
            .arg(self.ttl_ms())
            .query_async(con)
            .await?;
        if taken.is_some() {
            return Ok(true);
        }
        self.renew(con).await
    }

    /// Extends the lease if this instance still holds it.
    pub async fn renew<C: ConnectionLike>(&self, con: &mut C) -> Result<bool, BusError> {
        let extended: i64 = Script::new(RENEW)
            .key(&self.key)
            .arg(&self.holder)
            .arg(self.ttl_ms())
            .invoke_async(con)
            .await?;
        Ok(extended == 1)
    }

    /// Gives the lease up if this instance holds it (a clean shutdown, so a
    /// standby need not wait for the time to live).
    pub async fn release<C: ConnectionLike>(&self, con: &mut C) -> Result<bool, BusError> {
        let deleted: i64 = Script::new(RELEASE)
            .key(&self.key)
            .arg(&self.holder)
            .invoke_async(con)
            .await?;
        Ok(deleted == 1)
    }

    /// Who holds the lease now, if anyone.
    pub async fn holder_now<C: ConnectionLike>(
        &self,
        con: &mut C,
    ) -> Result<Option<String>, BusError> {
        Ok(redis::cmd("GET").arg(&self.key).query_async(con).await?)
    }
}
