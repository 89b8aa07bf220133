//! `serve --bus`: this instance on the shared log. Its hub — the one its
//! clients are served from — starts from the history Redis keeps and
//! mirrors the log; while it holds the lease it also produces: the source
//! runs on a copy of that hub (same epoch, seq and history) whose events
//! the pump appends to the log. A producer that loses the lease drops its
//! copy; what its clients see never came from anywhere but the log.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{load_recordings, run_source, start_source, ServeArgs};
use spotlight_bus::apply::apply;
use spotlight_bus::control::{self, ControlReply, ControlRequest};
use spotlight_bus::event::decode;
use spotlight_bus::lease::Lease;
use spotlight_bus::log::Log;
use spotlight_bus::node::{follow, keep_lease, NodeState};
use spotlight_bus::pump::pump;
use spotlight_bus::snapshot::Snapshot;
use spotlight_bus::{BusError, Keys};
use spotlight_market::hub::{new_epoch, MarkKind, Preload};
use spotlight_market::replay::Replayer;
use spotlight_market::state_file::{SavedState, SeriesState};
use spotlight_market::{Candle, Hub, HubConfig};
use spotlight_provider::polygon::Polygon;
use spotlight_reconnect::Backoff;
use spotlight_server::{ingest, replay};

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
    /// The bus's client (control sent to the producer).
    pub client: redis::Client,
}

/// What the producer side needs.
struct Ctx {
    args: ServeArgs,
    client: redis::Client,
    log: Log,
    holder: String,
    source: String,
    origin: AtomicI64,
    serving: Arc<Hub>,
    config: HubConfig,
    node: Arc<NodeState>,
    recordings: HashMap<String, Vec<Candle>>,
    feed: Option<Arc<Polygon>>,
    stop: CancellationToken,
}

/// Connects to the bus at `url`, waits until the log exists (starting it
/// when this instance holds the lease and nobody has), builds the hub from
/// the log's history and follows it; produces while holding the lease.
pub async fn join(
    args: &ServeArgs,
    url: &str,
    config: HubConfig,
    source: String,
    feed: Option<Arc<Polygon>>,
    stop: CancellationToken,
) -> anyhow::Result<Joined> {
    let client = redis::Client::open(url)
        .map_err(|e| super::CliError::usage(format!("--bus {url}: {e}")))?;
    let mut con = connect(&client, url).await?;
    let keys = Keys::default();
    let log = Log::new(keys.clone(), args.ring as usize).with_retain(args.retain as usize);
    let holder = format!("{}-{}", std::process::id(), new_epoch());
    let node = Arc::new(NodeState::default());
    let lease = Lease::new(&keys.lease, &holder, args.bus_lease);
    let lease_kept = tokio::spawn(keep_lease(
        client.clone(),
        lease,
        args.bus_role,
        node.clone(),
        stop.clone(),
    ));
    let begin = || {
        let (hub, origin) = start_source(args, config.clone())?;
        start_of(&hub, new_epoch(), &source, origin)
    };
    let snapshot = first_snapshot(&log, &mut con, &holder, &node, begin, &stop).await?;
    if snapshot.source != source {
        tracing::warn!(log = %snapshot.source, this = %source, "the shared log is produced from another source: if this instance takes the lease it produces from its own (give every instance the same --source and simulation settings)");
    }
    let serving = Hub::restore(config.clone(), state_of(&snapshot))
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
    let ctx = Arc::new(Ctx {
        args: args.clone(),
        client,
        log,
        holder,
        source: snapshot.source,
        origin: AtomicI64::new(snapshot.origin),
        serving: serving.clone(),
        config,
        node: node.clone(),
        recordings: load_recordings(args)?,
        feed,
        stop,
    });
    let reader = redis::aio::ConnectionManager::new(ctx.client.clone()).await?;
    let client = ctx.client.clone();
    let log = ctx.log.clone();
    tokio::spawn(produce(ctx));
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
/// instance produces and the log is empty, else waited for.
async fn first_snapshot(
    log: &Log,
    con: &mut redis::aio::MultiplexedConnection,
    holder: &str,
    node: &NodeState,
    begin: impl Fn() -> anyhow::Result<Snapshot>,
    stop: &CancellationToken,
) -> anyhow::Result<Snapshot> {
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
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
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
                None => {
                    return Err(e).with_context(|| {
                        format!(
                            "cannot reach the bus at {url} ({} attempts)",
                            backoff.attempts()
                        )
                    })
                }
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
    hub.begin_replay(began)?;
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
                if let Err(e) = hub.mirror_history(&event) {
                    tracing::warn!(seq = entry.seq, error = %e, "a replayed bar of the shared log was not applied");
                }
            }
        }
    }
    tracing::info!(at, "joined during a replay");
    Ok(())
}

