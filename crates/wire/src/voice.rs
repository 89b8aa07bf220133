//! The voice WebSocket's control messages and close codes, shared by the
//! server (`/voice/ws`) and every client (`probe voice`, `bench voice`).
//!
//! Text frames are JSON control messages, binary frames are audio. Every
//! server message after `hello` takes the next number of the session's
//! outbound sequence: text messages carry it as `seq`, binary frames are
//! counted. `hello.seq` is the number of the last message before the ones
//! that follow it, so a client counts on from there.

use serde::{Deserialize, Serialize};

/// Close codes of the voice WebSocket.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect.
    pub const GOING_AWAY: u16 = 1001;
    /// Auth or policy: do not reconnect.
    pub const POLICY: u16 = 1008;
    /// A frame over the size limit: do not reconnect with it.
    pub const TOO_BIG: u16 = 1009;
    /// The server failed: reconnect.
    pub const INTERNAL: u16 = 1011;
    /// Try again later (capacity, drain), with a retry hint in the reason.
    pub const TRY_AGAIN: u16 = 1013;
    /// Closed for falling too far behind: reconnect (and resume).
    pub const SLOW: u16 = 4008;
    /// Closed after hearing nothing for too long: reconnect.
    pub const IDLE: u16 = 4408;

    /// Whether a client should come back after this close code.
    pub fn reconnect(code: u16) -> bool {
        !matches!(code, NORMAL | POLICY | TOO_BIG)
    }
}

/// What the server sends as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
pub enum ServerMessage {
    /// First message of every connection.
    Hello {
        /// Session id.
        session: String,
        /// Single-use token to resume this session (`?resume=TOKEN&last=N`).
        resume_token: String,
        /// Server ping interval.
        heartbeat_ms: u64,
        /// Whether an earlier session continues.
        resumed: bool,
        /// Client messages the session has received in all: re-send the rest.
        received: u64,
        /// Messages replayed after this hello.
        replayed: u64,
        /// Messages after the client's `last` that fell out of the window.
        lost: u64,
        /// The seq of the last message before the ones that follow.
        seq: u64,
    },
    /// Answer to the text keepalive `{"type":"ping"}`.
    Pong {
        /// Outbound seq.
        seq: u64,
    },
    /// Answer to a tool call.
    ToolResult {
        /// The call's id.
        id: String,
        /// Whether the tool succeeded.
        ok: bool,
        /// Its result, when `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<serde_json::Value>,
        /// What went wrong, when not `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Outbound seq.
        seq: u64,
    },
    /// An error in band: the connection stays.
    Error {
        /// Machine-readable code (`bad_message`, `unknown_type`, `resume_rejected`, …).
        code: String,
        /// For a person.
        message: String,
        /// The `id` of the client message that caused it.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// When to try again, ms (`at_capacity`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_ms: Option<u64>,
        /// Outbound seq (0 before `hello`).
        seq: u64,
    },
    /// The upstream relay went down or came back.
    Upstream {
        /// `down` or `up`.
        state: String,
        /// Outbound seq.
        seq: u64,
    },
    /// Before `hello`, while the server is at capacity: the connection's
    /// place in the queue (1 = next), sent again whenever it changes.
    /// Not numbered (`seq` 0).
    Queued {
        /// 1-based place.
        position: u64,
        /// Estimated wait, ms.
        eta_ms: u64,
    },
    /// The server is draining: a queued connection is dismissed (close
    /// 1013 follows) and should try again later or elsewhere. Not numbered.
    Draining {
        /// When to try again, ms.
        retry_ms: u64,
    },
}

impl ServerMessage {
    /// The outbound seq the message carries.
    pub fn seq(&self) -> u64 {
        match self {
            ServerMessage::Hello { seq, .. }
            | ServerMessage::Pong { seq }
            | ServerMessage::ToolResult { seq, .. }
            | ServerMessage::Error { seq, .. }
            | ServerMessage::Upstream { seq, .. } => *seq,
            ServerMessage::Queued { .. } | ServerMessage::Draining { .. } => 0,
        }
    }
}

/// What a client sends as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Keepalive (browsers cannot send ping frames): answered `pong`.
    Ping {
        /// Optional id, echoed in errors.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// A tool call: `get_quote {symbol}`, `get_bars {symbol, timeframe,
    /// limit}`, `replay_status {}`.
    Tool {
        /// Call id, echoed in the result.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        #[serde(default)]
        args: serde_json::Value,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_have_the_documented_shape() {
        let hello = ServerMessage::Hello {
            session: "s".into(),
            resume_token: "t".into(),
            heartbeat_ms: 5000,
            resumed: false,
            received: 0,
            replayed: 0,
            lost: 0,
            seq: 0,
        };
        let v = serde_json::to_value(&hello).unwrap();
        assert_eq!(v["type"], "hello");
        assert_eq!(v["resumeToken"], "t");
        assert_eq!(v["heartbeatMs"], 5000);
        let err = ServerMessage::Error {
            code: "bad_message".into(),
            message: "m".into(),
            reference: Some("7".into()),
            retry_ms: None,
            seq: 3,
        };
        assert_eq!(serde_json::to_value(&err).unwrap()["ref"], "7");
        let queued = ServerMessage::Queued {
            position: 2,
            eta_ms: 30_000,
        };
        assert_eq!(
            serde_json::to_string(&queued).unwrap(),
            r#"{"type":"queued","position":2,"etaMs":30000}"#
        );
        let draining = ServerMessage::Draining { retry_ms: 5000 };
        assert_eq!(
            serde_json::to_string(&draining).unwrap(),
            r#"{"type":"draining","retryMs":5000}"#
        );
        let tool: ClientMessage = serde_json::from_str(
            r#"{"type":"tool","id":"1","name":"get_quote","args":{"symbol":"SPY"}}"#,
        )
        .unwrap();
        assert!(matches!(tool, ClientMessage::Tool { .. }));
        assert!(close::reconnect(close::IDLE) && !close::reconnect(close::POLICY));
    }
}
