//! Liveness by progress: a stream is alive while its peer takes what is
//! sent to it, not while the kernel still accepts bytes.
//!
//! A write that succeeds only says the bytes reached the server's own
//! socket buffer. A peer whose network vanished (no FIN, no ACK) or that
//! stopped reading leaves those bytes unacknowledged, while a trickle of
//! in-progress updates keeps fitting in the buffer for minutes. So each
//! stream reads its socket's `TCP_INFO` at its heartbeat ticks: the bytes
//! the peer has acknowledged, what is still outstanding, and when the peer
//! was last heard. A stream with bytes outstanding whose acknowledged count
//! has not moved for `--stall-timeout` is closed:
//!
//! - `no_ack` — bytes sent to the peer and none acknowledged (it vanished);
//! - `no_read` — all that was sent is acknowledged, the rest waits on a
//!   window the peer keeps closed (it is there but reads nothing);
//! - `write_blocked` — the socket stayed full for the stall time where
//!   `TCP_INFO` cannot say more (not Linux).
//!
//! A write waiting on a full socket is judged by the same rule
//! ([`Blocked`]), not by how long the socket stays unwritable.

use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

/// Why a stream was closed for making no progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stall {
    /// Nothing acknowledged and nothing heard from the peer: it vanished.
    NoAck,
    /// The peer is there but acknowledged none of the bytes sent.
    NoRead,
    /// The socket took nothing for the stall time, the peer still there.
    WriteBlocked,
    /// An HTTP/2 peer opened no flow-control window to the stream for
    /// the stall time (the stream is reset, the connection goes on).
    NoWindow,
}

impl Stall {
    /// Every reason, as labelled in the metrics.
    pub const ALL: [Stall; 4] = [
        Stall::NoAck,
        Stall::NoRead,
        Stall::WriteBlocked,
        Stall::NoWindow,
    ];

    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Stall::NoAck => "no_ack",
            Stall::NoRead => "no_read",
            Stall::WriteBlocked => "write_blocked",
            Stall::NoWindow => "no_window",
        }
    }
}

/// What `TCP_INFO` says about a socket's sending side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendState {
    /// Bytes the peer has acknowledged since the connection opened.
    pub acked: u64,
    /// Whether bytes are waiting: sent and unacknowledged, or not yet sent.
    pub outstanding: bool,
    /// Whether bytes are sent and unacknowledged (not only waiting to go).
    pub in_flight: bool,
    /// Time since the last ACK of any kind came from the peer.
    pub since_ack: Duration,
}

/// Reads a socket's sending side; `None` where `TCP_INFO` is not available.
#[cfg(target_os = "linux")]
pub fn send_state(fd: RawFd) -> Option<SendState> {
    use nix::libc;
    // SAFETY: `tcp_info` is plain data (all integers), so zeroed is valid.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `info`, which outlives the call;
    // the kernel writes at most `len` bytes and reports how many in `len`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return None;
    }
    Some(SendState {
        acked: info.tcpi_bytes_acked,
        outstanding: info.tcpi_unacked > 0 || info.tcpi_notsent_bytes > 0,
        in_flight: info.tcpi_unacked > 0,
        since_ack: Duration::from_millis(u64::from(info.tcpi_last_ack_recv)),
    })
}

/// Reads a socket's sending side; `None` where `TCP_INFO` is not available.
#[cfg(not(target_os = "linux"))]
pub fn send_state(_fd: RawFd) -> Option<SendState> {
    None
}

/// Counts and logs (once) a connection closed for a stall: the one place
/// every path reports it.
pub fn report(metrics: &super::Metrics, why: Stall) {
    metrics.stalled(why);
    tracing::info!(
        reason = why.label(),
        "stream closed: its peer took nothing within --stall-timeout"
    );
}

/// A write waiting on a full socket, judged by the same rule: a slow
/// reader's socket may stay unwritable for longer than the stall time
/// (the kernel wakes a writer only once half its buffer has drained) while
/// the peer keeps taking bytes, so the wait ends only when nothing is
/// acknowledged for the stall time. Where `TCP_INFO` is not available,
/// the socket taking nothing for the stall time ends it (`write_blocked`).
#[derive(Debug)]
pub struct Blocked {
    progress: Progress,
    started: Instant,
    timer: Pin<Box<Sleep>>,
    tick: Duration,
}

