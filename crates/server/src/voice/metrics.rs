//! The voice WebSocket's metrics.

use crate::metrics::must;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every voice metric.
#[derive(Debug, Clone)]
pub struct VoiceMetrics {
    /// Open voice connections.
    pub connections: IntGauge,
    /// Sessions started, by outcome: `new`, `resumed`, `rejected`.
    pub sessions: IntCounterVec,
    /// Messages, by direction (`in`, `out`) and kind (`text`, `binary`).
    pub messages: IntCounterVec,
    /// Outbound messages replayed on resume.
    pub replayed: IntCounter,
    /// Audio frames dropped, by reason ([`Dropped`]; count with
    /// [`VoiceMetrics::dropped`]).
    dropped: IntCounterVec,
    /// Tool calls, by tool and outcome.
    pub tool_calls: IntCounterVec,
    /// Connections closed, by close code.
    pub closes: IntCounterVec,
    /// `messages{dir="in",kind="text"}`, resolved once (counted per message).
    pub in_text: IntCounter,
    /// `messages{dir="in",kind="binary"}`, resolved once.
    pub in_binary: IntCounter,
    /// `messages{dir="out",kind="text"}`, resolved once.
    pub out_text: IntCounter,
    /// `messages{dir="out",kind="binary"}`, resolved once.
    pub out_binary: IntCounter,
}

impl VoiceMetrics {
    /// Registers the voice metrics in `registry`.
    pub fn register(registry: &Registry) -> VoiceMetrics {
        let vec = |name: &str, help: &str, labels: &[&str]| {
            let c = must(IntCounterVec::new(Opts::new(name, help), labels));
            must(registry.register(Box::new(c.clone())));
            c
        };
        let connections = must(IntGauge::new(
            "spotlight_voice_connections",
            "Open voice WebSocket connections",
        ));
        must(registry.register(Box::new(connections.clone())));
        let replayed = must(IntCounter::new(
            "spotlight_voice_replayed_total",
            "Outbound voice messages replayed on resume",
        ));
        must(registry.register(Box::new(replayed.clone())));
        let messages = vec(
            "spotlight_voice_messages_total",
            "Voice messages, by direction and kind",
            &["dir", "kind"],
        );
        let m = VoiceMetrics {
            connections,
            sessions: vec(
                "spotlight_voice_sessions_total",
                "Voice sessions started, by outcome",
                &["outcome"],
            ),
            in_text: messages.with_label_values(&["in", "text"]),
            in_binary: messages.with_label_values(&["in", "binary"]),
            out_text: messages.with_label_values(&["out", "text"]),
            out_binary: messages.with_label_values(&["out", "binary"]),
            messages,
            replayed,
            dropped: touched(vec(
                "spotlight_voice_frames_dropped_total",
                "Voice audio frames dropped, by reason",
                &["reason"],
            )),
            tool_calls: vec(
                "spotlight_voice_tool_calls_total",
                "Voice tool calls, by tool and outcome",
                &["tool", "ok"],
            ),
            closes: vec(
                "spotlight_voice_closes_total",
                "Voice connections closed, by close code",
                &["code"],
            ),
        };
        for outcome in ["new", "resumed", "rejected"] {
            m.sessions.with_label_values(&[outcome]);
        }
        m
    }

    /// Counts an audio frame dropped for `why`.
    pub fn dropped(&self, why: Dropped) {
        self.dropped.with_label_values(&[why.label()]).inc();
    }

    /// Counts a close.
    pub fn closed(&self, code: u16) {
        self.closes.with_label_values(&[&code.to_string()]).inc();
    }
}

/// Why a voice audio frame was dropped (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// The client's outbound queue was full.
    Backpressure,
    /// The upstream relay was down.
    UpstreamDown,
    /// The upstream relay's queue was full.
    UpstreamFull,
    /// The session was waiting for a seat.
    Queued,
}

impl Dropped {
    /// Every reason.
    pub const ALL: [Dropped; 4] = [
        Dropped::Backpressure,
        Dropped::UpstreamDown,
        Dropped::UpstreamFull,
        Dropped::Queued,
    ];

    /// The `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            Dropped::Backpressure => "backpressure",
            Dropped::UpstreamDown => "upstream_down",
            Dropped::UpstreamFull => "upstream_full",
            Dropped::Queued => "queued",
        }
    }
}

/// The drop counter with every reason at zero, so that a scrape (and an
/// alert on it) sees the series before the first drop.
fn touched(dropped: IntCounterVec) -> IntCounterVec {
    for why in Dropped::ALL {
        dropped.with_label_values(&[why.label()]);
    }
    dropped
}
