//! The market the handlers talk to: this instance's own hub and replayer,
//! or — with `--bus` — the hub it serves from, its writes forwarded to the
//! producer and resumes older than its ring read from the shared log. The
//! one place that knows which: no handler asks whether a bus is set.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;

use super::bus::Bus;
use super::error::ApiError;
use super::sse::StreamRequest;
use super::AppState;
use spotlight_market::command::{Command, Done, Refused};
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
    /// Runs `command`: here, or on the bus by the producer. The outer
    /// error: it could not be run (no producer answered); the inner: it
    /// was refused.
    pub async fn run(&self, command: Command) -> Result<Result<Done, Refused>, ApiError> {
        match self {
            Market::Local(state) => Ok(command.run(&state.hub, &state.replay)),
            Market::Shared(_, bus) => bus.forward(command).await,
        }
    }

    /// Runs `command` and answers with what it did as JSON.
    pub async fn answer(&self, command: Command) -> Result<Response, ApiError> {
        Ok(respond(self.run(command).await??))
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

/// What a command did, as the JSON the route answers.
pub(crate) fn respond(done: Done) -> Response {
    match done {
        Done::Published(result) => Json(result).into_response(),
        Done::Replay(status) => Json(status).into_response(),
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> ApiError {
        match refused {
            Refused::Bar {
                full: true,
                message,
                ..
            } => ApiError::new(StatusCode::CONFLICT, "too_many_symbols", message),
            Refused::Bar { message, .. } | Refused::BadRequest(message) => {
                ApiError::bad_request(message)
            }
            Refused::WrongState(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        }
    }
}