impl Blocked {
    /// A write on `fd` that found the socket full now.
    pub fn new(fd: RawFd, stall: Duration) -> Blocked {
        let now = Instant::now();
        let mut progress = Progress::new(fd, stall);
        let _ = progress.check(now);
        let tick = (stall / 4).max(Duration::from_millis(10));
        Blocked {
            progress,
            started: now,
            timer: Box::pin(tokio::time::sleep(tick)),
            tick,
        }
    }

    /// Ready with the reason once the peer has taken nothing for the
    /// stall time; pending (woken to look again) until then.
    pub fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<Stall> {
        loop {
            ready!(self.timer.as_mut().poll(cx));
            let now = Instant::now();
            let stalled = match send_state(self.progress.fd) {
                Some(s) => self.progress.judge(s, now),
                None => (now.saturating_duration_since(self.started) >= self.progress.stall)
                    .then_some(Stall::WriteBlocked),
            };
            if let Some(why) = stalled {
                return Poll::Ready(why);
            }
            let next = tokio::time::Instant::now() + self.tick;
            self.timer.as_mut().reset(next);
        }
    }
}

/// The error a write fails with when its stream is closed for a stall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled(pub Stall);

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no progress within the stall time ({})", self.0.label())
    }
}

impl std::error::Error for Stalled {}

impl Stalled {
    /// As an I/O error (`TimedOut`) a writer can pass on.
    pub fn into_io(self) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, self)
    }

    /// The stall an I/O error stands for, if it is one.
    pub fn of(e: &std::io::Error) -> Option<Stall> {
        e.get_ref()?.downcast_ref::<Stalled>().map(|s| s.0)
    }
}

/// One stream's progress, judged at its heartbeat ticks.
#[derive(Debug)]
pub struct Progress {
    fd: RawFd,
    stall: Duration,
    acked: u64,
    /// Since when the peer has taken nothing (it was last seen taking bytes,
    /// or had nothing outstanding).
    since: Instant,
}

impl Progress {
    /// Watches the socket `fd` (valid while the stream is polled) against
    /// the stall time.
    pub fn new(fd: RawFd, stall: Duration) -> Progress {
        Progress {
            fd,
            stall,
            acked: 0,
            since: Instant::now(),
        }
    }

    /// Looks at the socket now: `Some(reason)` when its peer has taken
    /// nothing for the stall time while bytes were waiting for it.
    pub fn check(&mut self, now: Instant) -> Option<Stall> {
        let s = send_state(self.fd)?;
        self.judge(s, now)
    }

    /// [`Progress::check`] on a reading already taken.
    pub fn judge(&mut self, s: SendState, now: Instant) -> Option<Stall> {
        if !s.outstanding {
            // Up to date: nothing is owed.
            self.acked = s.acked;
            self.since = now;
            return None;
        }
        if s.acked != self.acked {
            // Taken since the last look; the ACK that moved it is at most
            // as recent as the last one heard.
            self.acked = s.acked;
            self.since = now.checked_sub(s.since_ack).unwrap_or(now).max(self.since);
            return None;
        }
        if now.saturating_duration_since(self.since) < self.stall {
            return None;
        }
        Some(if s.in_flight {
            Stall::NoAck
        } else {
            Stall::NoRead
        })
    }
}

/// How often a stream with heartbeat `heartbeat` looks at its socket: at
/// most half the heartbeat and half the stall time, so a dead peer is
/// closed within the stall time plus one heartbeat; a whole divisor of the
/// heartbeat, so pings keep their period. Returns the tick and how many
/// ticks make one heartbeat.
pub fn tick(heartbeat: Duration, stall: Duration) -> (Duration, u32) {
    let most = (heartbeat / 2)
        .min(stall / 2)
        .max(Duration::from_millis(50));
    let per_beat = heartbeat.as_nanos().div_ceil(most.as_nanos()).max(1);
    let per_beat = u32::try_from(per_beat).unwrap_or(u32::MAX);
    (heartbeat / per_beat, per_beat)
}

/// The grid streams' ticks fall on.
pub const GRID: Duration = Duration::from_millis(100);

