//! The producer side of an instance on the bus. While it holds the lease
//! it runs the source on a copy of its serving hub (same epoch, seq and
//! history) whose events the pump appends to the log, answers the
//! commands other instances forward, and writes a heartbeat; a producer
//! that loses the lease drops its copy. What its clients see never came
//! from anywhere but the log.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::control;
use super::join::{start_of, Joining};
use super::log::Log;
use super::node::NodeState;
use super::pump::pump;
use super::{BusError, Keys};
use spotlight_market::hub::{new_epoch, MarkKind};
use spotlight_market::replay::Replayer;
use spotlight_market::Hub;
use spotlight_reconnect::Backoff;

/// How long a new producer waits for its serving hub to hold the whole
/// log before it gives the turn up (and tries again).
const CATCH_UP_WITHIN: Duration = Duration::from_secs(10);

/// What the producer side holds.
pub(crate) struct Producer {
    pub(crate) client: redis::Client,
    pub(crate) log: Log,
    pub(crate) holder: String,
    pub(crate) source_name: String,
    pub(crate) origin: AtomicI64,
    pub(crate) serving: Arc<Hub>,
    pub(crate) joining: Joining,
    pub(crate) node: Arc<NodeState>,
    pub(crate) stop: CancellationToken,
}

/// Produces whenever this instance holds the lease, until stopped: waits
/// for the lease, produces until a turn ends, and after a failed turn
/// waits on the shared policy before the next.
pub(crate) async fn produce(producer: Arc<Producer>) {
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    loop {
        tokio::select! {
            biased;
            () = producer.stop.cancelled() => return,
            () = producer.node.producer_is(true) => {}
        }
        match turn(&producer).await {
            Ok(()) => backoff.reset(),
            Err(e) => {
                tracing::warn!(error = %e, "producing to the shared log stopped");
                let wait = backoff.next_delay().unwrap_or(backoff.cap);
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = producer.stop.cancelled() => return,
                }
            }
        }
    }
}

/// One turn as producer: starts the log again if Redis lost it, else
/// waits until the serving hub has every event of the log, copies it, runs
/// the source on the copy and pumps its events until the lease is lost,
/// the log refuses, or the server stops.
async fn turn(p: &Producer) -> anyhow::Result<()> {
    let mut con = p.client.get_multiplexed_async_connection().await?;
    let Some(epoch) = p.log.current_epoch(&mut con).await? else {
        let origin = p.origin.load(Ordering::SeqCst);
        let start = start_of(&p.serving, new_epoch(), &p.source_name, origin)?;
        p.log.init(&mut con, &p.holder, &start).await?;
        tracing::warn!(epoch = %start.epoch, "the shared log was lost: started it again in a new epoch");
        return Ok(());
    };
    let head = p.log.head(&mut con).await?;
    p.node.applied(head, CATCH_UP_WITHIN).await;
    if !(*p.serving.epoch() == *epoch && p.serving.ring_bounds().1 == head) {
        anyhow::bail!("this instance has not read the whole shared log");
    }
    let origin = p.log.origin(&mut con).await?.unwrap_or(0);
    p.origin.store(origin, Ordering::SeqCst);
    let hub = Hub::restore(
        p.joining.config.clone(),
        p.serving.live_snapshot(&p.source_name, origin),
    )?;
    hub.journal().keep_marks();
    let replayer = Replayer::new(hub.clone(), p.joining.recordings.clone());
    if p.serving.replay_mode().is_on() {
        // The producer that ran it is gone, and its clock with it: the
        // replay ends everywhere and live data comes back.
        hub.journal().note(MarkKind::ReplayEnded(Vec::new()));
        hub.broadcast("replay", &replayer.status());
        tracing::warn!("the replay of the previous producer ended with it");
    }
    let token = p.stop.child_token();
    p.joining.source.run(&hub, origin, token.clone());
    tracing::info!(%epoch, seq = head, "producing to the shared log");
    tokio::spawn(beat(
        p.log.clone(),
        con.clone(),
        p.holder.clone(),
        epoch,
        token.clone(),
    ));
    tokio::spawn(answer(
        p.client.clone(),
        p.log.keys().clone(),
        hub.clone(),
        replayer.clone(),
        token.clone(),
    ));
    let pumped = tokio::select! {
        r = pump(&hub, &p.log, &mut con, &p.holder, head, &token, &p.node) => r.map(drop),
        () = p.node.producer_is(false) => Err(BusError::NotHolder),
    };
    token.cancel();
    let _ = replayer.stop();
    pumped?;
    Ok(())
}

/// Runs the commands other instances forward (ingest, replay control) on
/// the producer's hub and replayer, until `stop`.
async fn answer(
    client: redis::Client,
    keys: Keys,
    hub: Arc<Hub>,
    replayer: Arc<Replayer>,
    stop: CancellationToken,
) {
    let config = redis::AsyncConnectionConfig::new().set_response_timeout(None);
    let mut backoff = Backoff::attempts_at_most(u32::MAX);
    while !stop.is_cancelled() {
        let run = |command: spotlight_market::command::Command| command.run(&hub, &replayer);
        let served = match client
            .get_multiplexed_async_connection_with_config(&config)
            .await
        {
            Ok(mut con) => {
                backoff.reset();
                control::serve(&mut con, &keys, run, &stop).await
            }
            Err(e) => Err(e.into()),
        };
        if let Err(e) = served {
            let wait = backoff.next_delay().unwrap_or(backoff.cap);
            tracing::warn!(error = %e, "answering commands from other instances stopped; again in {wait:?}");
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
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