/// Produces whenever this instance holds the lease.
async fn produce(ctx: Arc<Ctx>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            () = ctx.stop.cancelled() => return,
        }
        if !ctx.node.is_producer() {
            continue;
        }
        match produce_once(&ctx).await {
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "producing to the shared log stopped"),
        }
    }
}

/// One turn as producer: starts the log again if Redis lost it, else
/// waits until the serving hub has every event of the log, copies it, runs
/// the source on the copy and pumps its events until the lease is lost,
/// the log refuses, or the server stops.
async fn produce_once(ctx: &Ctx) -> anyhow::Result<()> {
    let mut con = ctx.client.get_multiplexed_async_connection().await?;
    let Some(epoch) = ctx.log.current_epoch(&mut con).await? else {
        let origin = ctx.origin.load(Ordering::SeqCst);
        let start = start_of(&ctx.serving, new_epoch(), &ctx.source, origin)?;
        ctx.log.init(&mut con, &ctx.holder, &start).await?;
        tracing::warn!(epoch = %start.epoch, "the shared log was lost: started it again in a new epoch");
        return Ok(());
    };
    let head = ctx.log.head(&mut con).await?;
    let caught_up = async {
        while !(*ctx.serving.epoch() == *epoch && ctx.serving.ring_bounds().1 == head) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), caught_up)
        .await
        .context("this instance has not read the whole shared log")?;
    let origin = ctx.log.origin(&mut con).await?.unwrap_or(0);
    ctx.origin.store(origin, Ordering::SeqCst);
    let state = ctx.serving.live_snapshot(&ctx.source, origin);
    let hub = Hub::restore(ctx.config.clone(), state)?;
    hub.keep_marks();
    let replayer = Replayer::new(hub.clone(), ctx.recordings.clone());
    if ctx.serving.replaying() {
        // The producer that ran it is gone, and its clock with it: the
        // replay ends everywhere and live data comes back.
        hub.note(MarkKind::ReplayEnded(Vec::new()));
        hub.broadcast("replay", &replayer.status());
        tracing::warn!("the replay of the previous producer ended with it");
    }
    let token = ctx.stop.child_token();
    run_source(&ctx.args, &hub, origin, token.clone(), ctx.feed.as_ref());
    tracing::info!(%epoch, seq = head, "producing to the shared log");
    tokio::spawn(beat(
        ctx.log.clone(),
        con.clone(),
        ctx.holder.clone(),
        epoch,
        token.clone(),
    ));
    tokio::spawn(answer(
        ctx.client.clone(),
        ctx.log.keys().clone(),
        hub.clone(),
        replayer.clone(),
        token.clone(),
    ));
    let lost = async {
        while ctx.node.is_producer() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let pumped = tokio::select! {
        r = pump(&hub, &ctx.log, &mut con, &ctx.holder, head, &token, &ctx.node) => r.map(drop),
        () = lost => Err(BusError::NotHolder),
    };
    token.cancel();
    let _ = replayer.stop();
    pumped?;
    Ok(())
}

/// Runs the control other instances forward (ingest, replay) on the
/// producer's hub and replayer.
async fn answer(
    client: redis::Client,
    keys: Keys,
    hub: Arc<Hub>,
    replayer: Arc<Replayer>,
    stop: CancellationToken,
) {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    while !stop.is_cancelled() {
        let run = |request: ControlRequest| {
            let (hub, replayer) = (hub.clone(), replayer.clone());
            async move {
                let answer = match request.op.as_str() {
                    "ingest" => ingest::publish(&hub, &request.body)
                        .map(|r| serde_json::to_string(&r).unwrap_or_default()),
                    op => replay::control(&replayer, op, request.body.as_bytes())
                        .map(|r| serde_json::to_string(&r).unwrap_or_default()),
                };
                match answer {
                    Ok(body) => ControlReply { status: 200, body },
                    Err(e) => ControlReply {
                        status: e.status.as_u16(),
                        body: String::from_utf8_lossy(&e.body()).into_owned(),
                    },
                }
            }
        };
        let served = match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(mut con) => control::serve(&mut con, &keys, run, &stop).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = served {
            tracing::warn!(error = %e, "answering control from other instances stopped; again in 1s");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                () = stop.cancelled() => {}
            }
        }
    }
}

/// The producer's heartbeat: an entry every second, so that readers know
/// it is alive when the market is quiet.
async fn beat(
    log: Log,
    mut con: redis::aio::MultiplexedConnection,
    holder: String,
    epoch: String,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        match log.beat(&mut con, &holder, &epoch).await {
            Ok(()) | Err(BusError::Redis(_)) => {}
            Err(_) => {
                stop.cancel();
                return;
            }
        }
    }
}

/// What a log starts from: `hub`'s history in a new epoch.
fn start_of(hub: &Hub, epoch: String, source: &str, origin: i64) -> anyhow::Result<Snapshot> {
    let state = hub
        .snapshot(source, origin)
        .context("a replay is running")?;
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
