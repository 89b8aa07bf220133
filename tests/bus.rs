//! The scale-out bus's Redis side against a real `redis-server`: one lease
//! holder at a time, appends numbered without gap or repeat, a deposed
//! producer that cannot write, a standby that continues the seq, reads
//! after a seq (resume) and blocking reads, and a new epoch when Redis has
//! lost the log.

use crate::common;

use std::time::Duration;

use common::redis_server::Redis;
use common::*;
use spotlight_bus::lease::Lease;
use spotlight_bus::log::{Log, Outgoing, Position};
use spotlight_bus::snapshot::Snapshot;
use spotlight_bus::{BusError, Keys};

const TTL: Duration = Duration::from_secs(30);

fn events(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                "SPY/1m".to_string(),
                format!("event: bar\ndata: {{\"i\":{i}}}\n\n").into_bytes(),
            )
        })
        .collect()
}

fn borrowed(events: &[(String, Vec<u8>)]) -> Vec<Outgoing<'_>> {
    events
        .iter()
        .map(|(key, bytes)| Outgoing {
            key,
            bytes,
            finals: "",
        })
        .collect()
}

/// Starts the log in `epoch` as lease holder `holder` (what the first
/// producer does), with no history.
async fn start_log<C: redis::aio::ConnectionLike>(
    log: &Log,
    con: &mut C,
    holder: &str,
    epoch: &str,
) -> String {
    let start = Snapshot {
        epoch: epoch.to_string(),
        head: 0,
        source: "test".into(),
        origin: 0,
        bars: Vec::new(),
        replay: None,
    };
    log.init(con, holder, &start).await.unwrap();
    epoch.to_string()
}

/// Instance `b`, which does not hold the lease, trying to start the log.
async fn start_log_as_b<C: redis::aio::ConnectionLike>(
    log: &Log,
    con: &mut C,
) -> Result<(), BusError> {
    let start = Snapshot {
        epoch: "epochb01".into(),
        head: 0,
        source: "test".into(),
        origin: 0,
        bars: Vec::new(),
        replay: None,
    };
    log.init(con, "b", &start).await
}

/// A redis-server, a connection, and the log with its lease held by `p`
/// in `epoch`.
async fn producer(epoch: &str) -> (Redis, redis::aio::MultiplexedConnection, Log, String) {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let lease = Lease::new(&keys.lease, "p", TTL);
    assert!(lease.acquire(&mut con).await.unwrap());
    let log = Log::new(keys, 10_000);
    let epoch = start_log(&log, &mut con, "p", epoch).await;
    (redis, con, log, epoch)
}

#[tokio::test]
async fn one_holder_appends_without_gap_and_a_deposed_one_cannot_write() {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let a = Lease::new(&keys.lease, "a", TTL);
    let b = Lease::new(&keys.lease, "b", TTL);
    assert!(a.acquire(&mut con).await.unwrap());
    assert!(!b.acquire(&mut con).await.unwrap(), "one holder at a time");
    assert!(a.renew(&mut con).await.unwrap());
    assert!(!b.renew(&mut con).await.unwrap(), "only the holder renews");

    let log = Log::new(keys.clone(), 10_000);
    let epoch = start_log(&log, &mut con, "a", "epocha01").await;
    assert_eq!(
        log.current_epoch(&mut con).await.unwrap().as_deref(),
        Some("epocha01")
    );
    assert!(
        matches!(
            start_log_as_b(&log, &mut con).await,
            Err(BusError::NotHolder)
        ),
        "only the holder starts the log"
    );
    let batch = events(5);
    assert_eq!(
        log.append_events(&mut con, "a", &epoch, 0, &borrowed(&batch))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        log.append_events(&mut con, "a", &epoch, 0, &borrowed(&batch[..2]))
            .await
            .unwrap(),
        6
    );
    match log
        .append_events(&mut con, "b", &epoch, 0, &borrowed(&batch))
        .await
    {
        Err(BusError::NotHolder) => {}
        other => panic!("a non-holder wrote: {other:?}"),
    }
    assert_eq!(log.head(&mut con).await.unwrap(), 7, "nothing written by b");
    match log
        .append_events(&mut con, "a", &epoch, 99, &borrowed(&batch))
        .await
    {
        Err(BusError::SeqMismatch) => {}
        other => panic!("a batch not starting at the log's next seq was taken: {other:?}"),
    }
    assert_eq!(
        log.append_events(&mut con, "a", &epoch, 8, &borrowed(&batch[..1]))
            .await
            .unwrap(),
        8
    );

    // The holder goes; the standby takes over and continues the seq.
    assert!(a.release(&mut con).await.unwrap());
    assert!(b.acquire(&mut con).await.unwrap());
    assert_eq!(
        log.append_events(&mut con, "b", &epoch, 0, &borrowed(&batch[..1]))
            .await
            .unwrap(),
        9
    );
    match log
        .append_events(&mut con, "a", &epoch, 0, &borrowed(&batch[..1]))
        .await
    {
        Err(BusError::NotHolder) => {}
        other => panic!("the deposed producer wrote: {other:?}"),
    }
    let all = log.after(&mut con, 0, 100).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=9).collect::<Vec<_>>(),
        "every seq once, in order"
    );
    assert_eq!(
        all[0].bytes.as_ref(),
        batch[0].1.as_slice(),
        "the bytes as appended"
    );
    assert_eq!(
        (all[0].key.as_str(), all[0].epoch.as_str()),
        ("SPY/1m", "epocha01")
    );
    redis.stop().await;
}

