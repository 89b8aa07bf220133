//! `spotlight bench chaos`, the real binary against a real server: twenty
//! clients cutting their connections at random for fifteen seconds lose,
//! repeat and reorder no final bar, and skip no seq; clients that stay
//! through a planned restart all come back, after their shutdown notice,
//! in the same epoch.

use crate::common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_clients_cutting_at_random_lose_and_repeat_nothing() {
    // A simulated minute every second: fifteen final bars per symbol.
    let server = TestServer::sim(&["SPY", "QQQ", "IWM"], 60.0, 50).await;
    let (code, out, err) = spotlight(
        &[
            "--url",
            &server.url,
            "--json",
            "bench",
            "chaos",
            "--clients",
            "20",
            "--duration",
            "15s",
        ],
        &[],
    )
    .await;
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(code, 0, "{report:#}\n{err}");
    for field in [
        "lost",
        "duplicated",
        "changed",
        "outOfOrder",
        "seqGaps",
        "resets",
    ] {
        assert_eq!(report[field], 0, "{field}: {report:#}");
    }
    assert!(report["cuts"].as_u64().unwrap() >= 20 * 5, "{report:#}");
    assert!(
        report["finalsChecked"].as_u64().unwrap() >= 20 * 3 * 10,
        "{report:#}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_fails_when_a_proxy_drops_an_event() {
    let server = TestServer::sim(&["SPY", "QQQ"], 60.0, 50).await;
    // The 3rd bar of every stream is dropped, and streams live at least
    // 2 s: the next bar shows the gap before any cut could hide it (a bar
    // dropped just before a cut is replayed by the resume, as it should).
    let url = proxy::start(&server.url, proxy::Fault::DropBar(3)).await;
    let (code, out, err) = spotlight(
        &[
            "--url",
            &url,
            "--json",
            "bench",
            "chaos",
            "--clients",
            "5",
            "--duration",
            "5s",
            "--cut-min",
            "2s",
            "--cut-max",
            "3s",
        ],
        &[],
    )
    .await;
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(code, 1, "{report:#}");
    let missing = report["seqGaps"].as_u64().unwrap() + report["lost"].as_u64().unwrap();
    assert!(missing >= 1, "{report:#}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_without_cuts_come_back_after_a_planned_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    let addr = format!("127.0.0.1:{}", process::free_port());
    let args = [
        "--state-dir",
        state,
        "--drain",
        "2s",
        "--sim-speed",
        "60",
        "--tick-ms",
        "50",
    ];
    let first = process::serve(&addr, &args).await;
    let bin = assert_cmd::cargo::cargo_bin("spotlight");
    let bin = bin.to_str().unwrap();
    let pid_file = dir.path().join("pid");
    let pid_file = pid_file.to_str().unwrap();
    // SIGTERM, wait for the exit, start again on the same state dir, wait
    // until it answers.
    let restart = format!(
        "kill -TERM {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.05; done; \
         {bin} serve --addr {addr} {args} >/dev/null 2>&1 & echo $! > {pid_file}; \
         until {bin} --url {url} diag >/dev/null 2>&1; do sleep 0.05; done",
        pid = first.child.id().unwrap(),
        args = args.join(" "),
        url = first.url,
    );
    let url = first.url.clone();
    // Reaped as soon as it exits, so that `kill -0` stops finding it.
    let mut child = first.child;
    let exited = tokio::spawn(async move { child.wait().await });
    let (code, out, err) = spotlight(
        &[
            "--url",
            &url,
            "--json",
            "bench",
            "chaos",
            "--clients",
            "10",
            "--duration",
            "10s",
            "--no-cuts",
            "--restart-cmd",
            &restart,
        ],
        &[],
    )
    .await;
    let second = std::fs::read_to_string(pid_file).unwrap_or_default();
    if let Ok(pid) = second.trim().parse::<i32>() {
        let _ = std::process::Command::new("kill")
            .arg(pid.to_string())
            .status();
    }
    assert!(exited.await.unwrap().unwrap().success());
    let report: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert_eq!(code, 0, "{report:#}\n{err}");
    assert_eq!(report["restarted"], true, "{report:#}");
    assert_eq!(report["cuts"], 0, "{report:#}");
    let comeback = &report["comeback"];
    assert_eq!(comeback["serverCloses"], 10, "{report:#}");
    assert_eq!(comeback["shutdownNotices"], 10, "{report:#}");
    assert_eq!(comeback["reconnected"], 10, "{report:#}");
    let per_second: u64 = comeback["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[2].as_u64().unwrap())
        .sum();
    assert_eq!(per_second, 10, "{report:#}");
    for field in [
        "resets",
        "lost",
        "duplicated",
        "changed",
        "outOfOrder",
        "resumeGaps",
    ] {
        assert_eq!(report[field], 0, "{field}: {report:#}");
    }
    assert!(report["finalsChecked"].as_u64().unwrap() > 0, "{report:#}");
}
