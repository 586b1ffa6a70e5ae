//! The client protocol parser: a resumable byte state machine (nats-server `parser.go`).
//!
//! Model: the connection owns a read buffer; it calls [`Parser::parse`] with the unconsumed bytes
//! and gets back either an op plus how many bytes that op consumed, or "need more" plus how many
//! bytes could already be dropped. Ops borrow the caller's buffer, so routing a message costs no
//! copy and no reference counting. Bytes the parser has not consumed must be presented again, at
//! the front of the next call; that is how a control line or payload split across reads is
//! resumed without copying it into a scratch buffer.
//!
//! Memory is bounded whatever the peer sends: op names and separator runs are consumed as they
//! arrive, an argument line is cut at `max_control_line`, and a payload is only awaited up to the
//! size that the control line announced (itself checked against `max_payload` first).
//!
//! Error classes follow the reference exactly: wrong letters or a bad payload terminator are
//! [`ParseError::UnknownOp`] (`-ERR 'Unknown Protocol Operation'`), argument errors are
//! [`ParseError::BadArgs`] (a silent close), and the limits have their own variants.

use memchr::memchr;

/// `parseSize`: 1 to 9 ASCII digits, anything else is invalid (`None`).
pub fn parse_size(d: &[u8]) -> Option<usize> {
    if d.is_empty() || d.len() > 9 {
        return None;
    }
    let mut n = 0usize;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b - b'0') as usize;
    }
    Some(n)
}

