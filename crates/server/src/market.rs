//! The market the handlers talk to: this instance's own hub and replayer,
//! or — with `--bus` — the hub it serves from, its writes forwarded to the
//! producer and resumes older than its ring read from the shared log. The
//! one place that knows which: no handler asks whether a bus is set.

use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;

use super::bus::Bus;
use super::error::ApiError;
use super::sse::StreamRequest;
use super::{ingest, replay, AppState};
use spotlight_wire::{DiagBus, ReplayStatus};

/// A server's market, local or shared through the bus.
pub enum Market<'a> {
    /// This process's hub and replayer.
    Local(&'a AppState),
    /// An instance on the bus: the producer publishes and replays.
    Shared(&'a AppState, &'a Bus),
}

impl AppState {
    /// The market this server serves.
    pub fn market(&self) -> Market<'_> {
        match &self.bus {
            Some(bus) => Market::Shared(self, bus),
            None => Market::Local(self),
        }
    }

    /// The replay's status (what diag and the voice tool show).
    pub fn replay_status(&self) -> ReplayStatus {
        self.market().replay_status()
    }
}

impl Market<'_> {
    /// Publishes the bars of an NDJSON body, all or none.
    pub async fn ingest(&self, text: &str) -> Result<Response, ApiError> {
        match self {
            Market::Local(state) => Ok(Json(ingest::publish(&state.hub, text)?).into_response()),
            Market::Shared(_, bus) => bus.forward("ingest", text).await,
        }
    }

    /// Replay control `op` with its body. On the bus a start is checked
    /// here first, so a bad request never travels to the producer.
    pub async fn replay(&self, op: &str, raw: &[u8]) -> Result<Response, ApiError> {
        match self {
            Market::Local(state) => {
                Ok(Json(replay::control(&state.replay, op, raw)?).into_response())
            }
            Market::Shared(_, bus) => {
                if op == "replay_start" {
                    replay::start_request(raw)?;
                }
                bus.forward(op, &String::from_utf8_lossy(raw)).await
            }
        }
    }

    /// What a stream resuming from before this instance's ring is served
    /// first: on the bus, the shared log's frames (after the serving hub
    /// has caught up to the request); locally, nothing.
    pub async fn backlog(&self, request: &mut StreamRequest) -> Option<Vec<Bytes>> {
        match self {
            Market::Local(_) => None,
            Market::Shared(state, bus) => {
                bus.catch_up_to(&state.hub, request).await;
                bus.backlog(&state.hub, request).await
            }
        }
    }

    /// Why the market keeps this instance from being ready, if it does.
    pub fn problem(&self) -> Option<String> {
        match self {
            Market::Local(_) => None,
            Market::Shared(_, bus) => bus.node.problem(bus.stall),
        }
    }

    /// The replay's status: this instance's, or on the bus the producer's
    /// as it last broadcast it.
    pub fn replay_status(&self) -> ReplayStatus {
        match self {
            Market::Local(state) => state.replay.status(),
            Market::Shared(state, bus) => {
                bus.node.replay().unwrap_or_else(|| state.replay.status())
            }
        }
    }

    /// The bus's part of diag (none locally).
    pub fn diag(&self) -> Option<DiagBus> {
        match self {
            Market::Local(_) => None,
            Market::Shared(_, bus) => Some(bus.diag()),
        }
    }

    /// Brings the bus's metrics up to date (nothing locally).
    pub fn refresh_metrics(&self) {
        if let Market::Shared(_, bus) = self {
            bus.refresh();
        }
    }
}
