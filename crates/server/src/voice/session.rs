//! Voice sessions outlive their connections: the outbound sequence, the
//! resume window of recent outbound messages, the count of inbound ones,
//! and the single-use resume token.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum_extra::extract::cookie::Key;
use bytes::Bytes;
use cookie::{Cookie, CookieJar};
use tokio_util::sync::CancellationToken;

use crate::admission::seats::Seat;

/// How sessions are kept.
#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// Server ping interval.
    pub heartbeat: Duration,
    /// A connection heard from for this long is closed (4408).
    pub idle: Duration,
    /// Outbound messages kept for resume: this long…
    pub resume_window: Duration,
    /// …and at most these bytes.
    pub resume_window_bytes: usize,
    /// A dropped session can be resumed this long.
    pub resume_ttl: Duration,
    /// Outbound bytes queued per connection before audio is dropped.
    pub outbound_limit: usize,
    /// Largest frame a client may send (bigger: close 1009).
    pub max_frame: usize,
    /// Relay binary frames to this upstream WebSocket instead of echoing.
    pub upstream: Option<String>,
    /// The upstream's health and circuit breaker, shared by every session
    /// (`None`: dialled without a breaker).
    pub upstream_health: Option<std::sync::Arc<spotlight_provider::health::UpstreamHealth>>,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            heartbeat: Duration::from_secs(5),
            idle: Duration::from_secs(15),
            resume_window: Duration::from_secs(5),
            resume_window_bytes: 512 * 1024,
            resume_ttl: Duration::from_secs(60),
            outbound_limit: 256 * 1024,
            max_frame: 1024 * 1024,
            upstream: None,
            upstream_health: None,
        }
    }
}

/// One outbound message as the session keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A JSON control message (it carries its own seq).
    Text(String),
    /// Audio.
    Binary(Bytes),
}

impl Frame {
    /// Payload bytes.
    pub fn len(&self) -> usize {
        match self {
            Frame::Text(t) => t.len(),
            Frame::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A session's state, shared by its connections over time.
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// Last outbound seq given.
    pub out_seq: u64,
    /// Inbound messages received in all.
    pub received: u64,
    window: VecDeque<(u64, Instant, Frame)>,
    window_bytes: usize,
    nonce: String,
    attached: bool,
    detached_at: Option<Instant>,
    /// Which attachment holds the session (one per connection).
    generation: u64,
    /// Cancelled when a resume takes the session from its connection.
    kick: CancellationToken,
    /// Its place in the voice capacity, held while it can be resumed.
    seat: Option<Seat>,
}

impl Session {
    /// Whether attachment `generation` still holds the session.
    pub fn held_by(&self, generation: u64) -> bool {
        self.attached && self.generation == generation
    }

    /// Numbers an outbound message and keeps it in the window (trimmed to
    /// its time and byte bounds). `make` builds the frame from its seq.
    pub fn number(
        &mut self,
        config: &VoiceConfig,
        make: impl FnOnce(u64) -> Frame,
    ) -> (u64, Frame) {
        self.out_seq += 1;
        let seq = self.out_seq;
        let frame = make(seq);
        let now = Instant::now();
        self.window_bytes += frame.len();
        self.window.push_back((seq, now, frame.clone()));
        while let Some((_, at, oldest)) = self.window.front() {
            let too_old = now.duration_since(*at) > config.resume_window;
            if !too_old && self.window_bytes <= config.resume_window_bytes {
                break;
            }
            self.window_bytes -= oldest.len();
            self.window.pop_front();
        }
        (seq, frame)
    }
}

/// Why a resume was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not signed by this server.
    Forged,
    /// Its session is gone (expired or never existed).
    Expired,
    /// Used already (or the session is connected elsewhere).
    Reused,
    /// `last` is beyond anything the session sent.
    Ahead,
}

impl Rejected {
    /// For a person.
    pub fn message(self) -> &'static str {
        match self {
            Rejected::Forged => "the resume token is not valid",
            Rejected::Expired => "the session is gone (resume TTL passed)",
            Rejected::Reused => "the resume token was used already",
            Rejected::Ahead => "`last` is ahead of what the session sent",
        }
    }
}

/// A session taken up by a connection, and what the connection owes the
/// client first.
#[derive(Debug)]
pub struct Attached {
    /// The session.
    pub session: Arc<Mutex<Session>>,
    /// Its id.
    pub id: String,
    /// A fresh single-use resume token.
    pub token: String,
    /// Whether an earlier session continues.
    pub resumed: bool,
    /// Inbound messages received in all.
    pub received: u64,
    /// Outbound messages to replay, in order.
    pub replay: Vec<Frame>,
    /// This attachment's generation (see [`Session::held_by`]).
    pub generation: u64,
    /// Cancelled if a later resume takes the session over.
    pub kick: CancellationToken,
    /// Messages after `last` that fell out of the window.
    pub lost: u64,
    /// The seq of the last message before those that follow.
    pub seq: u64,
}

