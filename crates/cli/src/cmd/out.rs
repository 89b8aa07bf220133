//! The one way commands write to stdout. A reader that went away
//! (`spotlight metrics | head -1`) ends the command quietly with exit 0:
//! [`Closed`] travels up to [`super::run`], which exits 0 without a word.

use std::io::{self, Write};

use serde::Serialize;

/// Stdout was closed by its reader: stop, quietly, successfully.
#[derive(Debug, thiserror::Error)]
#[error("stdout closed")]
pub struct Closed;

/// Writes `text` to stdout as is and flushes it.
pub fn text(text: &str) -> anyhow::Result<()> {
    write(|w| w.write_all(text.as_bytes()))
}

/// Writes `value` as pretty JSON and a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write(|w| w.write_all(&bytes))
}

/// Writes `value` as one line of JSON (NDJSON), flushed at once.
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec(value)?;
    bytes.push(b'\n');
    write(|w| w.write_all(&bytes))
}

/// Writes one line (a newline is added), flushed at once.
pub fn line(text: &str) -> anyhow::Result<()> {
    write(|w| {
        w.write_all(text.as_bytes())?;
        w.write_all(b"\n")
    })
}

fn write(f: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) -> anyhow::Result<()> {
    let mut w = io::stdout().lock();
    match f(&mut w).and_then(|()| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(Closed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}
