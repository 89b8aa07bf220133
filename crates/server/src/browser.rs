//! Browser-facing defences: the server's own Hosts (DNS rebinding), the
//! Origins that may write or open streams, the body types a page cannot
//! send cross-site without asking first.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header, Method, StatusCode};
use ipnet::IpNet;

use super::admission::{BodyKind, Head, Kind};
use super::error::{quote, ApiError};

/// Browser-facing settings: which Hosts and Origins are the server's own.
#[derive(Debug, Clone, Default)]
pub struct BrowserPolicy {
    /// Extra names a loopback listener answers to (`--allowed-host`).
    pub allowed_hosts: Vec<String>,
    /// Origins allowed cross-site, with credentials (`--cors-origin`).
    pub cors_origins: Vec<String>,
    /// Peers whose `Forwarded` / `X-Forwarded-For` are believed.
    pub trusted_proxies: Vec<IpNet>,
}

/// A state-changing request with a body must say it is JSON (NDJSON for
/// ingest): a browser cannot send those cross-site without asking first.
pub(super) fn check_content_type(head: &Head<'_>, body: BodyKind) -> Result<(), ApiError> {
    if matches!(*head.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let has_body = head.headers.contains_key(header::TRANSFER_ENCODING)
        || head
            .headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let Some(ct) = head.headers.get(header::CONTENT_TYPE) else {
        return if has_body {
            Err(unsupported(body, "none"))
        } else {
            Ok(())
        };
    };
    let essence = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = match body {
        BodyKind::Json => essence == "application/json",
        BodyKind::Ndjson => matches!(
            essence.as_str(),
            "application/x-ndjson" | "application/json" | "application/jsonl"
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(unsupported(body, &essence))
    }
}

fn unsupported(body: BodyKind, got: &str) -> ApiError {
    let want = match body {
        BodyKind::Json => "application/json",
        BodyKind::Ndjson => "application/x-ndjson",
    };
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("Content-Type must be {want} (got {})", quote(got)),
    )
}

/// The host part of a `Host` header or an origin's authority (no port,
/// no brackets), lowercased.
fn host_name(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match a.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => a,
    }
}

fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// DNS rebinding: a loopback listener answers only to loopback names and
/// `--allowed-host`s.
pub(super) fn check_host(
    head: &Head<'_>,
    local: Option<&SocketAddr>,
    policy: &BrowserPolicy,
) -> Result<(), ApiError> {
    if !local.is_some_and(|l| l.ip().is_loopback()) {
        return Ok(());
    }
    let Some(host) = head.authority else {
        return Ok(());
    };
    let name = host_name(host);
    if is_loopback_name(&name) || policy.allowed_hosts.iter().any(|h| host_name(h) == name) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_host",
        format!(
            "Host {} is not this server's name (a loopback name, or one given with --allowed-host)",
            quote(&name)
        ),
    ))
}

/// Cross-site requests: a state-changing request or a stream whose
/// `Origin` is neither the server's own nor a `--cors-origin` is refused.
pub(super) fn check_origin(
    head: &Head<'_>,
    kind: Kind,
    policy: &BrowserPolicy,
) -> Result<(), ApiError> {
    let safe = matches!(*head.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe && kind == Kind::Request {
        return Ok(());
    }
    let Some(origin) = head.headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("null").trim();
    if is_cors_origin(origin, policy) {
        return Ok(());
    }
    let own = head.authority.is_some_and(|host| {
        let authority = origin.split_once("://").map_or("", |(_, a)| a);
        !authority.is_empty() && authority.eq_ignore_ascii_case(host.trim())
    });
    if own {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden_origin",
        format!(
            "Origin {} may not use this route (same-origin pages and --cors-origin only)",
            quote(origin)
        ),
    ))
}

/// Whether `origin` is one of the `--cors-origin`s.
pub fn is_cors_origin(origin: &str, policy: &BrowserPolicy) -> bool {
    let origin = origin.trim_end_matches('/');
    policy
        .cors_origins
        .iter()
        .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_found_in_authorities() {
        assert_eq!(host_name("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(host_name("[::1]:5000"), "::1");
        assert_eq!(host_name("LocalHost"), "localhost");
        assert!(is_loopback_name("app.localhost"));
        assert!(!is_loopback_name("evil.example"));
        assert!(!is_loopback_name("localhost.evil.example"));
    }
}
