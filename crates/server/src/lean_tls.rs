//! The lean stream path over TLS: a stream admitted on an HTTP/1.x TLS
//! connection is written through the connection's rustls session by the
//! stream itself and, while it waits, by the hub straight from the fan-out
//! (encrypted there and sent with one non-blocking send), as the plaintext
//! lean path does: no HTTP framework, no task woken per event. The session
//! sits behind a mutex held only to encrypt, send what fits or take in what
//! came — never across an await.

use std::future::Future;
use std::io::{self, IoSlice, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use nix::sys::socket;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_rustls::rustls::ServerConnection;
use tokio_rustls::server::TlsStream;

use super::conn::{reset, Transport};
use super::lean::{cut_if_stalled, send_now, writable, Opened};
use super::{AppState, Metrics};
use spotlight_market::hub::{DirectWrite, QueueItem};

/// Boxed: the stream (its rustls session inline, over a KiB) is held by
/// value in [`super::conn::http1_connection`]'s future, which is allocated
/// once at its largest and lives as long as the connection; a box keeps
/// that future the size of a plaintext connection's, and is freed when a
/// lean stream takes the session out of it.
impl Transport for Box<TlsStream<TcpStream>> {
    fn fd(&self) -> RawFd {
        self.get_ref().0.as_raw_fd()
    }

    fn lean_stream(
        opened: Opened<Self>,
        state: &AppState,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tls_stream(opened, state))
    }
}

/// Writes an admitted stream over TLS until it ends, as
/// [`super::lean::lean_stream`] does over plaintext: overflow resets the
/// socket, a peer that takes nothing for the stall time is cut, a client
/// that hangs up is gone at once; a stream that ends sends `close_notify`.
fn tls_stream(
    opened: Opened<Box<TlsStream<TcpStream>>>,
    state: &AppState,
) -> impl Future<Output = ()> + Send + '_ {
    let Opened {
        tcp,
        mut session,
        head,
    } = opened;
    let (tcp, tls) = (*tcp).into_inner();
    let fd = tcp.as_raw_fd();
    let wire = Arc::new(Wire {
        tcp,
        tls: Mutex::new(tls),
        unsent: Notify::new(),
    });
    let stall = state.config.limits.stall_timeout;
    let overflowed = wire.clone();
    let writer = TlsWriter {
        fd,
        wire: wire.clone(),
        metrics: state.metrics.clone(),
    };
    session.on_socket(
        fd,
        stall,
        Box::new(move || reset(&overflowed.tcp)),
        Box::new(writer),
    );
    async move {
        let written = async {
            wire.send(&head, stall).await?;
            drop(head);
            loop {
                let chunk = tokio::select! {
                    biased;
                    // What the hub encrypted and the socket did not take.
                    _ = wire.unsent.notified() => Some(Bytes::new()),
                    chunk = session.next_chunk() => chunk,
                };
                let Some(chunk) = chunk else { break };
                wire.send(&chunk, stall).await?;
            }
            Ok::<_, io::Error>(())
        };
        let outcome = tokio::select! {
            w = written => w,
            // A client that hangs up is gone now, not at the next write.
            _ = wire.hung_up() => Ok(()),
        };
        match outcome {
            Ok(()) => wire.close(),
            Err(e) => cut_if_stalled(&e, &state.metrics, &wire.tcp),
        }
    }
}

/// A TLS connection taken over from tokio-rustls for a lean stream.
struct Wire {
    tcp: TcpStream,
    tls: Mutex<ServerConnection>,
    /// Told when the hub left encrypted bytes the socket did not take: the
    /// stream's writer sends them once the socket drains.
    unsent: Notify,
}

