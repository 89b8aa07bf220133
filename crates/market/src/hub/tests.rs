use super::*;
use bytes::Bytes;
use spotlight_wire::timeframe::MINUTE_MS;

const T: i64 = 1_294_065_000_000; // 2011-01-03T14:30:00Z

fn candle(t: i64, c: f64) -> Candle {
    Candle {
        t,
        o: c,
        h: c + 1.0,
        l: c / 2.0,
        c,
        v: 10,
    }
}

fn hub(ring: usize, client_queue: usize) -> Arc<Hub> {
    Hub::new(HubConfig {
        ring,
        client_queue,
        retain: 10_000,
        ..HubConfig::default()
    })
}

/// Everything a resuming subscription catches up on, step by step.
fn backlog(sub: &mut Subscription) -> Vec<Bytes> {
    let mut out = Vec::new();
    loop {
        let step = sub.catch_up(1 << 16);
        out.extend(step.frames);
        if step.done.is_some() {
            return out;
        }
    }
}

fn frames(bytes: &[Bytes]) -> Vec<serde_json::Value> {
    bytes
        .iter()
        .flat_map(|b| crate::testing::read_sse(b))
        .map(|(_, data)| data)
        .collect()
}

#[test]
fn seqs_are_global_and_every_timeframe_shares_them() {
    let hub = hub(100, 100);
    let a = hub.publish("SPY", candle(T, 1.0), false).unwrap();
    let b = hub.publish("QQQ", candle(T, 2.0), true).unwrap();
    let c = hub.publish("SPY", candle(T, 1.5), true).unwrap();
    assert_eq!((a, b, c), (1, 2, 3));
    let inner = hub.lock();
    let entries: Vec<&RingEntry> = inner.ring.after(0).collect();
    for tf in Timeframe::ALL {
        let seqs: Vec<u64> = frames(
            &entries
                .iter()
                .map(|e| e.frames[tf.index()].clone())
                .collect::<Vec<_>>(),
        )
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
        assert_eq!(seqs, vec![1, 2, 3], "{tf}");
    }
    let first = std::str::from_utf8(&entries[0].frames[0]).unwrap();
    assert!(
        first.starts_with(&format!("id: {}:1\nevent: bar\ndata: ", inner.epoch)),
        "{first}"
    );
}

#[test]
fn resume_inside_the_ring_gets_exactly_the_missed_events_of_its_symbols() {
    let hub = hub(100, 100);
    for i in 0..4 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
        hub.publish("QQQ", candle(T + i * MINUTE_MS, 2.0), true)
            .unwrap();
    }
    let resume = Resume::After {
        epoch: None,
        seq: 3,
    };
    let mut sub = hub
        .subscribe(&["SPY".into()], Timeframe::M1, &resume)
        .unwrap();
    assert_eq!(sub.start, Start::Resumed);
    let seqs: Vec<u64> = frames(&backlog(&mut sub))
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![5, 7]);
    assert_eq!(sub.head, 8);
}

#[test]
fn old_positions_and_foreign_epochs_reset_and_future_ones_are_refused() {
    let hub = hub(3, 100);
    for i in 0..6 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
    }
    assert_eq!(hub.ring_bounds(), (4, 6));
    let at = |seq, epoch: Option<&str>| Resume::After {
        epoch: epoch.map(String::from),
        seq,
    };
    let start = |r: Resume| hub.subscribe(&[], Timeframe::M1, &r).map(|s| s.start);
    assert_eq!(start(at(3, None)), Ok(Start::Resumed));
    assert_eq!(start(at(2, None)), Ok(Start::Reset(ResetReason::GapTooOld)));
    assert_eq!(
        start(at(5, Some("other"))),
        Ok(Start::Reset(ResetReason::EpochChanged))
    );
    assert_eq!(start(at(5, Some(&hub.epoch()))), Ok(Start::Resumed));
    assert_eq!(
        start(at(7, None)),
        Err(SubscribeError::AheadOfHead { seq: 7, head: 6 })
    );
    assert_eq!(
        hub.subscribe(&["NOPE".into()], Timeframe::M1, &Resume::Live)
            .unwrap_err(),
        SubscribeError::UnknownSymbol("NOPE".into())
    );
}

