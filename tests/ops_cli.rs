//! `spotlight diag` and `spotlight metrics`: the real binary against a real server.

use crate::common;

use common::*;
use spotlight_server::{AuthConfig, ServerConfig};

#[tokio::test]
async fn diag_prints_an_aligned_summary_and_json_matching_the_schema() {
    let server = TestServer::sim(&["SPY", "QQQ"], 1.0, 250).await;
    let (code, out, err) = spotlight(&["--url", &server.url, "diag"], &[]).await;
    assert_eq!(code, 0, "{err}");
    let epoch = server.hub().epoch().to_string();
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("epoch        ") && first.contains(&epoch),
        "{out}"
    );
    for label in [
        "ring",
        "source",
        "memory",
        "connections",
        "traffic",
        "auth",
        "process",
        "lagging",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in\n{out}"));
        assert_eq!(
            line.as_bytes()[12],
            b' ',
            "values start in one column: {line:?}"
        );
    }
    assert!(out.contains("sim: QQQ, SPY"), "{out}");
    assert!(out.contains("open (no PIN)"), "{out}");

    let (code, json, _) = spotlight(&["--url", &server.url, "diag", "--json"], &[]).await;
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_diag_schema(&doc);
    assert_eq!(doc["epoch"]["id"], epoch.as_str());
    server.stop().await;
}

#[tokio::test]
async fn metrics_table_filter_json_and_raw() {
    let server = TestServer::sim(&["SPY"], 1.0, 250).await;
    let url = server.url.as_str();
    let (code, table, _) = spotlight(&["--url", url, "metrics"], &[]).await;
    assert_eq!(code, 0);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("spotlight_sse_connections ")),
        "{table}"
    );
    assert!(table.contains("count "), "histograms summarized: {table}");

    let (_, filtered, _) = spotlight(&["--url", url, "metrics", "--filter", "ring_"], &[]).await;
    let names: Vec<&str> = filtered
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["spotlight_ring_head_seq", "spotlight_ring_low_seq"]
    );

    let (_, json, _) = spotlight(
        &[
            "--url",
            url,
            "--json",
            "metrics",
            "--filter",
            "bars_ingested",
        ],
        &[],
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert!(
        rows.iter()
            .any(|r| r["labels"] == "source=\"sim\"" && r["value"].as_f64().unwrap() > 0.0),
        "{json}"
    );

    let (_, raw, _) = spotlight(&["--url", url, "metrics", "--raw"], &[]).await;
    assert!(
        raw.contains("# TYPE spotlight_sse_connections gauge"),
        "{raw}"
    );
    let (code, _, err) = spotlight(&["--url", url, "metrics", "--raw", "--json"], &[]).await;
    assert_eq!(code, 2, "{err}");
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_server_is_one_line_naming_the_url_and_exit_3() {
    let port = common::process::free_port();
    let url = format!("http://127.0.0.1:{port}");
    for cmd in ["diag", "metrics"] {
        let (code, out, err) = spotlight(&["--url", &url, cmd], &[]).await;
        assert_eq!(code, 3, "{cmd}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("spotlight: error: cannot reach ") && err.contains(&url),
            "{err}"
        );
    }
}

#[tokio::test]
async fn a_pin_is_exchanged_for_a_token_and_errors_exit_1() {
    let auth = AuthConfig {
        pin: Some("2468".into()),
        private_diag: true,
        ..AuthConfig::default()
    };
    let server = with_config(ServerConfig {
        auth,
        ..ServerConfig::default()
    })
    .await;
    let url = server.url.as_str();
    let (code, _, err) = spotlight(&["--url", url, "diag"], &[]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("401 unauthorized"), "{err}");
    let (code, out, err) = spotlight(&["--url", url, "--pin", "2468", "diag"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PIN;"), "{out}");
    let (code, _, _) = spotlight(&["--url", url, "diag"], &[("SPOTLIGHT_PIN", "2468")]).await;
    assert_eq!(code, 0);
    let (code, _, err) = spotlight(&["--url", url, "--pin", "1111", "diag"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("wrong PIN"), "{err}");
    server.stop().await;
}

#[tokio::test]
async fn a_closed_stdout_ends_every_command_quietly_with_exit_0() {
    let server = TestServer::sim(&["SPY"], 1.0, 50).await;
    let commands: [&[&str]; 7] = [
        &["metrics"],
        &["metrics", "--raw"],
        &["--json", "metrics"],
        &["diag"],
        &["--json", "diag"],
        &["replay", "status"],
        &["smoke", "--only", "health"],
    ];
    for args in commands {
        let mut cmd = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("spotlight"));
        cmd.args(["--url", &server.url])
            .args(args)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        // The reader is gone before the command has anything to write.
        drop(child.stdout.take());
        let out = guard(child.wait_with_output()).await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    server.stop().await;
}

#[tokio::test]
async fn output_is_one_value_enum_with_json_as_its_short_form() {
    let server = TestServer::sim(&["SPY"], 1.0, 50).await;
    let url = server.url.as_str();
    let (code, raw, _) = spotlight(&["--url", url, "metrics", "--output", "raw"], &[]).await;
    assert_eq!(code, 0);
    assert!(raw.starts_with("# HELP"), "{raw}");
    for args in [
        vec!["--url", url, "diag", "--output", "json"],
        vec!["--url", url, "diag", "--json"],
    ] {
        let (code, out, err) = spotlight(&args, &[]).await;
        assert_eq!(code, 0, "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(doc["epoch"]["id"].is_string(), "{doc}");
    }
    let (code, out, _) = spotlight(&["--url", url, "diag"], &[("SPOTLIGHT_OUTPUT", "json")]).await;
    assert_eq!(code, 0);
    assert!(
        serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "{out}"
    );
    let (code, out, err) = spotlight(&["--url", url, "diag", "--output", "raw"], &[]).await;
    assert_eq!(code, 2, "{out}");
    assert_eq!(
        err.trim(),
        "spotlight: error: diag cannot print --output raw: it prints table, json"
    );
    server.stop().await;
}
