//! `serve --tls-cert --tls-key`: a real server speaking TLS, judged by real
//! clients (reqwest over rustls, trusting a CA the test makes): HTTP/2
//! negotiated by ALPN with the stream and its resume over it, several
//! streams sharing one HTTP/2 connection, HTTP/1.1 over TLS, plaintext to
//! the TLS port answered and closed at once, the certificate reloaded on
//! SIGHUP (a bad pair refused), production's HSTS and refusal, and the
//! client commands over `https://` and `wss://` with `--cacert`.

use std::path::{Path, PathBuf};

use crate::common;

use common::process::{serve, Served};
use common::*;
use eventsource_stream::Eventsource;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// A CA and the files of a certificate it signed for `localhost` and
/// 127.0.0.1, named `subject`.
pub(crate) struct Certs {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Certs {
    pub(crate) fn new() -> Certs {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "spotlight test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        Certs {
            dir: tempfile::tempdir().unwrap(),
            ca,
            ca_key,
        }
    }

    /// Writes a leaf certificate named `subject` and its key to
    /// `cert.pem` and `key.pem`; returns their paths.
    pub(crate) fn issue(&self, subject: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, subject);
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (cert_path, key_path) = self.paths();
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    fn paths(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("cert.pem"),
            self.dir.path().join("key.pem"),
        )
    }

    /// The CA's certificate as a PEM file (for `--cacert`); its path.
    pub(crate) fn ca_file(&self) -> PathBuf {
        let path = self.dir.path().join("ca.pem");
        std::fs::write(&path, self.ca.pem()).unwrap();
        path
    }

    /// A rustls client configuration trusting the CA, offering `alpn`.
    pub(crate) fn rustls_client(&self, alpn: &[u8]) -> std::sync::Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        std::sync::Arc::new(config)
    }

    /// A client trusting the CA (`http1`: HTTP/1.1 only).
    pub(crate) fn client(&self, http1: bool) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(self.ca.pem().as_bytes()).unwrap();
        let builder = reqwest::Client::builder().add_root_certificate(ca);
        let builder = if http1 { builder.http1_only() } else { builder };
        builder.build().unwrap()
    }
}

/// A CA, and a server serving a certificate it issued (`spotlight one`).
pub(crate) async fn started(more: &[&str]) -> (Certs, Served) {
    let certs = Certs::new();
    let (cert, key) = certs.issue("spotlight one");
    let server = serve_tls(&cert, &key, more).await;
    (certs, server)
}

async fn serve_tls(cert: &Path, key: &Path, more: &[&str]) -> Served {
    let mut args = vec![
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--sim-speed",
        "60",
        "--tick-ms",
        "50",
        "--symbols",
        "SPY",
    ];
    args.extend_from_slice(more);
    let served = serve("127.0.0.1:0", &args).await;
    assert!(served.url.starts_with("https://"), "{}", served.url);
    served
}

async fn open_stream(
    client: &reqwest::Client,
    url: &str,
    last_event_id: Option<&str>,
) -> (
    reqwest::Version,
    impl futures::Stream<Item = Result<eventsource_stream::Event, impl std::fmt::Debug>> + Unpin,
) {
    let mut request = client.get(format!("{url}/realtime/sse?symbols=SPY"));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    let version = response.version();
    (version, Box::pin(response.bytes_stream().eventsource()))
}

/// The server's metrics exposition.
pub(crate) async fn metrics_text(client: &reqwest::Client, url: &str) -> String {
    let response = client.get(format!("{url}/api/metrics")).send().await;
    response.unwrap().text().await.unwrap()
}

pub(crate) fn seq(id: &str) -> u64 {
    id.rsplit_once(':').unwrap().1.parse().unwrap()
}

