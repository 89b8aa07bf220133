//! `deploy/prometheus` and `deploy/grafana`: the alert rules through
//! promtool and against live scrapes; a real Prometheus scraping a real
//! server evaluates every dashboard query and loads the alerts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{deploy_file, run, signal};
use crate::common::fake_polygon::FakePolygon;
use crate::common::process::{free_port, serve, serve_with_env, Served};
use crate::common::redis_server::Redis;
use crate::common::*;
use crate::tls::Certs;

/// The alert rules' and the dashboard's metric names: `spotlight_*` and
/// `process_*`.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    for (i, _) in text
        .match_indices("spotlight_")
        .chain(text.match_indices("process_"))
    {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let preceded = text[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !preceded {
            names.insert(name);
        }
    }
    names
}

/// The metric names in an exposition (histograms under their own name).
fn exposed(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_alert_rules_pass_promtool_and_name_only_what_the_server_exports() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let checked = run(
        "promtool",
        "prometheus",
        &["check", "rules", rules.join("alerts.yml").to_str().unwrap()],
    );
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let tested = run(
        "promtool",
        "prometheus",
        &[
            "test",
            "rules",
            rules.join("alerts.test.yml").to_str().unwrap(),
        ],
    );
    assert!(
        tested.status.success(),
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
    let full = Full::start().await;
    let polygon = full.polygon_scrape().await;
    let mut have = exposed(&full.scrape().await);
    have.extend(exposed(&polygon));
    let alerts = deploy_file("prometheus/alerts.yml");
    for name in metric_names(&alerts) {
        assert!(
            have.contains(&name),
            "alerts.yml names {name}, which no server exports"
        );
    }
    full.stop().await;
}

/// A server with every part that has metrics: TLS, the Redis bus, the sim
/// source, clients streaming and a voice session.
struct Full {
    server: Served,
    redis: Redis,
    certs: Certs,
    ca: PathBuf,
}

impl Full {
    async fn start() -> Full {
        let redis = Redis::start().await;
        let certs = Certs::new();
        let (cert, key) = certs.issue("spotlight full");
        let ca = certs.ca_file();
        let server = serve(
            "127.0.0.1:0",
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
                "--bus",
                &redis.url,
                "--tick-ms",
                "50",
            ],
        )
        .await;
        Full {
            server,
            redis,
            certs,
            ca,
        }
    }

    async fn scrape(&self) -> String {
        let client = self.certs.client(false);
        let response = client
            .get(format!("{}/api/metrics", self.server.url))
            .send()
            .await
            .unwrap();
        response.text().await.unwrap()
    }

    /// A scrape of a server on the live provider (a fake of it): the
    /// upstream's metrics.
    async fn polygon_scrape(&self) -> String {
        let fake = FakePolygon::start("k", 50_000).await;
        let server = serve_with_env(
            "127.0.0.1:0",
            &[
                "--source",
                "polygon",
                "--symbols",
                "SPY",
                "--polygon-ws-url",
                &fake.ws_url(),
                "--polygon-rest-url",
                &fake.url,
            ],
            &[("POLYGON_API_KEY", "k")],
        )
        .await;
        let url = format!("{}/api/metrics", server.url);
        let scrape = || async { reqwest::get(&url).await.unwrap().text().await.unwrap() };
        // The feed's figures are there once it has spoken.
        eventually("the feed to be up", || async {
            scrape()
                .await
                .contains("spotlight_upstream_state{upstream=\"polygon_ws\"} 1")
        })
        .await;
        let text = scrape().await;
        server.stop("-TERM").await;
        text
    }

    async fn stop(self) {
        self.server.stop("-TERM").await;
        self.redis.stop().await;
        drop(self.ca);
    }
}

