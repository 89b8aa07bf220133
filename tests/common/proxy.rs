//! A fault-injecting TCP proxy in front of a real server: it passes
//! requests on untouched and breaks the answers the way real middleboxes
//! and networks do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy breaks.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Event streams: the `n`-th `bar` event of every stream is not passed on.
    DropBar(usize),
    /// Event streams: the `n`-th `bar` event over all streams is not passed on.
    DropOneBar(usize),
    /// Event streams: held, then flushed every period (a buffering proxy).
    Buffer(Duration),
    /// A Prometheus exposition: cut short (with a matching Content-Length).
    TruncateMetrics,
}

/// Starts a proxy to the server at `upstream_url`; its own URL.
pub async fn start(upstream_url: &str, fault: Fault) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = upstream_url.trim_start_matches("http://").to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay(client, upstream.clone(), fault, seen.clone()));
        }
    });
    url
}

async fn relay(mut client: TcpStream, upstream: String, fault: Fault, seen: Arc<AtomicUsize>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let up = tokio::io::copy(&mut cr, &mut sw);
    let down = answers(&mut sr, &mut cw, fault, &seen);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Reads more of the server's bytes into `buf`; false at the end.
async fn fill(from: &mut ReadHalf<'_>, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match from.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

/// Answers one after another: whole ones with a length (faulted when
/// they are an exposition), then a stream (101 or an event stream),
/// relayed to the end with its fault.
async fn answers(
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    fault: Fault,
    seen: &AtomicUsize,
) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            if !fill(from, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        let Some(length) = length.filter(|_| !head.contains("text/event-stream")) else {
            let head: Vec<u8> = buf.drain(..end).collect();
            if to.write_all(&head).await.is_err() {
                return;
            }
            if head_is_events(&head) {
                let chunked = String::from_utf8_lossy(&head)
                    .to_ascii_lowercase()
                    .contains("transfer-encoding: chunked");
                events(from, to, buf, chunked, fault, seen).await;
            } else {
                pass(from, to, buf).await;
            }
            return;
        };
        while buf.len() < end + length {
            if !fill(from, &mut buf).await {
                return;
            }
        }
        let answer: Vec<u8> = buf.drain(..end + length).collect();
        let (head, body) = answer.split_at(end);
        let out = match fault {
            Fault::TruncateMetrics if body.starts_with(b"# HELP") => {
                let cut = &body[..body.len() * 3 / 5];
                let head = String::from_utf8_lossy(head).replace(
                    &format!("content-length: {length}"),
                    &format!("content-length: {}", cut.len()),
                );
                [head.as_bytes(), cut].concat()
            }
            _ => answer.clone(),
        };
        if to.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn head_is_events(head: &[u8]) -> bool {
    String::from_utf8_lossy(head)
        .to_ascii_lowercase()
        .contains("text/event-stream")
}

/// Relays the rest of a connection untouched.
async fn pass(from: &mut ReadHalf<'_>, to: &mut WriteHalf<'_>, mut buf: Vec<u8>) {
    loop {
        if to.write_all(&buf).await.is_err() {
            return;
        }
        buf.clear();
        if !fill(from, &mut buf).await {
            return;
        }
    }
}

/// Takes the complete chunks of a chunked body off `raw` into `payload`.
fn dechunk(raw: &mut Vec<u8>, payload: &mut Vec<u8>) {
    loop {
        let Some(line) = raw.windows(2).position(|w| w == b"\r\n") else {
            return;
        };
        let size = std::str::from_utf8(&raw[..line])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if raw.len() < line + 2 + size + 2 {
            return;
        }
        payload.extend_from_slice(&raw[line + 2..line + 2 + size]);
        raw.drain(..line + 2 + size + 2);
    }
}

/// Relays an event stream message by message (each its own chunk when
/// the body is chunked), applying the fault.
async fn events(
    from: &mut ReadHalf<'_>,
    to: &mut WriteHalf<'_>,
    mut raw: Vec<u8>,
    chunked: bool,
    fault: Fault,
    seen: &AtomicUsize,
) {
    if let Fault::Buffer(period) = fault {
        let mut flush = tokio::time::interval(period);
        flush.reset();
        loop {
            tokio::select! {
                more = fill(from, &mut raw) => if !more { return },
                _ = flush.tick() => {
                    if to.write_all(&raw).await.is_err() {
                        return;
                    }
                    raw.clear();
                }
            }
        }
    }
    let mut payload = Vec::new();
    let mut bars = 0;
    loop {
        if chunked {
            dechunk(&mut raw, &mut payload);
        } else {
            payload.append(&mut raw);
        }
        while let Some(end) = payload.windows(2).position(|w| w == b"\n\n") {
            let message: Vec<u8> = payload.drain(..end + 2).collect();
            if message.windows(10).any(|w| w == b"event: bar") {
                bars += 1;
                let all = seen.fetch_add(1, Ordering::SeqCst) + 1;
                match fault {
                    Fault::DropBar(n) if bars == n => continue,
                    Fault::DropOneBar(n) if all == n => continue,
                    _ => {}
                }
            }
            let out = if chunked {
                [
                    format!("{:x}\r\n", message.len()).as_bytes(),
                    &message,
                    b"\r\n",
                ]
                .concat()
            } else {
                message
            };
            if to.write_all(&out).await.is_err() {
                return;
            }
        }
        if !fill(from, &mut raw).await {
            return;
        }
    }
}