#[tokio::test]
async fn a_stalled_subscriber_is_conflated_then_closed_without_touching_others() {
    let hub = hub(1000, 4);
    hub.load("SPY", vec![candle(T - MINUTE_MS, 1.0)]).unwrap();
    let stalled = hub.subscribe(&[], Timeframe::M1, &Resume::Live).unwrap();
    let healthy = hub.subscribe(&[], Timeframe::M1, &Resume::Live).unwrap();
    let mut seen = Vec::new();
    // In-progress updates of one minute only ever leave one pending item.
    for i in 0..10 {
        hub.publish("SPY", candle(T, 1.0 + i as f64 / 100.0), false)
            .unwrap();
        let (bytes, seq) = healthy.queue.next_batch(1 << 16, |_| {}).await.unwrap();
        seen.push(seq);
        assert_eq!(frames(&[bytes]).len(), 1);
    }
    assert_eq!(stalled.queue.len(), 1);
    assert_eq!(stalled.queue.conflated(), 9);
    // Final bars are never conflated: the stalled queue fills and closes.
    for i in 0..5 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
        let (_, seq) = healthy.queue.next_batch(1 << 16, |_| {}).await.unwrap();
        seen.push(seq);
    }
    assert!(stalled.queue.is_closed());
    assert_eq!(stalled.queue.len(), 0);
    assert_eq!(hub.stats().slow_disconnects.load(Ordering::Relaxed), 1);
    assert_eq!(hub.stats().conflated.load(Ordering::Relaxed), 10);
    assert_eq!(seen, (1..=15).collect::<Vec<u64>>());
    // The closed subscriber comes back from its last seq and loses nothing.
    let mut back = hub
        .subscribe(
            &[],
            Timeframe::M1,
            &Resume::After {
                epoch: None,
                seq: 10,
            },
        )
        .unwrap();
    let finals: Vec<bool> = frames(&backlog(&mut back))
        .iter()
        .map(|v| v["final"].as_bool().unwrap())
        .collect();
    assert_eq!(finals, vec![true; 5]);
}

#[test]
fn batches_apply_all_or_nothing() {
    let hub = hub(100, 100);
    let bar =
        |sym: &str, t: i64, fin: bool| Bar::new(sym.into(), Timeframe::M1, candle(t, 5.0), fin);
    let ok = [
        bar("SPY", T, false),
        bar("SPY", T, true),
        bar("QQQ", T, true),
        bar("SPY", T + MINUTE_MS, true),
    ];
    assert_eq!(hub.publish_batch(&ok), Ok(4));
    let bad = [
        bar("SPY", T + 2 * MINUTE_MS, true),
        bar("SPY", T + 2 * MINUTE_MS, true),
    ];
    let err = hub.publish_batch(&bad).unwrap_err();
    assert_eq!(err.index, 1);
    assert!(matches!(err.error, PublishError::Stale { .. }));
    let mut wrong_tf = bar("SPY", T + 3 * MINUTE_MS, true);
    wrong_tf.tf = Timeframe::M5;
    assert_eq!(
        hub.publish_batch(&[wrong_tf]).unwrap_err().error,
        PublishError::NotBase(Timeframe::M5)
    );
    assert_eq!(
        hub.ring_bounds().1,
        4,
        "nothing of a rejected batch was applied"
    );
    assert_eq!(
        hub.history("SPY", Timeframe::M1, None, 10)
            .unwrap()
            .bars
            .len(),
        2
    );
}

