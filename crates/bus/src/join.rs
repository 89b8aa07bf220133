//! Joining the bus: an instance connects, keeps the lease as its role
//! allows, waits until the log exists (starting it when it holds the lease
//! and nobody has), builds the hub its clients are served from out of the
//! log's history and follows the log into it; the producer side (see
//! [`crate::producer`]) runs beside, producing while the lease is held.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::apply::apply;
use super::event::decode;
use super::lease::Lease;
use super::log::Log;
use super::node::{follow, keep_lease, NodeState};
use super::producer::{produce, Producer};
use super::snapshot::Snapshot;
use super::BusConfig;
use spotlight_market::hub::{new_epoch, Preload};
use spotlight_market::state_file::{SavedState, SeriesState};
use spotlight_market::{Candle, Hub, HubConfig};
use spotlight_reconnect::Backoff;

/// What produces the market on the instance holding the lease.
pub trait Source: Send + Sync + 'static {
    /// A new hub holding the source's start (its history) and the
    /// source's origin: what a log nobody started yet begins from.
    fn start(&self, config: HubConfig) -> anyhow::Result<(Arc<Hub>, i64)>;

    /// Runs the source into `hub` from `origin` until `stop`.
    fn run(&self, hub: &Arc<Hub>, origin: i64, stop: CancellationToken);
}

/// What an instance joining needs besides the bus settings.
pub struct Joining {
    /// The hubs' settings.
    pub config: HubConfig,
    /// The source's name, as the state dir names it (`sim:…`, `polygon`).
    pub source_name: String,
    /// What produces while this instance holds the lease.
    pub source: Arc<dyn Source>,
    /// Recordings the producer's replayer plays.
    pub recordings: HashMap<String, Vec<Candle>>,
}

/// An instance joined to the bus.
pub struct Joined {
    /// The hub its clients are served from.
    pub hub: Arc<Hub>,
    /// What its bus tasks know (readiness, diag, metrics).
    pub node: Arc<NodeState>,
    /// The shared log, for resumes older than the hub's ring.
    pub log: Log,
    /// The lease keeper: ends once stopped and the lease is given up.
    pub lease_kept: Option<tokio::task::JoinHandle<()>>,
    /// A connection for those reads (reconnects by itself).
    pub con: redis::aio::ConnectionManager,
    /// The bus's client (commands sent to the producer).
    pub client: redis::Client,
}

/// Joins the bus of `bus` with `joining`'s market; produces while this
/// instance holds the lease, until `stop`.
pub async fn join(
    bus: &BusConfig,
    joining: Joining,
    stop: CancellationToken,
) -> anyhow::Result<Joined> {
    let client = redis::Client::open(bus.url.as_str())
        .map_err(|e| anyhow::anyhow!("--bus {}: {e}", bus.url))?;
    let mut con = connect(&client, &bus.url).await?;
    let log = Log::new(bus.keys.clone(), bus.max_len).with_retain(bus.retain);
    let holder = format!("{}-{}", std::process::id(), new_epoch());
    let node = Arc::new(NodeState::default());
    let lease = Lease::new(&bus.keys.lease, &holder, bus.lease_ttl);
    let lease_kept = tokio::spawn(keep_lease(
        client.clone(),
        lease,
        bus.role,
        node.clone(),
        stop.clone(),
    ));
    let begin = || {
        let (hub, origin) = joining.source.start(joining.config.clone())?;
        start_of(&hub, new_epoch(), &joining.source_name, origin)
    };
    let snapshot = first_snapshot(&client, &log, &mut con, &holder, &node, begin, &stop).await?;
    if snapshot.source != joining.source_name {
        tracing::warn!(log = %snapshot.source, this = %joining.source_name, "the shared log is produced from another source: if this instance takes the lease it produces from its own (give every instance the same --source and simulation settings)");
    }
    let serving = Hub::restore(joining.config.clone(), state_of(&snapshot))
        .map_err(|e| anyhow::anyhow!("the shared log's history cannot be read: {e}"))?;
    if let Some((at, began)) = &snapshot.replay {
        join_replay(&serving, &log, &mut con, *at, began.clone(), snapshot.head).await?;
    }
    tracing::info!(epoch = %snapshot.epoch, seq = snapshot.head, symbols = snapshot.bars.len(), "joined the shared log");
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(follow(
        client.clone(),
        log.clone(),
        snapshot.epoch.clone(),
        snapshot.head,
        tx,
        node.clone(),
        stop.clone(),
    ));
    tokio::spawn(apply(serving.clone(), rx, node.clone()));
    let reader = redis::aio::ConnectionManager::new(client.clone()).await?;
    tokio::spawn(produce(Arc::new(Producer {
        client: client.clone(),
        log: log.clone(),
        holder,
        source_name: snapshot.source,
        origin: snapshot.origin.into(),
        serving: serving.clone(),
        joining,
        node: node.clone(),
        stop,
    })));
    Ok(Joined {
        hub: serving,
        lease_kept: Some(lease_kept),
        node,
        log,
        con: reader,
        client,
    })
}