#[tokio::test]
async fn a_lease_that_is_not_renewed_passes_to_the_standby() {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let short = Duration::from_millis(200);
    let a = Lease::new(&keys.lease, "a", short);
    let b = Lease::new(&keys.lease, "b", short);
    assert!(a.acquire(&mut con).await.unwrap());
    eventually("the lease to expire and pass to b", || async {
        let mut con = redis.connection().await.unwrap();
        b.acquire(&mut con).await.unwrap()
    })
    .await;
    assert_eq!(b.holder_now(&mut con).await.unwrap().as_deref(), Some("b"));
    assert!(
        !a.renew(&mut con).await.unwrap(),
        "a cannot take it back by renewing"
    );
    redis.stop().await;
}

#[tokio::test]
async fn readers_resume_after_a_seq_and_block_for_new_entries() {
    let (redis, mut con, log, epoch) = producer("epochr01").await;
    let batch = events(10);
    log.append_events(&mut con, "p", &epoch, 0, &borrowed(&batch))
        .await
        .unwrap();
    let tail: Vec<u64> = log
        .after(&mut con, 7, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(tail, [8, 9, 10]);
    assert_eq!(log.low(&mut con).await.unwrap(), Some(1));

    // A blocked reader on a connection of its own wakes for the next append.
    let mut reader = redis.connection().await.unwrap();
    let log2 = log.clone();
    let waiting = tokio::spawn(async move {
        log2.read_from(&mut reader, Position::after(10), 10_000, 100)
            .await
    });
    log.append_events(&mut con, "p", &epoch, 0, &borrowed(&batch[..1]))
        .await
        .unwrap();
    let got = guard(waiting).await.unwrap().unwrap();
    let seqs: Vec<u64> = got
        .into_iter()
        .filter_map(|r| r.event)
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [11]);
    redis.stop().await;
}

#[tokio::test]
async fn a_log_redis_lost_gets_a_new_epoch_and_starts_again() {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let lease = Lease::new(&keys.lease, "p", TTL);
    let log = Log::new(keys, 10_000);
    assert!(lease.acquire(&mut con).await.unwrap());
    let first = start_log(&log, &mut con, "p", "epoch001").await;
    log.append_events(&mut con, "p", &first, 0, &borrowed(&events(3)))
        .await
        .unwrap();
    // Redis restarted without persistence: everything is gone.
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut con)
        .await
        .unwrap();
    assert_eq!(log.current_epoch(&mut con).await.unwrap(), None, "lost");
    assert!(lease.acquire(&mut con).await.unwrap());
    let second = start_log(&log, &mut con, "p", "epoch002").await;
    assert!(
        matches!(
            log.append_events(&mut con, "p", &first, 0, &borrowed(&events(1)))
                .await,
            Err(BusError::EpochMismatch)
        ),
        "nothing of the old epoch goes into the new log"
    );
    assert_eq!(
        log.append_events(&mut con, "p", &second, 0, &borrowed(&events(1)))
            .await
            .unwrap(),
        1
    );
    redis.stop().await;
}

mod node {
    use std::sync::Arc;
    use std::time::Duration;

    use super::common::redis_server::Redis;
    use super::common::*;
    use super::{borrowed, events};
    use spotlight_bus::lease::Lease;
    use spotlight_bus::node::{follow, keep_lease, Followed, NodeState};

    fn event_seq(item: Followed) -> u64 {
        match item {
            Followed::Event(e) => e.seq,
            Followed::Epoch(e) => panic!("unexpected new epoch {e}"),
            Followed::Mark(name, _) => panic!("unexpected mark {name}"),
        }
    }
    use spotlight_bus::{Keys, Role};
    use tokio_util::sync::CancellationToken;

