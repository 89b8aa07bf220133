//! The producer's pipeline through a real Redis: a producer hub's ring,
//! and its marks (a replay), pumped to the log and applied to an edge hub.

use std::time::Duration;

use super::common::redis_server::Redis;
use super::common::*;
use spotlight_bus::apply::apply;
use spotlight_bus::event::decode;
use spotlight_bus::lease::Lease;
use spotlight_bus::log::{Log, OutgoingMark};
use spotlight_bus::node::{follow, Followed, NodeState};
use spotlight_bus::pump::pump;
use spotlight_bus::{BusError, Keys};
use spotlight_market::{Candle, Hub, HubConfig, Timeframe};
use spotlight_wire::ReplayStatus;
use tokio_util::sync::CancellationToken;

fn publish(hub: &Hub, minutes: std::ops::Range<i64>) {
    for m in minutes {
        for s in ["SPY", "QQQ"] {
            for tick in 0..3 {
                let c = 100.0 + f64::from(tick);
                let candle = Candle {
                    t: 1_700_000_100_000 + m * 60_000,
                    o: 100.0,
                    h: c + 1.0,
                    l: 99.0,
                    c,
                    v: 10,
                };
                hub.publish(s, candle, tick == 2).unwrap();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_hub_reaches_an_edge_hub_byte_for_byte() {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let lease = Lease::new(&keys.lease, "a", Duration::from_secs(30));
    assert!(lease.acquire(&mut con).await.unwrap());
    let log = Log::new(keys.clone(), 100_000);
    let a = Hub::new(HubConfig::default());
    let epoch = super::start_log(&log, &mut con, "a", &a.epoch()).await;
    publish(&a, 0..5);

    // The producer ships its ring; the edge follows the log into its hub.
    let stop = CancellationToken::new();
    let pumping = {
        let (a, log, mut con, stop) = (a.clone(), log.clone(), con.clone(), stop.clone());
        tokio::spawn(
            async move { pump(&a, &log, &mut con, "a", 0, &stop, &NodeState::default()).await },
        )
    };
    let b = Hub::mirror_of(HubConfig::default(), &epoch, 0);
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let state = std::sync::Arc::new(NodeState::default());
    tokio::spawn(follow(
        client,
        log.clone(),
        epoch.clone(),
        0,
        tx,
        state,
        stop.clone(),
    ));
    let mirroring = {
        let b = b.clone();
        tokio::spawn(async move {
            while let Some(Followed::Event(entry)) = rx.recv().await {
                let event = decode(entry.seq, &entry.key, &entry.bytes).expect("an event");
                b.journal().mirror(&event).expect("the next seq");
            }
        })
    };
    publish(&a, 5..10);
    eventually("the edge to hold what the producer holds", || async {
        b.ring_bounds() == a.ring_bounds()
    })
    .await;
    assert_eq!(b.ring_bounds().1, 60);
    assert_eq!(
        b.journal().events_after(0, usize::MAX),
        a.journal().events_after(0, usize::MAX)
    );
    for tf in [Timeframe::M1, Timeframe::M15] {
        assert_eq!(
            b.history("QQQ", tf, None, 100).unwrap().bars,
            a.history("QQQ", tf, None, 100).unwrap().bars,
            "{tf:?}"
        );
    }

    // Deposed: the lease goes to another; the pump stops at its next
    // batch and writes nothing.
    redis::cmd("DEL")
        .arg(&keys.lease)
        .query_async::<()>(&mut con)
        .await
        .unwrap();
    let other = Lease::new(&keys.lease, "b", Duration::from_secs(30));
    assert!(other.acquire(&mut con).await.unwrap());
    publish(&a, 10..11);
    assert!(matches!(
        guard(pumping).await.unwrap(),
        Err(BusError::NotHolder)
    ));
    assert_eq!(log.head(&mut con).await.unwrap(), 60);
    stop.cancel();
    mirroring.abort();
    redis.stop().await;
}

/// The pipeline with the producer's journal on: what
/// [`spotlight_bus::apply::apply`] makes of the log on an edge.
struct Pipeline {
    redis: Redis,
    con: redis::aio::MultiplexedConnection,
    log: Log,
    a: std::sync::Arc<Hub>,
    b: std::sync::Arc<Hub>,
    node: std::sync::Arc<NodeState>,
    stop: CancellationToken,
}

async fn pipeline() -> Pipeline {
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let lease = Lease::new(&keys.lease, "a", Duration::from_secs(30));
    assert!(lease.acquire(&mut con).await.unwrap());
    let log = Log::new(keys, 100_000);
    let a = Hub::new(HubConfig::default());
    a.journal().keep_marks();
    let epoch = super::start_log(&log, &mut con, "a", &a.epoch()).await;
    let stop = CancellationToken::new();
    {
        let (a, log, mut con, stop) = (a.clone(), log.clone(), con.clone(), stop.clone());
        tokio::spawn(async move {
            pump(&a, &log, &mut con, "a", 0, &stop, &NodeState::default()).await
        });
    }
    let b = Hub::mirror_of(HubConfig::default(), &epoch, 0);
    let node = std::sync::Arc::new(NodeState::default());
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    tokio::spawn(follow(
        client,
        log.clone(),
        epoch,
        0,
        tx,
        node.clone(),
        stop.clone(),
    ));
    tokio::spawn(apply(b.clone(), rx, node.clone()));
    Pipeline {
        redis,
        con,
        log,
        a,
        b,
        node,
        stop,
    }
}

fn recorded(minute: i64) -> Candle {
    Candle {
        t: 1_600_000_020_000 + minute * 60_000,
        o: 50.0,
        h: 52.0,
        l: 49.0,
        c: 51.0,
        v: 7,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_on_the_producer_plays_on_the_edge_and_leaves_the_kept_history_live() {
    let Pipeline {
        redis,
        mut con,
        log,
        a,
        b,
        node,
        stop,
    } = pipeline().await;
    publish(&a, 0..3);
    a.replay_mode()
        .begin(vec![("SPY".into(), vec![recorded(0)])])
        .unwrap();
    let status: ReplayStatus =
        serde_json::from_str(r#"{"state":"paused","speed":2.0,"clock":1600000080000,"progress":{"done":0,"total":3},"symbols":["SPY"],"from":1600000080000,"to":1600000260000}"#)
            .unwrap();
    a.broadcast("replay", &status);
    for m in 1..4 {
        a.replay_mode().publish("SPY", recorded(m), false).unwrap();
        a.replay_mode().publish("SPY", recorded(m), true).unwrap();
    }
    // Live data goes on meanwhile: QQQ with events, SPY set aside.
    publish(&a, 3..5);
    eventually("the edge to replay what the producer replays", || async {
        b.ring_bounds() == a.ring_bounds()
    })
    .await;
    assert!(b.replay_mode().is_on(), "the edge is in replay mode");
    assert_eq!(node.replay(), Some(status), "the status the producer told");
    let spy = |h: &Hub| h.history("SPY", Timeframe::M1, None, 100).unwrap().bars;
    assert_eq!(spy(&b), spy(&a), "the replayed series");
    assert_eq!(spy(&b).len(), 4, "the preload and three replayed bars");

    a.replay_mode().end();
    publish(&a, 5..6);
    eventually("the edge to end the replay", || async {
        b.ring_bounds() == a.ring_bounds()
    })
    .await;
    assert!(!b.replay_mode().is_on());
    assert_eq!(
        b.journal().events_after(0, usize::MAX),
        a.journal().events_after(0, usize::MAX)
    );
    for tf in [Timeframe::M1, Timeframe::M5] {
        for symbol in ["SPY", "QQQ"] {
            assert_eq!(
                b.history(symbol, tf, None, 100).unwrap().bars,
                a.history(symbol, tf, None, 100).unwrap().bars,
                "{symbol} {tf:?}: the live history, caught up"
            );
        }
    }
    // Redis keeps SPY's live finals only, as the producer holds them.
    let kept = log.snapshot(&mut con).await.unwrap().unwrap();
    let spy_kept = &kept.bars.iter().find(|(s, _)| s == "SPY").unwrap().1;
    assert_eq!(*spy_kept, a.replay_mode().live_minutes("SPY").unwrap());
    assert!(kept.replay.is_none(), "no replay running");
    stop.cancel();
    redis.stop().await;
}

#[tokio::test]
async fn a_mark_is_only_appended_where_the_log_ends_by_the_holder() {
    let Pipeline {
        redis,
        mut con,
        log,
        stop,
        ..
    } = pipeline().await;
    stop.cancel();
    let head = log.head(&mut con).await.unwrap();
    let epoch = log.current_epoch(&mut con).await.unwrap().unwrap();
    let mark = |after| OutgoingMark {
        after,
        name: "began",
        bytes: b"[]",
        finals: &[],
    };
    assert!(matches!(
        log.append_mark(&mut con, "a", &epoch, mark(head + 1)).await,
        Err(BusError::SeqMismatch)
    ));
    assert!(matches!(
        log.append_mark(&mut con, "b", &epoch, mark(head)).await,
        Err(BusError::NotHolder)
    ));
    log.append_mark(&mut con, "a", &epoch, mark(head))
        .await
        .unwrap();
    let joined = log.snapshot(&mut con).await.unwrap().unwrap();
    assert_eq!(joined.replay, Some((head, Vec::new())), "kept for joiners");
    redis.stop().await;
}
