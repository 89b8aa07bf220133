//! SSE client: opens `/realtime/sse` and yields typed events.

use std::pin::Pin;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};

use super::{check, unreachable, Client, ClientError};
use spotlight_wire::Timeframe;
use spotlight_wire::{BarEvent, Hello, Ping, Reset, Shutdown};

/// One server event.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// First event of a stream.
    Hello(Hello),
    /// A bar update or close.
    Bar(BarEvent),
    /// Heartbeat.
    Ping(Ping),
    /// The client must refetch history.
    Reset(Reset),
    /// The server is going away.
    Shutdown(Shutdown),
    /// An event this client does not know (newer server).
    Other {
        /// Event name.
        event: String,
        /// Raw data.
        data: String,
    },
}

/// What to subscribe to, and where to start.
#[derive(Debug, Clone, Default)]
pub struct Subscribe {
    /// Symbols (all when empty).
    pub symbols: Vec<String>,
    /// Timeframe (server default 1m when `None`).
    pub timeframe: Option<Timeframe>,
    /// Resume after this seq (`sinceSeq`).
    pub since_seq: Option<u64>,
    /// Resume after this event id (`Last-Event-ID` header).
    pub last_event_id: Option<String>,
}

/// A stream of server events.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ServerEvent, ClientError>> + Send>>;

/// A stream of server events as sent: name, `id:`, data.
pub type RawEventStream = Pin<Box<dyn Stream<Item = Result<RawEvent, ClientError>> + Send>>;

/// One event as sent.
pub type RawEvent = eventsource_stream::Event;

impl Client {
    /// Opens an SSE stream.
    pub async fn subscribe(&self, sub: &Subscribe) -> Result<EventStream, ClientError> {
        let raw = self.subscribe_raw(sub).await?;
        Ok(Box::pin(
            raw.map(|item| item.map(|ev| decode(&ev.event, ev.data))),
        ))
    }

    /// Opens an SSE stream whose events keep their `id:` and raw data.
    pub async fn subscribe_raw(&self, sub: &Subscribe) -> Result<RawEventStream, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if !sub.symbols.is_empty() {
            query.push(("symbols", sub.symbols.join(",")));
        }
        if let Some(tf) = sub.timeframe {
            query.push(("timeframe", tf.to_string()));
        }
        if let Some(seq) = sub.since_seq {
            query.push(("sinceSeq", seq.to_string()));
        }
        let url = self.url("/realtime/sse");
        let mut req = self
            .http
            .get(&url)
            .query(&query)
            .header("accept", "text/event-stream");
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(id) = &sub.last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.map_err(unreachable(&url))?;
        let res = check(res).await?;
        let events = res.bytes_stream().eventsource().map(move |item| {
            item.map_err(|e| ClientError::Protocol {
                url: url.clone(),
                message: e.to_string(),
            })
        });
        Ok(Box::pin(events))
    }

    /// A plain HTTP request to `path` with this client's credentials.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, path)
    }

    /// A JSON `POST` to `path` with this client's credentials.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, path)
    }
}

/// Decodes one event by name; unknown names and undecodable data are kept raw.
pub fn decode(event: &str, data: String) -> ServerEvent {
    fn parse<T: serde::de::DeserializeOwned>(data: &str) -> Option<T> {
        serde_json::from_str(data).ok()
    }
    let known = match event {
        "hello" => parse(&data).map(ServerEvent::Hello),
        "bar" => parse(&data).map(ServerEvent::Bar),
        "ping" => parse(&data).map(ServerEvent::Ping),
        "reset" => parse(&data).map(ServerEvent::Reset),
        "shutdown" => parse(&data).map(ServerEvent::Shutdown),
        _ => None,
    };
    known.unwrap_or_else(|| ServerEvent::Other {
        event: event.to_string(),
        data,
    })
}
