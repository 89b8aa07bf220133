//! The hub's state on disk (`serve --state-dir`): epoch, seq, ring, the 1m
//! history and the forming bars, so a planned restart continues the same
//! epoch and clients resume without a `reset`.
//!
//! One file, written atomically (write a temporary file, fsync, rename,
//! fsync the folder): a header (magic, format version, body length, CRC-32
//! of the body), then the body. Loading checks all of it before building
//! anything, so a damaged file is refused whole, never half loaded.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use spotlight_wire::bar::Candle;
use spotlight_wire::timeframe::Timeframe;
use spotlight_wire::ResetReason;

/// The file's first bytes.
const MAGIC: &[u8; 16] = b"SPOTLIGHT-STATE\n";
/// The body's format; another one is refused.
pub const VERSION: u32 = 1;
/// Magic, version, body length, CRC-32.
const HEADER: usize = 16 + 4 + 8 + 4;

/// The state file's name inside the state dir.
pub const FILE_NAME: &str = "state.bin";

/// One symbol's history.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesState {
    /// The ticker.
    pub name: String,
    /// Final 1m bars, oldest first.
    pub finals: Vec<Candle>,
    /// The forming 1m bar.
    pub forming: Option<Candle>,
}

/// One ring event: its seq, its symbol (an index into the series) and its
/// SSE frames per timeframe, as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct EventState {
    /// The event's seq.
    pub seq: u64,
    /// Index into [`SavedState::series`].
    pub symbol: u32,
    /// Bit `i`: the frame of timeframe `i` carries a final bar.
    pub finals: u8,
    /// SSE bytes per timeframe, in [`Timeframe::ALL`] order.
    pub frames: [Bytes; Timeframe::COUNT],
}

/// Everything a restart needs to continue.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedState {
    /// What produced it (`sim:seed=1:SPY,QQQ`, `file:/data`): a state from
    /// another source is refused.
    pub source: String,
    /// The source's own position (the simulation's origin, Unix ms).
    pub origin: i64,
    /// The epoch to continue.
    pub epoch: String,
    /// The newest seq.
    pub head: u64,
    /// The last replay boundary (resumes from before it are reset).
    pub boundary: Option<(u64, ResetReason)>,
    /// Every symbol, in hub order.
    pub series: Vec<SeriesState>,
    /// The ring, oldest first, contiguous in seq up to `head`.
    pub ring: Vec<EventState>,
}

/// Why a state file was not used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// There is none (a first start).
    #[error("no state file at {0}")]
    Missing(PathBuf),
    /// It could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Not a state file, or damaged.
    #[error("{path}: {why}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Written by another format version.
    #[error("{path}: format version {found}, this build reads {VERSION}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// Written for another source.
    #[error("{path}: saved for source {found:?}, this server runs {expected:?}")]
    OtherSource {
        /// The file.
        path: PathBuf,
        /// Its source.
        found: String,
        /// This server's.
        expected: String,
    },
}

/// Writes `state` into `dir` atomically; the bytes written.
pub fn save(dir: &Path, state: &SavedState) -> Result<u64, StateError> {
    let path = dir.join(FILE_NAME);
    let io_err = |source| StateError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let body = encode(state);
    let tmp = dir.join(format!("{FILE_NAME}.tmp"));
    let write = || -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&VERSION.to_le_bytes())?;
        file.write_all(&(body.len() as u64).to_le_bytes())?;
        file.write_all(&crc32fast::hash(&body).to_le_bytes())?;
        file.write_all(&body)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(io_err)?;
    Ok((HEADER + body.len()) as u64)
}

/// Reads the state in `dir`, checked whole, for a server running `source`.
pub fn load(dir: &Path, source: &str) -> Result<SavedState, StateError> {
    let path = dir.join(FILE_NAME);
    let mut bytes = Vec::new();
    match File::open(&path) {
        Ok(mut f) => f.read_to_end(&mut bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StateError::Missing(path)),
        Err(e) => Err(e),
    }
    .map_err(|source| StateError::Io {
        path: path.clone(),
        source,
    })?;
    let bytes = Bytes::from(bytes);
    let corrupt = |why: &str| StateError::Corrupt {
        path: path.clone(),
        why: why.to_string(),
    };
    if bytes.len() < HEADER || &bytes[..16] != MAGIC {
        return Err(corrupt("not a spotlight state file"));
    }
    let version = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default());
    if version != VERSION {
        return Err(StateError::Version {
            path,
            found: version,
        });
    }
    let len = u64::from_le_bytes(bytes[20..28].try_into().unwrap_or_default());
    let crc = u32::from_le_bytes(bytes[28..32].try_into().unwrap_or_default());
    let body = bytes.slice(HEADER..);
    if body.len() as u64 != len {
        return Err(corrupt(&format!(
            "truncated: {} body bytes of {len}",
            body.len()
        )));
    }
    if crc32fast::hash(&body) != crc {
        return Err(corrupt("checksum mismatch"));
    }
    let state = decode(body).map_err(|why| corrupt(&why))?;
    if state.source != source {
        return Err(StateError::OtherSource {
            path,
            found: state.source,
            expected: source.to_string(),
        });
    }
    Ok(state)
}

