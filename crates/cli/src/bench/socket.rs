//! A subscriber's socket: connect (optionally from a chosen local address),
//! over TLS for an `https://` URL (one TLS connection per subscriber, or
//! a stream of an HTTP/2 connection shared by [`Http2::per`] of them),
//! and read, with the kernel's receive timestamp (over TLS too: the
//! timestamp of the newest segment read; not over shared HTTP/2
//! connections, whose reads are timed when they are made).
//!
//! The timestamp (`SO_TIMESTAMPNS`) is taken when a segment reaches the
//! subscriber's socket, so a latency measured from it is the server's and the
//! network's alone: it does not include how long this process took to get
//! round to reading the socket, which with thousands of subscribers on one
//! core is most of what a read-time latency would show.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes};
use h2::client::SendRequest;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::OnceCell;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Where a subscriber's TLS goes: the connector and the server's name.
#[derive(Clone)]
pub struct TlsTarget {
    /// Trusts what the client commands trust (`--cacert`).
    pub connector: TlsConnector,
    /// The name the certificate must be for.
    pub name: ServerName<'static>,
    /// Streams over shared HTTP/2 connections instead of a TLS connection
    /// each (the connector then offers only `h2`).
    pub http2: Option<Arc<Http2>>,
}

/// HTTP/2 connections shared by subscribers: subscriber `i` opens its
/// stream on connection `i / per`, which the first of them dials.
#[derive(Debug)]
pub struct Http2 {
    /// Streams per connection.
    pub per: usize,
    conns: Mutex<Vec<Arc<OnceCell<SendRequest<Bytes>>>>>,
}

impl Http2 {
    /// `per` streams on each connection (at least one).
    pub fn new(per: usize) -> Http2 {
        Http2 {
            per: per.max(1),
            conns: Mutex::new(Vec::new()),
        }
    }

    /// The connection subscriber `i` shares.
    fn conn(&self, i: usize) -> Arc<OnceCell<SendRequest<Bytes>>> {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let group = i / self.per;
        while conns.len() <= group {
            conns.push(Arc::default());
        }
        conns[group].clone()
    }
}

impl std::fmt::Debug for TlsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTarget")
            .field("name", &self.name)
            .finish()
    }
}

/// A subscriber's connection.
pub(super) enum Conn {
    /// Plain TCP, read with kernel receive timestamps.
    Plain(TcpStream),
    /// TLS over TCP, its segments' kernel receive times kept as they are
    /// read (so that a latency leaves out this process's decryption).
    Tls(Box<tokio_rustls::client::TlsStream<Stamped>>),
    /// A stream of a shared HTTP/2 connection (its head already read),
    /// with what the last DATA frame held beyond the last read.
    Http2 {
        /// The response body.
        body: h2::RecvStream,
        /// Read from the body, not yet handed out.
        rest: Bytes,
    },
}

impl Conn {
    /// Reads what has arrived. Cancel-safe.
    pub(super) async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            Conn::Plain(stream) => recv(stream, buf).await,
            Conn::Tls(stream) => {
                let len = stream.read(buf).await?;
                // The newest segment read: no earlier than these bytes came.
                let arrived = stream.get_ref().0.arrived;
                Ok(Received { len, arrived })
            }
            Conn::Http2 { .. } => Ok(Received {
                len: self.read(buf).await?,
                arrived: None,
            }),
        }
    }

    /// Reads some bytes (over HTTP/1.x, the response head first).
    pub(super) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(stream) => stream.read(buf).await,
            Conn::Tls(stream) => stream.read(buf).await,
            Conn::Http2 { body, rest } => {
                if rest.is_empty() {
                    match body.data().await {
                        None => return Ok(0),
                        Some(Err(e)) => return Err(io::Error::other(e)),
                        Some(Ok(data)) => {
                            let _ = body.flow_control().release_capacity(data.len());
                            *rest = data;
                        }
                    }
                }
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                rest.advance(n);
                Ok(n)
            }
        }
    }

    /// Whether the response head was read already (HTTP/2).
    pub(super) fn head_read(&self) -> bool {
        matches!(self, Conn::Http2 { .. })
    }
}

/// Wall-clock time, ns since the Unix epoch (the clock of kernel timestamps).
pub(super) fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Opens subscriber `i`'s connection (or, over HTTP/2, its stream on a
/// shared one), asks for receive timestamps, does the TLS handshake when
/// `tls` says so, and sends the request.
pub(super) async fn connect(
    addr: SocketAddr,
    path: &str,
    source: Option<IpAddr>,
    tls: Option<&TlsTarget>,
    i: usize,
) -> Result<Conn, String> {
    if let Some((target, http2)) = tls.and_then(|t| Some((t, t.http2.as_ref()?))) {
        let conn = http2.conn(i);
        let send = conn
            .get_or_try_init(|| async { open_http2(dial(addr, source).await?, target).await })
            .await?;
        return http2_stream(send, addr, path).await;
    }
    let mut stream = dial(addr, source).await?;
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    match tls {
        None => {
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| describe(&e))?;
            Ok(Conn::Plain(stream))
        }
        Some(target) => {
            let stream = Stamped {
                tcp: stream,
                arrived: None,
            };
            let mut stream = target
                .connector
                .connect(target.name.clone(), stream)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))?;
            stream
                .write_all(request.as_bytes())
                .await
                .map_err(|e| describe(&e))?;
            stream.flush().await.map_err(|e| describe(&e))?;
            Ok(Conn::Tls(Box::new(stream)))
        }
    }
}