#[tokio::test]
async fn http2_is_negotiated_and_a_stream_resumes_over_it() {
    let (certs, server) = started(&[]).await;
    let client = certs.client(false);
    let health = client
        .get(format!("{}/api/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    assert_eq!(health.status(), 200);
    assert!(health.headers().contains_key("x-request-id"));
    let (version, mut events) = open_stream(&client, &server.url, None).await;
    assert_eq!(version, reqwest::Version::HTTP_2);
    let first = bars(&mut events, 3).await;
    drop(events);
    let last = first.last().unwrap().0.clone();
    let (_, mut resumed) = open_stream(&client, &server.url, Some(&last)).await;
    let got = bars(&mut resumed, 5).await;
    let seqs: Vec<u64> = got.iter().map(|(id, _)| seq(id)).collect();
    let want: Vec<u64> = (seq(&last) + 1..=seq(&last) + 5).collect();
    assert_eq!(
        seqs, want,
        "every event after the resume point, once, in order"
    );
    server.stop("-TERM").await;
}

#[tokio::test]
async fn eight_streams_share_one_http2_connection() {
    let (certs, server) = started(&[]).await;
    let client = certs.client(false);
    let mut streams = Vec::new();
    for _ in 0..8 {
        let (version, events) = open_stream(&client, &server.url, None).await;
        assert_eq!(version, reqwest::Version::HTTP_2);
        streams.push(events);
    }
    for events in &mut streams {
        assert_eq!(bars(events, 2).await.len(), 2);
    }
    let metrics = metrics_text(&client, &server.url).await;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().parse().unwrap()))
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(value("spotlight_connections "), 1.0, "one TCP connection");
    assert_eq!(value("spotlight_sse_connections "), 8.0, "eight streams");
    server.stop("-TERM").await;
}

