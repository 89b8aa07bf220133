//! The provider's shapes: WebSocket messages (a JSON array of events:
//! `status`, per-minute `AM` and per-second `A` aggregates) and REST
//! aggregate pages, and the forming 1m bar built from per-second
//! aggregates.

use serde::Deserialize;

use spotlight_market::Candle;
use spotlight_wire::timeframe::MINUTE_MS;

/// One event of a WebSocket message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "ev")]
pub enum WsEvent {
    /// `connected`, `auth_success`, `auth_failed`, `auth_timeout`,
    /// `max_connections`, `success` (subscribed), …
    #[serde(rename = "status")]
    Status {
        /// The status.
        status: String,
        /// Its message.
        #[serde(default)]
        message: String,
    },
    /// A per-minute aggregate: closes the minute.
    #[serde(rename = "AM")]
    Minute(Aggregate),
    /// A per-second aggregate: updates the forming minute.
    #[serde(rename = "A")]
    Second(Aggregate),
    /// Anything else (other channels, newer events).
    #[serde(other)]
    Other,
}

/// An aggregate window (`sym v av op vw o c h l a z s e`; what is used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Aggregate {
    /// The symbol.
    pub sym: String,
    /// Volume of the window.
    pub v: f64,
    /// Open.
    pub o: f64,
    /// Close.
    pub c: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Window start, Unix ms.
    pub s: i64,
    /// Window end, Unix ms.
    pub e: i64,
}

impl Aggregate {
    /// The window as a candle of the minute it falls in.
    pub fn candle(&self) -> Candle {
        Candle {
            t: self.s - self.s.rem_euclid(MINUTE_MS),
            o: self.o,
            h: self.h,
            l: self.l,
            c: self.c,
            v: volume(self.v),
        }
    }
}

/// Parses one WebSocket text message (an array of events; a single
/// object is taken as an array of one).
pub fn parse_ws(text: &str) -> Result<Vec<WsEvent>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<WsEvent>),
        One(WsEvent),
    }
    Ok(match serde_json::from_str(text)? {
        OneOrMany::Many(events) => events,
        OneOrMany::One(event) => vec![event],
    })
}

/// One page of `GET /v2/aggs/ticker/{T}/range/1/minute/{from}/{to}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AggsPage {
    /// The bars (absent: no data).
    #[serde(default)]
    pub results: Option<Vec<RestBar>>,
    /// The next page (without the key).
    #[serde(default)]
    pub next_url: Option<String>,
}

/// A bar of a REST page (volume may be a float).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RestBar {
    /// Start, Unix ms.
    pub t: i64,
    /// Open.
    pub o: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Close.
    pub c: f64,
    /// Volume.
    pub v: f64,
}

impl RestBar {
    /// The bar as a candle.
    pub fn candle(&self) -> Candle {
        Candle {
            t: self.t,
            o: self.o,
            h: self.h,
            l: self.l,
            c: self.c,
            v: volume(self.v),
        }
    }
}

fn volume(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

/// The forming 1m bar of one symbol, built from per-second aggregates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Forming(Option<Candle>);

impl Forming {
    /// Adds a per-second window; returns the forming bar (a window of a
    /// later minute starts a new one; one of an earlier minute is `None`).
    pub fn add(&mut self, second: &Aggregate) -> Option<Candle> {
        let c = second.candle();
        let next = match self.0 {
            Some(f) if f.t == c.t => Candle {
                h: f.h.max(c.h),
                l: f.l.min(c.l),
                c: c.c,
                v: f.v + c.v,
                ..f
            },
            Some(f) if f.t > c.t => return None,
            _ => c,
        };
        self.0 = Some(next);
        Some(next)
    }

    /// The minute closed (by its per-minute aggregate): start afresh.
    pub fn close(&mut self, t: i64) {
        if self.0.is_some_and(|f| f.t <= t) {
            self.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_700_000_040_000;

    #[test]
    fn websocket_messages_parse_with_unknown_events_kept_apart() {
        let text = format!(
            r#"[{{"ev":"status","status":"auth_success","message":"authenticated"}},
               {{"ev":"A","sym":"SPY","v":200,"av":9000,"op":440.1,"vw":440.2,"o":440.0,"c":440.3,"h":440.4,"l":439.9,"a":440.2,"z":20,"s":{s},"e":{e}}},
               {{"ev":"XQ","foo":1}}]"#,
            s = T + 5_000,
            e = T + 6_000
        );
        let events = parse_ws(&text).unwrap();
        assert_eq!(
            events[0],
            WsEvent::Status {
                status: "auth_success".into(),
                message: "authenticated".into()
            }
        );
        let WsEvent::Second(a) = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(a.candle().t, T, "the minute it falls in");
        assert_eq!(events[2], WsEvent::Other);
        assert!(
            parse_ws("[{\"ev\":\"A\"}]").is_err(),
            "an aggregate without fields"
        );
        assert_eq!(
            parse_ws(r#"{"ev":"status","status":"connected"}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rest_pages_take_float_volumes_and_missing_results() {
        let page: AggsPage = serde_json::from_str(
            r#"{"ticker":"SPY","status":"OK","results":[{"v":1234.56,"vw":1,"o":1,"c":2,"h":3,"l":0.5,"t":60000,"n":4}],"next_url":"https://x/v2/next?cursor=abc"}"#,
        )
        .unwrap();
        assert_eq!(page.results.as_ref().unwrap()[0].candle().v, 1235);
        assert!(page.next_url.is_some());
        let empty: AggsPage =
            serde_json::from_str(r#"{"ticker":"SPY","status":"OK","resultsCount":0}"#).unwrap();
        assert_eq!(empty.results, None);
    }

    #[test]
    fn seconds_build_the_forming_minute() {
        let second = |at: i64, o: f64, h: f64, l: f64, c: f64| Aggregate {
            sym: "SPY".into(),
            v: 10.0,
            o,
            c,
            h,
            l,
            s: at,
            e: at + 1000,
        };
        let mut f = Forming::default();
        f.add(&second(T, 10.0, 11.0, 9.5, 10.5)).unwrap();
        let bar = f.add(&second(T + 1000, 10.5, 12.0, 10.0, 11.0)).unwrap();
        assert_eq!(
            bar,
            Candle {
                t: T,
                o: 10.0,
                h: 12.0,
                l: 9.5,
                c: 11.0,
                v: 20
            }
        );
        assert_eq!(f.add(&second(T - 1000, 1.0, 1.0, 1.0, 1.0)), None, "late");
        f.close(T);
        let next = f.add(&second(T + 60_000, 11.0, 11.0, 11.0, 11.0)).unwrap();
        assert_eq!((next.t, next.v), (T + 60_000, 10));
    }
}