impl Wire {
    fn lock(&self) -> MutexGuard<'_, ServerConnection> {
        self.tls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encrypts `buf` and sends it after whatever is still unsent, waiting
    /// while the socket is full; fails with [`Stalled`] when the peer takes
    /// nothing for `stall` meanwhile.
    async fn send(&self, mut buf: &[u8], stall: Duration) -> io::Result<()> {
        loop {
            let sent = {
                let mut tls = self.lock();
                // Taken up to rustls's buffer limit (64 KiB of records).
                let taken = if buf.is_empty() {
                    0
                } else {
                    tls.writer().write(buf)?
                };
                buf = &buf[taken..];
                send_records(&mut tls, &mut Polled(&self.tcp))
            };
            match sent {
                Ok(()) if buf.is_empty() => return Ok(()),
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    writable(&self.tcp, stall).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Resolves when the client closes its side (`close_notify`, or the
    /// end of the TCP stream) or sends what TLS refuses. What a stream
    /// client sends is otherwise taken in and ignored.
    fn hung_up(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| loop {
            match self.tcp.poll_read_ready(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Ready(Ok(())) => {}
            }
            let mut buf = [0u8; 4096];
            match self.tcp.try_read(&mut buf) {
                Ok(0) => return Poll::Ready(()),
                Ok(n) if !self.take_in(&buf[..n]) => return Poll::Ready(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return Poll::Ready(()),
            }
        })
    }

    /// Feeds bytes from the client to the session: false once the client
    /// has closed or sent what TLS refuses. Its plaintext is dropped; what
    /// TLS owes it in return (a key update) is left to the writer.
    fn take_in(&self, mut bytes: &[u8]) -> bool {
        let mut tls = self.lock();
        let mut sink = [0u8; 4096];
        while !bytes.is_empty() {
            if !matches!(tls.read_tls(&mut bytes), Ok(n) if n > 0) {
                return false;
            }
            match tls.process_new_packets() {
                Ok(state) if !state.peer_has_closed() => {}
                _ => return false,
            }
            loop {
                match tls.reader().read(&mut sink) {
                    Ok(0) => return false,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return false,
                }
            }
        }
        if tls.wants_write() {
            drop(tls);
            self.unsent.notify_one();
        }
        true
    }

    /// The hub's write: encrypts what the session takes of `bufs` and sends
    /// what the socket `fd` takes now; what it does not is left to the
    /// stream's writer, which is told ([`Wire::unsent`]).
    fn write_direct(&self, fd: RawFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut tls = self.lock();
        let mut out = Raw(fd);
        // Records still unsent go first; until they have, nothing is taken.
        send_records(&mut tls, &mut out)?;
        let taken = tls.writer().write_vectored(bufs)?;
        if taken == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if send_records(&mut tls, &mut out).is_err() {
            drop(tls);
            self.unsent.notify_one();
        }
        Ok(taken)
    }

    /// Ends the stream: `close_notify` if the socket takes it now, then the
    /// end of the TCP stream.
    fn close(&self) {
        let mut tls = self.lock();
        tls.send_close_notify();
        let _ = send_records(&mut tls, &mut Raw(self.tcp.as_raw_fd()));
        let _ = socket::shutdown(self.tcp.as_raw_fd(), socket::Shutdown::Write);
    }
}

/// Sends the session's encrypted records to `out` until none are left;
/// `WouldBlock` when the socket fills first.
fn send_records(tls: &mut ServerConnection, out: &mut dyn Write) -> io::Result<()> {
    while tls.wants_write() {
        if tls.write_tls(out)? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// The socket as the stream's writer sends on it: through tokio, whose
/// readiness a full socket clears (the wait that follows is a real one).
struct Polled<'a>(&'a TcpStream);

impl Write for Polled<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The socket as the hub sends on it: the descriptor itself, never
/// blocking ([`send_now`]; see [`super::lean`]'s `SocketWriter` for why
/// not through tokio).
struct Raw(RawFd);

impl Write for Raw {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        send_now(self.0, &[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        send_now(self.0, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A TLS lean stream's session as the hub's direct writer.
struct TlsWriter {
    /// `wire`'s socket descriptor, valid while `wire` is held.
    fd: RawFd,
    wire: Arc<Wire>,
    metrics: Arc<Metrics>,
}

impl DirectWrite for TlsWriter {
    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.wire.write_direct(self.fd, bufs)
    }

    fn written(&self, item: &QueueItem) {
        self.metrics.delivered(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use tokio::io::AsyncReadExt;
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
    use tokio_rustls::TlsConnector;

    /// Both ends of a loopback TLS connection whose socket buffers hold
    /// a few KiB only.
    async fn tls_pair() -> (
        TlsStream<TcpStream>,
        tokio_rustls::client::TlsStream<TcpStream>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (tls, cert) = crate::tls::testing::self_signed(dir.path());
        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let (tcp, accepted) = tokio::join!(
            socket.connect(listener.local_addr().unwrap()),
            listener.accept()
        );
        let (server_tcp, _) = accepted.unwrap();
        socket::setsockopt(&server_tcp, socket::sockopt::SndBuf, &4096).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let (server, client) = tokio::join!(
            tls.acceptor().accept(server_tcp),
            TlsConnector::from(Arc::new(client)).connect(name, tcp.unwrap()),
        );
        (server.unwrap(), client.unwrap())
    }

    #[tokio::test]
    async fn what_a_direct_write_leaves_unsent_the_streams_writer_is_told_to_send() {
        let (server, mut client) = tls_pair().await;
        let (tcp, tls) = server.into_inner();
        let fd = tcp.as_raw_fd();
        let wire = Wire {
            tcp,
            tls: Mutex::new(tls),
            unsent: Notify::new(),
        };
        // More than the two socket buffers hold while the client reads nothing.
        let event = vec![b'x'; 48 * 1024];
        let taken = wire.write_direct(fd, &[IoSlice::new(&event)]).unwrap();
        assert_eq!(taken, event.len(), "the event is taken whole");
        assert!(wire.lock().wants_write(), "part of it is still unsent");
        assert!(
            wire.unsent.notified().now_or_never().is_some(),
            "the stream's writer is told"
        );
        let mut got = vec![0u8; taken];
        let (sent, read) = tokio::join!(
            wire.send(&[], Duration::from_secs(30)),
            client.read_exact(&mut got)
        );
        sent.unwrap();
        read.unwrap();
        assert_eq!(got, event);
    }
}