/// A TCP connection to `addr` (from `source`), asking for receive
/// timestamps.
async fn dial(addr: SocketAddr, source: Option<IpAddr>) -> Result<TcpStream, String> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| describe(&e))?;
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| format!("bind {ip}: {}", describe(&e)))?;
    }
    let stream = socket.connect(addr).await.map_err(|e| describe(&e))?;
    let _ = stream.set_nodelay(true);
    // Without timestamps latency falls back to read time; say so in the report.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::socket::setsockopt(
        &stream,
        nix::sys::socket::sockopt::ReceiveTimestampns,
        &true,
    );
    Ok(stream)
}

/// The TLS and HTTP/2 handshakes of a shared connection, whose frames a
/// task of its own then drives.
async fn open_http2(tcp: TcpStream, target: &TlsTarget) -> Result<SendRequest<Bytes>, String> {
    let tls = target
        .connector
        .connect(target.name.clone(), tcp)
        .await
        .map_err(|e| format!("TLS handshake: {e}"))?;
    let (send, connection) = h2::client::Builder::new()
        .initial_window_size(1 << 20)
        .initial_connection_window_size(16 << 20)
        .handshake::<_, Bytes>(tls)
        .await
        .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(send)
}

/// Opens a stream of `path` on a shared HTTP/2 connection.
async fn http2_stream(
    send: &SendRequest<Bytes>,
    addr: SocketAddr,
    path: &str,
) -> Result<Conn, String> {
    let request = http::Request::get(format!("https://{addr}{path}"))
        .header("accept", "text/event-stream")
        .body(())
        .map_err(|e| format!("{path}: {e}"))?;
    let mut head = send
        .clone()
        .ready()
        .await
        .map_err(|e| format!("HTTP/2: {e}"))?;
    let (response, _) = head
        .send_request(request, true)
        .map_err(|e| format!("HTTP/2: {e}"))?;
    let response = response.await.map_err(|e| format!("HTTP/2: {e}"))?;
    if response.status() != 200 {
        return Err(format!("server answered {}", response.status()));
    }
    Ok(Conn::Http2 {
        body: response.into_body(),
        rest: Bytes::new(),
    })
}

/// What one read returned.
pub(super) struct Received {
    /// Bytes read (0: the peer closed).
    pub len: usize,
    /// Kernel receive time of the last segment read, wall ns, when stamped.
    pub arrived: Option<u64>,
}

/// Reads what has arrived. Cancel-safe: nothing is consumed until the read.
pub(super) async fn recv(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Received> {
    loop {
        stream.readable().await?;
        match stream.try_io(Interest::READABLE, || recv_stamped(stream, buf)) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            r => return r,
        }
    }
}

#[cfg(target_os = "linux")]
fn recv_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Received> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use nix::sys::time::TimeSpec;
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd;
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(TimeSpec);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )?;
    let arrived = msg.cmsgs()?.find_map(|c| match c {
        ControlMessageOwned::ScmTimestampns(t) => {
            Some(t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        }
        _ => None,
    });
    Ok(Received {
        len: msg.bytes,
        arrived,
    })
}

/// Elsewhere: no kernel timestamps (latency is timed at the read).
#[cfg(not(target_os = "linux"))]
fn recv_stamped(stream: &TcpStream, buf: &mut [u8]) -> io::Result<Received> {
    Ok(Received {
        len: stream.try_read(buf)?,
        arrived: None,
    })
}

/// A TCP stream that keeps the kernel receive time of the last segment
/// it read, for TLS to read through.
pub(super) struct Stamped {
    tcp: TcpStream,
    /// Kernel receive time of the newest segment read, wall ns.
    arrived: Option<u64>,
}

impl AsyncRead for Stamped {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.tcp.poll_read_ready(cx))?;
            let this = &mut *self;
            let unfilled = buf.initialize_unfilled();
            match this
                .tcp
                .try_io(Interest::READABLE, || recv_stamped(&this.tcp, unfilled))
            {
                Ok(got) => {
                    buf.advance(got.len);
                    this.arrived = got.arrived.or(this.arrived);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for Stamped {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Names the limits a big run runs into.
pub(super) fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(24) => "too many open files: the per-process fd limit (ulimit -n) is reached".into(),
        Some(99) => "cannot assign requested address: ephemeral ports exhausted (spread with --source-addrs)".into(),
        _ => e.to_string(),
    }
}
