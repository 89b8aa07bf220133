//! The watch loop: `select!` over terminal events, the stream follower and a
//! frame tick. The only part that touches the terminal; it is restored on
//! quit, on error (drop guard) and on panic (ratatui's hook).

use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::state::{update, Action, Effect, Key, ReplayCommand, State};
use super::view;
use spotlight_client::follow::{follow, Follow, FollowEvent};
use spotlight_client::Client;
use spotlight_market::time::now_ms;
use spotlight_market::Timeframe;
use spotlight_reconnect::Backoff;
use spotlight_wire::ReplayStart;

/// What to watch and how often to draw.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Symbol.
    pub symbol: String,
    /// Starting timeframe.
    pub timeframe: Timeframe,
    /// Bars of history to fetch.
    pub history: usize,
    /// Most frames per second.
    pub fps: u32,
}

/// Restores the terminal when dropped (quit or error).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Maps a key press to a watch key.
pub fn key_of(k: KeyEvent) -> Option<Key> {
    if k.kind != KeyEventKind::Press {
        return None;
    }
    Some(match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::Quit,
        KeyCode::Char('q') | KeyCode::Esc => Key::Quit,
        KeyCode::Char('1') => Key::Timeframe(Timeframe::M1),
        KeyCode::Char('5') => Key::Timeframe(Timeframe::M5),
        KeyCode::Char('f') => Key::Timeframe(Timeframe::M15),
        KeyCode::Char('h') => Key::Timeframe(Timeframe::H1),
        KeyCode::Char('d') => Key::Timeframe(Timeframe::D1),
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::End => Key::End,
        KeyCode::Char('p') => Key::Pause,
        KeyCode::Char('?') => Key::Help,
        KeyCode::Char('r') => Key::ReplayStart,
        KeyCode::Char('s') => Key::ReplayStop,
        KeyCode::Char('+') | KeyCode::Char('=') => Key::Faster,
        KeyCode::Char('-') => Key::Slower,
        _ => return None,
    })
}

fn start_follow(client: &Client, cfg: &WatchConfig, tf: Timeframe) -> mpsc::Receiver<FollowEvent> {
    follow(
        client.clone(),
        Follow {
            symbol: cfg.symbol.clone(),
            timeframe: tf,
            history: cfg.history,
            backoff: Backoff::default(),
        },
    )
}

/// Runs the screen until the user quits.
pub async fn run(client: Client, cfg: WatchConfig) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let _restore = Restore;
    let size = terminal.size()?;
    let mut state = State::new(&cfg.symbol, cfg.timeframe, (size.width, size.height));
    let mut events = start_follow(&client, &cfg, cfg.timeframe);
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / u64::from(cfg.fps.max(1))));
    let (mut dirty, mut drawn_at, mut following) = (true, Instant::now(), true);
    loop {
        tokio::select! {
            ev = events.recv(), if following => match ev {
                Some(ev) => {
                    update(&mut state, Action::Follow(ev, now_ms()));
                    dirty = true;
                }
                None => following = false,
            },
            key = keys.next() => match key {
                Some(Ok(Event::Key(k))) => {
                    let Some(key) = key_of(k) else { continue };
                    match update(&mut state, Action::Key(key)) {
                        Effect::Quit => return Ok(()),
                        Effect::Resubscribe(tf) => {
                            events = start_follow(&client, &cfg, tf);
                            following = true;
                        }
                        Effect::Replay(cmd) => {
                            tokio::spawn(replay(client.clone(), cfg.symbol.clone(), cmd));
                        }
                        Effect::None => {}
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(w, h))) => {
                    update(&mut state, Action::Resize(w, h));
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = tick.tick() => {
                // Ages and countdowns move every second even without events.
                if dirty || drawn_at.elapsed() >= Duration::from_secs(1) {
                    let now = now_ms();
                    terminal.draw(|f| view::draw(&state, f, now))?;
                    dirty = false;
                    drawn_at = Instant::now();
                }
            }
        }
    }
}

async fn replay(client: Client, symbol: String, cmd: ReplayCommand) {
    let result = match cmd {
        ReplayCommand::Start => client
            .replay_start(&ReplayStart {
                symbols: Some(vec![symbol]),
                ..ReplayStart::default()
            })
            .await
            .map(drop),
        ReplayCommand::Stop => client.replay_action("stop").await.map(drop),
        ReplayCommand::Speed(speed) => client.replay_speed(speed).await.map(drop),
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "replay command refused");
    }
}
