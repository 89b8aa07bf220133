//! Voice seats: at most `capacity` sessions at once, a first-come,
//! first-served queue for the rest with positions and an ETA, and the seat
//! of a dropped session held until it resumes or expires (so a resume
//! never waits behind new sessions).
//!
//! The ETA of position k is k × (mean session duration ÷ capacity): with c
//! seats each held D on average, one frees every D/c. D is an exponential
//! moving average (weight 0.2) of the sessions that ended, seeded with
//! [`DEFAULT_SESSION`] until the first one does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use spotlight_wire::{KindAdmission, QueuedClient};

/// The session duration the ETA assumes before any session has ended.
pub const DEFAULT_SESSION: Duration = Duration::from_secs(60);
/// Weight of the newest session in the duration average.
const EWMA_WEIGHT: f64 = 0.2;

/// Where a queued connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Waiting at `position` (1 = next), about `eta_ms` from a seat.
    Waiting {
        /// 1-based place in the queue.
        position: usize,
        /// Estimated wait, ms.
        eta_ms: u64,
    },
    /// A seat is taken for it: [`Queued::seat`] hands it over.
    Admitted,
    /// The server is draining: the queue is dismissed.
    Draining,
}

/// The seats of one kind of session, with their queue.
#[derive(Debug)]
pub struct Seats {
    capacity: usize,
    queue_max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    in_use: usize,
    queue: VecDeque<Waiter>,
    next_id: u64,
    mean_session: Duration,
    ended: u64,
    dismissed: bool,
}

#[derive(Debug)]
struct Waiter {
    id: u64,
    since: Instant,
    place: watch::Sender<Place>,
}

/// The outcome of asking for a seat.
#[derive(Debug)]
pub enum Acquire {
    /// Seated now.
    Seat(Seat),
    /// In the queue.
    Queued(Queued),
    /// The queue is full.
    Full,
    /// The server is draining: nothing new is seated or queued.
    Draining,
}

/// A seat held until dropped; its holding time feeds the ETA.
#[derive(Debug)]
pub struct Seat {
    seats: Arc<Seats>,
    since: Instant,
}

impl Drop for Seat {
    fn drop(&mut self) {
        self.seats.release(self.since.elapsed());
    }
}

/// A place in the queue; dropping it leaves the queue at once (or gives
/// back a seat taken for it and not claimed).
#[derive(Debug)]
pub struct Queued {
    seats: Arc<Seats>,
    id: u64,
    since: Instant,
    place: watch::Receiver<Place>,
    seated: bool,
}

impl Queued {
    /// Where it stands now.
    pub fn place(&self) -> Place {
        *self.place.borrow()
    }

    /// Waits until its place changes (never returns when it cannot).
    pub async fn changed(&mut self) -> Place {
        if self.place.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
        *self.place.borrow_and_update()
    }

    /// How long it has waited.
    pub fn waited(&self) -> Duration {
        self.since.elapsed()
    }

    /// The seat taken for it, once its place is [`Place::Admitted`].
    pub fn seat(mut self) -> Option<Seat> {
        (self.place() == Place::Admitted).then(|| {
            self.seated = true;
            Seat {
                seats: self.seats.clone(),
                since: Instant::now(),
            }
        })
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        if !self.seated {
            self.seats.leave(self.id, &self.place);
        }
    }
}

