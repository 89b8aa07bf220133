//! `spotlight bench chaos`, the real binary against a real server: twenty
//! clients cutting their connections at random for fifteen seconds lose,
//! repeat and reorder no final bar, and skip no seq.

mod common;

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
    let url = proxy::start(&server.url, proxy::Fault::DropOneBar(200)).await;
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
