//! The hub to and from its saved state (`serve --state-dir`; the file
//! format is [`crate::state`]).

use std::sync::Arc;

use super::{Hub, HubConfig, Inner, PublishError, RingEntry, Series};
use crate::state_file::{EventState, SavedState, SeriesState};
use crate::symbol;

impl Hub {
    /// Everything a restart needs to continue this epoch (see
    /// [`crate::state`]); `None` while a replay runs, whose events
    /// are not the live history's.
    pub fn snapshot(&self, source: &str, origin: i64) -> Option<SavedState> {
        let _writer = self.writer();
        let inner = self.lock();
        inner
            .stashed
            .is_empty()
            .then(|| state_of(&inner, source, origin))
    }

    /// The live side of [`Hub::snapshot`], a replay or not: replayed
    /// symbols as they stand set aside, no ring and no boundary (what a bus
    /// producer taking over continues from).
    pub fn live_snapshot(&self, source: &str, origin: i64) -> SavedState {
        let _writer = self.writer();
        let inner = self.lock();
        let mut state = state_of(&inner, source, origin);
        for (i, live) in &inner.stashed {
            state.series[*i as usize] = series_state(live);
        }
        state.ring.clear();
        state.boundary = None;
        state
    }

    /// A hub that continues a saved state: its epoch, seq, ring and history.
    pub fn restore(config: HubConfig, state: SavedState) -> Result<Arc<Hub>, PublishError> {
        let mut inner = Inner::new(&config);
        for s in state.series {
            if inner.series.len() >= config.max_symbols {
                return Err(PublishError::TooManySymbols(config.max_symbols));
            }
            symbol::check(&s.name)?;
            let name: Arc<str> = Arc::from(s.name.as_str());
            let i = inner.series.len() as u32;
            inner.series.push(Series::restore(
                name.clone(),
                config.retain,
                s.finals,
                s.forming,
            ));
            inner.subscribers.push(Default::default());
            inner.index.insert(name, i);
        }
        for e in state.ring {
            inner.ring.push(RingEntry {
                seq: e.seq,
                symbol: e.symbol,
                frames: e.frames,
                finals: e.finals,
            });
        }
        inner.head = state.head;
        inner.boundary = state.boundary;
        Ok(Hub::build(config, state.epoch, inner))
    }
}

fn series_state(s: &Series) -> SeriesState {
    SeriesState {
        name: s.name.to_string(),
        finals: s.finals().to_vec(),
        forming: s.forming(),
    }
}

fn state_of(inner: &Inner, source: &str, origin: i64) -> SavedState {
    SavedState {
        source: source.to_string(),
        origin,
        epoch: inner.epoch.to_string(),
        head: inner.head,
        boundary: inner.boundary,
        series: inner.series.iter().map(series_state).collect(),
        ring: inner
            .ring
            .after(0)
            .map(|e| EventState {
                seq: e.seq,
                symbol: e.symbol,
                finals: e.finals,
                frames: e.frames.clone(),
            })
            .collect(),
    }
}