impl Seats {
    /// `capacity` seats (0: unlimited) and a queue of at most `queue_max`.
    pub fn new(capacity: usize, queue_max: usize) -> Arc<Seats> {
        Arc::new(Seats {
            capacity,
            queue_max,
            inner: Mutex::new(Inner {
                in_use: 0,
                queue: VecDeque::new(),
                next_id: 0,
                mean_session: DEFAULT_SESSION,
                ended: 0,
                dismissed: false,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Seats in all (0: unlimited).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `(seats taken, waiting)`.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.in_use, inner.queue.len())
    }

    fn eta(&self, inner: &Inner, position: usize) -> u64 {
        let per_seat = inner.mean_session.as_millis() as u64 / self.capacity.max(1) as u64;
        per_seat * position as u64
    }

    /// A seat now, a place in the queue, `Full`, or `Draining`. Seats go
    /// to the queue first: nobody is seated past a waiting connection.
    pub fn acquire(self: &Arc<Self>) -> Acquire {
        let mut inner = self.lock();
        if inner.dismissed {
            return Acquire::Draining;
        }
        if self.capacity == 0 || (inner.in_use < self.capacity && inner.queue.is_empty()) {
            inner.in_use += 1;
            return Acquire::Seat(Seat {
                seats: self.clone(),
                since: Instant::now(),
            });
        }
        if inner.queue.len() >= self.queue_max {
            return Acquire::Full;
        }
        let position = inner.queue.len() + 1;
        let (tx, rx) = watch::channel(Place::Waiting {
            position,
            eta_ms: self.eta(&inner, position),
        });
        let id = inner.next_id;
        inner.next_id += 1;
        let since = Instant::now();
        inner.queue.push_back(Waiter {
            id,
            since,
            place: tx,
        });
        Acquire::Queued(Queued {
            seats: self.clone(),
            id,
            since,
            place: rx,
            seated: false,
        })
    }

    /// A seat held this long is free again.
    fn release(&self, held: Duration) {
        let mut inner = self.lock();
        let mean = inner.mean_session.as_secs_f64();
        let next = if inner.ended == 0 {
            held.as_secs_f64()
        } else {
            mean + EWMA_WEIGHT * (held.as_secs_f64() - mean)
        };
        inner.mean_session = Duration::from_secs_f64(next);
        inner.ended += 1;
        inner.in_use = inner.in_use.saturating_sub(1);
        self.seat_waiters(&mut inner);
    }

    /// A waiter goes away: out of the queue (the ones behind it move up),
    /// or, when a seat was taken for it and not claimed, the seat goes to
    /// the next. Decided under the lock, so a seat given at the same moment
    /// is never lost.
    fn leave(&self, id: u64, place: &watch::Receiver<Place>) {
        let mut inner = self.lock();
        if let Some(i) = inner.queue.iter().position(|w| w.id == id) {
            inner.queue.remove(i);
            self.renumber(&inner, i);
        } else if *place.borrow() == Place::Admitted {
            inner.in_use = inner.in_use.saturating_sub(1);
            self.seat_waiters(&mut inner);
        }
    }

    /// Seats the head of the queue while seats are free, then tells
    /// everyone behind their new place.
    fn seat_waiters(&self, inner: &mut Inner) {
        let mut moved = false;
        while inner.in_use < self.capacity {
            let Some(w) = inner.queue.pop_front() else {
                break;
            };
            inner.in_use += 1;
            let _ = w.place.send(Place::Admitted);
            moved = true;
        }
        if moved {
            self.renumber(inner, 0);
        }
    }

    /// Tells the waiters from index `from` on their (new) place.
    fn renumber(&self, inner: &Inner, from: usize) {
        for (i, w) in inner.queue.iter().enumerate().skip(from) {
            let place = Place::Waiting {
                position: i + 1,
                eta_ms: self.eta(inner, i + 1),
            };
            w.place.send_if_modified(|p| {
                let changed = *p != place;
                *p = place;
                changed
            });
        }
    }

    /// Draining: every waiter is told to go, and nobody new is queued
    /// (seats still go to resumes and, when drain mode ends, to new ones).
    pub fn dismiss(&self, on: bool) {
        let mut inner = self.lock();
        inner.dismissed = on;
        if on {
            for w in inner.queue.drain(..) {
                let _ = w.place.send(Place::Draining);
            }
        }
    }

    /// When a refused connection should try again, ms: the ETA of the
    /// place after the last in the queue.
    pub fn retry_hint_ms(&self) -> u64 {
        let inner = self.lock();
        self.eta(&inner, inner.queue.len() + 1)
    }

    /// The operator's view (the decision counts are the metrics').
    pub fn view(&self) -> KindAdmission {
        let inner = self.lock();
        KindAdmission {
            capacity: self.capacity as u64,
            in_use: inner.in_use as u64,
            utilization: utilization(inner.in_use, self.capacity),
            queue_max: self.queue_max as u64,
            queue: inner
                .queue
                .iter()
                .enumerate()
                .map(|(i, w)| QueuedClient {
                    position: i as u64 + 1,
                    waited_ms: w.since.elapsed().as_millis() as u64,
                    eta_ms: self.eta(&inner, i + 1),
                })
                .collect(),
            mean_session_ms: Some(inner.mean_session.as_millis() as u64),
            ..KindAdmission::default()
        }
    }
}

/// `in_use / capacity`, 0 when unlimited.
pub fn utilization(in_use: usize, capacity: usize) -> f64 {
    if capacity == 0 {
        0.0
    } else {
        in_use as f64 / capacity as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(a: Acquire) -> Seat {
        match a {
            Acquire::Seat(s) => s,
            other => panic!("expected a seat, got {other:?}"),
        }
    }

    fn queued(a: Acquire) -> Queued {
        match a {
            Acquire::Queued(q) => q,
            other => panic!("expected a place in the queue, got {other:?}"),
        }
    }

    fn position(q: &Queued) -> usize {
        match q.place() {
            Place::Waiting { position, .. } => position,
            other => panic!("expected to be waiting, got {other:?}"),
        }
    }

    #[test]
    fn beyond_capacity_waiters_queue_in_order_and_move_up() {
        let seats = Seats::new(2, 10);
        let a = seat(seats.acquire());
        let _b = seat(seats.acquire());
        let c = queued(seats.acquire());
        let d = queued(seats.acquire());
        let e = queued(seats.acquire());
        assert_eq!((position(&c), position(&d), position(&e)), (1, 2, 3));
        drop(d);
        assert_eq!(position(&e), 2, "a waiter leaving moves the others up");
        drop(a);
        assert_eq!(c.place(), Place::Admitted);
        assert_eq!(position(&e), 1);
        let _c = c.seat().expect("admitted");
        assert_eq!(seats.counts(), (2, 1));
    }

    #[test]
    fn the_queue_is_bounded_and_dismissed_when_draining() {
        let seats = Seats::new(1, 1);
        let _a = seat(seats.acquire());
        let b = queued(seats.acquire());
        assert!(matches!(seats.acquire(), Acquire::Full));
        seats.dismiss(true);
        assert_eq!(b.place(), Place::Draining);
        assert!(matches!(seats.acquire(), Acquire::Draining));
        seats.dismiss(false);
        let _c = queued(seats.acquire());
    }

    #[test]
    fn a_seat_taken_for_a_waiter_that_left_goes_to_the_next() {
        let seats = Seats::new(1, 10);
        let a = seat(seats.acquire());
        let b = queued(seats.acquire());
        let c = queued(seats.acquire());
        drop(a);
        assert_eq!(b.place(), Place::Admitted);
        drop(b);
        assert_eq!(c.place(), Place::Admitted);
        assert_eq!(seats.counts(), (1, 0));
    }

    #[test]
    fn a_waiter_seated_while_it_leaves_gives_the_seat_back() {
        let seats = Seats::new(1, 10);
        let a = seat(seats.acquire());
        let b = queued(seats.acquire());
        // b is seated between reading its place and leaving: `leave` must
        // see that under the lock.
        let stale = b.place.clone();
        drop(a);
        seats.leave(b.id, &stale);
        std::mem::forget(b);
        assert_eq!(seats.counts(), (0, 0));
        let _c = seat(seats.acquire());
    }

    #[test]
    fn the_eta_follows_measured_session_durations() {
        let seats = Seats::new(2, 10);
        let mut a = seat(seats.acquire());
        let mut b = seat(seats.acquire());
        let c = queued(seats.acquire());
        let d = queued(seats.acquire());
        let per_seat = DEFAULT_SESSION.as_millis() as u64 / 2;
        assert_eq!(
            c.place(),
            Place::Waiting {
                position: 1,
                eta_ms: per_seat
            }
        );
        assert_eq!(
            d.place(),
            Place::Waiting {
                position: 2,
                eta_ms: 2 * per_seat
            }
        );
        a.since -= Duration::from_secs(10);
        drop(a);
        assert_eq!(seats.view().mean_session_ms, Some(10_000));
        assert_eq!(
            d.place(),
            Place::Waiting {
                position: 1,
                eta_ms: 5_000
            }
        );
        b.since -= Duration::from_secs(20);
        drop(b);
        assert_eq!(seats.view().mean_session_ms, Some(12_000));
    }

    #[test]
    fn without_a_capacity_everyone_is_seated() {
        let seats = Seats::new(0, 0);
        let held: Vec<Seat> = (0..100).map(|_| seat(seats.acquire())).collect();
        assert_eq!(seats.counts(), (100, 0));
        drop(held);
        assert_eq!(seats.counts(), (0, 0));
    }
}
