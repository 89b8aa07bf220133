//! The hub to and from its saved state (`serve --state-dir`; the file
//! format is [`crate::market::state`]).

use std::sync::Arc;

use super::{Hub, HubConfig, Inner, PublishError, RingEntry, Series};
use crate::market::state::{EventState, SeriesState, State};
use crate::market::symbol;

impl Hub {
    /// Everything a restart needs to continue this epoch (see
    /// [`crate::market::state`]); `None` while a replay runs, whose events
    /// are not the live history's.
    pub fn snapshot(&self, source: &str, origin: i64) -> Option<State> {
        let _writer = self.writer();
        let inner = self.lock();
        if !inner.stashed.is_empty() {
            return None;
        }
        Some(State {
            source: source.to_string(),
            origin,
            epoch: inner.epoch.to_string(),
            head: inner.head,
            boundary: inner.boundary,
            series: inner
                .series
                .iter()
                .map(|s| SeriesState {
                    name: s.name.to_string(),
                    finals: s.finals().to_vec(),
                    forming: s.forming(),
                })
                .collect(),
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
        })
    }

    /// A hub that continues a saved state: its epoch, seq, ring and history.
    pub fn restore(config: HubConfig, state: State) -> Result<Arc<Hub>, PublishError> {
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
