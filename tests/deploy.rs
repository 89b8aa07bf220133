//! The operations kit in `deploy/`, each file proved against the real
//! program with the real tool: nginx in front of a real server (the smoke
//! check through it passes, the client's address is forwarded, a
//! buffering variant fails the smoke), the systemd unit verified and its
//! environment starting the server, the alert rules through promtool and
//! against a live scrape, the Grafana dashboard's every query evaluated by
//! a real Prometheus scraping a real server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common;
use crate::tls::Certs;

use common::fake_polygon::FakePolygon;
use common::process::{free_port, serve, serve_with_env, Served};
use common::redis_server::Redis;
use common::*;

/// A file of `deploy/`.
fn deploy_file(path: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path);
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// `text` with each `(from, to)` replaced once; every `from` must be
/// there (a test of a rewritten file must still be a test of the file).
fn rewrite(text: &str, edits: &[(&str, &str)]) -> String {
    edits.iter().fold(text.to_string(), |text, (from, to)| {
        assert!(text.contains(from), "{from:?} is not in the file any more");
        text.replacen(from, to, 1)
    })
}

/// Runs `program args` to its end; a missing program fails the test and
/// names the package to install.
fn run(program: &str, package: &str, args: &[&str]) -> std::process::Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} ({e}): install the Debian package {package} (scripts/test does)")
        })
}

/// The `spotlight` binary as a command, no inherited settings.
fn spotlight(args: &[&str]) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("spotlight").unwrap();
    cmd.args(args)
        .env_remove("SPOTLIGHT_CACERT")
        .env_remove("SPOTLIGHT_PIN")
        .env("NO_COLOR", "1");
    cmd
}

/// nginx: on the PATH, or where Debian puts it (/usr/sbin is not on
/// every user's PATH).
fn nginx() -> &'static str {
    let sbin = "/usr/sbin/nginx";
    let on_path = Command::new("nginx")
        .arg("-v")
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !on_path && Path::new(sbin).exists() {
        sbin
    } else {
        "nginx"
    }
}

