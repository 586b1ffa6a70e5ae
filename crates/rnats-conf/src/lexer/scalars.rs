//! Lexer states for scalar values: quoted, bare and block strings with their escapes, numbers
//! with size suffixes, floats, IP-like strings and Zulu datetimes.
//!
//! Model: one method per reference state. Why separate: these states hold the value quirks (a
//! number turning into a string at the first unexpected character, `2m` being an integer while
//! `10s` is a string, blocks closing only on a bare `)` line), kept apart from the structural
//! states so each file stays readable.

use super::{Kind, Lexer, Next, State, esc};
use crate::chars::{EOF, is_digit, is_nl, is_number_suffix, is_ws};

impl Lexer<'_> {
    pub(super) fn quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\'' {
            self.backup();
            self.emit(Kind::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            return self.eof_or_error();
        }
        Some(State::QuotedString)
    }

    pub(super) fn dub_quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_part(1);
            return Some(State::StringEscape);
        }
        if r == '"' {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            return self.eof_or_error();
        }
        Some(State::DubQuotedString)
    }

    pub(super) fn bare_string(&mut self) -> Next {
        let r = self.next();
        if r == '\\' {
            self.add_current_part(1);
            return Some(State::StringEscape);
        }
        if is_nl(r) || r == EOF || r == ';' || r == ',' || r == ']' || r == '}' || is_ws(r) {
            self.backup();
            if self.part_count > 0 {
                self.emit_string();
            } else if self.is_bool() {
                self.emit(Kind::Bool);
            } else if self.is_variable() {
                self.emit(Kind::Variable);
            } else {
                self.emit_string();
            }
            return self.pop();
        }
        if r == '\'' {
            self.backup();
            self.emit_string();
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::BareString)
    }

    /// `( ... )`: raw text up to a `)` that sits alone between two `\n` (or `\n` and the end).
    pub(super) fn block(&mut self) -> Next {
        let r = self.next();
        if r == ')' {
            self.backup();
            self.backup();
            if self.next() != '\n' {
                self.next();
                return Some(State::Block);
            }
            self.next();
            let after = self.next();
            if after == '\n' || after == EOF {
                self.backup();
                self.backup();
                self.emit(Kind::String);
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
        } else if r == EOF {
            return self.errorf("Unexpected EOF processing block.".to_string());
        }
        Some(State::Block)
    }

    pub(super) fn string_escape(&mut self) -> Next {
        let r = self.next();
        let piece: &[u8] = match r {
            'x' => return Some(State::StringBinary),
            't' => b"\t",
            'n' => b"\n",
            'r' => b"\r",
            '"' => b"\"",
            '\\' => b"\\",
            _ => {
                return self.errorf(format!(
                    "Invalid escape character '{}'. Only the following escape characters are \
                     allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                    esc(r)
                ));
            }
        };
        self.add_part(piece)
    }

    pub(super) fn string_binary(&mut self) -> Next {
        const EOL: &str = "Expected two hexadecimal digits after '\\x', but hit end of line";
        if is_nl(self.next()) || is_nl(self.next()) {
            return self.errorf(EOL.to_string());
        }
        let digits = self
            .input
            .get(self.pos.saturating_sub(2)..self.pos)
            .unwrap_or_default();
        match decode_hex_pair(digits) {
            Some(b) => self.add_part(&[b]),
            None => {
                let shown = String::from_utf8_lossy(digits).into_owned();
                self.errorf(format!(
                    "Expected two hexadecimal digits after '\\x', but got '{shown}'"
                ))
            }
        }
    }

    pub(super) fn number(&mut self) -> Next {
        let r = self.next();
        if r == '-' {
            if self.pos.saturating_sub(self.start) != 5 {
                return self.errorf("All ISO8601 dates must be in full Zulu form.".to_string());
            }
            return Some(State::DateAfterYear);
        }
        if is_digit(r) {
            return Some(State::Number);
        }
        if r == '.' {
            return Some(State::FloatStart);
        }
        if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        if !ends_number(r) {
            self.string_state = State::BareString;
            return Some(State::BareString);
        }
        self.backup();
        self.emit(Kind::Integer);
        self.pop()
    }

    pub(super) fn convenient_number(&mut self) -> Next {
        let r = self.next();
        if matches!(r, 'b' | 'B' | 'i' | 'I') {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        if ends_number(r) {
            self.emit(Kind::Integer);
            return self.pop();
        }
        self.string_state = State::BareString;
        Some(State::BareString)
    }

    pub(super) fn date_after_year(&mut self) -> Next {
        for f in "00-00T00:00:00Z".chars() {
            let r = self.next();
            if f == '0' {
                if !is_digit(r) {
                    return self.errorf(format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        esc(r)
                    ));
                }
            } else if f != r {
                return self.errorf(format!(
                    "Expected '{f}' in ISO8601 datetime, but found '{}' instead.",
                    esc(r)
                ));
            }
        }
        self.emit(Kind::Datetime);
        self.pop()
    }
}

/// Characters after which a number (with or without size suffix) is complete.
fn ends_number(r: char) -> bool {
    is_nl(r) || r == EOF || r == '}' || r == ';' || r == ',' || is_ws(r) || is_digit(r)
}

fn decode_hex_pair(digits: &[u8]) -> Option<u8> {
    let [hi, lo] = digits else {
        return None;
    };
    let h = char::from(*hi).to_digit(16)?;
    let l = char::from(*lo).to_digit(16)?;
    u8::try_from(h * 16 + l).ok()
}