fn encode(state: &SavedState) -> Vec<u8> {
    let frames: usize = state
        .ring
        .iter()
        .map(|e| e.frames.iter().map(|f| f.len() + 4).sum::<usize>() + 13)
        .sum();
    let candles: usize = state.series.iter().map(|s| s.finals.len() * 48 + 64).sum();
    let mut w = Vec::with_capacity(frames + candles + 256);
    put_str(&mut w, &state.source);
    w.extend_from_slice(&state.origin.to_le_bytes());
    put_str(&mut w, &state.epoch);
    w.extend_from_slice(&state.head.to_le_bytes());
    match state.boundary {
        None => w.push(0),
        Some((seq, reason)) => {
            w.push(1 + reason_code(reason));
            w.extend_from_slice(&seq.to_le_bytes());
        }
    }
    w.extend_from_slice(&(state.series.len() as u32).to_le_bytes());
    for s in &state.series {
        put_str(&mut w, &s.name);
        w.extend_from_slice(&(s.finals.len() as u64).to_le_bytes());
        for c in &s.finals {
            put_candle(&mut w, c);
        }
        match &s.forming {
            None => w.push(0),
            Some(c) => {
                w.push(1);
                put_candle(&mut w, c);
            }
        }
    }
    w.extend_from_slice(&(state.ring.len() as u64).to_le_bytes());
    for e in &state.ring {
        w.extend_from_slice(&e.seq.to_le_bytes());
        w.extend_from_slice(&e.symbol.to_le_bytes());
        w.push(e.finals);
        for f in &e.frames {
            w.extend_from_slice(&(f.len() as u32).to_le_bytes());
            w.extend_from_slice(f);
        }
    }
    w
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    w.extend_from_slice(&(s.len() as u32).to_le_bytes());
    w.extend_from_slice(s.as_bytes());
}

fn put_candle(w: &mut Vec<u8>, c: &Candle) {
    w.extend_from_slice(&c.t.to_le_bytes());
    for x in [c.o, c.h, c.l, c.c] {
        w.extend_from_slice(&x.to_le_bytes());
    }
    w.extend_from_slice(&c.v.to_le_bytes());
}

fn reason_code(r: ResetReason) -> u8 {
    match r {
        ResetReason::EpochChanged => 0,
        ResetReason::GapTooOld => 1,
        ResetReason::ReplayStarted => 2,
        ResetReason::ReplayStopped => 3,
    }
}

/// Reads the body; every length is checked against what is left.
struct Reader<'a> {
    rest: &'a [u8],
    /// The whole body, to share frames without copying.
    all: Bytes,
}

impl Reader<'_> {
    /// The reset boundary kept with the ring, if any.
    fn boundary(&mut self) -> Result<Option<(u64, ResetReason)>, String> {
        match self.u8()? {
            0 => Ok(None),
            code @ 1..=4 => {
                let seq = self.u64()?;
                let reason = [
                    ResetReason::EpochChanged,
                    ResetReason::GapTooOld,
                    ResetReason::ReplayStarted,
                    ResetReason::ReplayStopped,
                ][(code - 1) as usize];
                Ok(Some((seq, reason)))
            }
            other => Err(format!("unknown boundary kind {other}")),
        }
    }

    /// Every symbol's final bars (in time order) and forming bar.
    fn series(&mut self) -> Result<Vec<SeriesState>, String> {
        let n = self.u32()? as u64;
        let n = self.count(n, 13)?;
        let mut series = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str()?;
            let count = self.u64()?;
            let count = self.count(count, 48)?;
            let mut finals = Vec::with_capacity(count);
            for _ in 0..count {
                finals.push(self.candle()?);
            }
            if finals.windows(2).any(|w| w[0].t >= w[1].t) {
                return Err(format!("{name}: bars out of order"));
            }
            let forming = match self.u8()? {
                0 => None,
                1 => Some(self.candle()?),
                other => return Err(format!("unknown forming flag {other}")),
            };
            series.push(SeriesState {
                name,
                finals,
                forming,
            });
        }
        Ok(series)
    }

    /// The ring's events, ending at `head`, each naming one of `symbols`.
    fn ring(&mut self, head: u64, symbols: usize) -> Result<Vec<EventState>, String> {
        let n = self.u64()?;
        let n = self.count(n, 13 + 4 * Timeframe::COUNT)?;
        let mut ring = Vec::with_capacity(n);
        for i in 0..n {
            let seq = self.u64()?;
            let symbol = self.u32()?;
            let finals = self.u8()?;
            if symbol as usize >= symbols {
                return Err(format!("event {seq} names symbol {symbol} of {symbols}"));
            }
            let expected = head + 1 + i as u64 - n as u64;
            if seq != expected {
                return Err(format!("event {i} has seq {seq}, expected {expected}"));
            }
            let mut frames: [Bytes; Timeframe::COUNT] = Default::default();
            for f in &mut frames {
                let len = self.u32()? as usize;
                *f = self.bytes(len)?;
            }
            ring.push(EventState {
                seq,
                symbol,
                finals,
                frames,
            });
        }
        Ok(ring)
    }

    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.rest.len() < n {
            return Err(format!("ends {n} bytes early"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }

    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }

    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }

    fn str(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a name is not UTF-8".into())
    }

    fn candle(&mut self) -> Result<Candle, String> {
        let t = self.u64()? as i64;
        let (o, h, l, c) = (self.f64()?, self.f64()?, self.f64()?, self.f64()?);
        let v = self.u64()?;
        let candle = Candle { t, o, h, l, c, v };
        candle.check().map_err(|e| format!("a bad bar: {e}"))?;
        Ok(candle)
    }

    /// A count of items of at least `min` bytes each that can still be there.
    fn count(&mut self, n: u64, min: usize) -> Result<usize, String> {
        if n > (self.rest.len() / min.max(1)) as u64 {
            return Err(format!("a count of {n} does not fit in what is left"));
        }
        Ok(n as usize)
    }

    /// `n` bytes as a slice of the shared body.
    fn bytes(&mut self, n: usize) -> Result<Bytes, String> {
        let at = self.all.len() - self.rest.len();
        self.take(n)?;
        Ok(self.all.slice(at..at + n))
    }
}

