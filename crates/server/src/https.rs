//! Connections on a TLS listener (`serve --tls-cert --tls-key`). A
//! handshake that negotiates `h2` is served as HTTP/2 ([`super::http2`]:
//! every stream of the connection a request through the same router,
//! admission and limits as HTTP/1.1) and any other as HTTP/1.1, as a
//! plaintext connection is ([`super::conn::http1_connection`]: a stream
//! on the lean path, [`super::lean_tls`]; the rest through hyper, with
//! upgrades for the voice WebSocket over `wss://`). Plaintext sent to the
//! TLS port is answered with a plaintext 400 and closed at once.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use tokio::net::TcpStream;

use super::conn::{http1_connection, write_refusal};
use super::error::ApiError;
use super::tls::Tls;
use super::AppState;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves one accepted TCP connection over TLS.
pub(super) async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    state: AppState,
    app: Router,
    tls: Arc<Tls>,
) {
    let limits = &state.config.limits;
    let mut first = [0u8; 1];
    let peeked = tokio::select! {
        p = tokio::time::timeout(limits.header_timeout, tcp.peek(&mut first)) => p,
        _ = state.shutdown.cancelled() => return,
    };
    match peeked {
        Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => {}
        Ok(Ok(1)) => return refuse_plaintext(tcp).await,
        _ => return,
    }
    let fd = tcp.as_raw_fd();
    let handshake = tokio::time::timeout(limits.header_timeout, tls.acceptor().accept(tcp));
    let stream = match handshake.await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => return,
    };
    if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
        Box::pin(super::http2::serve(stream, peer, fd, &state, app)).await;
        return;
    }
    http1_connection(Box::new(stream), peer, state, app).await;
}

/// Plaintext on the TLS port: what the client sent so far is read (so
/// that closing does not reset the connection before the answer is
/// read), a plaintext 400 answers it, and the connection is closed.
async fn refuse_plaintext(mut tcp: TcpStream) {
    discard_sent(&tcp);
    let e = ApiError::new(
        StatusCode::BAD_REQUEST,
        "tls_required",
        "this port speaks TLS: use https://",
    );
    let _ = write_refusal(&mut tcp, &e, &[]).await;
}

/// Reads and drops what the client has sent so far. A function of its
/// own, so that its buffer lives on the stack for the read alone: held
/// across an await, it would be part of every TLS connection's future
/// (16 KiB more per connection for as long as it lasts).
fn discard_sent(tcp: &TcpStream) {
    let mut sent = [0u8; 16 * 1024];
    let _ = tcp.try_read(&mut sent);
}

#[cfg(test)]
mod tests {
    use super::*;
    use spotlight_market::{Hub, HubConfig};

    /// A TLS connection's task is allocated once at its largest and lives
    /// as long as the connection — a stream's whole life — so it must stay
    /// small. A 16 KiB buffer held across an await once made it 18 KiB,
    /// and the TLS stream held inline (twice) another 4 KiB.
    #[tokio::test]
    async fn a_tls_connections_task_stays_small() {
        let dir = tempfile::tempdir().unwrap();
        let tls = Arc::new(crate::tls::testing::self_signed(dir.path()).0);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (tcp, peer) = listener.accept().await.unwrap();
        let state = AppState::new(Hub::new(HubConfig::default()), Default::default()).unwrap();
        let app = crate::router(state.clone());
        let task = connection(tcp, peer, state, app, tls);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 4 * 1024, "a TLS connection's task is {size} bytes");
    }
}
