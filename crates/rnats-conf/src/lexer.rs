//! The tokenizer: a state machine that reproduces the reference lexer (`conf/lex.go`) state by
//! state.
//!
//! Model: a set of states (an enum, not closures), a stack of return states, and a queue of
//! emitted tokens that the parser pulls one at a time. Every state does what its Go counterpart
//! does with the same cursor arithmetic (`start`, `pos`, `width`, `line`, line-start markers), so
//! token values, error texts and the reported line/column numbers are identical to the
//! reference's, quirks included (a literal NUL acts as end of input, a lone `/` is whitespace in
//! some places and an error in others, `1m30s` stops after `1m`, block strings never close on
//! CRLF lines, ...). Why a literal port: the configuration language has no grammar other than
//! this code, and a drop-in replacement must accept and reject exactly the same files.
//!
//! Robustness: the machine is iterative (no recursion), works on bytes (any input is accepted),
//! never indexes out of bounds, and a step budget proportional to the input length guarantees
//! termination in linear time even if some state failed to make progress.

use crate::chars::{
    EOF, decode_rune, go_lower_eq, is_digit, is_key_separator, is_nl, is_number_suffix, is_space,
    is_ws,
};
use std::collections::VecDeque;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Eof,
    Key,
    Text,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    CommentStart,
    Variable,
    Include,
}

/// One token with the reference's position conventions: `line` is 1-based; `col` is the byte
/// offset from the newline that precedes the line (so 0-based on line 1 and 1-based after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub val: Vec<u8>,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    BlockStart,
    BlockValueEnd,
    BlockEnd,
    KeyStart,
    DubQuotedKey,
    QuotedKey,
    IncludeStart,
    IncludeQuotedString,
    IncludeDubQuotedString,
    IncludeString,
    Include,
    Key,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapQuotedKey,
    MapDubQuotedKey,
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    QuotedString,
    DubQuotedString,
    BareString,
    Block,
    StringEscape,
    StringBinary,
    NumberStart,
    Number,
    ConvenientNumber,
    DateAfterYear,
    NegNumberStart,
    NegNumber,
    FloatStart,
    Float,
    IpAddr,
    CommentStart,
    Comment,
}

/// The lexer over one input.
pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    start: usize,
    pos: usize,
    width: usize,
    line: usize,
    state: Option<State>,
    stack: Vec<State>,
    /// Escaped pieces of the current string, already concatenated.
    parts: Vec<u8>,
    /// How many pieces `parts` holds (a piece may be empty, and Go counts it).
    part_count: usize,
    string_state: State,
    /// Offset of the newline that starts the current line (0 on line 1).
    lstart: usize,
    /// `lstart` as it was when the current token started.
    ilstart: usize,
    queue: VecDeque<Token>,
    steps_left: usize,
}

