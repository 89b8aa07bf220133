//! `spotlight probe voice` (and the smoke's `voice` check): hello, each
//! tool once, frames echoed at real-time pace across cut connections that
//! resume, and a spent resume token refused.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::{first_connect, Report, VoiceProbeArgs};
use crate::cmd::{connect, GlobalArgs};
use spotlight_client::sequence::{Seen, Sequence};
use spotlight_client::voice::{self, Incoming, VoiceClient, VoiceError};
use spotlight_wire::voice::{ClientMessage, ServerMessage};

/// Runs the voice probe (also the smoke's `voice` check).
pub async fn probe_voice(
    args: &VoiceProbeArgs,
    attempts: u32,
    global: &GlobalArgs,
) -> anyhow::Result<Report> {
    let token = connect::token(global).await?;
    let mut report = Report::new("voice");
    let url = voice::voice_url(&global.url);
    let mut client = first_connect(
        &url,
        attempts,
        || VoiceClient::connect(&global.url, token.clone()),
        |e| matches!(e, VoiceError::Unreachable { .. }),
    )
    .await?;
    let hello = client.hello().clone();
    report.check(
        "hello",
        !hello.resumed && !hello.resume_token.is_empty() && hello.heartbeat_ms > 0,
        format!(
            "session {}, heartbeat {} ms",
            hello.session, hello.heartbeat_ms
        ),
    );
    let symbol = spotlight_client::Client::new(&global.url)
        .with_token(token.clone())
        .symbols()
        .await
        .ok()
        .and_then(|s| s.symbols.first().map(|q| q.symbol.clone()))
        .unwrap_or_else(|| "SPY".into());
    check_tools(&mut client, &symbol, &mut report).await?;
    let mut echo = Echo::new(args);
    echo.run(&mut client, args, &mut report).await?;
    echo.check(args, &mut report);
    let rejected = spent_token_refused(&url, token.as_deref(), &hello.resume_token).await;
    report.check(
        "reused token rejected",
        rejected,
        "resume_rejected, then a new session",
    );
    client.close().await;
    report.figures = echo.figures();
    Ok(report)
}

