//! Character classes and UTF-8 decoding with the exact semantics of Go's `unicode` and
//! `unicode/utf8` packages, as the reference lexer uses them.
//!
//! Model: the input is a byte slice, not a `str`. Decoding mirrors `utf8.DecodeRune`: a valid
//! sequence yields its scalar value and width, anything else yields U+FFFD with width 1, and the
//! end of input is reported as NUL with width 0. Why: the reference reads configuration files as
//! raw bytes, so a file with invalid UTF-8 (or an embedded NUL, which the reference treats exactly
//! like end of input) must lex the same way here, byte for byte, including error columns.

/// The value the reference lexer returns at end of input. A literal NUL byte in the input decodes
/// to the same value, which is why NUL behaves like EOF in every comparison.
pub(crate) const EOF: char = '\0';

/// Decode one rune at the start of `bytes` like Go's `utf8.DecodeRune`.
/// Returns `(EOF, 0)` for an empty slice and `(U+FFFD, 1)` for invalid sequences.
pub(crate) fn decode_rune(bytes: &[u8]) -> (char, usize) {
    let Some(&first) = bytes.first() else {
        return (EOF, 0);
    };
    if first < 0x80 {
        return (char::from(first), 1);
    }
    let len = match first {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (char::REPLACEMENT_CHARACTER, 1),
    };
    match bytes.get(..len).map(std::str::from_utf8) {
        Some(Ok(s)) => match s.chars().next() {
            Some(c) => (c, len),
            None => (char::REPLACEMENT_CHARACTER, 1),
        },
        _ => (char::REPLACEMENT_CHARACTER, 1),
    }
}

/// Go's `unicode.IsSpace`: the Unicode `White_Space` property. Rust's `char::is_whitespace` is
/// defined by the same property, so the two agree on every scalar value.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// The reference's `isWhitespace`: only tab and space.
pub(crate) fn is_ws(c: char) -> bool {
    c == '\t' || c == ' '
}

/// The reference's `isNL`: carriage return or line feed.
pub(crate) fn is_nl(c: char) -> bool {
    c == '\n' || c == '\r'
}

/// `=` or `:`.
pub(crate) fn is_key_separator(c: char) -> bool {
    c == '=' || c == ':'
}

/// The first letter of a size suffix (`1k`, `2M`, `3G`, ...), either case.
pub(crate) fn is_number_suffix(c: char) -> bool {
    matches!(
        c,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}

/// Go's `unicode.IsDigit`: general category `Nd` as of Unicode 15.0 (the tables of the Go
/// toolchain that built the reference binary; checked against it with Kawi and Garay digits).
pub(crate) fn is_digit(c: char) -> bool {
    let c = u32::from(c);
    if c < 0x80 {
        return (0x30..=0x39).contains(&c);
    }
    // Start code points of the ten-digit runs, plus the one longer run (mathematical digits).
    const RUNS: &[(u32, u32)] = &[
        (0x0660, 0x0669),
        (0x06F0, 0x06F9),
        (0x07C0, 0x07C9),
        (0x0966, 0x096F),
        (0x09E6, 0x09EF),
        (0x0A66, 0x0A6F),
        (0x0AE6, 0x0AEF),
        (0x0B66, 0x0B6F),
        (0x0BE6, 0x0BEF),
        (0x0C66, 0x0C6F),
        (0x0CE6, 0x0CEF),
        (0x0D66, 0x0D6F),
        (0x0DE6, 0x0DEF),
        (0x0E50, 0x0E59),
        (0x0ED0, 0x0ED9),
        (0x0F20, 0x0F29),
        (0x1040, 0x1049),
        (0x1090, 0x1099),
        (0x17E0, 0x17E9),
        (0x1810, 0x1819),
        (0x1946, 0x194F),
        (0x19D0, 0x19D9),
        (0x1A80, 0x1A89),
        (0x1A90, 0x1A99),
        (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9),
        (0x1C40, 0x1C49),
        (0x1C50, 0x1C59),
        (0xA620, 0xA629),
        (0xA8D0, 0xA8D9),
        (0xA900, 0xA909),
        (0xA9D0, 0xA9D9),
        (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59),
        (0xABF0, 0xABF9),
        (0xFF10, 0xFF19),
        (0x104A0, 0x104A9),
        (0x10D30, 0x10D39),
        (0x11066, 0x1106F),
        (0x110F0, 0x110F9),
        (0x11136, 0x1113F),
        (0x111D0, 0x111D9),
        (0x112F0, 0x112F9),
        (0x11450, 0x11459),
        (0x114D0, 0x114D9),
        (0x11650, 0x11659),
        (0x116C0, 0x116C9),
        (0x11730, 0x11739),
        (0x118E0, 0x118E9),
        (0x11950, 0x11959),
        (0x11C50, 0x11C59),
        (0x11D50, 0x11D59),
        (0x11DA0, 0x11DA9),
        (0x11F50, 0x11F59),
        (0x16A60, 0x16A69),
        (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59),
        (0x1D7CE, 0x1D7FF),
        (0x1E140, 0x1E149),
        (0x1E2F0, 0x1E2F9),
        (0x1E4F0, 0x1E4F9),
        (0x1E950, 0x1E959),
        (0x1FBF0, 0x1FBF9),
    ];
    RUNS.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
}

/// Compare `bytes` with an ASCII lowercase `word` the way `strings.ToLower(s) == word` does in
/// Go: ASCII letters fold, and so do the two non-ASCII letters whose simple lowercase mapping is
/// ASCII (U+0130 `İ` -> `i`, U+212A Kelvin sign -> `k`).
pub(crate) fn go_lower_eq(bytes: &[u8], word: &str) -> bool {
    let mut rest = bytes;
    let mut want = word.bytes();
    loop {
        let (c, w) = decode_rune(rest);
        if w == 0 {
            return want.next().is_none();
        }
        rest = rest.get(w..).unwrap_or_default();
        let folded = match c {
            '\u{130}' => 'i',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        };
        match want.next() {
            Some(b) if char::from(b) == folded => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_matches_go() {
        assert_eq!(decode_rune(b""), (EOF, 0));
        assert_eq!(decode_rune(b"\0"), (EOF, 1));
        assert_eq!(decode_rune(b"a"), ('a', 1));
        assert_eq!(decode_rune("é".as_bytes()), ('é', 2));
        assert_eq!(decode_rune("😀x".as_bytes()), ('😀', 4));
        assert_eq!(decode_rune(b"\xff"), (char::REPLACEMENT_CHARACTER, 1));
        assert_eq!(decode_rune(b"\xc3"), (char::REPLACEMENT_CHARACTER, 1));
        // Surrogates and overlong forms are invalid in Go too.
        assert_eq!(
            decode_rune(b"\xed\xa0\x80"),
            (char::REPLACEMENT_CHARACTER, 1)
        );
        assert_eq!(decode_rune(b"\xc0\x80"), (char::REPLACEMENT_CHARACTER, 1));
    }

    #[test]
    fn classes() {
        assert!(is_digit('7') && is_digit('٣') && is_digit('\u{11F50}'));
        assert!(!is_digit('\u{10D40}') && !is_digit('a') && !is_digit('²'));
        assert!(is_space('\u{85}') && is_space('\u{a0}') && is_space('\u{3000}'));
        assert!(!is_space('\u{feff}') && !is_space(EOF));
        assert!(go_lower_eq(b"INCLUDE", "include"));
        assert!(go_lower_eq("\u{130}nclude".as_bytes(), "include"));
        assert!(!go_lower_eq(b"includes", "include"));
        assert!(!go_lower_eq(b"inclu", "include"));
    }
}