type Next = Option<State>;

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            width: 0,
            line: 1,
            state: Some(State::Top),
            stack: Vec::new(),
            parts: Vec::new(),
            part_count: 0,
            string_state: State::BareString,
            lstart: 0,
            ilstart: 0,
            queue: VecDeque::new(),
            steps_left: input.len().saturating_mul(16).saturating_add(1024),
        }
    }

    /// The next token. After an error or end of input, returns end-of-input tokens forever.
    pub(crate) fn next_token(&mut self) -> Token {
        loop {
            if let Some(t) = self.queue.pop_front() {
                return t;
            }
            let Some(state) = self.state else {
                return Token {
                    kind: Kind::Eof,
                    val: Vec::new(),
                    line: self.line,
                    col: 0,
                };
            };
            if self.steps_left == 0 {
                self.state = self.errorf("lexer made no progress".to_string());
                continue;
            }
            self.steps_left -= 1;
            self.state = self.step(state);
        }
    }

    // ----- cursor primitives (same arithmetic as the reference) -----

    fn next(&mut self) -> char {
        let Some(rest) = self.input.get(self.pos..).filter(|r| !r.is_empty()) else {
            self.width = 0;
            return EOF;
        };
        if rest.first() == Some(&b'\n') {
            self.line += 1;
            self.lstart = self.pos;
        }
        let (c, w) = decode_rune(rest);
        self.width = w;
        self.pos += w;
        c
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        if self.input.get(self.pos) == Some(&b'\n') {
            self.line = self.line.saturating_sub(1);
        }
    }

    fn peek(&mut self) -> char {
        let c = self.next();
        self.backup();
        c
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn current(&self) -> &'a [u8] {
        self.input.get(self.start..self.pos).unwrap_or_default()
    }

    fn push(&mut self, s: State) {
        self.stack.push(s);
    }

    fn pop(&mut self) -> Next {
        match self.stack.pop() {
            Some(s) => Some(s),
            None => self.errorf("BUG in lexer: no states to pop.".to_string()),
        }
    }

    fn push_token(&mut self, kind: Kind, val: Vec<u8>) {
        // Go: pos - ilstart - len(val), as a signed int; clamp instead of wrapping.
        let col = self
            .pos
            .saturating_sub(self.ilstart)
            .saturating_sub(val.len());
        self.queue.push_back(Token {
            kind,
            val,
            line: self.line,
            col,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    /// Emit the pending text (escaped pieces are kept, as in the reference).
    fn emit(&mut self, kind: Kind) {
        let mut val = self.parts.clone();
        val.extend_from_slice(self.current());
        self.push_token(kind, val);
    }

    /// Emit the pending text as a string and clear the escaped pieces.
    fn emit_string(&mut self) {
        let mut val = std::mem::take(&mut self.parts);
        self.part_count = 0;
        val.extend_from_slice(self.current());
        self.push_token(Kind::String, val);
    }

    fn add_current_part(&mut self, offset: usize) {
        let end = self.pos.saturating_sub(offset);
        let piece = self.input.get(self.start..end).unwrap_or_default();
        self.parts.extend_from_slice(piece);
        self.part_count += 1;
        self.start = self.pos;
    }

    fn add_part(&mut self, piece: &[u8]) -> Next {
        self.parts.extend_from_slice(piece);
        self.part_count += 1;
        self.start = self.pos;
        Some(self.string_state)
    }

    fn errorf(&mut self, msg: String) -> Next {
        let col = self.pos.saturating_sub(self.lstart);
        self.queue.push_back(Token {
            kind: Kind::Error,
            val: msg.into_bytes(),
            line: self.line,
            col,
        });
        None
    }

    /// At a spot where the reference treats end of input as success only if nothing is pending.
    fn eof_or_error(&mut self) -> Next {
        if self.pos > self.start {
            return self.errorf("Unexpected EOF.".to_string());
        }
        self.emit(Kind::Eof);
        None
    }

    /// After a `/`: a second `/` starts a comment that returns to `ret`; otherwise the second
    /// character is put back and `false` says the caller's fallthrough applies.
    fn slash_comment(&mut self, ret: State) -> bool {
        if self.next() == '/' {
            self.push(ret);
            return true;
        }
        self.backup();
        false
    }

    fn key_check_keyword(&mut self, fall_through: State, push: Option<State>) -> Next {
        if go_lower_eq(self.current(), "include") {
            self.ignore();
            if let Some(p) = push {
                self.push(p);
            }
            return Some(State::IncludeStart);
        }
        self.emit(Kind::Key);
        Some(fall_through)
    }

    fn is_bool(&self) -> bool {
        let s = self.current();
        ["true", "false", "on", "off", "yes", "no"]
            .iter()
            .any(|w| go_lower_eq(s, w))
    }

    fn is_variable(&mut self) -> bool {
        if self.input.get(self.start) == Some(&b'$') {
            self.start += 1;
            return true;
        }
        false
    }

    // ----- the states -----

    fn step(&mut self, state: State) -> Next {
        use State as S;
        match state {
            S::Top => self.top(),
            S::TopValueEnd => self.top_value_end(),
            S::BlockStart => self.block_start(),
            S::BlockValueEnd => self.block_value_end(),
            S::BlockEnd => self.block_end(),
            S::KeyStart => self.key_start(),
            S::DubQuotedKey => self.quoted_key('"', S::DubQuotedKey),
            S::QuotedKey => self.quoted_key('\'', S::QuotedKey),
            S::IncludeStart => {
                if is_ws(self.next()) {
                    self.ignore();
                    return Some(S::IncludeStart);
                }
                self.backup();
                Some(S::Include)
            }
            S::IncludeQuotedString => self.include_quoted('\'', "Unexpected EOF in quoted include"),
            S::IncludeDubQuotedString => {
                self.include_quoted('"', "Unexpected EOF in double quoted include")
            }
            S::IncludeString => self.include_string(),
            S::Include => self.include(),
            S::Key => self.key(),
            S::KeyEnd => self.key_end(),
            S::Value => self.value(),
            S::ArrayValue => self.array_value(),
            S::ArrayValueEnd => self.array_value_end(),
            S::ArrayEnd | S::MapEnd => {
                self.ignore();
                self.emit(if state == S::ArrayEnd {
                    Kind::ArrayEnd
                } else {
                    Kind::MapEnd
                });
                self.pop()
            }
            S::MapKeyStart => self.map_key_start(),
            S::MapQuotedKey => self.map_quoted_key(
                '\'',
                S::MapQuotedKey,
                "Unexpected EOF processing quoted map key.",
            ),
            S::MapDubQuotedKey => self.map_quoted_key(
                '"',
                S::MapDubQuotedKey,
                "Unexpected EOF processing double quoted map key.",
            ),
            S::MapKey => self.map_key(),
            S::MapKeyEnd => {
                let r = self.next();
                if is_space(r) {
                    self.ignore();
                    return Some(S::MapKeyEnd);
                }
                if is_key_separator(r) {
                    self.ignore();
                    return Some(S::MapValue);
                }
                self.backup();
                Some(S::MapValue)
            }
            S::MapValue => self.map_value(),
            S::MapValueEnd => self.map_value_end(),
            S::QuotedString => self.quoted_string(),
            S::DubQuotedString => self.dub_quoted_string(),
            S::BareString => self.bare_string(),
            S::Block => self.block(),
            S::StringEscape => self.string_escape(),
            S::StringBinary => self.string_binary(),
            S::NumberStart | S::NegNumberStart => {
                let r = self.next();
                if !is_digit(r) {
                    if r == '.' {
                        return self.errorf("Floats must start with a digit, not '.'.".to_string());
                    }
                    return self.errorf(format!("Expected a digit but got '{}'.", esc(r)));
                }
                Some(if state == S::NumberStart {
                    S::Number
                } else {
                    S::NegNumber
                })
            }
            S::Number => self.number(),
            S::ConvenientNumber => self.convenient_number(),
            S::DateAfterYear => self.date_after_year(),
            S::NegNumber => {
                let r = self.next();
                if is_digit(r) {
                    return Some(S::NegNumber);
                }
                if r == '.' {
                    return Some(S::FloatStart);
                }
                if is_number_suffix(r) {
                    return Some(S::ConvenientNumber);
                }
                self.backup();
                self.emit(Kind::Integer);
                self.pop()
            }
            S::FloatStart => {
                let r = self.next();
                if !is_digit(r) {
                    return self.errorf(format!(
                        "Floats must have a digit after the '.', but got '{}' instead.",
                        esc(r)
                    ));
                }
                Some(S::Float)
            }
            S::Float => {
                let r = self.next();
                if is_digit(r) {
                    return Some(S::Float);
                }
                if r == '.' {
                    return Some(S::IpAddr);
                }
                self.backup();
                self.emit(Kind::Float);
                self.pop()
            }
            S::IpAddr => {
                let r = self.next();
                if is_digit(r) || r == '.' || r == ':' || r == '-' {
                    return Some(S::IpAddr);
                }
                self.backup();
                self.emit(Kind::String);
                self.pop()
            }
            S::CommentStart => {
                self.ignore();
                self.emit(Kind::CommentStart);
                Some(S::Comment)
            }
            S::Comment => {
                let r = self.peek();
                if is_nl(r) || r == EOF {
                    self.emit(Kind::Text);
                    return self.pop();
                }
                self.next();
                Some(S::Comment)
            }
        }
    }
}

/// How the reference prints a rune in an error: a newline as `\n`, anything else verbatim
/// (NUL included).
fn esc(c: char) -> String {
    if c == '\n' {
        "\\n".to_string()
    } else {
        c.to_string()
    }
}

mod scalars;
mod structure;

#[cfg(test)]
mod tests;