/// A client-to-server operation, borrowing the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientOp<'a> {
    /// `CONNECT <json>`: the raw JSON argument.
    Connect(&'a [u8]),
    /// `PUB`/`HPUB`. `data` is the whole body: the header block (first `header_len` bytes,
    /// when present) followed by the payload.
    Pub {
        subject: &'a [u8],
        reply: Option<&'a [u8]>,
        header_len: Option<usize>,
        data: &'a [u8],
    },
    /// Emitted (for pedantic connections) right after a PUB/HPUB control line whose subject is
    /// not a valid literal subject, before its payload: the reference sends the `-ERR` at that
    /// point and still delivers the message.
    InvalidPublishSubject,
    /// `SUB <subject> [queue] <sid>`.
    Sub {
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
        sid: &'a [u8],
    },
    /// `UNSUB <sid> [max]`; `max` is `Some(None)` when present but not a valid size.
    Unsub {
        sid: &'a [u8],
        max: Option<Option<usize>>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK` (ignored by the server).
    Ok,
    /// `INFO <json>` sent by a client (parsed and ignored by the server).
    Info(&'a [u8]),
    /// `-ERR <text>` sent by a client (logged, then the connection closes).
    Err(&'a [u8]),
}

/// Why parsing stopped. After any error the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Wrong op letters, missing separator or bad payload terminator.
    #[error("parser ERROR, state={state}, i={offset}: proto={snippet}...")]
    UnknownOp {
        state: u8,
        offset: usize,
        snippet: String,
    },
    /// An argument line longer than `max_control_line`.
    #[error("maximum control line exceeded")]
    MaxControlLine { len: usize, max: usize },
    /// A PUB/HPUB announcing more than the connection's `max_payload`.
    #[error("maximum payload exceeded: {size} vs {max}")]
    MaxPayload { size: usize, max: i64 },
    /// Authentication is required and the first op is not CONNECT.
    #[error("authentication required: first op must be CONNECT")]
    AuthRequired,
    /// HPUB on a connection that did not negotiate headers.
    #[error("message headers not supported")]
    HeadersNotSupported,
    /// Malformed arguments (count, sizes): the reference closes without an `-ERR`.
    #[error("{0}")]
    BadArgs(String),
}

impl ParseError {
    /// The `-ERR` text the reference sends before closing, if any.
    pub fn wire_error(&self) -> Option<&'static str> {
        use crate::wire::*;
        match self {
            ParseError::UnknownOp { .. } => Some(ERR_UNKNOWN_PROTOCOL),
            ParseError::MaxControlLine { .. } => Some(ERR_MAX_CONTROL_LINE),
            ParseError::MaxPayload { .. } => Some(ERR_MAX_PAYLOAD),
            ParseError::AuthRequired => Some(ERR_AUTHORIZATION_VIOLATION),
            ParseError::HeadersNotSupported | ParseError::BadArgs(_) => None,
        }
    }
}

/// The outcome of one [`Parser::parse`] call.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// An op, and the number of bytes to drop from the front of the buffer.
    Op(ClientOp<'a>, usize),
    /// Nothing complete yet; drop this many bytes and call again when more arrive.
    NeedMore(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Connect,
    Pub,
    HPub,
    Sub,
    Unsub,
    Ping,
    Pong,
    Ok,
    Info,
    Err,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// At least one space or tab must follow the op name.
    Required,
    /// Spaces are skipped but not required (CONNECT, INFO).
    Optional,
    /// Everything up to `\n` is ignored (PING, PONG, +OK).
    SkipLine,
}

const OPS: &[(&[u8], Kind, Sep)] = &[
    (b"CONNECT", Kind::Connect, Sep::Optional),
    (b"PUB", Kind::Pub, Sep::Required),
    (b"PING", Kind::Ping, Sep::SkipLine),
    (b"PONG", Kind::Pong, Sep::SkipLine),
    (b"HPUB", Kind::HPub, Sep::Required),
    (b"SUB", Kind::Sub, Sep::Required),
    (b"UNSUB", Kind::Unsub, Sep::Required),
    (b"INFO", Kind::Info, Sep::Optional),
    (b"+OK", Kind::Ok, Sep::SkipLine),
    (b"-ERR", Kind::Err, Sep::Required),
];

/// A PUB/HPUB whose control line is parsed; offsets are relative to the argument start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PendingPub {
    subject: (usize, usize),
    reply: Option<(usize, usize)>,
    header_len: Option<usize>,
    size: usize,
    /// Offset of the first payload byte (just past the control line's `\n`).
    body: usize,
    /// The pedantic notice was already emitted.
    noticed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    /// The op name is consumed; `required` is true until the first separator was seen.
    Spaces {
        kind: Kind,
        required: bool,
    },
    /// The buffer starts at the argument.
    Arg(Kind),
    /// Ignoring bytes until `\n`.
    Skip(Kind),
    /// Waiting for (or emitting) a payload.
    Payload(PendingPub),
}

/// The resumable parser. One per connection.
#[derive(Debug, Clone)]
pub struct Parser {
    state: State,
    /// `max_control_line`: the longest argument part accepted.
    pub max_control_line: usize,
    /// The connection's `max_payload`; `-1` is unlimited, any other negative rejects all.
    pub max_payload: i64,
    /// Headers negotiated (HPUB allowed).
    pub headers: bool,
    /// Pedantic mode (CONNECT `pedantic`, default true).
    pub pedantic: bool,
    /// Authentication required and CONNECT not seen yet: the first op must be CONNECT.
    pub expect_connect: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            state: State::Start,
            max_control_line: 4096,
            max_payload: 1024 * 1024,
            headers: false,
            pedantic: true,
            expect_connect: false,
        }
    }
}

fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Split on runs of the given separators into at most `N` slices plus a count of all fields.
fn split_args<const N: usize>(arg: &[u8], seps: fn(u8) -> bool) -> ([(usize, usize); N], usize) {
    let mut out = [(0usize, 0usize); N];
    let mut n = 0;
    let mut start: Option<usize> = None;
    for (i, &b) in arg.iter().enumerate() {
        if seps(b) {
            if let Some(s) = start.take() {
                if n < N {
                    out[n] = (s, i - s);
                }
                n += 1;
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        if n < N {
            out[n] = (s, arg.len() - s);
        }
        n += 1;
    }
    (out, n)
}

fn is_sub_sep(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn snippet(buf: &[u8], at: usize) -> String {
    // Go's protoSnippet: up to 32 bytes from `at`, %q-quoted.
    if at >= buf.len() {
        return "\"\"".to_string();
    }
    let stop = (at + 32).min(buf.len());
    crate::wire::go_quote(&buf[at..stop])
}

fn slice(buf: &[u8], r: (usize, usize)) -> &[u8] {
    &buf[r.0..r.0 + r.1]
}

impl Parser {
    /// A parser with the given limits.
    pub fn new(max_control_line: usize, max_payload: i64) -> Self {
        Parser {
            max_control_line,
            max_payload,
            ..Parser::default()
        }
    }

    /// True when no op is partially parsed.
    pub fn is_idle(&self) -> bool {
        self.state == State::Start
    }

    fn unknown(&self, buf: &[u8], at: usize) -> ParseError {
        let state = match self.state {
            State::Start => 0,
            State::Spaces { .. } => 1,
            State::Arg(_) => 2,
            State::Skip(_) => 3,
            State::Payload(_) => 4,
        };
        ParseError::UnknownOp {
            state,
            offset: at,
            snippet: snippet(buf, at),
        }
    }

    /// Parse the next op from `buf` (the unconsumed bytes). See the module docs for the contract.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Step<'a>, ParseError> {
        let mut pos = 0usize;
        loop {
            match self.state {
                State::Start => {
                    let rest = &buf[pos..];
                    let Some(&first) = rest.first() else {
                        return Ok(Step::NeedMore(pos));
                    };
                    if self.expect_connect && first != b'C' && first != b'c' {
                        return Err(ParseError::AuthRequired);
                    }
                    let mut found = None;
                    let mut partial = false;
                    let mut best_mismatch = 0usize;
                    for &(name, kind, sep) in OPS {
                        let n = name.len().min(rest.len());
                        let mism = (0..n).find(|&i| !rest[i].eq_ignore_ascii_case(&name[i]));
                        match mism {
                            None if n == name.len() => {
                                found = Some((name.len(), kind, sep));
                                break;
                            }
                            None => partial = true,
                            Some(i) => best_mismatch = best_mismatch.max(i),
                        }
                    }
                    match found {
                        Some((len, kind, sep)) => {
                            pos += len;
                            self.state = match sep {
                                Sep::SkipLine => State::Skip(kind),
                                Sep::Required => State::Spaces {
                                    kind,
                                    required: true,
                                },
                                Sep::Optional => State::Spaces {
                                    kind,
                                    required: false,
                                },
                            };
                        }
                        None if partial => return Ok(Step::NeedMore(pos)),
                        None => return Err(self.unknown(buf, pos + best_mismatch)),
                    }
                }
                State::Spaces { kind, required } => {
                    let rest = &buf[pos..];
                    let skip = rest.iter().take_while(|&&b| is_sep(b)).count();
                    if required {
                        if rest.is_empty() {
                            return Ok(Step::NeedMore(pos));
                        }
                        if skip == 0 {
                            return Err(self.unknown(buf, pos));
                        }
                    }
                    pos += skip;
                    if skip == rest.len() {
                        self.state = State::Spaces {
                            kind,
                            required: false,
                        };
                        return Ok(Step::NeedMore(pos));
                    }
                    self.state = State::Arg(kind);
                }
                State::Skip(kind) => {
                    let rest = &buf[pos..];
                    match memchr(b'\n', rest) {
                        None => return Ok(Step::NeedMore(buf.len())),
                        Some(nl) => {
                            self.state = State::Start;
                            let op = match kind {
                                Kind::Ping => ClientOp::Ping,
                                Kind::Pong => ClientOp::Pong,
                                _ => ClientOp::Ok,
                            };
                            return Ok(Step::Op(op, pos + nl + 1));
                        }
                    }
                }
                State::Arg(kind) => {
                    // Everything from here on is only consumed together with the op.
                    let rest = &buf[pos..];
                    let Some(nl) = memchr(b'\n', rest) else {
                        let mut len = rest.len();
                        if rest.last() == Some(&b'\r') {
                            len -= 1;
                        }
                        if len > self.max_control_line {
                            return Err(ParseError::MaxControlLine {
                                len,
                                max: self.max_control_line,
                            });
                        }
                        return Ok(Step::NeedMore(pos));
                    };
                    let mut arg = &rest[..nl];
                    if arg.last() == Some(&b'\r') {
                        arg = &arg[..arg.len() - 1];
                    } else if memchr(b'\r', arg).is_some() {
                        // The reference drops the last byte when it saw a `\r` anywhere.
                        arg = &arg[..arg.len() - 1];
                    }
                    if arg.len() > self.max_control_line {
                        return Err(ParseError::MaxControlLine {
                            len: arg.len(),
                            max: self.max_control_line,
                        });
                    }
                    let line_end = pos + nl + 1;
                    match kind {
                        Kind::Pub | Kind::HPub => {
                            let pending = self.pub_args(kind, arg, nl + 1)?;
                            // Offsets are relative to `rest`; keep `pos` unconsumed.
                            self.state = State::Payload(pending);
                            continue;
                        }
                        _ => {}
                    }
                    self.state = State::Start;
                    let op = match kind {
                        Kind::Connect => ClientOp::Connect(arg),
                        Kind::Info => ClientOp::Info(arg),
                        Kind::Err => ClientOp::Err(arg),
                        Kind::Sub => {
                            let (a, n) = split_args::<3>(arg, is_sub_sep);
                            match n {
                                2 => ClientOp::Sub {
                                    subject: slice(arg, a[0]),
                                    queue: None,
                                    sid: slice(arg, a[1]),
                                },
                                3 => ClientOp::Sub {
                                    subject: slice(arg, a[0]),
                                    queue: Some(slice(arg, a[1])),
                                    sid: slice(arg, a[2]),
                                },
                                _ => {
                                    return Err(ParseError::BadArgs(format!(
                                        "processSub Parse Error: {}",
                                        crate::wire::go_quote(arg)
                                    )));
                                }
                            }
                        }
                        Kind::Unsub => {
                            let (a, n) = split_args::<2>(arg, is_sub_sep);
                            match n {
                                1 => ClientOp::Unsub {
                                    sid: slice(arg, a[0]),
                                    max: None,
                                },
                                2 => ClientOp::Unsub {
                                    sid: slice(arg, a[0]),
                                    max: Some(parse_size(slice(arg, a[1]))),
                                },
                                _ => {
                                    return Err(ParseError::BadArgs(format!(
                                        "processUnsub Parse Error: {}",
                                        crate::wire::go_quote(arg)
                                    )));
                                }
                            }
                        }
                        Kind::Pub | Kind::HPub | Kind::Ping | Kind::Pong | Kind::Ok => {
                            // Not argument-line ops; handled above.
                            return Err(self.unknown(buf, pos));
                        }
                    };
                    return Ok(Step::Op(op, line_end));
                }
                State::Payload(mut p) => {
                    let rest = &buf[pos..];
                    if self.pedantic && !p.noticed {
                        p.noticed = true;
                        self.state = State::Payload(p);
                        if !crate::subject::is_valid_literal_subject(slice(rest, p.subject)) {
                            return Ok(Step::Op(ClientOp::InvalidPublishSubject, pos));
                        }
                    }
                    let end = p.body + p.size;
                    if rest.len() > end && rest[end] != b'\r' {
                        return Err(self.unknown(buf, pos + end));
                    }
                    if rest.len() > end + 1 && rest[end + 1] != b'\n' {
                        return Err(self.unknown(buf, pos + end + 1));
                    }
                    if rest.len() < end + 2 {
                        return Ok(Step::NeedMore(pos));
                    }
                    self.state = State::Start;
                    let op = ClientOp::Pub {
                        subject: slice(rest, p.subject),
                        reply: p.reply.map(|r| slice(rest, r)),
                        header_len: p.header_len,
                        data: &rest[p.body..end],
                    };
                    return Ok(Step::Op(op, pos + end + 2));
                }
            }
        }
    }

    fn pub_args(&self, kind: Kind, arg: &[u8], body: usize) -> Result<PendingPub, ParseError> {
        let q = || crate::wire::go_quote(arg);
        let (a, n) = split_args::<4>(arg, is_sep);
        let (subject, reply, header_len, size) = if kind == Kind::Pub {
            let (subject, reply, szb) = match n {
                2 => (a[0], None, a[1]),
                3 => (a[0], Some(a[1]), a[2]),
                _ => {
                    return Err(ParseError::BadArgs(format!(
                        "processPub Parse Error: {}",
                        q()
                    )));
                }
            };
            let size = parse_size(slice(arg, szb)).ok_or_else(|| {
                ParseError::BadArgs(format!("processPub Bad or Missing Size: {}", q()))
            })?;
            (subject, reply, None, size)
        } else {
            if !self.headers {
                return Err(ParseError::HeadersNotSupported);
            }
            let (subject, reply, hdb, szb) = match n {
                3 => (a[0], None, a[1], a[2]),
                4 => (a[0], Some(a[1]), a[2], a[3]),
                _ => {
                    return Err(ParseError::BadArgs(format!(
                        "processHeaderPub Parse Error: {}",
                        q()
                    )));
                }
            };
            let hdr = parse_size(slice(arg, hdb)).ok_or_else(|| {
                ParseError::BadArgs(format!(
                    "processHeaderPub Bad or Missing Header Size: {}",
                    q()
                ))
            })?;
            let size = parse_size(slice(arg, szb)).ok_or_else(|| {
                ParseError::BadArgs(format!(
                    "processHeaderPub Bad or Missing Total Size: {}",
                    q()
                ))
            })?;
            if hdr > size {
                return Err(ParseError::BadArgs(format!(
                    "processHeaderPub Header Size larger then TotalSize: {}",
                    q()
                )));
            }
            (subject, reply, Some(hdr), size)
        };
        if self.max_payload != -1 && size as i64 > self.max_payload {
            return Err(ParseError::MaxPayload {
                size,
                max: self.max_payload,
            });
        }
        Ok(PendingPub {
            subject,
            reply,
            header_len,
            size,
            body,
            noticed: false,
        })
    }
}

#[cfg(test)]
mod tests;
