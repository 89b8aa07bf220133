//! `serve --state-dir`: what a graceful shutdown saves, and the restore at
//! start (the file format is `market::state_file`).

use std::path::PathBuf;
use std::sync::Arc;

use spotlight_market::{Hub, HubConfig};

/// What a graceful shutdown saves, and where (`--state-dir`).
pub(super) struct Saver {
    pub(super) dir: PathBuf,
    pub(super) hub: Arc<Hub>,
    pub(super) source: String,
    pub(super) origin: i64,
}

impl Saver {
    pub(super) fn save(&self) {
        let t = std::time::Instant::now();
        let Some(state) = self.hub.snapshot(&self.source, self.origin) else {
            tracing::warn!(
                "a replay is running: state not saved; clients will get a reset after the restart"
            );
            return;
        };
        let events = state.ring.len();
        match spotlight_market::state_file::save(&self.dir, &state) {
            Ok(bytes) => tracing::info!(
                dir = %self.dir.display(),
                epoch = %state.epoch,
                seq = state.head,
                events,
                mib = format!("{:.1}", bytes as f64 / (1 << 20) as f64),
                ms = t.elapsed().as_millis() as u64,
                "state saved"
            ),
            Err(e) => {
                tracing::error!(error = %e, "state not saved; clients will get a reset after the restart")
            }
        }
    }
}

/// The hub saved in `dir` for this source, and the source's origin; `None`
/// (a new epoch) when there is none or it cannot be used, said in one line.
pub(super) fn restore(
    dir: &std::path::Path,
    source: &str,
    config: &HubConfig,
) -> Option<(Arc<Hub>, i64)> {
    use spotlight_market::state_file::{self, StateError};
    let t = std::time::Instant::now();
    let state = match state_file::load(dir, source) {
        Ok(s) => s,
        Err(StateError::Missing(path)) => {
            tracing::info!(file = %path.display(), "no saved state: a new epoch");
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "saved state not used: a new epoch (clients will get a reset)");
            return None;
        }
    };
    // Used once: a crash after this start must not bring back this older
    // position (its seqs would run backwards for clients that saw more).
    let path = dir.join(state_file::FILE_NAME);
    if let Err(e) = std::fs::remove_file(&path) {
        tracing::warn!(file = %path.display(), error = %e, "saved state not used: it cannot be removed after loading, so a crash could bring it back; a new epoch");
        return None;
    }
    let (epoch, head, events, origin) = (
        state.epoch.clone(),
        state.head,
        state.ring.len(),
        state.origin,
    );
    match Hub::restore(config.clone(), state) {
        Ok(hub) => {
            tracing::info!(%epoch, seq = head, events, ms = t.elapsed().as_millis() as u64, "state restored: continuing the epoch");
            Some((hub, origin))
        }
        Err(e) => {
            tracing::warn!(error = %e, "saved state not used: a new epoch (clients will get a reset)");
            None
        }
    }
}