#[test]
fn history_carries_the_seq_it_is_consistent_with() {
    let hub = hub(100, 100);
    hub.load(
        "SPY",
        (0..10).map(|i| candle(T + i * MINUTE_MS, 1.0)).collect(),
    )
    .unwrap();
    hub.publish("SPY", candle(T + 10 * MINUTE_MS, 2.0), false)
        .unwrap();
    let h = hub.history("SPY", Timeframe::M5, None, 50).unwrap();
    assert_eq!(h.seq, 1);
    assert_eq!(h.bars.len(), 3);
    assert!(h.bars[1].is_final && !h.bars[2].is_final);
    assert_eq!(
        hub.history("NOPE", Timeframe::M1, None, 1).unwrap_err(),
        UnknownSymbol("NOPE".into())
    );
    let info = hub.symbols();
    assert_eq!(info.len(), 1);
    assert_eq!(
        (info[0].last, info[0].reference, info[0].change),
        (2.0, 1.0, 1.0)
    );
}

#[tokio::test]
async fn a_resume_reads_the_ring_in_bounded_steps_then_goes_live() {
    let hub = hub(1000, 100);
    for i in 0..300 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
    }
    let after = |seq| Resume::After { epoch: None, seq };
    let mut sub = hub.subscribe(&[], Timeframe::M1, &after(100)).unwrap();
    // Nothing was copied at subscribe time, and it is not fanned out to yet.
    hub.publish("SPY", candle(T + 300 * MINUTE_MS, 1.0), true)
        .unwrap();
    assert!(sub.queue.is_empty());
    let first = sub.catch_up(1000);
    assert!(first.done.is_none(), "a step is bounded by its byte budget");
    assert!(!first.frames.is_empty() && first.frames.len() < 200);
    let mut seqs: Vec<u64> = frames(&first.frames)
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    seqs.extend(
        frames(&backlog(&mut sub))
            .iter()
            .map(|v| v["seq"].as_u64().unwrap()),
    );
    assert_eq!(seqs, (101..=301).collect::<Vec<u64>>());
    assert!(!sub.catching_up());
    hub.publish("SPY", candle(T + 301 * MINUTE_MS, 1.0), true)
        .unwrap();
    let (live, seq) = sub.queue.next_batch(1 << 16, |_| {}).await.unwrap();
    assert_eq!((frames(&[live]).len(), seq), (1, 302));
}

#[test]
fn a_ring_that_overtakes_a_slow_resume_resets_it() {
    let hub = hub(10, 100);
    for i in 0..10 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
    }
    let mut sub = hub
        .subscribe(
            &[],
            Timeframe::M1,
            &Resume::After {
                epoch: None,
                seq: 1,
            },
        )
        .unwrap();
    let step = sub.catch_up(1);
    assert_eq!(step.frames.len(), 1);
    for i in 10..30 {
        hub.publish("SPY", candle(T + i * MINUTE_MS, 1.0), true)
            .unwrap();
    }
    let step = sub.catch_up(1 << 16);
    assert!(step.frames.is_empty(), "never a silent jump");
    assert_eq!(
        step.done,
        Some(Caught::Reset {
            reason: ResetReason::GapTooOld,
            head: 30,
            low: 21
        })
    );
    assert!(!sub.catching_up());
}

#[test]
fn symbols_are_checked_and_bounded() {
    let hub = Hub::new(HubConfig {
        max_symbols: 2,
        ..HubConfig::default()
    });
    hub.publish("BRK.B", candle(T, 1.0), true).unwrap();
    assert!(matches!(
        hub.publish(&"X".repeat(1 << 20), candle(T, 1.0), true),
        Err(PublishError::BadSymbol(_))
    ));
    hub.publish("^GSPC", candle(T, 1.0), true).unwrap();
    assert_eq!(
        hub.publish("ES=F", candle(T, 1.0), true),
        Err(PublishError::TooManySymbols(2))
    );
    let bars = [Bar::new(
        "EUR/USD".into(),
        Timeframe::M1,
        candle(T, 1.0),
        true,
    )];
    assert_eq!(
        hub.publish_batch(&bars).unwrap_err().error,
        PublishError::TooManySymbols(2)
    );
    assert_eq!(hub.symbol_names(), vec!["BRK.B", "^GSPC"]);
}