/// Decodes a state file's body (after its header): what a damaged body
/// does to the loader, checked without the CRC (the fuzz target's entry).
pub fn decode_body(body: &[u8]) -> Result<SavedState, String> {
    decode(Bytes::copy_from_slice(body))
}

fn decode(body: Bytes) -> Result<SavedState, String> {
    let mut r = Reader {
        rest: &body[..],
        all: body.clone(),
    };
    let source = r.str()?;
    let origin = r.u64()? as i64;
    let epoch = r.str()?;
    let head = r.u64()?;
    let boundary = r.boundary()?;
    let series = r.series()?;
    let ring = r.ring(head, series.len())?;
    if !r.rest.is_empty() {
        return Err(format!("{} bytes after the end", r.rest.len()));
    }
    Ok(SavedState {
        source,
        origin,
        epoch,
        head,
        boundary,
        series,
        ring,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candle(t: i64) -> Candle {
        Candle {
            t,
            o: 10.0,
            h: 11.0,
            l: 9.5,
            c: 10.5,
            v: 7,
        }
    }

    fn state() -> SavedState {
        SavedState {
            source: "sim:seed=1:SPY".into(),
            origin: 1_000,
            epoch: "abcd1234".into(),
            head: 12,
            boundary: Some((5, ResetReason::ReplayStopped)),
            series: vec![SeriesState {
                name: "SPY".into(),
                finals: (0..3).map(|i| candle(i * 60_000)).collect(),
                forming: Some(candle(180_000)),
            }],
            ring: (11..=12)
                .map(|seq| EventState {
                    seq,
                    symbol: 0,
                    finals: 1,
                    frames: std::array::from_fn(|i| Bytes::from(format!("id: e:{seq}\n{i}\n\n"))),
                })
                .collect(),
        }
    }

    #[test]
    fn saves_and_loads_the_same_state() {
        let dir = tempfile::tempdir().unwrap();
        save(dir.path(), &state()).unwrap();
        assert_eq!(load(dir.path(), "sim:seed=1:SPY").unwrap(), state());
        assert!(!dir.path().join("state.bin.tmp").exists());
    }

    #[test]
    fn refuses_damage_other_versions_and_other_sources_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        assert!(matches!(load(dir.path(), "x"), Err(StateError::Missing(_))));
        save(dir.path(), &state()).unwrap();
        let good = std::fs::read(&path).unwrap();
        assert!(matches!(
            load(dir.path(), "file:/data"),
            Err(StateError::OtherSource { .. })
        ));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", good[..good.len() - 7].to_vec()),
            ("empty", Vec::new()),
            ("flipped", {
                let mut b = good.clone();
                let i = b.len() - 3;
                b[i] ^= 0xff;
                b
            }),
            (
                "not ours",
                b"hello world, this is not a state file".to_vec(),
            ),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, bytes).unwrap();
            assert!(
                matches!(
                    load(dir.path(), "sim:seed=1:SPY"),
                    Err(StateError::Corrupt { .. })
                ),
                "{what}"
            );
        }
        let mut other = good.clone();
        other[16..20].copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(&path, other).unwrap();
        assert!(matches!(
            load(dir.path(), "sim:seed=1:SPY"),
            Err(StateError::Version { found: 2, .. })
        ));
    }

    #[test]
    fn a_body_that_lies_about_its_counts_is_refused_not_allocated() {
        // A valid header and checksum around a body claiming 2^60 series.
        let mut body = Vec::new();
        put_str(&mut body, "s");
        body.extend_from_slice(&0i64.to_le_bytes());
        put_str(&mut body, "e");
        body.extend_from_slice(&0u64.to_le_bytes());
        body.push(0);
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(Bytes::from(body)).is_err());
    }
}