/// `at` moved up to the next point of a process-wide [`GRID`], when ticks
/// of `period` stay on it (a whole number of grid steps); else `at`.
pub fn on_grid(at: tokio::time::Instant, period: Duration) -> tokio::time::Instant {
    static ORIGIN: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();
    let grid = GRID.as_nanos();
    if period.as_nanos() % grid != 0 {
        return at;
    }
    let origin = *ORIGIN.get_or_init(tokio::time::Instant::now);
    let since = at.saturating_duration_since(origin).as_nanos();
    let steps = since.div_ceil(grid);
    let up = u64::try_from(steps * grid - since).unwrap_or(0);
    at + Duration::from_nanos(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(acked: u64, outstanding: bool, since_ack_ms: u64) -> SendState {
        SendState {
            acked,
            outstanding,
            in_flight: outstanding,
            since_ack: Duration::from_millis(since_ack_ms),
        }
    }

    #[test]
    fn a_peer_that_takes_bytes_or_owes_nothing_is_alive() {
        let t0 = Instant::now();
        let s = Duration::from_secs(5);
        let mut p = Progress::new(0, s);
        p.since = t0;
        // Nothing outstanding for a long time: alive.
        assert_eq!(p.judge(state(100, false, 60_000), t0 + 60 * s), None);
        // Bytes outstanding but the count moves at every look: alive.
        for i in 1..20u32 {
            assert_eq!(
                p.judge(state(100 + u64::from(i), true, 0), t0 + 60 * s + i * s),
                None
            );
        }
    }

    #[test]
    fn a_vanished_peer_is_no_ack_and_a_silent_reader_no_read() {
        let t0 = Instant::now();
        let s = Duration::from_secs(5);
        let mut p = Progress::new(0, s);
        p.since = t0;
        assert_eq!(p.judge(state(10, true, 0), t0), None);
        assert_eq!(
            p.judge(state(10, true, 4_000), t0 + s - Duration::from_millis(1)),
            None
        );
        assert_eq!(p.judge(state(10, true, 5_000), t0 + s), Some(Stall::NoAck));

        let mut p = Progress::new(0, s);
        p.since = t0;
        assert_eq!(p.judge(state(10, true, 0), t0), None);
        // Everything sent acknowledged, the rest waits on a closed window.
        let closed = SendState {
            in_flight: false,
            ..state(10, true, 200)
        };
        assert_eq!(p.judge(closed, t0 + s), Some(Stall::NoRead));
    }

    #[test]
    fn progress_is_dated_by_the_last_ack_heard() {
        let t0 = Instant::now();
        let s = Duration::from_secs(5);
        let mut p = Progress::new(0, s);
        p.since = t0;
        // Looked at 4 s later: moved, but the last ACK was 3 s ago.
        assert_eq!(p.judge(state(20, true, 3_000), t0 + 4 * s / 5), None);
        // So 4 s after that ACK (t0 + 1 s + 5 s) it is judged stalled.
        assert_eq!(
            p.judge(state(20, true, 5_000), t0 + Duration::from_secs(6)),
            Some(Stall::NoAck)
        );
    }

    #[test]
    fn ticks_fall_on_the_shared_grid() {
        // The grid starts at its first use.
        on_grid(tokio::time::Instant::now(), GRID);
        let t = tokio::time::Instant::now();
        let a = on_grid(t, Duration::from_secs(5));
        let b = on_grid(t + Duration::from_millis(37), Duration::from_secs(5));
        assert!(a >= t && a - t < GRID);
        // Two moments in one grid step share their tick, or are a step apart.
        assert_eq!((b - a).as_nanos() % GRID.as_nanos(), 0);
        // A period off the grid keeps its moment.
        let odd = t + Duration::from_millis(3);
        assert_eq!(on_grid(odd, Duration::from_millis(125)), odd);
    }

    #[test]
    fn the_tick_divides_the_heartbeat_and_halves_the_stall() {
        let sec = Duration::from_secs;
        assert_eq!(tick(sec(10), sec(30)), (sec(5), 2));
        assert_eq!(tick(sec(2), sec(5)), (sec(1), 2));
        assert_eq!(tick(sec(10), sec(4)), (sec(2), 5));
        let (t, n) = tick(sec(3), sec(5));
        assert_eq!(t * n, sec(3));
        assert!(t <= Duration::from_millis(2500) && t <= Duration::from_millis(1500));
    }
}
