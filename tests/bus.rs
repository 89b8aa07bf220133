//! The scale-out bus's Redis side against a real `redis-server`: one lease
//! holder at a time, appends numbered without gap or repeat, a deposed
//! producer that cannot write, a standby that continues the seq, reads
//! after a seq (resume) and blocking reads, and a new epoch when Redis has
//! lost the log.

mod common;

use std::time::Duration;

use common::redis_server::Redis;
use common::*;
use spotlight::bus::lease::Lease;
use spotlight::bus::log::Log;
use spotlight::bus::{BusError, Keys};

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

fn borrowed(events: &[(String, Vec<u8>)]) -> Vec<(&str, &[u8])> {
    events
        .iter()
        .map(|(k, b)| (k.as_str(), b.as_slice()))
        .collect()
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
    let epoch = log.epoch(&mut con, "epocha01").await.unwrap();
    assert_eq!(epoch, "epocha01");
    assert_eq!(log.epoch(&mut con, "other001").await.unwrap(), "epocha01");
    let batch = events(5);
    assert_eq!(
        log.append(&mut con, "a", &epoch, &borrowed(&batch))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        log.append(&mut con, "a", &epoch, &borrowed(&batch[..2]))
            .await
            .unwrap(),
        6
    );
    match log.append(&mut con, "b", &epoch, &borrowed(&batch)).await {
        Err(BusError::NotHolder) => {}
        other => panic!("a non-holder wrote: {other:?}"),
    }
    assert_eq!(log.head(&mut con).await.unwrap(), 7, "nothing written by b");

    // The holder goes; the standby takes over and continues the seq.
    assert!(a.release(&mut con).await.unwrap());
    assert!(b.acquire(&mut con).await.unwrap());
    assert_eq!(
        log.append(&mut con, "b", &epoch, &borrowed(&batch[..1]))
            .await
            .unwrap(),
        8
    );
    match log
        .append(&mut con, "a", &epoch, &borrowed(&batch[..1]))
        .await
    {
        Err(BusError::NotHolder) => {}
        other => panic!("the deposed producer wrote: {other:?}"),
    }
    let all = log.after(&mut con, 0, 100).await.unwrap();
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=8).collect::<Vec<_>>(),
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
    let redis = Redis::start().await;
    let mut con = redis.connection().await.unwrap();
    let keys = Keys::default();
    let lease = Lease::new(&keys.lease, "p", TTL);
    assert!(lease.acquire(&mut con).await.unwrap());
    let log = Log::new(keys, 10_000);
    let epoch = log.epoch(&mut con, "epochr01").await.unwrap();
    let batch = events(10);
    log.append(&mut con, "p", &epoch, &borrowed(&batch))
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
    let waiting = tokio::spawn(async move { log2.read(&mut reader, 10, 10_000, 100).await });
    log.append(&mut con, "p", &epoch, &borrowed(&batch[..1]))
        .await
        .unwrap();
    let got = guard(waiting).await.unwrap().unwrap();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), [11]);
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
    let first = log.epoch(&mut con, "epoch001").await.unwrap();
    log.append(&mut con, "p", &first, &borrowed(&events(3)))
        .await
        .unwrap();
    // Redis restarted without persistence: everything is gone.
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut con)
        .await
        .unwrap();
    assert!(lease.acquire(&mut con).await.unwrap());
    let second = log.epoch(&mut con, "epoch002").await.unwrap();
    assert_eq!(second, "epoch002", "a new epoch, so resumers get reset");
    assert_eq!(
        log.append(&mut con, "p", &second, &borrowed(&events(1)))
            .await
            .unwrap(),
        1
    );
    redis.stop().await;
}
