//! Client input in messages: quoted and cut, so an error never echoes a
//! megabyte back.

/// Longest piece of client input quoted in a message.
pub const QUOTE_MAX: usize = 64;

/// At most `max` characters of `s`, with `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((cut, _)) => format!("{}…", &s[..cut]),
    }
}

/// `s` quoted, at most [`QUOTE_MAX`] characters of it, with `…` when cut.
pub fn quote(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        None => format!("{s:?}"),
        Some((cut, _)) => format!("{:?}…", &s[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_quoted_short() {
        assert_eq!(quote("SPY"), "\"SPY\"");
        let q = quote(&"x".repeat(1 << 20));
        assert!(q.chars().count() <= QUOTE_MAX + 3, "{}", q.len());
        assert!(q.ends_with('…'));
        assert_eq!(shorten("abcdef", 3), "abc…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
