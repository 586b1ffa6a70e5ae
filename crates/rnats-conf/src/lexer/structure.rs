//! Lexer states for the structure of a file: the top level, `{ ... }` wrapped files, keys
//! (including the `include` keyword), arrays and maps.
//!
//! Model: one method per reference state, each returning the next state (or `None` after an
//! error or the end). Why separate: these states only decide where keys and values begin and
//! end; [`super::scalars`] turns the characters of a value into a token.

use super::{Kind, Lexer, Next, State, esc};
use crate::chars::{EOF, is_digit, is_key_separator, is_nl, is_space, is_ws};

impl Lexer<'_> {
    pub(super) fn top(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::Top);
        }
        match r {
            '{' => {
                self.push(State::Top);
                self.ignore();
                Some(State::BlockStart)
            }
            '#' => {
                self.push(State::Top);
                Some(State::CommentStart)
            }
            '/' if self.slash_comment(State::Top) => Some(State::CommentStart),
            '/' | EOF => self.eof_or_error(),
            _ => {
                self.backup();
                self.push(State::TopValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    pub(super) fn top_value_end(&mut self) -> Next {
        let r = self.next();
        if r == '#' {
            self.push(State::Top);
            return Some(State::CommentStart);
        }
        if r == '/' {
            if self.slash_comment(State::Top) {
                return Some(State::CommentStart);
            }
            return Some(State::TopValueEnd);
        }
        if is_ws(r) {
            return Some(State::TopValueEnd);
        }
        if is_nl(r) || r == EOF || r == ';' || r == ',' || r == '}' {
            self.ignore();
            return Some(State::Top);
        }
        self.errorf(format!(
            "Expected a top-level value to end with a new line, comment or EOF, but got '{}' \
             instead.",
            esc(r)
        ))
    }

    pub(super) fn block_start(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::BlockStart);
        }
        match r {
            '{' => {
                self.push(State::BlockEnd);
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            '#' => {
                self.push(State::BlockStart);
                Some(State::CommentStart)
            }
            '/' if self.slash_comment(State::BlockStart) => Some(State::CommentStart),
            '/' | EOF => self.eof_or_error(),
            _ => {
                self.backup();
                self.push(State::BlockValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    pub(super) fn block_value_end(&mut self) -> Next {
        let r = self.next();
        if r == '#' {
            self.push(State::BlockValueEnd);
            return Some(State::CommentStart);
        }
        if r == '/' {
            if self.slash_comment(State::BlockValueEnd) {
                return Some(State::CommentStart);
            }
            return Some(State::BlockValueEnd);
        }
        if is_ws(r) {
            return Some(State::BlockValueEnd);
        }
        if is_nl(r) || r == ';' || r == ',' {
            self.ignore();
            return Some(State::BlockStart);
        }
        if r == '}' {
            self.backup();
            return Some(State::BlockEnd);
        }
        self.errorf(format!(
            "Expected a block-level value to end with a new line, comment or EOF, but got '{}' \
             instead.",
            esc(r)
        ))
    }

    pub(super) fn block_end(&mut self) -> Next {
        let r = self.next();
        if r == '#' {
            self.push(State::BlockStart);
            return Some(State::CommentStart);
        }
        if r == '/' {
            if self.slash_comment(State::BlockStart) {
                return Some(State::CommentStart);
            }
            return Some(State::BlockEnd);
        }
        if is_nl(r) || is_ws(r) {
            return Some(State::BlockEnd);
        }
        if r == ';' || r == ',' {
            self.ignore();
            return Some(State::BlockStart);
        }
        if r == '}' {
            self.ignore();
            return self.pop();
        }
        self.errorf(format!(
            "Expected a block-level to end with a '}}', but got '{}' instead.",
            esc(r)
        ))
    }

    pub(super) fn key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            return self.errorf(format!("Unexpected key separator '{}'", esc(r)));
        }
        if is_space(r) {
            self.next();
            self.ignore();
            return Some(State::KeyStart);
        }
        if r == '"' || r == '\'' {
            self.next();
            self.ignore();
            return Some(if r == '"' {
                State::DubQuotedKey
            } else {
                State::QuotedKey
            });
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    pub(super) fn quoted_key(&mut self, quote: char, again: State) -> Next {
        let r = self.peek();
        if r == quote {
            self.emit(Kind::Key);
            self.next();
            self.ignore();
            return Some(State::KeyEnd);
        }
        if r == EOF {
            return self.eof_or_error();
        }
        self.next();
        Some(again)
    }

    pub(super) fn include_quoted(&mut self, quote: char, eof_msg: &str) -> Next {
        let r = self.next();
        if r == quote {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            return self.errorf(eof_msg.to_string());
        }
        Some(if quote == '"' {
            State::IncludeDubQuotedString
        } else {
            State::IncludeQuotedString
        })
    }

    pub(super) fn include_string(&mut self) -> Next {
        let r = self.next();
        if is_nl(r) || r == EOF || r == ';' || r == '}' || is_ws(r) {
            self.backup();
            self.emit(Kind::Include);
            return self.pop();
        }
        if r == '\'' {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::IncludeString)
    }

    pub(super) fn include(&mut self) -> Next {
        let r = self.next();
        let found = match r {
            '\'' => {
                self.ignore();
                return Some(State::IncludeQuotedString);
            }
            '"' => {
                self.ignore();
                return Some(State::IncludeDubQuotedString);
            }
            '[' => "start of an array",
            '{' => "start of a map",
            '(' => "start of a block",
            c if is_digit(c) || c == '-' => "start of a number",
            '\\' => "escape sequence",
            c if is_nl(c) => "new line",
            _ => {
                self.backup();
                return Some(State::IncludeString);
            }
        };
        self.errorf(format!("Expected include value but found {found}"))
    }

    pub(super) fn key(&mut self) -> Next {
        let r = self.peek();
        if is_space(r) {
            return self.key_check_keyword(State::KeyEnd, None);
        }
        if is_key_separator(r) || r == EOF {
            self.emit(Kind::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    pub(super) fn key_end(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::KeyEnd);
        }
        if is_key_separator(r) {
            self.ignore();
            return Some(State::Value);
        }
        if r == EOF {
            self.emit(Kind::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    pub(super) fn value(&mut self) -> Next {
        let r = self.next();
        if is_ws(r) {
            self.ignore();
            return Some(State::Value);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(Kind::ArrayStart);
                Some(State::ArrayValue)
            }
            '{' => {
                self.ignore();
                self.emit(Kind::MapStart);
                Some(State::MapKeyStart)
            }
            '\'' => {
                self.ignore();
                Some(State::QuotedString)
            }
            '"' => {
                self.ignore();
                self.string_state = State::DubQuotedString;
                Some(State::DubQuotedString)
            }
            '-' => Some(State::NegNumberStart),
            '(' => {
                self.ignore();
                Some(State::Block)
            }
            c if is_digit(c) => {
                self.backup();
                Some(State::NumberStart)
            }
            '.' => self.errorf("Floats must start with a digit".to_string()),
            c if is_nl(c) => self.errorf("Expected value but found new line".to_string()),
            _ => {
                self.backup();
                self.string_state = State::BareString;
                Some(State::BareString)
            }
        }
    }

    pub(super) fn array_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::ArrayValue);
        }
        let terminator_error = match r {
            '#' => {
                self.push(State::ArrayValue);
                return Some(State::CommentStart);
            }
            '/' if self.slash_comment(State::ArrayValue) => return Some(State::CommentStart),
            '/' | ',' => true,
            ']' => return Some(State::ArrayEnd),
            _ => false,
        };
        if terminator_error {
            return self.errorf("Unexpected array value terminator ','.".to_string());
        }
        self.backup();
        self.push(State::ArrayValueEnd);
        Some(State::Value)
    }

    pub(super) fn array_value_end(&mut self) -> Next {
        let r = self.next();
        if is_ws(r) {
            self.ignore();
            return Some(State::ArrayValueEnd);
        }
        match r {
            '#' => {
                self.push(State::ArrayValueEnd);
                Some(State::CommentStart)
            }
            '/' if self.slash_comment(State::ArrayValueEnd) => Some(State::CommentStart),
            c if c == '/' || c == ',' || is_nl(c) => {
                self.ignore();
                Some(State::ArrayValue)
            }
            ']' => Some(State::ArrayEnd),
            _ => self.errorf(format!(
                "Expected an array value terminator \",\" or an array terminator \"]\", but got \
                 '{}' instead.",
                esc(r)
            )),
        }
    }

    pub(super) fn map_key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            return self.errorf(format!("Unexpected key separator '{}'.", esc(r)));
        }
        if r == ']' {
            return self.errorf(format!("Unexpected array end '{}' processing map.", esc(r)));
        }
        if is_space(r) {
            self.next();
            self.ignore();
            return Some(State::MapKeyStart);
        }
        match r {
            '}' => {
                self.next();
                self.ignore();
                return Some(State::MapEnd);
            }
            '#' => {
                self.next();
                self.push(State::MapKeyStart);
                return Some(State::CommentStart);
            }
            '/' => {
                self.next();
                if self.slash_comment(State::MapKeyStart) {
                    return Some(State::CommentStart);
                }
                // The lone '/' is dropped: the key starts at the next character.
            }
            '\'' => {
                self.next();
                self.ignore();
                return Some(State::MapQuotedKey);
            }
            '"' => {
                self.next();
                self.ignore();
                return Some(State::MapDubQuotedKey);
            }
            EOF => return self.errorf("Unexpected EOF processing map.".to_string()),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_quoted_key(&mut self, quote: char, again: State, eof_msg: &str) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.errorf(eof_msg.to_string());
        }
        if r == quote {
            self.emit(Kind::Key);
            self.next();
            self.ignore();
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(again)
    }

    pub(super) fn map_key(&mut self) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.errorf("Unexpected EOF processing map key.".to_string());
        }
        if is_space(r) {
            return self.key_check_keyword(State::MapKeyEnd, Some(State::MapValueEnd));
        }
        if is_key_separator(r) {
            self.emit(Kind::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::MapValue);
        }
        if r == ',' {
            return self.errorf("Unexpected map value terminator \",\".".to_string());
        }
        if r == '}' {
            self.ignore();
            return Some(State::MapEnd);
        }
        self.backup();
        self.push(State::MapValueEnd);
        Some(State::Value)
    }

    pub(super) fn map_value_end(&mut self) -> Next {
        let r = self.next();
        if is_ws(r) {
            self.ignore();
            return Some(State::MapValueEnd);
        }
        match r {
            '#' => {
                self.push(State::MapValueEnd);
                Some(State::CommentStart)
            }
            '/' if self.slash_comment(State::MapValueEnd) => Some(State::CommentStart),
            c if c == '/' || c == ';' || c == ',' || is_nl(c) => {
                self.ignore();
                Some(State::MapKeyStart)
            }
            '}' => {
                self.ignore();
                Some(State::MapEnd)
            }
            _ => self.errorf(format!(
                "Expected a map value terminator \",\" or a map terminator \"}}\", but got '{}' \
                 instead.",
                esc(r)
            )),
        }
    }
}
