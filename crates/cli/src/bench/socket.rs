//! A subscriber's socket: connect (optionally from a chosen local address),
//! over TLS for an `https://` URL (one TLS connection per subscriber), and
//! read — a plaintext socket with the kernel's receive timestamp.
//!
//! The timestamp (`SO_TIMESTAMPNS`) is taken when a segment reaches the
//! subscriber's socket, so a latency measured from it is the server's and the
//! network's alone: it does not include how long this process took to get
//! round to reading the socket, which with thousands of subscribers on one
//! core is most of what a read-time latency would show.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

/// Where a subscriber's TLS goes: the connector and the server's name.
#[derive(Clone)]
pub struct TlsTarget {
    /// Trusts what the client commands trust (`--cacert`).
    pub connector: TlsConnector,
    /// The name the certificate must be for.
    pub name: ServerName<'static>,
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
    /// TLS over TCP (latency timed at the read: records are decrypted in
    /// this process).
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Conn {
    /// Reads what has arrived. Cancel-safe.
    pub(super) async fn recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            Conn::Plain(stream) => recv(stream, buf).await,
            Conn::Tls(stream) => Ok(Received {
                len: stream.read(buf).await?,
                arrived: None,
            }),
        }
    }

    /// Reads some bytes (the response head).
    pub(super) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(stream) => stream.read(buf).await,
            Conn::Tls(stream) => stream.read(buf).await,
        }
    }
}

/// Wall-clock time, ns since the Unix epoch (the clock of kernel timestamps).
pub(super) fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Opens a connection, asks for receive timestamps, does the TLS
/// handshake when `tls` says so, and sends the request.
pub(super) async fn connect(
    addr: SocketAddr,
    path: &str,
    source: Option<IpAddr>,
    tls: Option<&TlsTarget>,
) -> Result<Conn, String> {
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
    let mut stream = socket.connect(addr).await.map_err(|e| describe(&e))?;
    let _ = stream.set_nodelay(true);
    // Without timestamps latency falls back to read time; say so in the report.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::socket::setsockopt(
        &stream,
        nix::sys::socket::sockopt::ReceiveTimestampns,
        &true,
    );
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

/// Names the limits a big run runs into.
pub(super) fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(24) => "too many open files: the per-process fd limit (ulimit -n) is reached".into(),
        Some(99) => "cannot assign requested address: ephemeral ports exhausted (spread with --source-addrs)".into(),
        _ => e.to_string(),
    }
}
