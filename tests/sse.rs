//! The SSE stream against a real server: order, ids, resume, reset.

use crate::common;

use common::*;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_market::{HubConfig, Timeframe};
use spotlight_wire::ResetReason;

#[tokio::test]
async fn hello_first_then_ids_are_epoch_seq_with_no_gap_across_symbols() {
    let server = TestServer::with_finals(&["SPY", "QQQ", "IWM"], 0, 1).await;
    let client = server.client();
    let (hello, mut stream) = open(&client, Subscribe::default()).await;
    assert_eq!(*hello.epoch, *server.hub().epoch());
    assert_eq!(hello.seq, 3);
    assert_eq!(hello.symbols.len(), 3);
    assert!(!hello.resumed);

    client
        .ingest(ndjson(&finals(&["SPY", "QQQ", "IWM"], 1, 41)))
        .await
        .unwrap();
    let mut seqs = Vec::new();
    for _ in 0..120 {
        let b = next_bar(&mut stream).await;
        seqs.push(b.seq);
    }
    assert_eq!(
        seqs,
        (4..=123).collect::<Vec<u64>>(),
        "every seq once, in order"
    );
    server.stop().await;
}

#[tokio::test]
async fn sse_ids_carry_the_epoch_and_headers_are_right() {
    let server = TestServer::with_finals(&["SPY"], 0, 2).await;
    let res = reqwest::get(format!("{}/realtime/sse?sinceSeq=0", server.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache, no-transform");
    assert_eq!(h["x-accel-buffering"], "no");
    let mut body = res.bytes_stream();
    let mut text = String::new();
    guard(async {
        while text.matches("event: bar").count() < 2 {
            let chunk = futures::StreamExt::next(&mut body).await.unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await;
    assert!(text.starts_with("retry: 2000\n: "), "{text}");
    let epoch = server.hub().epoch();
    assert!(
        text.contains(&format!("id: {epoch}:1\nevent: bar\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("id: {epoch}:2\nevent: bar\n")),
        "{text}"
    );
    server.stop().await;
}

#[tokio::test]
async fn history_seq_then_since_seq_has_no_gap_and_no_duplicate() {
    let server = TestServer::with_finals(&["SPY"], 0, 10).await;
    let client = server.client();
    client
        .ingest(ndjson(&[bar("SPY", 10, 101.0, false)]))
        .await
        .unwrap();
    let history = client
        .history("SPY", Timeframe::M1, 100, None)
        .await
        .unwrap();
    assert_eq!(history.seq, 11);
    assert_eq!(history.bars.len(), 11);
    assert!(!history.bars[10].is_final);

    // Events published between the history fetch and the subscription.
    let later = [bar("SPY", 10, 101.5, true), bar("SPY", 11, 102.0, false)];
    client.ingest(ndjson(&later)).await.unwrap();
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        since_seq: Some(history.seq),
        ..Subscribe::default()
    };
    let (hello, mut stream) = open(&client, sub).await;
    assert!(hello.resumed);
    let first = next_bar(&mut stream).await;
    let second = next_bar(&mut stream).await;
    assert_eq!((first.seq, second.seq), (12, 13));
    assert_eq!(first.bar, later[0]);
    assert_eq!(second.bar, later[1]);
    // And then live.
    client
        .ingest(ndjson(&[bar("SPY", 11, 102.5, true)]))
        .await
        .unwrap();
    assert_eq!(next_bar(&mut stream).await.seq, 14);
    server.stop().await;
}

#[tokio::test]
async fn history_then_stream_on_the_live_sim_joins_without_gap_or_duplicate() {
    let server = TestServer::sim(&["SPY"], 1.0, 25).await;
    let client = server.client();
    let history = client
        .history("SPY", Timeframe::M1, 10, None)
        .await
        .unwrap();
    let last = history.bars.last().unwrap().clone();
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        since_seq: Some(history.seq),
        ..Subscribe::default()
    };
    let (_, mut stream) = open(&client, sub).await;
    let first = next_bar(&mut stream).await;
    assert_eq!(first.seq, history.seq + 1);
    // The first event continues exactly where history ended: the forming
    // minute it ended with, or the minute after its last final one.
    if last.is_final {
        assert_eq!(first.bar.t, last.t + MIN);
    } else {
        assert_eq!(first.bar.t, last.t);
    }
    let mut prev = first.seq;
    for _ in 0..10 {
        let b = next_bar(&mut stream).await;
        assert!(b.seq > prev, "ids strictly increase");
        prev = b.seq;
    }
    server.stop().await;
}

#[tokio::test]
async fn last_event_id_inside_the_ring_replays_exactly_the_missed_events() {
    let server = TestServer::with_finals(&["SPY", "QQQ"], 0, 3).await;
    let client = server.client();
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        since_seq: Some(0),
        ..Subscribe::default()
    };
    let (_, mut stream) = open(&client, sub.clone()).await;
    let seen: Vec<u64> = [next_bar(&mut stream).await, next_bar(&mut stream).await]
        .iter()
        .map(|b| b.seq)
        .collect();
    assert_eq!(seen, vec![1, 3]);
    drop(stream);

    client
        .ingest(ndjson(&finals(&["SPY", "QQQ"], 3, 6)))
        .await
        .unwrap();
    let epoch = server.hub().epoch().to_string();
    // As a browser does: same URL (with its old sinceSeq), Last-Event-ID set.
    let resume = Subscribe {
        last_event_id: Some(format!("{epoch}:3")),
        ..sub
    };
    let (hello, mut stream) = open(&client, resume).await;
    assert!(hello.resumed);
    let mut replayed = Vec::new();
    for _ in 0..4 {
        replayed.push(next_bar(&mut stream).await.seq);
    }
    assert_eq!(replayed, vec![5, 7, 9, 11]);
    client
        .ingest(ndjson(&finals(&["SPY"], 6, 7)))
        .await
        .unwrap();
    assert_eq!(next_bar(&mut stream).await.seq, 13, "then live");
    server.stop().await;
}

#[tokio::test]
async fn outside_the_ring_or_another_epoch_gets_a_reset_then_live() {
    let server = TestServer::empty(HubConfig {
        ring: 5,
        ..HubConfig::default()
    })
    .await;
    let client = server.client();
    client
        .ingest(ndjson(&finals(&["SPY"], 0, 20)))
        .await
        .unwrap();
    for (i, (id, reason)) in [
        ("2", ResetReason::GapTooOld),
        ("otherep:19", ResetReason::EpochChanged),
    ]
    .into_iter()
    .enumerate()
    {
        let (low, head) = server.hub().ring_bounds();
        let sub = Subscribe {
            last_event_id: Some(id.into()),
            ..Subscribe::default()
        };
        let (hello, mut stream) = open(&client, sub).await;
        assert!(!hello.resumed);
        match next(&mut stream).await {
            ServerEvent::Reset(r) => {
                assert_eq!(r.reason, reason);
                assert_eq!((r.low_seq, r.head_seq), (low, head));
                assert_eq!(*r.epoch, *server.hub().epoch());
            }
            other => panic!("expected reset, got {other:?}"),
        }
        let minute = 20 + i as i64;
        client
            .ingest(ndjson(&finals(&["SPY"], minute, minute + 1)))
            .await
            .unwrap();
        let live = next_bar(&mut stream).await;
        assert_eq!(live.seq, hello.seq + 1, "live right after the reset");
    }
    server.stop().await;
}

#[tokio::test]
async fn final_bars_come_once_per_bucket_and_equal_the_rollup_of_their_minutes() {
    // 600x: a simulated 5m bucket closes every half second of real time.
    let server = TestServer::sim(&["SPY"], 600.0, 10).await;
    let client = server.client();
    let sub = Subscribe {
        symbols: vec!["SPY".into()],
        timeframe: Some(Timeframe::M5),
        ..Subscribe::default()
    };
    let (_, mut stream) = open(&client, sub).await;
    let mut closed = Vec::new();
    guard(async {
        while closed.len() < 3 {
            let b = next_bar(&mut stream).await;
            assert_eq!(b.bar.tf, Timeframe::M5);
            if b.bar.is_final {
                closed.push(b.bar);
            }
        }
    })
    .await;
    let buckets: Vec<i64> = closed.iter().map(|b| b.t).collect();
    assert_eq!(
        buckets
            .windows(2)
            .filter(|w| w[1] - w[0] == 5 * MIN)
            .count(),
        2,
        "one final per bucket: {buckets:?}"
    );
    let minutes = client
        .history("SPY", Timeframe::M1, 5000, None)
        .await
        .unwrap()
        .bars;
    for fin in &closed {
        let inside: Vec<_> = minutes
            .iter()
            .filter(|m| m.t >= fin.t && m.t < fin.t + 5 * MIN)
            .collect();
        assert_eq!(inside.len(), 5);
        assert!(inside.iter().all(|m| m.is_final));
        assert_eq!(fin.o, inside[0].o);
        assert_eq!(fin.c, inside[4].c);
        assert_eq!(fin.h, inside.iter().map(|m| m.h).fold(f64::MIN, f64::max));
        assert_eq!(fin.l, inside.iter().map(|m| m.l).fold(f64::MAX, f64::min));
        assert_eq!(fin.v, inside.iter().map(|m| m.v).sum::<u64>());
    }
    // The history of 5m agrees with what the stream closed.
    let m5 = client
        .history("SPY", Timeframe::M5, 5000, None)
        .await
        .unwrap()
        .bars;
    for fin in &closed {
        assert_eq!(m5.iter().find(|b| b.t == fin.t), Some(fin));
    }
    server.stop().await;
}

#[tokio::test]
async fn a_stream_on_a_fresh_or_a_reused_connection_is_the_same() {
    let server = TestServer::with_finals(&["SPY"], 0, 3).await;
    let url = format!("{}/realtime/sse?sinceSeq=0", server.url);
    // Fresh connection: the stream is the connection's first request.
    let fresh = reqwest::Client::new();
    // Reused: a keep-alive connection that served another request first.
    let reused = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    assert_eq!(
        reused
            .get(format!("{}/health", server.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let mut bodies = Vec::new();
    for (http, lean) in [(fresh, true), (reused, false)] {
        let res = http.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        // Only the lean path (a stream that opens its connection) closes it after.
        assert_eq!(
            res.headers()
                .get("connection")
                .is_some_and(|v| v == "close"),
            lean
        );
        for (k, v) in [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache, no-transform"),
            ("x-accel-buffering", "no"),
        ] {
            assert_eq!(res.headers()[k], v);
        }
        assert!(res.headers().contains_key("x-request-id"));
        assert!(res.headers().contains_key("x-ratelimit-remaining"));
        let mut body = res.bytes_stream();
        let mut text = String::new();
        guard(async {
            while text.matches("event: bar").count() < 3 {
                let chunk = futures::StreamExt::next(&mut body).await.unwrap().unwrap();
                text.push_str(std::str::from_utf8(&chunk).unwrap());
            }
        })
        .await;
        // serverTime differs; everything else is the same.
        let stable: Vec<String> = text
            .lines()
            .filter(|l| !l.contains("serverTime"))
            .map(String::from)
            .collect();
        bodies.push(stable);
    }
    assert_eq!(bodies[0], bodies[1]);
    let bad = reqwest::get(format!("{}/realtime/sse?sinceSeq=x", server.url))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.headers()["content-type"], "application/json");
    server.stop().await;
}
