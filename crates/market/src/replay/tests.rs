//! The engine on paused tokio time: deterministic clocks, no real waiting.

use super::*;
use crate::hub::{Resume, Subscription};
use crate::{HubConfig, Timeframe};

const T: i64 = 1_294_065_000_000; // 2011-01-03T14:30:00Z

fn bar(i: i64, o: f64, c: f64) -> Candle {
    Candle {
        t: T + i * MINUTE_MS,
        o,
        h: o.max(c) + 0.5,
        l: o.min(c) - 0.5,
        c,
        v: 600,
    }
}

/// Five bars with a gap after the third.
fn recording() -> Vec<Candle> {
    vec![
        bar(0, 10.0, 11.0),
        bar(1, 11.0, 10.5),
        bar(2, 10.5, 10.5),
        bar(5, 10.0, 12.0),
        bar(6, 12.0, 11.0),
    ]
}

fn setup() -> (Arc<Hub>, Arc<Replayer>, Subscription) {
    let hub = Hub::new(HubConfig::default());
    hub.load("SPY", vec![bar(-100, 50.0, 50.0)]).unwrap();
    let replayer = Replayer::new(
        hub.clone(),
        HashMap::from([("SPY".to_string(), recording())]),
    );
    let sub = hub.subscribe(&[], Timeframe::M1, &Resume::Live).unwrap();
    (hub, replayer, sub)
}

/// Every SSE message queued so far: (event, data).
async fn drain(sub: &Subscription) -> Vec<(String, serde_json::Value)> {
    let mut out = Vec::new();
    while !sub.queue.is_empty() {
        let (bytes, _) = sub.queue.next_batch(1 << 20, |_| {}).await.unwrap();
        out.extend(crate::testing::read_sse(&bytes));
    }
    out
}

#[test]
fn the_path_starts_at_the_open_and_ends_at_the_bar() {
    let up = bar(0, 10.0, 11.0);
    let start = along_path(&up, 0.0);
    assert_eq!(
        (start.o, start.h, start.l, start.c, start.v),
        (10.0, 10.0, 10.0, 10.0, 0)
    );
    assert_eq!(along_path(&up, 1.0), up);
    // An up bar visits its low first, a down bar its high first.
    assert_eq!(along_path(&up, 1.0 / 3.0).c, up.l);
    let down = bar(0, 11.0, 10.0);
    assert_eq!(along_path(&down, 1.0 / 3.0).c, down.h);
    let mut last = start;
    for k in 1..=60 {
        let p = along_path(&up, k as f64 / 60.0);
        assert!(p.h >= last.h && p.l <= last.l && p.v >= last.v);
        p.check().unwrap();
        last = p;
    }
}

#[tokio::test(start_paused = true)]
async fn a_replay_plays_the_recording_unchanged_with_updates_and_gaps() {
    let (hub, replayer, sub) = setup();
    // A reader that keeps up, as a live client does (no conflation).
    let reader = tokio::spawn(async move {
        let mut events = Vec::new();
        loop {
            let (bytes, _) = sub.queue.next_batch(1 << 20, |_| {}).await.unwrap();
            for (event, data) in crate::testing::read_sse(&bytes) {
                let done = event == "replay" && data["state"] == "finished";
                events.push((event, data));
                if done {
                    return events;
                }
            }
        }
    });
    let status = replayer
        .start(StartRequest {
            speed: Some(60.0),
            ..StartRequest::default()
        })
        .unwrap();
    assert_eq!(
        (status.state, status.progress.total),
        (ReplayState::Running, 5)
    );
    assert_eq!((status.from, status.to), (Some(T), Some(T + 7 * MINUTE_MS)));
    // 7 simulated minutes at 60x: 7 s of (paused) time.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let status = replayer.status();
    assert_eq!(status.state, ReplayState::Finished);
    assert_eq!(status.progress, Progress { done: 5, total: 5 });
    assert_eq!(status.clock, Some(T + 7 * MINUTE_MS));

    let events = reader.await.unwrap();
    assert_eq!(events[0].0, "reset");
    assert_eq!(events[0].1["reason"], "replay_started");
    assert_eq!(events[1].0, "replay");
    let finals: Vec<Candle> = events
        .iter()
        .filter(|(e, d)| e == "bar" && d["final"] == true)
        .map(|(_, d)| {
            serde_json::from_value::<crate::Bar>(d.clone())
                .unwrap()
                .candle()
        })
        .collect();
    assert_eq!(
        finals,
        recording(),
        "final bars are the recording, unchanged and in order"
    );
    let updates = events
        .iter()
        .filter(|(e, d)| e == "bar" && d["final"] == false)
        .count();
    assert!(
        updates >= 5 * 3,
        "in-progress updates along each bar's path: {updates}"
    );
    assert!(
        !events.iter().any(
            |(e, d)| e == "bar" && (d["t"] == T + 3 * MINUTE_MS || d["t"] == T + 4 * MINUTE_MS)
        ),
        "the gap stays a gap"
    );
    assert_eq!(events.last().unwrap().1["state"], "finished");

    // History follows the replay: the recording (its bars before the window
    // would be context; this window starts at the recording's start).
    let history = hub.history("SPY", Timeframe::M1, None, 100).unwrap().bars;
    assert_eq!(
        history.iter().map(|b| b.candle()).collect::<Vec<_>>(),
        recording()
    );
    assert_eq!(replayer.bars_total.load(Ordering::Relaxed), 5);
}

