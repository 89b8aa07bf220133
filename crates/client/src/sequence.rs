//! The one gap and duplicate checker every consumer shares (probe, smoke,
//! chaos, the voice probe): numbers that should rise by one, as a
//! consumer receives them.

/// How a number compares with the one expected next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// The one expected (or the first).
    Next,
    /// Later than expected: this many numbers were skipped.
    Gap(u64),
    /// Not above the last one taken: a duplicate, or out of order.
    Repeat,
}

/// Follows a rising sequence (SSE `seq`, a voice frame's index).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequence {
    next: Option<u64>,
}

impl Sequence {
    /// A sequence whose last number was `seq` (a `hello`'s seq, a resume's
    /// Last-Event-ID).
    pub fn after(seq: u64) -> Sequence {
        Sequence {
            next: seq.checked_add(1),
        }
    }

    /// A sequence whose first number is `first`.
    pub fn starting_at(first: u64) -> Sequence {
        Sequence { next: Some(first) }
    }

    /// Takes `n`; a repeat leaves the sequence where it was.
    pub fn see(&mut self, n: u64) -> Seen {
        let seen = match self.next {
            None => Seen::Next,
            Some(next) if n < next => return Seen::Repeat,
            Some(next) if n == next => Seen::Next,
            Some(next) => Seen::Gap(n - next),
        };
        self.next = n.checked_add(1);
        seen
    }

    /// The last number taken, if any.
    pub fn last(&self) -> Option<u64> {
        self.next.and_then(|n| n.checked_sub(1))
    }

    /// Missing and repeated numbers of `ns` after `from`.
    pub fn count(from: u64, ns: impl IntoIterator<Item = u64>) -> (u64, u64) {
        let mut sequence = Sequence::after(from);
        ns.into_iter()
            .fold((0, 0), |(missing, repeated), n| match sequence.see(n) {
                Seen::Next => (missing, repeated),
                Seen::Gap(k) => (missing + k, repeated),
                Seen::Repeat => (missing, repeated + 1),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_missing_and_repeated() {
        assert_eq!(Sequence::count(10, [11, 12, 13]), (0, 0));
        assert_eq!(Sequence::count(10, [11, 13, 14]), (1, 0));
        assert_eq!(Sequence::count(10, [12, 12, 15]), (3, 1));
        assert_eq!(Sequence::count(10, [9]), (0, 1));
    }

    #[test]
    fn the_first_number_starts_an_empty_sequence() {
        let mut s = Sequence::default();
        assert_eq!(s.last(), None);
        assert_eq!(s.see(7), Seen::Next);
        assert_eq!(s.see(9), Seen::Gap(1));
        assert_eq!(s.see(8), Seen::Repeat);
        assert_eq!(s.last(), Some(9));
        let mut frames = Sequence::starting_at(0);
        assert_eq!(frames.see(2), Seen::Gap(2));
        assert_eq!(frames.last(), Some(2));
    }
}
