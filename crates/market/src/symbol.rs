//! Symbol names: what the hub accepts as a symbol, wherever it comes from
//! (ingest, files, replay, the simulation's flags, a stream's query).

use spotlight_wire::text::quote;

/// Longest symbol name.
pub const MAX_LEN: usize = 32;

/// Why a symbol name is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// Empty.
    #[error("symbol must not be empty")]
    Empty,
    /// Over [`MAX_LEN`] characters.
    #[error("symbol {0} is longer than {MAX_LEN} characters")]
    TooLong(String),
    /// A character outside the allowed set.
    #[error("symbol {0}: only A-Z a-z 0-9 . _ - : / ^ = are allowed")]
    BadChar(String),
}

/// Checks a symbol name: 1–32 characters of `A–Z a–z 0–9 . _ - : / ^ =`
/// (`BRK.B`, `^GSPC`, `ES=F`, `X:BTCUSD`, `EUR/USD`).
pub fn check(s: &str) -> Result<(), SymbolError> {
    if s.is_empty() {
        return Err(SymbolError::Empty);
    }
    if s.len() > MAX_LEN {
        return Err(SymbolError::TooLong(quote(s)));
    }
    let ok = |c: u8| c.is_ascii_alphanumeric() || b"._-:/^=".contains(&c);
    if !s.bytes().all(ok) {
        return Err(SymbolError::BadChar(quote(s)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_symbols_pass_and_junk_does_not() {
        for good in [
            "SPY", "BRK.B", "^GSPC", "ES=F", "X:BTCUSD", "EUR/USD", "a_b-c",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        assert_eq!(check(""), Err(SymbolError::Empty));
        assert!(matches!(
            check(&"A".repeat(33)),
            Err(SymbolError::TooLong(_))
        ));
        for bad in ["SP Y", "SPY\n", "<script>", "ÄPFEL", "A,B"] {
            assert!(matches!(check(bad), Err(SymbolError::BadChar(_))), "{bad}");
        }
        let huge = "x".repeat(1 << 20);
        assert!(check(&huge).unwrap_err().to_string().len() < 200);
    }
}