#[tokio::test(start_paused = true)]
async fn speed_changes_and_pauses_keep_the_clock_continuous() {
    let (_hub, replayer, _sub) = setup();
    replayer
        .start(StartRequest {
            speed: Some(1.0),
            ..StartRequest::default()
        })
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(replayer.status().clock, Some(T + 30_000));
    replayer.set_speed(10.0).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        replayer.status().clock,
        Some(T + 40_000),
        "10 s of replay time in 1 s, from where it stood"
    );
    replayer.pause().unwrap();
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(
        replayer.status().clock,
        Some(T + 40_000),
        "paused: the clock stands still"
    );
    assert_eq!(replayer.status().progress.done, 0);
    replayer.resume().unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let status = replayer.status();
    assert_eq!(status.clock, Some(T + 61_000));
    assert_eq!(
        status.progress.done, 1,
        "the first minute closed once the clock passed it"
    );
}

#[tokio::test(start_paused = true)]
async fn wrong_states_and_bad_parameters_are_refused() {
    let (hub, replayer, _sub) = setup();
    assert!(matches!(replayer.pause(), Err(ReplayError::WrongState(_))));
    assert!(matches!(replayer.resume(), Err(ReplayError::WrongState(_))));
    assert!(matches!(replayer.stop(), Err(ReplayError::WrongState(_))));
    assert!(matches!(
        replayer.set_speed(2.0),
        Err(ReplayError::WrongState(_))
    ));
    for speed in [0.1, 1001.0, f64::NAN] {
        let req = StartRequest {
            speed: Some(speed),
            ..StartRequest::default()
        };
        assert!(
            matches!(replayer.start(req), Err(ReplayError::BadRequest(_))),
            "{speed}"
        );
    }
    let unknown = StartRequest {
        symbols: Some(vec!["NOPE".into()]),
        ..StartRequest::default()
    };
    assert!(matches!(
        replayer.start(unknown),
        Err(ReplayError::BadRequest(_))
    ));
    let empty = StartRequest {
        from: Some(T + 3 * MINUTE_MS),
        to: Some(T + 5 * MINUTE_MS),
        ..StartRequest::default()
    };
    assert!(matches!(
        replayer.start(empty),
        Err(ReplayError::BadRequest(_))
    ));
    assert!(!hub.replay_mode().is_on(), "nothing was half-started");
    replayer.start(StartRequest::default()).unwrap();
    assert!(matches!(
        replayer.start(StartRequest::default()),
        Err(ReplayError::WrongState(_))
    ));
    assert!(matches!(
        replayer.set_speed(5000.0),
        Err(ReplayError::BadRequest(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn stop_brings_live_back_and_live_kept_moving_meanwhile() {
    let (hub, replayer, sub) = setup();
    replayer
        .start(StartRequest {
            speed: Some(60.0),
            ..StartRequest::default()
        })
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The live source publishes meanwhile: no event, but the live history moves.
    let live_bar = bar(-99, 51.0, 52.0);
    let head = hub.ring_bounds().1;
    assert_eq!(hub.publish("SPY", live_bar, true).unwrap(), head);
    let stopped = replayer.stop().unwrap();
    assert_eq!(stopped.state, ReplayState::Stopped);
    let history = hub.history("SPY", Timeframe::M1, None, 100).unwrap().bars;
    assert_eq!(
        history.iter().map(|b| b.t).collect::<Vec<_>>(),
        vec![T - 100 * MINUTE_MS, T - 99 * MINUTE_MS]
    );
    let events = drain(&sub).await;
    let resets: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "reset")
        .map(|(_, d)| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(resets, vec!["replay_started", "replay_stopped"]);
    assert!(
        !events
            .iter()
            .any(|(e, d)| e == "bar" && d["t"] == T - 99 * MINUTE_MS),
        "live bars made no event during the replay"
    );
    // A client resuming from before the switch is reset, not fed a mix.
    let back = hub
        .subscribe(
            &[],
            Timeframe::M1,
            &Resume::After {
                epoch: None,
                seq: 0,
            },
        )
        .unwrap();
    assert_eq!(
        back.start,
        crate::hub::Start::Reset(spotlight_wire::ResetReason::ReplayStopped)
    );
    assert!(matches!(replayer.stop(), Err(ReplayError::WrongState(_))));
}