/// The shared log's snapshot: started here (from `begin`) when this
/// instance produces and the log is empty, else waited for — on the lease
/// coming here or the log's first entry (a producer's heartbeat).
async fn first_snapshot(
    client: &redis::Client,
    log: &Log,
    con: &mut redis::aio::MultiplexedConnection,
    holder: &str,
    node: &NodeState,
    begin: impl Fn() -> anyhow::Result<Snapshot>,
    stop: &CancellationToken,
) -> anyhow::Result<Snapshot> {
    const BLOCK_MS: u64 = 1000;
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut waiting = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    loop {
        if let Some(s) = log.snapshot(con).await? {
            return Ok(s);
        }
        if node.is_producer() {
            let start = begin()?;
            log.init(con, holder, &start).await?;
            tracing::info!(epoch = %start.epoch, "started the shared log");
            continue;
        }
        tracing::info!("waiting for a producer to start the shared log");
        tokio::select! {
            came = log.next_entry(&mut waiting, BLOCK_MS) => { came?; }
            () = node.producer_is(true) => {}
            () = stop.cancelled() => anyhow::bail!("stopped before the shared log started"),
        }
    }
}

/// A first connection, on the shared policy for a few attempts.
async fn connect(
    client: &redis::Client,
    url: &str,
) -> anyhow::Result<redis::aio::MultiplexedConnection> {
    let mut backoff = Backoff::attempts_at_most(5);
    loop {
        match client.get_multiplexed_async_connection().await {
            Ok(con) => return Ok(con),
            Err(e) => match backoff.next_delay() {
                Some(wait) => {
                    tracing::warn!(error = %e, "cannot reach the bus at {url}; trying again");
                    tokio::time::sleep(wait).await;
                }
                None => anyhow::bail!(
                    "cannot reach the bus at {url} ({} attempts): {e}",
                    backoff.attempts()
                ),
            },
        }
    }
}

/// Joining during a replay that began after seq `at`: its symbols go
/// into replay mode with their preload, and take the bars it played
/// before `head` from the log (those it still holds).
async fn join_replay(
    hub: &Hub,
    log: &Log,
    con: &mut redis::aio::MultiplexedConnection,
    at: u64,
    began: Preload,
    head: u64,
) -> anyhow::Result<()> {
    let replayed: HashSet<String> = began.iter().map(|(s, _)| s.clone()).collect();
    hub.replay_mode().begin(began)?;
    let mut read = at;
    while read < head {
        let entries = log.after(con, read, 512).await?;
        let Some(last) = entries.last() else { break };
        read = last.seq;
        for entry in entries.iter().filter(|e| e.seq <= head) {
            if let Some(event) = replayed
                .contains(&entry.key)
                .then(|| decode(entry.seq, &entry.key, &entry.bytes))
                .flatten()
            {
                if let Err(e) = hub.journal().mirror_history(&event) {
                    tracing::warn!(seq = entry.seq, error = %e, "a replayed bar of the shared log was not applied");
                }
            }
        }
    }
    tracing::info!(at, "joined during a replay");
    Ok(())
}

/// What a log starts from: `hub`'s history in a new epoch.
pub(crate) fn start_of(
    hub: &Hub,
    epoch: String,
    source: &str,
    origin: i64,
) -> anyhow::Result<Snapshot> {
    let state = hub
        .snapshot(source, origin)
        .ok_or_else(|| anyhow::anyhow!("a replay is running"))?;
    Ok(Snapshot {
        epoch,
        head: 0,
        source: source.to_string(),
        origin,
        replay: None,
        bars: state
            .series
            .into_iter()
            .map(|s| (s.name, s.finals))
            .collect(),
    })
}

/// The hub state a snapshot of the log gives: its history, no ring.
fn state_of(snapshot: &Snapshot) -> SavedState {
    SavedState {
        source: snapshot.source.clone(),
        origin: snapshot.origin,
        epoch: snapshot.epoch.clone(),
        head: snapshot.head,
        boundary: None,
        series: snapshot
            .bars
            .iter()
            .map(|(name, finals)| SeriesState {
                name: name.clone(),
                finals: finals.clone(),
                forming: None,
            })
            .collect(),
        ring: Vec::new(),
    }
}