    const SHORT: Duration = Duration::from_millis(300);

    struct Instance {
        state: Arc<NodeState>,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    /// The time to live of a lease that cannot expire during a test, so
    /// that who holds it does not depend on the scheduler.
    const LONG: Duration = Duration::from_secs(60);

    fn instance(redis: &Redis, id: &str, role: Role) -> Instance {
        instance_with(redis, id, role, SHORT)
    }

    fn instance_with(redis: &Redis, id: &str, role: Role, ttl: Duration) -> Instance {
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        let lease = Lease::new(&Keys::default().lease, id, ttl);
        let state = Arc::new(NodeState::default());
        let stop = CancellationToken::new();
        let task = tokio::spawn(keep_lease(client, lease, role, state.clone(), stop.clone()));
        Instance { state, stop, task }
    }

    #[tokio::test]
    async fn one_instance_produces_and_the_standby_takes_over_when_it_stops() {
        let redis = Redis::start().await;
        let edge = instance(&redis, "edge", Role::Edge);
        // a's lease lives a minute: it is a's until a gives it up, however
        // late its renewals run.
        let a = instance_with(&redis, "a", Role::Auto, LONG);
        eventually("a to take the free lease", || async {
            a.state.is_producer()
        })
        .await;
        assert!(!edge.state.is_producer(), "an edge never takes the lease");
        let b = instance(&redis, "b", Role::Auto);
        let mut con = redis.connection().await.unwrap();
        let holder: Option<String> = redis::cmd("GET")
            .arg(Keys::default().lease)
            .query_async(&mut con)
            .await
            .unwrap();
        assert_eq!(holder.as_deref(), Some("a"));
        assert!(!b.state.is_producer(), "b finds it held");
        a.stop.cancel();
        guard(a.task).await.unwrap();
        assert!(!a.state.is_producer());
        assert_eq!(a.state.lease_changes(), 2, "took it, gave it up");
        eventually("b to take the lease a gave up", || async {
            b.state.is_producer()
        })
        .await;
        b.stop.cancel();
        redis.stop().await;
    }

    #[tokio::test]
    async fn a_killed_producer_loses_the_lease_after_its_time() {
        let redis = Redis::start().await;
        let a = instance(&redis, "a", Role::Producer);
        eventually("a to produce", || async { a.state.is_producer() }).await;
        let b = instance(&redis, "b", Role::Auto);
        // As SIGKILL would: no release.
        a.task.abort();
        eventually("b to take the lease once it expires", || async {
            b.state.is_producer()
        })
        .await;
        let mut con = redis.connection().await.unwrap();
        let lease = Lease::new(&Keys::default().lease, "a", SHORT);
        assert!(
            !lease.renew(&mut con).await.unwrap(),
            "a cannot come back by renewing"
        );
        b.stop.cancel();
        redis.stop().await;
    }

    #[tokio::test]
    async fn the_follower_hands_on_every_entry_in_order_and_reconnects() {
        let (redis, mut con, log, epoch) = super::producer("epochf01").await;
        log.append_events(&mut con, "p", &epoch, 0, &borrowed(&events(5)))
            .await
            .unwrap();

        let (tx, mut rx) = tokio::sync::mpsc::channel(16);
        let state = Arc::new(NodeState::default());
        let stop = CancellationToken::new();
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        tokio::spawn(follow(
            client,
            log.clone(),
            epoch.clone(),
            2,
            tx,
            state.clone(),
            stop.clone(),
        ));
        let mut seqs = Vec::new();
        while seqs.len() < 3 {
            seqs.push(event_seq(guard(rx.recv()).await.unwrap()));
        }
        assert_eq!(seqs, [3, 4, 5], "from after the seq asked for, in order");

        // Every client connection is cut: the follower comes back on the
        // policy and continues after the last seq it handed on.
        let _: () = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .query_async(&mut con)
            .await
            .or_else(|e| {
                if e.is_connection_dropped() || e.is_io_error() {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .unwrap();
        let mut con = redis.connection().await.unwrap();
        log.append_events(&mut con, "p", &epoch, 0, &borrowed(&events(2)))
            .await
            .unwrap();
        let mut more = Vec::new();
        while more.len() < 2 {
            more.push(event_seq(guard(rx.recv()).await.unwrap()));
        }
        assert_eq!(more, [6, 7]);
        eventually("the follower to count its reconnect", || async {
            state.reconnects() == 1 && state.is_following()
        })
        .await;
        assert_eq!(state.followed(), 7);
        stop.cancel();
        redis.stop().await;
    }
}

mod pipeline;