/// Every live or resumable session.
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
    key: Key,
    /// Settings.
    pub config: VoiceConfig,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const TOKEN: &str = "voice";

impl Sessions {
    /// Sessions whose tokens are signed with `key`.
    pub fn new(key: Key, config: VoiceConfig) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            key,
            config,
        }
    }

    /// A signed token naming the session and its current nonce, in hex so
    /// it goes into a URL as it is.
    fn sign(&self, id: &str, nonce: &str) -> String {
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key)
            .add(Cookie::new(TOKEN, format!("{id}.{nonce}")));
        jar.get(TOKEN)
            .map(|c| c.value().bytes().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default()
    }

    /// The `(session, nonce)` a token names, if this server signed it.
    fn verify(&self, token: &str) -> Option<(String, String)> {
        let bytes = (0..token.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let signed = String::from_utf8(bytes).ok()?;
        let mut jar = CookieJar::new();
        jar.add_original(Cookie::new(TOKEN, signed));
        let value = jar.signed(&self.key).get(TOKEN)?.value().to_string();
        let (id, nonce) = value.split_once('.')?;
        Some((id.to_string(), nonce.to_string()))
    }

    /// Starts a new session in `seat` (given back when the session ends or
    /// expires).
    pub fn create(&self, seat: Seat) -> Attached {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let token = self.sign(&id, &nonce);
        let kick = CancellationToken::new();
        let session = Arc::new(Mutex::new(Session {
            id: id.clone(),
            out_seq: 0,
            received: 0,
            window: VecDeque::new(),
            window_bytes: 0,
            nonce,
            attached: true,
            detached_at: None,
            generation: 1,
            kick: kick.clone(),
            seat: Some(seat),
        }));
        lock(&self.map).insert(id.clone(), session.clone());
        Attached {
            session,
            id,
            token,
            resumed: false,
            received: 0,
            replay: Vec::new(),
            generation: 1,
            kick,
            lost: 0,
            seq: 0,
        }
    }

    /// Takes up a dropped session with a resume token: what to replay
    /// after `last` (the last outbound seq the client has).
    pub fn resume(&self, token: &str, last: u64) -> Result<Attached, Rejected> {
        let (id, nonce) = self.verify(token).ok_or(Rejected::Forged)?;
        if self.config.resume_ttl.is_zero() {
            return Err(Rejected::Expired);
        }
        let session = lock(&self.map).get(&id).cloned().ok_or(Rejected::Expired)?;
        let mut s = lock(&session);
        if s.nonce != nonce {
            return Err(Rejected::Reused);
        }
        if s.detached_at
            .is_some_and(|at| at.elapsed() >= self.config.resume_ttl)
        {
            return Err(Rejected::Expired);
        }
        if last > s.out_seq {
            return Err(Rejected::Ahead);
        }
        let first_kept = s.window.front().map_or(s.out_seq + 1, |(seq, _, _)| *seq);
        let lost = first_kept.saturating_sub(last + 1);
        let replay: Vec<Frame> = s
            .window
            .iter()
            .filter(|(seq, _, _)| *seq > last)
            .map(|(_, _, f)| f.clone())
            .collect();
        // The client knows its connection is gone before the server may:
        // a still-attached connection with the current token loses the
        // session here, and numbers nothing more.
        s.kick.cancel();
        s.kick = CancellationToken::new();
        s.generation += 1;
        s.nonce = uuid::Uuid::new_v4().simple().to_string();
        s.attached = true;
        s.detached_at = None;
        let token = self.sign(&id, &s.nonce);
        let (received, generation, kick) = (s.received, s.generation, s.kick.clone());
        drop(s);
        Ok(Attached {
            session,
            id,
            token,
            resumed: true,
            received,
            replay,
            generation,
            kick,
            lost,
            seq: last + lost,
        })
    }

    /// A connection (attachment `generation`) lost its session's socket:
    /// it may be resumed within the TTL. Nothing, if a resume has taken it.
    pub fn detach(&self, session: &Mutex<Session>, generation: u64) {
        let mut s = lock(session);
        if s.held_by(generation) {
            s.attached = false;
            s.detached_at = Some(Instant::now());
        }
    }

    /// A session ended on purpose: it cannot be resumed (unless a resume
    /// has taken it from this attachment already).
    pub fn end(&self, session: &Mutex<Session>, generation: u64) {
        let mut s = lock(session);
        if s.held_by(generation) {
            let id = s.id.clone();
            let seat = s.seat.take();
            drop(s);
            lock(&self.map).remove(&id);
            drop(seat);
        }
    }

    /// Forgets sessions dropped longer than the TTL ago, giving back their
    /// seats.
    pub fn sweep(&self) {
        let ttl = self.config.resume_ttl;
        let mut freed = Vec::new();
        lock(&self.map).retain(|_, s| {
            let mut s = lock(s);
            let keep = s.attached || s.detached_at.is_none_or(|at| at.elapsed() < ttl);
            if !keep {
                freed.extend(s.seat.take());
            }
            keep
        });
        drop(freed);
    }

    /// Sessions kept now: `(connected, resumable)`.
    pub fn counts(&self) -> (usize, usize) {
        let map = lock(&self.map);
        let connected = map.values().filter(|s| lock(s).attached).count();
        (connected, map.len() - connected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn seat() -> Seat {
        match crate::admission::seats::Seats::new(0, 0).acquire() {
            crate::admission::seats::Acquire::Seat(s) => s,
            _ => unreachable!("an unlimited capacity always seats"),
        }
    }

    fn sessions(config: VoiceConfig) -> Sessions {
        Sessions::new(Key::generate(), config)
    }

    fn text(seq: u64) -> Frame {
        Frame::Text(format!("{{\"seq\":{seq}}}"))
    }

    #[test]
    fn a_dropped_session_resumes_with_what_the_client_missed() {
        let s = sessions(VoiceConfig::default());
        let a = s.create(seat());
        for _ in 0..5 {
            lock(&a.session).number(&s.config, text);
        }
        lock(&a.session).received = 3;
        s.detach(&a.session, a.generation);
        let b = s.resume(&a.token, 2).unwrap();
        assert!(b.resumed);
        assert_eq!((b.received, b.lost, b.seq), (3, 0, 2));
        assert_eq!(b.replay, vec![text(3), text(4), text(5)]);
        // Single use: the old token is spent, the new one is for next time.
        s.detach(&b.session, b.generation);
        assert_eq!(s.resume(&a.token, 5).unwrap_err(), Rejected::Reused);
        assert!(s.resume(&b.token, 5).unwrap().replay.is_empty());
    }

    #[test]
    fn what_fell_out_of_the_window_is_reported_lost() {
        let s = sessions(VoiceConfig {
            resume_window_bytes: 20,
            ..VoiceConfig::default()
        });
        let a = s.create(seat());
        for _ in 0..10 {
            lock(&a.session).number(&s.config, text);
        }
        s.detach(&a.session, a.generation);
        let b = s.resume(&a.token, 1).unwrap();
        // 10-byte messages, 20 bytes kept: 9 and 10 remain, 2..=8 are lost.
        assert_eq!(b.lost, 7);
        assert_eq!(b.seq, 8);
        assert_eq!(b.replay, vec![text(9), text(10)]);
    }

    #[test]
    fn forged_expired_and_connected_tokens_are_refused() {
        let s = sessions(VoiceConfig {
            resume_ttl: Duration::ZERO,
            ..VoiceConfig::default()
        });
        let a = s.create(seat());
        assert_eq!(s.resume("forged.token", 0).unwrap_err(), Rejected::Forged);
        let other = sessions(VoiceConfig::default()).create(seat());
        assert_eq!(s.resume(&other.token, 0).unwrap_err(), Rejected::Forged);
        s.detach(&a.session, a.generation);
        assert_eq!(s.resume(&a.token, 0).unwrap_err(), Rejected::Expired);
        s.sweep();
        assert_eq!(s.counts(), (0, 0));
    }
}

#[cfg(test)]
mod takeover {
    use super::tests::seat;
    use super::*;

    #[test]
    fn a_session_gives_back_its_seat_when_it_ends_or_expires() {
        use crate::admission::seats::{Acquire, Seats};
        let seats = Seats::new(2, 0);
        let take = || match seats.acquire() {
            Acquire::Seat(s) => s,
            _ => panic!("a free seat"),
        };
        let s = Sessions::new(
            Key::generate(),
            VoiceConfig {
                resume_ttl: std::time::Duration::ZERO,
                ..VoiceConfig::default()
            },
        );
        let a = s.create(take());
        let b = s.create(take());
        assert_eq!(seats.counts(), (2, 0));
        s.end(&a.session, a.generation);
        assert_eq!(seats.counts(), (1, 0), "an ended session frees its seat");
        s.detach(&b.session, b.generation);
        assert_eq!(seats.counts(), (1, 0), "a dropped one holds it");
        s.sweep();
        assert_eq!(seats.counts(), (0, 0), "until it expires");
    }

    #[test]
    fn a_resume_takes_the_session_from_a_connection_that_has_not_noticed() {
        let s = Sessions::new(Key::generate(), VoiceConfig::default());
        let a = s.create(seat());
        let b = s.resume(&a.token, 0).unwrap();
        assert!(b.resumed);
        assert!(a.kick.is_cancelled(), "the old connection is told");
        let session = a.session.lock().unwrap();
        assert!(!session.held_by(a.generation) && session.held_by(b.generation));
        drop(session);
        // The old connection's ending changes nothing for the new one.
        s.detach(&a.session, a.generation);
        s.end(&a.session, a.generation);
        assert_eq!(s.counts(), (1, 0));
    }
}