/// Each tool once, answered within 5 s.
async fn check_tools(
    client: &mut VoiceClient,
    symbol: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let calls = [
        ("get_quote", json!({ "symbol": symbol })),
        (
            "get_bars",
            json!({ "symbol": symbol, "timeframe": "5m", "limit": 5 }),
        ),
        ("replay_status", json!({})),
    ];
    for (i, (name, args)) in calls.iter().enumerate() {
        let id = format!("t{i}");
        let started = Instant::now();
        client
            .send_control(&ClientMessage::Tool {
                id: id.clone(),
                name: name.to_string(),
                args: args.clone(),
            })
            .await?;
        let answer = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match client.next().await {
                    Ok(Incoming::Text(ServerMessage::ToolResult {
                        id: got, ok, error, ..
                    })) if got == id => return Ok((ok, error)),
                    Ok(_) => continue,
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        let (ok, detail) = match answer {
            Ok(Ok((true, _))) => (
                true,
                format!("{:.1} ms", started.elapsed().as_secs_f64() * 1e3),
            ),
            Ok(Ok((false, e))) => (false, e.unwrap_or_default()),
            Ok(Err(e)) => (false, e.to_string()),
            Err(_) => (false, "no answer within 5 s".into()),
        };
        report.check(&format!("tool {name}"), ok, detail);
    }
    Ok(())
}

/// A spent (or still live) resume token must not resume anything.
async fn spent_token_refused(url: &str, token: Option<&str>, resume_token: &str) -> bool {
    match voice::dial(url, token, &format!("resume={resume_token}&last=0")).await {
        Ok(mut ws) => {
            let h = voice::read_hello(&mut ws).await;
            let _ = futures::SinkExt::close(&mut ws).await;
            matches!(h, Ok(ref h) if !h.resumed && h.rejected.is_some())
        }
        Err(_) => false,
    }
}

/// Frame `i`: its index, then bytes that depend on it.
fn frame(i: u64, len: usize) -> Bytes {
    let mut b = Vec::with_capacity(len);
    b.extend_from_slice(&i.to_be_bytes());
    b.extend((8..len).map(|j| (i as usize * 31 + j) as u8));
    Bytes::from(b)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Frames streamed at real-time pace and their echoes, the connection cut
/// now and then.
struct Echo {
    frames: u64,
    len: usize,
    /// The frames before which the connection is cut.
    cuts: BTreeSet<u64>,
    /// When each frame went out, and over which connection: a round trip
    /// is timed only when the echo came back on the same one.
    sent_at: Vec<Option<(Instant, usize)>>,
    connection: usize,
    /// The echoes, in the order frames were sent.
    back: Sequence,
    rtts: Vec<f64>,
    reconnects: Vec<f64>,
    resumed_all: bool,
    replayed: u64,
    lost_reported: u64,
    duplicates: u64,
    out_of_order: u64,
    corrupt: u64,
    unexpected: Option<String>,
}

impl Echo {
    fn new(args: &VoiceProbeArgs) -> Echo {
        let frames = args.frames;
        let mut cuts = BTreeSet::new();
        let mut rng = rand::rng();
        while (cuts.len() as u32) < args.drops.min(frames as u32 / 2) {
            cuts.insert(rng.random_range(frames / 5..=frames * 4 / 5).max(1));
        }
        Echo {
            frames,
            len: args.frame_bytes as usize,
            cuts,
            sent_at: vec![None; frames as usize],
            connection: 0,
            back: Sequence::starting_at(0),
            rtts: Vec::new(),
            reconnects: Vec::new(),
            resumed_all: true,
            replayed: 0,
            lost_reported: 0,
            duplicates: 0,
            out_of_order: 0,
            corrupt: 0,
            unexpected: None,
        }
    }

    /// Frames echoed so far, in order.
    fn echoed(&self) -> u64 {
        self.back.last().map_or(0, |last| last + 1)
    }

    /// Sends every frame at its time and reads the echoes, until all are
    /// back or 10 s after the last went out.
    async fn run(
        &mut self,
        client: &mut VoiceClient,
        args: &VoiceProbeArgs,
        report: &mut Report,
    ) -> anyhow::Result<()> {
        let settle = Duration::from_secs(10);
        let mut next_send = Instant::now();
        let mut i = 0u64;
        let mut done_sending: Option<Instant> = None;
        while self.echoed() < self.frames {
            if i < self.frames && Instant::now() >= next_send {
                if self.cuts.remove(&i) && !self.cut(client).await {
                    break;
                }
                client.send(Message::Binary(frame(i, self.len))).await?;
                self.sent_at[i as usize] = Some((Instant::now(), self.connection));
                i += 1;
                next_send += args.frame_interval;
                if i == self.frames {
                    done_sending = Some(Instant::now());
                }
                continue;
            }
            let deadline = match done_sending {
                Some(at) if at.elapsed() > settle => break,
                Some(at) => tokio::time::Instant::from_std(at + settle),
                None => tokio::time::Instant::from_std(next_send),
            };
            match tokio::time::timeout_at(deadline, client.next()).await {
                Err(_) => continue,
                Ok(Ok(Incoming::Binary(b))) => self.take(&b),
                Ok(Ok(Incoming::Text(_))) => {}
                Ok(Err(e)) if args.expect_restart && e.retryable() => {
                    if !self.come_back(client, i, report).await {
                        break;
                    }
                }
                Ok(Err(e)) => {
                    self.unexpected = Some(e.to_string());
                    break;
                }
            }
        }
        Ok(())
    }

    /// Cuts the connection and resumes; `false` when it could not.
    async fn cut(&mut self, client: &mut VoiceClient) -> bool {
        client.cut();
        let t = Instant::now();
        match client.reconnect().await {
            Ok(h) => {
                self.connection += 1;
                self.reconnects.push(t.elapsed().as_secs_f64() * 1e3);
                self.resumed_all &= h.resumed;
                self.replayed += h.replayed;
                self.lost_reported += h.lost;
                true
            }
            Err(e) => {
                self.unexpected = Some(format!("reconnect failed: {e}"));
                false
            }
        }
    }

    /// After a restart of the server: reconnects; a new session counts on
    /// from frame `sent`. `false` when it did not come back.
    async fn come_back(
        &mut self,
        client: &mut VoiceClient,
        sent: u64,
        report: &mut Report,
    ) -> bool {
        let t = Instant::now();
        match client.reconnect().await {
            Ok(h) => {
                let ms = t.elapsed().as_secs_f64() * 1e3;
                self.reconnects.push(ms);
                let detail = format!("after {ms:.0} ms (resumed: {})", h.resumed);
                report.check("came back", true, detail);
                if !h.resumed {
                    self.back = Sequence::starting_at(sent);
                }
                true
            }
            Err(e) => {
                self.unexpected = Some(format!("did not come back: {e}"));
                false
            }
        }
    }

    /// One echo: intact, in order, timed when it came back on the
    /// connection it went out on.
    fn take(&mut self, b: &Bytes) {
        let Some(idx) = b
            .get(..8)
            .map(|h| u64::from_be_bytes(h.try_into().unwrap_or([0; 8])))
        else {
            self.corrupt += 1;
            return;
        };
        if *b != frame(idx, self.len) {
            self.corrupt += 1;
        }
        match self.back.see(idx) {
            Seen::Repeat => {
                self.duplicates += 1;
                return;
            }
            Seen::Gap(_) => self.out_of_order += 1,
            Seen::Next => {}
        }
        if let Some(Some((at, over))) = self.sent_at.get(idx as usize) {
            if *over == self.connection {
                self.rtts.push(at.elapsed().as_secs_f64() * 1e3);
            }
        }
    }

    /// The `echo` and `drops resumed` steps.
    fn check(&mut self, args: &VoiceProbeArgs, report: &mut Report) {
        self.rtts.sort_by(f64::total_cmp);
        let (frames, echoed) = (self.frames, self.echoed());
        let ok = self.unexpected.is_none()
            && echoed == frames
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.corrupt == 0;
        let detail = match &self.unexpected {
            Some(e) => e.clone(),
            None => format!(
                "{echoed}/{frames} frames of {} B back in order; rtt p50 {:.1} / p99 {:.1} / max {:.1} ms; {} duplicated, {} out of order, {} corrupt",
                self.len,
                percentile(&self.rtts, 50.0),
                percentile(&self.rtts, 99.0),
                self.rtts.last().copied().unwrap_or(0.0),
                self.duplicates,
                self.out_of_order,
                self.corrupt,
            ),
        };
        report.check("echo", ok, detail);
        if args.drops > 0 {
            let worst = self.reconnects.iter().copied().fold(0.0, f64::max);
            let each: Vec<String> = self.reconnects.iter().map(|r| format!("{r:.0}")).collect();
            report.check(
                "drops resumed",
                self.resumed_all
                    && self.lost_reported == 0
                    && self.reconnects.len() as u32 == args.drops.min(frames as u32 / 2),
                format!(
                    "{} drops, reconnect {} ms (worst {worst:.0}), {} replayed, {} lost",
                    self.reconnects.len(),
                    each.join(" / "),
                    self.replayed,
                    self.lost_reported,
                ),
            );
        }
    }

    /// The figures of the report.
    fn figures(&self) -> serde_json::Value {
        json!({
            "rttMs": {
                "p50": percentile(&self.rtts, 50.0),
                "p99": percentile(&self.rtts, 99.0),
                "max": self.rtts.last().copied().unwrap_or(0.0),
            },
            "reconnectMs": self.reconnects,
            "replayed": self.replayed,
            "frames": self.frames,
            "echoed": self.echoed(),
        })
    }
}
