//! `deploy/nginx`: a real nginx (a throwaway prefix, stopped by its PID)
//! in front of a real server: `spotlight smoke` through it passes every
//! check, plaintext and over TLS with HTTP/2; the client's address is
//! forwarded; a buffering variant fails the smoke.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{deploy_file, rewrite, run, signal, spotlight};
use crate::common::process::{free_port, serve, Served};
use crate::common::*;
use crate::tls::Certs;

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
        let (prefix, log) = (d.to_string(), format!("{d}/error.log"));
        let args = ["-p", &prefix, "-e", &log, "-c", conf.to_str().unwrap()];
        let test = run(nginx(), "nginx", &[&["-t", "-q"][..], &args].concat());
        assert!(
            test.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&test.stderr)
        );
        let mut child = Command::new(nginx())
            .args(args)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        // Answered by nginx itself (its own Server header), not merely
        // something listening on the port.
        let health = format!("http://127.0.0.1:{port}/health");
        eventually("nginx to answer", || {
            if let Ok(Some(exit)) = child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("nginx exited ({exit}): {log}");
            }
            let health = health.clone();
            async move {
                reqwest::get(health).await.is_ok_and(|r| {
                    r.headers()
                        .get("server")
                        .is_some_and(|s| s.as_bytes().starts_with(b"nginx"))
                })
            }
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

    // Buffering switched on in the stream's location (the server's
    // X-Accel-Buffering ignored, buffers larger than the check's seconds of
    // events, so that load does not flush them early): the smoke catches it.
    // Without upstream keep-alive: a stream on a connection nginx kept from
    // an earlier request is answered chunked (the routed path), and nginx
    // passes each whole chunk on even when buffering, so the stream would
    // be buffered only when nginx happened to open a new connection for it.
    let buffered = rewrite(
        &plain_site(&server, port),
        &[
            (
                "proxy_buffering off;",
                "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;\n        \
                 proxy_buffers 8 256k;\n        proxy_busy_buffers_size 256k;",
            ),
            ("keepalive 64;", ""),
        ],
    );
    let nginx = Nginx::start(&buffered, port).await;
    let (passed, report) = smoke(&url, &["--pin", "2468"]);
    assert!(!passed, "{report}");
    assert!(!report.contains("✓ sse-buffering"), "{report}");
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
