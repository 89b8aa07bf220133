//! What the hub answers about itself without publishing: history, the
//! symbols' last prices, the lagging clients, the ring's size.

use super::*;

impl Hub {
    /// The `n` subscribers with the most events waiting, most first.
    pub fn lagging(&self, n: usize) -> Vec<ClientLag> {
        let clients: Vec<(u64, ClientInfo)> = self
            .lock()
            .clients
            .iter()
            .map(|(id, c)| (*id, c.clone()))
            .collect();
        let mut lags: Vec<ClientLag> = clients
            .into_iter()
            .map(|(id, c)| ClientLag {
                id,
                queued: c.queue.len(),
                conflated: c.queue.conflated(),
                connected_seconds: c.since.elapsed().as_secs_f64(),
                timeframe: c.tf,
                symbols: c.symbols,
            })
            .collect();
        lags.sort_by(|a, b| b.queued.cmp(&a.queued).then(b.conflated.cmp(&a.conflated)));
        lags.truncate(n);
        lags
    }

    /// Newest 1m bar time of every symbol, sorted by symbol.
    pub fn last_bar_times(&self) -> Vec<(String, Option<i64>)> {
        let inner = self.lock();
        let mut out: Vec<(String, Option<i64>)> = inner
            .series
            .iter()
            .map(|s| (s.name.to_string(), s.last().map(|c| c.t)))
            .collect();
        out.sort();
        out
    }

    /// The newest final 1m bar's time of `symbol` (`None`: no final bar,
    /// or no such symbol).
    pub fn last_final_t(&self, symbol: &str) -> Option<i64> {
        let inner = self.lock();
        let i = *inner.index.get(symbol)?;
        inner.series[i as usize].finals().last().map(|c| c.t)
    }

    /// Events the ring holds at most.
    pub fn ring_capacity(&self) -> usize {
        self.config.ring
    }

    /// Bytes of events the ring holds now.
    pub fn ring_bytes(&self) -> usize {
        self.lock().ring.bytes()
    }

    /// History of `symbol` at `tf`, consistent with the returned seq.
    pub fn history(
        &self,
        symbol: &str,
        tf: Timeframe,
        before: Option<i64>,
        limit: usize,
    ) -> Result<History, UnknownSymbol> {
        let inner = self.lock();
        let i = *inner
            .index
            .get(symbol)
            .ok_or_else(|| UnknownSymbol(symbol.to_string()))?;
        let series = &inner.series[i as usize];
        let bars = series
            .history(tf, before, limit)
            .into_iter()
            .map(|(c, fin)| Bar::new(series.name.clone(), tf, c, fin))
            .collect();
        Ok(History {
            symbol: symbol.to_string(),
            timeframe: tf,
            epoch: inner.epoch.to_string(),
            seq: inner.head,
            bars,
        })
    }

    /// Every symbol with data, with last price and change.
    pub fn symbols(&self) -> Vec<SymbolInfo> {
        let inner = self.lock();
        let mut out: Vec<SymbolInfo> = inner
            .series
            .iter()
            .filter_map(|s| {
                let last = s.last()?;
                let reference = s.reference()?;
                let change = ((last.c - reference) * 100.0).round() / 100.0;
                Some(SymbolInfo {
                    symbol: s.name.to_string(),
                    last: last.c,
                    reference,
                    change,
                    change_pct: ((last.c - reference) / reference * 10_000.0).round() / 100.0,
                    t: last.t,
                })
            })
            .collect();
        out.sort_by(|a, b| a.symbol.cmp(&b.symbol));
        out
    }
}