#[tokio::test]
async fn http1_over_tls_serves_and_plaintext_to_the_tls_port_is_closed_at_once() {
    let (certs, server) = started(&[]).await;
    let client = certs.client(true);
    let (version, mut events) = open_stream(&client, &server.url, None).await;
    assert_eq!(version, reqwest::Version::HTTP_11);
    bars(&mut events, 2).await;
    // Plaintext HTTP to the TLS port: a plaintext 400, then the end.
    let addr = server.url.trim_start_matches("https://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /api/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    guard(tcp.read_to_string(&mut answer)).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("tls_required"), "{answer}");
    // The server goes on.
    bars(&mut events, 2).await;
    server.stop("-TERM").await;
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_refuses_a_bad_pair() {
    let (certs, server) = started(&[]).await;
    let client = certs.client(false);
    let subject = |client: reqwest::Client, url: String| async move {
        let diag: serde_json::Value = client
            .get(format!("{url}/api/diag"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        diag["tls"]["subject"].as_str().unwrap().to_string()
    };
    assert_eq!(
        subject(client.clone(), server.url.clone()).await,
        "CN=spotlight one"
    );
    let (_, mut events) = open_stream(&client, &server.url, None).await;
    bars(&mut events, 1).await;
    certs.issue("spotlight two");
    let pid = server.child.id().unwrap().to_string();
    let hup = || async {
        let sent = tokio::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
    };
    hup().await;
    // New handshakes (a new client: a new connection) get the new pair.
    eventually("the new certificate served", || async {
        subject(certs.client(false), server.url.clone()).await == "CN=spotlight two"
    })
    .await;
    bars(&mut events, 2).await;
    // A key that is not the certificate's: refused, the pair in use stays.
    let (cert_path, key_path) = certs.paths();
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key_path, other.serialize_pem()).unwrap();
    assert!(cert_path.exists());
    hup().await;
    let failed = |client: reqwest::Client, url: String| async move {
        metrics_text(&client, &url)
            .await
            .contains("spotlight_tls_reloads_total{result=\"failed\"} 1")
    };
    eventually("the bad pair counted as failed", || {
        failed(certs.client(false), server.url.clone())
    })
    .await;
    assert_eq!(
        subject(certs.client(false), server.url.clone()).await,
        "CN=spotlight two"
    );
    bars(&mut events, 1).await;
    let (_, logs) = server.stop("-TERM").await;
    assert!(
        logs.contains("the TLS certificate was not reloaded"),
        "{logs}"
    );
}

#[tokio::test]
async fn production_over_tls_sends_hsts_and_without_tls_is_refused_off_loopback() {
    let pin = "4826193057";
    let (certs, server) = started(&["--env", "prod", "--pin", pin]).await;
    let health = certs
        .client(false)
        .get(format!("{}/api/healthz", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        health.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    // A same-origin sign-in over HTTP/2, where the Host is `:authority`:
    // let in, with the production cookie.
    let signed_in = certs
        .client(false)
        .post(format!("{}/api/auth/pin", server.url))
        .header("origin", &server.url)
        .json(&serde_json::json!({ "pin": pin }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.version(), reqwest::Version::HTTP_2);
    assert_eq!(signed_in.status(), 200);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("SameSite=None"), "{cookie}");
    // Another site's page may not sign in.
    let cross = certs
        .client(false)
        .post(format!("{}/api/auth/pin", server.url))
        .header("origin", "https://evil.example")
        .json(&serde_json::json!({ "pin": pin }))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    server.stop("-TERM").await;
    let refused = assert_cmd::Command::cargo_bin("spotlight")
        .unwrap()
        .args([
            "serve",
            "--env",
            "prod",
            "--addr",
            "0.0.0.0:0",
            "--pin",
            pin,
        ])
        .env_remove("RUST_LOG")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("--tls-by-proxy"), "{err}");
}

#[tokio::test]
async fn client_commands_trust_a_private_ca_with_cacert_and_a_certificate_error_exits_3() {
    let (certs, server) = started(&[]).await;
    let spotlight = |args: &[&str]| {
        let mut cmd = assert_cmd::Command::cargo_bin("spotlight").unwrap();
        cmd.args(["--url", &server.url])
            .args(args)
            .env_remove("SPOTLIGHT_CACERT")
            .env("NO_COLOR", "1");
        cmd
    };
    // Without the CA: exit 3, and the message says what to do.
    let refused = spotlight(&["diag"]).assert().code(3);
    let err = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(err.contains("certificate"), "{err}");
    assert!(err.contains("--cacert"), "{err}");
    // With it: the command works, over TLS.
    let ca = certs.ca_file();
    let ca = ca.to_str().unwrap();
    let diag = spotlight(&["--cacert", ca, "diag"]).assert().success();
    let out = String::from_utf8_lossy(&diag.get_output().stdout).into_owned();
    assert!(out.contains("CN=spotlight one"), "{out}");
    // The CI check over TLS: every check passes, the stream over HTTP/2.
    let smoke = spotlight(&["--cacert", ca, "smoke"]).assert().success();
    let out = String::from_utf8_lossy(&smoke.get_output().stdout).into_owned();
    assert!(out.contains("HTTP/2.0 200, text/event-stream"), "{out}");
    // The voice WebSocket over wss://, its drops resumed without loss.
    let probe = spotlight(&["--cacert", ca, "probe", "voice"])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&probe.get_output().stdout).into_owned();
    assert!(out.contains("drops resumed"), "{out}");
    assert!(out.contains(" 0 lost"), "{out}");
    // The load generator over https://: one TLS connection per subscriber,
    // then streams sharing HTTP/2 connections (30 on 3 of them; a symbol
    // of their own: a symbol's bars only move forward).
    for (clients, more) in [
        (20, &[][..]),
        (30, &["--http2-streams", "10", "--symbol", "BENCH2"][..]),
    ] {
        let n = clients.to_string();
        let args = [
            &[
                "--cacert",
                ca,
                "--json",
                "bench",
                "sse",
                "--ingest",
                "--clients",
                &n,
            ][..],
            more,
            &["--rate", "10", "--messages", "30", "--warmup", "5"],
        ]
        .concat();
        let bench = spotlight(&args).assert().success();
        let report: serde_json::Value = serde_json::from_slice(&bench.get_output().stdout).unwrap();
        assert_eq!(report["connected"], clients, "{report}");
        assert_eq!(report["delivered"], clients * 30, "{report}");
        assert_eq!(report["lost"], 0, "{report}");
        // A TLS connection each: every delivery has its kernel receive
        // time (the generator's own decryption is left out of latency).
        if more.is_empty() {
            assert_eq!(report["unstamped"], 0, "{report}");
        }
    }
    // A file that holds no certificate is a usage error.
    let not_pem = certs.dir.path().join("empty.pem");
    std::fs::write(&not_pem, "nothing here\n").unwrap();
    spotlight(&["--cacert", not_pem.to_str().unwrap(), "diag"])
        .assert()
        .code(2);
    server.stop("-TERM").await;
}

/// Headers that frame an HTTP/1.1 message or its connection: HTTP/2 has
/// its own framing, so a case that sets one of them is about HTTP/1.1.
const FRAMING: [&str; 6] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "te",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_of_bad_requests_gets_the_same_answers_over_http2() {
    let certs = Certs::new();
    let (cert, key) = certs.issue("spotlight one");
    let config = spotlight_server::ServerConfig {
        tls: Some(std::sync::Arc::new(
            spotlight_server::tls::Tls::load(&cert, &key).unwrap(),
        )),
        ..spotlight_server::ServerConfig::default()
    };
    let server = TestServer::sim_with(&["SPY", "QQQ"], 1.0, 250, config).await;
    let url = server.url.replace("http://", "https://");
    let host = url.trim_start_matches("https://").to_string();
    let client = certs.client(false);
    let (mut asked, mut wrong) = (0, Vec::new());
    for line in include_str!("data/bad_requests.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let mut parts = line.splitn(3, '\t');
        let (expected, name, raw) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let bytes = crate::bad_input::unescape(&raw.replace("HOST", &host));
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut head = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(body_at)) = head.parse(&bytes) else {
            continue; // a malformed HTTP/1.1 head: nothing to say in HTTP/2
        };
        let framed = head.headers.iter().any(|h| {
            FRAMING.iter().any(|f| h.name.eq_ignore_ascii_case(f))
                && !h.name.eq_ignore_ascii_case("connection")
        });
        let (Some(method), Some(path), false) = (head.method, head.path, framed) else {
            continue;
        };
        let Ok(method) = reqwest::Method::from_bytes(method.as_bytes()) else {
            continue;
        };
        // HTTP/2 carries the Host as `:authority`: a case with a foreign
        // Host asks for that name (resolved to this server; its name is
        // not on the certificate, which is not what this case is about).
        let asked_host = head
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("host"))
            .and_then(|h| std::str::from_utf8(h.value).ok())
            .filter(|h| *h != host);
        let mut request = match asked_host {
            None => client.request(method, format!("{url}{path}")),
            Some(name) => {
                let addr: std::net::SocketAddr = host.parse().unwrap();
                let foreign = reqwest::Client::builder()
                    .resolve(name, addr)
                    .danger_accept_invalid_certs(true)
                    .build()
                    .unwrap();
                foreign.request(method, format!("https://{name}:{}{path}", addr.port()))
            }
        };
        for h in head.headers.iter().filter(|h| {
            !h.name.eq_ignore_ascii_case("host") && !h.name.eq_ignore_ascii_case("connection")
        }) {
            request = request.header(h.name, h.value);
        }
        let response = request
            .body(bytes[body_at..].to_vec())
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        let Ok(response) = response else {
            wrong.push(format!("{name}: no answer over HTTP/2: {response:?}"));
            continue;
        };
        asked += 1;
        assert_eq!(response.version(), reqwest::Version::HTTP_2);
        let status = response.status().as_u16();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or("").to_string());
        // An accepted stream's body does not end: only errors are read.
        let body = if status >= 400 {
            response.bytes().await.unwrap_or_default()
        } else {
            Default::default()
        };
        let status_ok = match expected {
            "4xx" => (400..500).contains(&status),
            exact => status.to_string() == exact,
        };
        let doc: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let shaped = status < 400
            || kind
                .as_deref()
                .is_some_and(|t| t.starts_with("application/json"))
                && doc.as_ref().is_some_and(|d| d["error"]["code"].is_string());
        if !status_ok || !shaped {
            wrong.push(format!(
                "{name}: expected {expected}, got {status} {kind:?} {}",
                String::from_utf8_lossy(&body)
            ));
        }
    }
    assert!(asked >= 60, "{asked} cases asked over HTTP/2");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.stop().await;
}
