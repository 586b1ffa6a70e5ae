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
                return Token { kind: Kind::Eof, val: Vec::new(), line: self.line, col: 0 };
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
        let col = self.pos.saturating_sub(self.ilstart).saturating_sub(val.len());
        self.queue.push_back(Token { kind, val, line: self.line, col });
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
        self.queue.push_back(Token { kind: Kind::Error, val: msg.into_bytes(), line: self.line, col });
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
        ["true", "false", "on", "off", "yes", "no"].iter().any(|w| go_lower_eq(s, w))
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
                self.emit(if state == S::ArrayEnd { Kind::ArrayEnd } else { Kind::MapEnd });
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
                Some(if state == S::NumberStart { S::Number } else { S::NegNumber })
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

    fn top(&mut self) -> Next {
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

    fn top_value_end(&mut self) -> Next {
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

    fn block_start(&mut self) -> Next {
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

    fn block_value_end(&mut self) -> Next {
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

    fn block_end(&mut self) -> Next {
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

    fn key_start(&mut self) -> Next {
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
            return Some(if r == '"' { State::DubQuotedKey } else { State::QuotedKey });
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    fn quoted_key(&mut self, quote: char, again: State) -> Next {
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

    fn include_quoted(&mut self, quote: char, eof_msg: &str) -> Next {
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
        Some(if quote == '"' { State::IncludeDubQuotedString } else { State::IncludeQuotedString })
    }

    fn include_string(&mut self) -> Next {
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

    fn include(&mut self) -> Next {
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

    fn key(&mut self) -> Next {
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

    fn key_end(&mut self) -> Next {
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

    fn value(&mut self) -> Next {
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

    fn array_value(&mut self) -> Next {
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

    fn array_value_end(&mut self) -> Next {
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

    fn map_key_start(&mut self) -> Next {
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

    fn map_quoted_key(&mut self, quote: char, again: State, eof_msg: &str) -> Next {
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

    fn map_key(&mut self) -> Next {
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

    fn map_value(&mut self) -> Next {
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

    fn map_value_end(&mut self) -> Next {
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

    fn quoted_string(&mut self) -> Next {
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

    fn dub_quoted_string(&mut self) -> Next {
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

    fn bare_string(&mut self) -> Next {
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
    fn block(&mut self) -> Next {
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

    fn string_escape(&mut self) -> Next {
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

    fn string_binary(&mut self) -> Next {
        const EOL: &str = "Expected two hexadecimal digits after '\\x', but hit end of line";
        if is_nl(self.next()) || is_nl(self.next()) {
            return self.errorf(EOL.to_string());
        }
        let digits = self.input.get(self.pos.saturating_sub(2)..self.pos).unwrap_or_default();
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

    fn number(&mut self) -> Next {
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

    fn convenient_number(&mut self) -> Next {
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

    fn date_after_year(&mut self) -> Next {
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

/// How the reference prints a rune in an error: a newline as `\n`, anything else verbatim
/// (NUL included).
fn esc(c: char) -> String {
    if c == '\n' { "\\n".to_string() } else { c.to_string() }
}

fn decode_hex_pair(digits: &[u8]) -> Option<u8> {
    let [hi, lo] = digits else {
        return None;
    };
    let h = char::from(*hi).to_digit(16)?;
    let l = char::from(*lo).to_digit(16)?;
    u8::try_from(h * 16 + l).ok()
}

#[cfg(test)]
#[path = "lexer_tests.rs"]
mod tests;
