//! What can be asked of a market besides reading it: publish a batch of
//! bars, drive the replay. A command runs here ([`Command::run`]) or, on a
//! bus, travels as JSON to the producer and runs there — the same command,
//! the same answer, the same refusals.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::hub::PublishError;
use crate::replay::{ReplayError, Replayer, StartRequest};
use crate::Bar;
use crate::Hub;
use spotlight_wire::{IngestResult, ReplayStatus};

/// One write to a market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Command {
    /// Publish every bar, or none when one is refused.
    Publish {
        /// The batch, in order.
        bars: Vec<Bar>,
    },
    /// Start a replay.
    ReplayStart(StartRequest),
    /// Stop the replay.
    ReplayStop,
    /// Pause the replay.
    ReplayPause,
    /// Resume a paused replay.
    ReplayResume,
    /// Change the replay's speed.
    ReplaySpeed {
        /// The new speed.
        speed: f64,
    },
    /// The replay's status (a read, but the producer's: it runs the replay).
    ReplayStatus,
}

/// What a command did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Done {
    /// The batch was published.
    Published(IngestResult),
    /// The replay's status after the command.
    Replay(ReplayStatus),
}

/// Why a command was refused (nothing of it applied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// A bar of the batch was refused.
    #[error("bar {}: {message}", index + 1)]
    Bar {
        /// 0-based index of the first bad bar.
        index: usize,
        /// Refused because the market holds as many symbols as it may.
        full: bool,
        /// Why.
        message: String,
    },
    /// Replay control the replay's state does not allow.
    #[error("{0}")]
    WrongState(String),
    /// A bad replay parameter.
    #[error("{0}")]
    BadRequest(String),
}

impl From<ReplayError> for Refused {
    fn from(e: ReplayError) -> Refused {
        match e {
            ReplayError::WrongState(m) => Refused::WrongState(m),
            ReplayError::BadRequest(m) => Refused::BadRequest(m),
        }
    }
}

impl Command {
    /// Runs the command on `hub` and `replayer`.
    pub fn run(self, hub: &Hub, replayer: &Arc<Replayer>) -> Result<Done, Refused> {
        let replay = |r: Result<ReplayStatus, ReplayError>| Ok(Done::Replay(r?));
        match self {
            Command::Publish { bars } => {
                let head_seq = hub.publish_batch(&bars).map_err(|e| Refused::Bar {
                    index: e.index,
                    full: matches!(e.error, PublishError::TooManySymbols(_)),
                    message: e.error.to_string(),
                })?;
                Ok(Done::Published(IngestResult {
                    accepted: bars.len(),
                    head_seq,
                }))
            }
            Command::ReplayStart(request) => replay(replayer.start(request)),
            Command::ReplayStop => replay(replayer.stop()),
            Command::ReplayPause => replay(replayer.pause()),
            Command::ReplayResume => replay(replayer.resume()),
            Command::ReplaySpeed { speed } => replay(replayer.set_speed(speed)),
            Command::ReplayStatus => Ok(Done::Replay(replayer.status())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubConfig;

    #[test]
    fn a_command_survives_its_trip_as_json() {
        let commands = [
            Command::ReplayStart(StartRequest {
                symbols: Some(vec!["SPY".into()]),
                from: Some(1),
                to: None,
                speed: Some(4.0),
            }),
            Command::ReplaySpeed { speed: 2.5 },
            Command::ReplayStatus,
        ];
        for command in commands {
            let json = serde_json::to_string(&command).unwrap();
            assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), command);
        }
    }

    #[test]
    fn a_refused_batch_names_its_bar_and_whether_the_market_is_full() {
        let hub = Hub::new(HubConfig {
            max_symbols: 1,
            ..HubConfig::default()
        });
        let replayer = Replayer::new(hub.clone(), Default::default());
        let bar = |symbol: &str| {
            serde_json::from_value::<Bar>(serde_json::json!({
                "symbol": symbol, "tf": "1m", "t": 60_000, "o": 1.0, "h": 1.0,
                "l": 1.0, "c": 1.0, "v": 1, "final": true
            }))
            .unwrap()
        };
        let refused = Command::Publish {
            bars: vec![bar("AAA"), bar("BBB")],
        }
        .run(&hub, &replayer)
        .unwrap_err();
        assert!(
            matches!(
                refused,
                Refused::Bar {
                    index: 1,
                    full: true,
                    ..
                }
            ),
            "{refused:?}"
        );
        let done = Command::Publish {
            bars: vec![bar("AAA")],
        }
        .run(&hub, &replayer)
        .unwrap();
        assert_eq!(
            done,
            Done::Published(IngestResult {
                accepted: 1,
                head_seq: 1
            })
        );
        let json = serde_json::to_string(&Err::<Done, _>(refused.clone())).unwrap();
        assert_eq!(
            serde_json::from_str::<Result<Done, Refused>>(&json).unwrap(),
            Err(refused)
        );
    }
}
