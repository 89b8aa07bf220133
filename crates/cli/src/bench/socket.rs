//! A subscriber's socket: connect (optionally from a chosen local address)
//! and read with the kernel's receive timestamp.
//!
//! The timestamp (`SO_TIMESTAMPNS`) is taken when a segment reaches the
//! subscriber's socket, so a latency measured from it is the server's and the
//! network's alone: it does not include how long this process took to get
//! round to reading the socket, which with thousands of subscribers on one
//! core is most of what a read-time latency would show.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};

/// Wall-clock time, ns since the Unix epoch (the clock of kernel timestamps).
pub(super) fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Opens a connection, asks for receive timestamps and sends the request.
pub(super) async fn connect(
    addr: SocketAddr,
    path: &str,
    source: Option<IpAddr>,
) -> Result<TcpStream, String> {
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
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| describe(&e))?;
    Ok(stream)
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