/// A real Prometheus scraping `full` every second with the alert rules
/// loaded; stopped by its PID.
struct Prometheus {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    async fn start(full: &Full) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let target = full.server.url.trim_start_matches("https://");
        let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [\"{}\"]\n\
             scrape_configs:\n  - job_name: spotlight\n    scheme: https\n    metrics_path: /api/metrics\n    \
             tls_config: {{ ca_file: \"{}\", server_name: localhost }}\n    \
             static_configs: [{{ targets: [\"{target}\"] }}]\n",
            rules.display(),
            full.ca.display(),
        );
        let file = dir.path().join("prometheus.yml");
        std::fs::write(&file, config).unwrap();
        let port = free_port();
        let child = Command::new("prometheus")
            .args([
                &format!("--config.file={}", file.display()),
                &format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                &format!("--web.listen-address=127.0.0.1:{port}"),
                "--log.level=warn",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run prometheus ({e}): install the Debian package prometheus (scripts/test does)")
            });
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// `GET /api/v1/{path}?{params}` of Prometheus's HTTP API, as JSON
    /// (`None`: no answer).
    async fn api(&self, path: &str, params: &[(&str, &str)]) -> Option<serde_json::Value> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/{path}", self.url))
            .query(params)
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// The answer to an instant query: `(status, error, results)`.
    async fn query(&self, query: &str) -> (String, String, Vec<serde_json::Value>) {
        let Some(body) = self.api("query", &[("query", query)]).await else {
            return ("unreachable".into(), String::new(), Vec::new());
        };
        let results = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        (text(&body["status"]), text(&body["error"]), results)
    }

    /// Waits until the server was scraped `n` times within the last minute.
    async fn scraped(&self, n: usize) {
        eventually("Prometheus to scrape the server", || async move {
            let (_, _, results) = self
                .query("count_over_time(up{job=\"spotlight\"}[1m])")
                .await;
            results
                .first()
                .and_then(|r| r["value"][1].as_str()?.parse::<usize>().ok())
                >= Some(n)
        })
        .await;
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        signal(&mut self.child, "-TERM");
    }
}

/// Every query of the dashboard, with Grafana's variables as a whole-job
/// view sets them.
fn dashboard_queries() -> Vec<(String, String)> {
    let dashboard: serde_json::Value =
        serde_json::from_str(&deploy_file("grafana/spotlight.json")).unwrap();
    let names: Vec<&str> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert!(
        names.contains(&"job") && names.contains(&"instance"),
        "{names:?}"
    );
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            let expr = expr
                .replace("$job", "spotlight")
                .replace("$instance", ".+")
                .replace("$__rate_interval", "10s");
            queries.push((panel["title"].as_str().unwrap().to_string(), expr));
        }
    }
    queries
}

#[tokio::test]
async fn every_dashboard_query_evaluates_in_a_real_prometheus_scraping_a_real_server() {
    let full = Full::start().await;
    let client = full.certs.client(false);
    let mut readers = Vec::new();
    for _ in 0..3 {
        let url = format!("{}/realtime/sse?symbols=SPY", full.server.url);
        let response = client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        readers.push(tokio::spawn(async move {
            let mut body = response.bytes_stream();
            while futures::StreamExt::next(&mut body).await.is_some() {}
        }));
    }
    let prometheus = Prometheus::start(&full).await;
    prometheus.scraped(3).await;
    // A voice session while Prometheus scrapes.
    let ca = full.ca.to_str().unwrap().to_string();
    let voice = tokio::process::Command::new(assert_cmd::cargo::cargo_bin("spotlight"))
        .args(["--url", &full.server.url, "--cacert", &ca, "probe", "voice"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .status();
    assert!(guard(voice).await.unwrap().success());
    prometheus.scraped(12).await;

    let queries = dashboard_queries();
    let mut empty = Vec::new();
    for (title, query) in &queries {
        let (status, error, results) = prometheus.query(query).await;
        assert_eq!(status, "success", "{title}: {query}: {error}");
        if results.is_empty() {
            empty.push(format!("{title}: {query}"));
        }
    }
    assert!(
        empty.len() * 4 <= queries.len(),
        "{} of {} queries return nothing:\n{}",
        empty.len(),
        queries.len(),
        empty.join("\n")
    );
    for label in ["job", "instance"] {
        let path = format!("label/{label}/values");
        let values = prometheus
            .api(&path, &[("match[]", "spotlight_sse_connections")])
            .await
            .unwrap();
        assert!(
            values["data"].as_array().is_some_and(|v| !v.is_empty()),
            "${label}: {values}"
        );
    }
    // The alert rules, loaded by the same Prometheus, evaluate without error.
    let alerts = deploy_file("prometheus/alerts.yml")
        .matches("- alert:")
        .count();
    eventually("every alert rule evaluated", || async {
        let rules = prometheus.api("rules", &[]).await.unwrap_or_default();
        let all: Vec<&serde_json::Value> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let bad: Vec<_> = all.iter().filter(|r| r["health"] != "ok").collect();
        all.len() == alerts && bad.is_empty()
    })
    .await;
    for reader in readers {
        reader.abort();
    }
    drop(prometheus);
    full.stop().await;
}