/// nginx on a throwaway prefix serving `site` (a `deploy/nginx` file,
/// rewritten to its ports) in an `http {}` block; stopped by its PID.
struct Nginx {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    async fn start(site: &str, port: u16) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::write(dir.path().join("site.conf"), site).unwrap();
        let main = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  \
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
             scgi_temp_path {d}/scgi;\n  include {d}/site.conf;\n}}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, main).unwrap();
        let test = run(
            nginx(),
            "nginx",
            &[
                "-t",
                "-q",
                "-p",
                &d.to_string(),
                "-e",
                &format!("{d}/error.log"),
                "-c",
                conf.to_str().unwrap(),
            ],
        );
        assert!(
            test.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let child = Command::new(nginx())
            .args([
                "-p",
                &d.to_string(),
                "-e",
                &format!("{d}/error.log"),
                "-c",
                conf.to_str().unwrap(),
            ])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        eventually("nginx to listen", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Nginx { child, _dir: dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        signal(&mut self.child, "-QUIT");
    }
}

/// Stops a child by its PID with `signal` and waits for it.
fn signal(child: &mut std::process::Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// `deploy/nginx/spotlight.conf` on `port`, proxying to `server`.
fn plain_site(server: &Served, port: u16) -> String {
    rewrite(
        &deploy_file("nginx/spotlight.conf"),
        &[
            ("listen 8080;", &format!("listen 127.0.0.1:{port};")),
            (
                "server 127.0.0.1:5000;",
                &format!("server {};", server.url.trim_start_matches("http://")),
            ),
        ],
    )
}

/// `spotlight smoke` against `url`: its exit and report.
fn smoke(url: &str, more: &[&str]) -> (bool, String) {
    let out = spotlight(&[&["--url", url], more, &["smoke"]].concat())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.success(),
        report + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn nginx_in_front_passes_every_smoke_check_and_forwards_the_client_address() {
    let server = serve(
        "127.0.0.1:0",
        &["--trusted-proxy", "127.0.0.1", "-v", "--pin", "2468"],
    )
    .await;
    let port = free_port();
    let nginx = Nginx::start(&plain_site(&server, port), port).await;
    let url = format!("http://127.0.0.1:{port}");
    let (passed, report) = smoke(&url, &["--pin", "2468"]);
    assert!(passed, "{report}");
    for check in ["sse-buffering", "sse-resume", "voice", "replay"] {
        assert!(report.contains(&format!("✓ {check}")), "{check}: {report}");
    }
    // A client on another address: the server names it, not nginx.
    let client = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let health = client
        .get(format!("{url}/api/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(nginx);

    // Buffering switched on in the stream's location (and the server's
    // X-Accel-Buffering ignored): the smoke check catches it.
    let buffered = rewrite(
        &plain_site(&server, port),
        &[(
            "proxy_buffering off;",
            "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;",
        )],
    );
    let nginx = Nginx::start(&buffered, port).await;
    let (passed, report) = smoke(&url, &["--pin", "2468"]);
    assert!(!passed, "{report}");
    assert!(report.contains("✗ sse-buffering"), "{report}");
    drop(nginx);
    let (_, logs) = server.stop("-TERM").await;
    assert!(
        logs.lines()
            .any(|l| l.contains("uri=/api/healthz") && l.contains("client=127.0.0.2")),
        "the access log names the client behind nginx: {logs}"
    );
}

#[tokio::test]
async fn nginx_over_tls_speaks_http2_to_clients_and_every_smoke_check_passes() {
    let certs = Certs::new();
    let (cert, key) = certs.issue("spotlight behind nginx");
    let ca = certs.ca_file();
    let server = serve(
        "127.0.0.1:0",
        &[
            "--env",
            "prod",
            "--tls-by-proxy",
            "--trusted-proxy",
            "127.0.0.1",
        ],
    )
    .await;
    let port = free_port();
    let site = rewrite(
        &deploy_file("nginx/spotlight-tls.conf"),
        &[
            (
                "listen 443 ssl http2;",
                &format!("listen 127.0.0.1:{port} ssl http2;"),
            ),
            ("/etc/ssl/spotlight/fullchain.pem", cert.to_str().unwrap()),
            ("/etc/ssl/spotlight/privkey.pem", key.to_str().unwrap()),
            (
                "server 127.0.0.1:5000;",
                &format!("server {};", server.url.trim_start_matches("http://")),
            ),
        ],
    );
    let nginx = Nginx::start(&site, port).await;
    let url = format!("https://localhost:{port}");
    let (passed, report) = smoke(&url, &["--cacert", ca.to_str().unwrap()]);
    assert!(passed, "{report}");
    assert!(
        report.contains("HTTP/2.0 200, text/event-stream"),
        "{report}"
    );
    assert!(report.contains("✓ voice"), "{report}");
    drop(nginx);
    server.stop("-TERM").await;
}

/// `KEY=value` lines of an environment file (comments and blanks left out).
fn env_lines(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("not KEY=value: {l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// A duration as systemd and spotlight write them here (`60`, `30s`, `5m`).
fn seconds(value: &str) -> u64 {
    let (n, unit) = value.split_at(
        value
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(value.len()),
    );
    n.parse::<u64>().unwrap() * if unit == "m" || unit == "min" { 60 } else { 1 }
}

#[tokio::test]
async fn the_systemd_unit_verifies_and_its_environment_serves() {
    let unit = deploy_file("systemd/spotlight.service");
    let env = deploy_file("systemd/spotlight.env");
    let dir = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("spotlight");
    let exec = format!("ExecStart={}", bin.display());
    let here = rewrite(&unit, &[("ExecStart=/usr/local/bin/spotlight", &exec)]);
    let path = dir.path().join("spotlight.service");
    std::fs::write(&path, here).unwrap();
    let verified = run(
        "systemd-analyze",
        "systemd",
        &["verify", path.to_str().unwrap()],
    );
    let said = String::from_utf8_lossy(&verified.stderr).into_owned();
    assert!(verified.status.success(), "{said}");
    assert!(
        !said.contains("spotlight.service:"),
        "warnings about the unit: {said}"
    );

    // What the unit sets and the example environment.
    let mut vars: Vec<(String, String)> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .flat_map(env_lines)
        .collect();
    vars.extend(env_lines(&env));
    let help = spotlight(&["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    // Settings of the environment only (docs/operations.md).
    let env_only = ["SPOTLIGHT_SECRET"];
    for (name, _) in vars
        .iter()
        .filter(|(name, _)| !env_only.contains(&name.as_str()))
    {
        assert!(
            help.contains(&format!("[env: {name}")),
            "{name} is no setting of serve"
        );
    }
    let setting = |name: &str| {
        vars.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let stop = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .unwrap();
    let drain = setting("SPOTLIGHT_DRAIN").unwrap();
    assert!(
        seconds(stop) > seconds(&drain),
        "TimeoutStopSec={stop} must outlast the drain {drain}"
    );
    assert!(unit.contains("StateDirectory=spotlight"));
    assert_eq!(
        setting("SPOTLIGHT_STATE_DIR").as_deref(),
        Some("/var/lib/spotlight")
    );
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));

    // The binary takes that environment (its address and state directory
    // moved here): it serves, a reload leaves it serving, a stop saves the
    // state in the state directory.
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let mut pairs: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| {
            ![
                "SPOTLIGHT_ADDR",
                "SPOTLIGHT_STATE_DIR",
                "SPOTLIGHT_LOG_FORMAT",
            ]
            .contains(&k.as_str())
        })
        .collect();
    pairs.push(("SPOTLIGHT_STATE_DIR".into(), state.to_str().unwrap().into()));
    // (The harness reads the listening address from the plain log.)
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let server = serve_with_env("127.0.0.1:0", &[], &pairs).await;
    let ready = |url: String| async move {
        reqwest::get(format!("{url}/api/readyz"))
            .await
            .unwrap()
            .status()
    };
    assert_eq!(ready(server.url.clone()).await, 200);
    let pid = server.child.id().unwrap().to_string();
    assert!(run("kill", "procps", &["-HUP", &pid]).status.success());
    assert_eq!(
        ready(server.url.clone()).await,
        200,
        "a reload leaves it serving"
    );
    let (status, logs) = server.stop("-TERM").await;
    assert!(status.success(), "{logs}");
    assert!(
        state.join("state.bin").exists(),
        "the state is saved: {logs}"
    );
}

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

    /// The answer to an instant query: `(status, error, results)`.
    async fn query(&self, query: &str) -> (String, String, Vec<serde_json::Value>) {
        let answer = async {
            let response = reqwest::Client::new()
                .get(format!("{}/api/v1/query", self.url))
                .query(&[("query", query)])
                .send()
                .await
                .ok()?;
            response.json::<serde_json::Value>().await.ok()
        };
        let Some(body) = answer.await else {
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
        let values: serde_json::Value = reqwest::Client::new()
            .get(format!("{}/api/v1/label/{label}/values", prometheus.url))
            .query(&[("match[]", "spotlight_sse_connections")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            values["data"].as_array().is_some_and(|v| !v.is_empty()),
            "${label}: {values}"
        );
    }
    // The alert rules, loaded by the same Prometheus, evaluate without error.
    eventually("every alert rule evaluated", || async {
        let rules: serde_json::Value = reqwest::get(format!("{}/api/v1/rules", prometheus.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let all: Vec<&serde_json::Value> = rules["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        let bad: Vec<_> = all.iter().filter(|r| r["health"] != "ok").collect();
        all.len() == 11 && bad.is_empty()
    })
    .await;
    for reader in readers {
        reader.abort();
    }
    drop(prometheus);
    full.stop().await;
}
