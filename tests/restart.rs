//! Deploys: `serve --state-dir` across a real SIGTERM restart of the real
//! binary. Clients resume without a reset and without a gap, history is the
//! same; a damaged or foreign state file, or a crash, means a new epoch
//! and a server that still starts.

use crate::common;

use common::process::{free_port, serve};
use common::*;
use futures::StreamExt;
use spotlight_client::sse::{ServerEvent, Subscribe};
use spotlight_client::Client;
use spotlight_market::Timeframe;

/// A fast simulation: a minute every second of wall time.
const FAST: [&str; 4] = ["--sim-speed", "60", "--tick-ms", "50"];

/// `(id, seq)` of the next `n` bar events; panics on a reset.
async fn bars(stream: &mut spotlight_client::sse::EventStream, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    while seqs.len() < n {
        match next(stream).await {
            ServerEvent::Bar(b) => seqs.push(b.seq),
            ServerEvent::Reset(r) => panic!("a reset: {r:?}"),
            _ => {}
        }
    }
    seqs
}

#[tokio::test]
async fn a_planned_restart_continues_the_epoch_without_reset_or_gap() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut args = vec!["--state-dir", state];
    args.extend(FAST);
    let first = serve(&addr, &args).await;
    assert!(
        first.startup().contains("no saved state"),
        "{}",
        first.startup()
    );
    let client = Client::new(&first.url);
    let (hello, mut stream) = open(&client, Subscribe::default()).await;
    let seen = bars(&mut stream, 20).await;
    let last = *seen.last().unwrap();
    let before_1m = client
        .history("SPY", Timeframe::M1, 500, None)
        .await
        .unwrap();
    let before_5m = client
        .history("SPY", Timeframe::M5, 100, None)
        .await
        .unwrap();
    drop(stream);
    let (status, logs) = first.stop("-TERM").await;
    assert!(status.success(), "{logs}");
    assert!(logs.contains("state saved"), "{logs}");

    let second = serve(&addr, &args).await;
    assert!(
        second.startup().contains("state restored"),
        "{}",
        second.startup()
    );
    let client = Client::new(&second.url);
    // History: every final bar from before is there, unchanged, at 1m and 5m.
    let after_1m = client
        .history("SPY", Timeframe::M1, 2000, None)
        .await
        .unwrap();
    let after_5m = client
        .history("SPY", Timeframe::M5, 400, None)
        .await
        .unwrap();
    assert_eq!(after_1m.epoch, hello.epoch);
    for (before, after) in [(&before_1m, &after_1m), (&before_5m, &after_5m)] {
        for bar in before.bars.iter().filter(|b| b.is_final) {
            assert!(
                after.bars.iter().any(|a| a == bar),
                "{:?} bar at {} changed or went missing",
                bar.tf,
                bar.t
            );
        }
    }
    // The stream resumes from the last id read: no reset, nothing missed.
    let (hello2, mut stream) = open(
        &client,
        Subscribe {
            last_event_id: Some(format!("{}:{last}", hello.epoch)),
            ..Subscribe::default()
        },
    )
    .await;
    assert!(hello2.resumed, "{hello2:?}");
    assert_eq!(hello2.epoch, hello.epoch);
    let resumed = bars(&mut stream, 20).await;
    let expected: Vec<u64> = (last + 1..=last + 20).collect();
    assert_eq!(resumed, expected, "gap-free across the restart");
    drop(stream);
    let (status, _) = second.stop("-TERM").await;
    assert!(status.success());
}

#[tokio::test]
async fn a_damaged_or_foreign_state_is_one_line_and_a_new_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let saved = serve(&addr, &["--state-dir", state]).await;
    let epoch = Client::new(&saved.url).diag().await.unwrap().epoch.id;
    let (status, _) = saved.stop("-TERM").await;
    assert!(status.success());
    let file = dir.path().join("state.bin");
    let good = std::fs::read(&file).unwrap();

    let damaged: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("truncated", good[..good.len() / 2].to_vec(), vec![]),
        ("garbage", b"not a state file at all".to_vec(), vec![]),
        ("other source", good.clone(), vec!["--seed", "2"]),
    ];
    for (what, bytes, extra) in damaged {
        std::fs::write(&file, &bytes).unwrap();
        let mut args = vec!["--state-dir", state];
        args.extend(extra);
        let served = serve(&addr, &args).await;
        let startup = served.startup();
        let refusals = startup.matches("saved state not used").count();
        assert_eq!(refusals, 1, "{what}: {startup}");
        let now = Client::new(&served.url).diag().await.unwrap().epoch.id;
        assert_ne!(now, epoch, "{what}: a new epoch");
        let (status, _) = served.stop("-TERM").await;
        assert!(status.success(), "{what}");
    }
}

#[tokio::test]
async fn a_crash_after_a_restart_is_a_new_epoch_and_resumers_get_reset() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let first = serve(&addr, &["--state-dir", state]).await;
    let (status, _) = first.stop("-TERM").await;
    assert!(status.success());
    let second = serve(&addr, &["--state-dir", state]).await;
    assert!(second.startup().contains("state restored"));
    let client = Client::new(&second.url);
    let (hello, stream) = open(&client, Subscribe::default()).await;
    drop(stream);
    // SIGKILL: nothing is saved, and the state the start used is gone.
    let (status, _) = second.stop("-KILL").await;
    assert!(!status.success());
    let third = serve(&addr, &["--state-dir", state]).await;
    assert!(
        third.startup().contains("no saved state"),
        "{}",
        third.startup()
    );
    let client = Client::new(&third.url);
    let (hello3, mut stream) = open(
        &client,
        Subscribe {
            last_event_id: Some(format!("{}:{}", hello.epoch, hello.seq)),
            ..Subscribe::default()
        },
    )
    .await;
    assert_ne!(hello3.epoch, hello.epoch);
    let reset = guard(async {
        loop {
            if let Some(Ok(ServerEvent::Reset(r))) = stream.next().await {
                return r;
            }
        }
    })
    .await;
    assert_eq!(reset.reason, spotlight_wire::ResetReason::EpochChanged);
    let (status, _) = third.stop("-TERM").await;
    assert!(status.success());
}
