//! From tokens to the value tree: contexts, keys, variables and includes, as `conf/parse.go`
//! does them in its position-keeping ("pedantic") mode.
//!
//! Model: a stack of open contexts (maps and arrays being filled) and a separate stack of pending
//! keys, exactly like the reference. A key token pushes a key; a finished value is appended to
//! the open array or stored in the open map under the most recently pushed key. Keeping the two
//! stacks separate reproduces the reference's odd-but-observable results (an integer with an
//! unknown suffix such as `1kbb` stores nothing and leaves its key behind; an empty `{ a = }`
//! is stored under `a`). `$name` looks through the open maps innermost first (marking the entry
//! as used), then the environment, whose value is parsed as the text `pk=<value>`. `include`
//! parses the named file on its own (fresh variable scope) and merges its keys.
//!
//! Why bounded: everything here is iterative except include and environment sub-parses, whose
//! nesting is capped, and the value tree's depth is capped at [`crate::MAX_DEPTH`] including
//! values copied in by variables; the amount of copying is budgeted against the input size, so
//! hostile inputs cannot exhaust the stack, memory or time.

use crate::chars::{decode_rune, is_digit};
use crate::error::{ConfError, go_os_reason};
use crate::gopath;
use crate::lexer::{Kind, Lexer, Token};
use crate::value::{DateTime, Entry, Item, Map, Pos, Value};
use crate::{MAX_DEPTH, MAX_INCLUDE_DEPTH, MAX_INCLUDES};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The environment lookup used for `$NAME` references not defined in the file.
pub(crate) type EnvFn<'e> = &'e dyn Fn(&str) -> Option<String>;

/// State shared by one top-level parse and all of its include and environment sub-parses.
pub(crate) struct Shared<'e> {
    env: EnvFn<'e>,
    /// Files being parsed, outermost first (canonical paths when available).
    open_files: Vec<PathBuf>,
    /// Include and environment sub-parses currently nested.
    nesting: usize,
    includes: usize,
    /// Bytes that variable substitution may still copy.
    budget: usize,
}

/// Base allowance for variable copies, on top of [`BUDGET_PER_BYTE`] per byte of file text.
const BUDGET_BASE: usize = 16 << 20;
const BUDGET_PER_BYTE: usize = 16;
/// Approximate bytes charged for each copied value besides its strings.
const ITEM_COST: usize = 64;

impl<'e> Shared<'e> {
    pub(crate) fn new(env: EnvFn<'e>) -> Self {
        Shared {
            env,
            open_files: Vec::new(),
            nesting: 0,
            includes: 0,
            budget: BUDGET_BASE,
        }
    }

    /// Allow more copying for `len` more bytes of configuration text.
    pub(crate) fn grant(&mut self, len: usize) {
        self.budget = self
            .budget
            .saturating_add(len.saturating_mul(BUDGET_PER_BYTE));
    }
}

/// Read and parse a file the way the reference's `ParseFileWithChecks` does.
pub(crate) fn parse_path(fp: &str, shared: &mut Shared<'_>) -> Result<Map, ConfError> {
    let data = read_file(fp)?;
    shared.grant(data.len());
    let key = std::fs::canonicalize(fp).unwrap_or_else(|_| PathBuf::from(fp));
    shared.open_files.push(key);
    let file: Arc<Path> = Arc::from(Path::new(fp));
    let mut env_refs = HashSet::new();
    let result = parse_source(&data, fp, Some(file), shared, &mut env_refs);
    shared.open_files.pop();
    result
}

/// Parse text whose file name (for messages and includes) is `fp` (`""` for none).
pub(crate) fn parse_source(
    src: &[u8],
    fp: &str,
    file: Option<Arc<Path>>,
    shared: &mut Shared<'_>,
    env_refs: &mut HashSet<String>,
) -> Result<Map, ConfError> {
    let parser = Parser {
        lexer: Lexer::new(src),
        ctxs: Vec::new(),
        keys: Vec::new(),
        file,
        dir: gopath::dir(fp),
        env_refs,
        shared,
    };
    parser.run()
}

fn read_file(path: &str) -> Result<Vec<u8>, ConfError> {
    use std::io::Read;
    let io = |op, e: std::io::Error| ConfError::Io {
        path: path.to_string(),
        op,
        reason: go_os_reason(&e),
    };
    let mut f = std::fs::File::open(path).map_err(|e| io("open", e))?;
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(|e| io("read", e))?;
    Ok(data)
}

enum Ctx {
    Map(Map),
    Array(Vec<Item>),
}

struct Parser<'a, 's, 'e> {
    lexer: Lexer<'a>,
    ctxs: Vec<Ctx>,
    keys: Vec<(String, Pos)>,
    file: Option<Arc<Path>>,
    dir: String,
    env_refs: &'s mut HashSet<String>,
    shared: &'s mut Shared<'e>,
}

fn text(val: Vec<u8>) -> String {
    String::from_utf8(val).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Parser<'_, '_, '_> {
    fn run(mut self) -> Result<Map, ConfError> {
        self.ctxs.push(Ctx::Map(Map::new()));
        let mut dangling_key = false;
        loop {
            let t = self.lexer.next_token();
            if t.kind == Kind::Eof {
                // A key with nothing after it is an error, except a lone `}` (which is how the
                // closing brace of a `{ ... }`-wrapped file can reach the parser).
                if dangling_key {
                    return Err(ConfError::MissingValue { pos: self.pos(&t) });
                }
                break;
            }
            dangling_key = t.kind == Kind::Key && t.val != b"}";
            self.process(t)?;
        }
        // Contexts left open (possible when a string ends the input early) are dropped, as the
        // reference returns only its top-level map.
        match self.ctxs.into_iter().next() {
            Some(Ctx::Map(m)) => Ok(m),
            _ => Err(ConfError::Internal {
                pos: Pos::default(),
                what: "lost the top-level map",
            }),
        }
    }

    fn pos(&self, t: &Token) -> Pos {
        Pos {
            file: self.file.clone(),
            line: t.line,
            col: t.col,
        }
    }

    fn process(&mut self, t: Token) -> Result<(), ConfError> {
        let pos = self.pos(&t);
        match t.kind {
            Kind::Error => Err(ConfError::Syntax {
                pos,
                message: text(t.val),
            }),
            Kind::Key => {
                self.keys.push((text(t.val), pos));
                Ok(())
            }
            Kind::MapStart => self.open(Ctx::Map(Map::new()), pos),
            Kind::ArrayStart => self.open(Ctx::Array(Vec::new()), pos),
            Kind::MapEnd | Kind::ArrayEnd => {
                let value = match (self.ctxs.len() > 1, self.ctxs.pop()) {
                    (true, Some(Ctx::Map(m))) if t.kind == Kind::MapEnd => Value::Map(m),
                    (true, Some(Ctx::Array(a))) if t.kind == Kind::ArrayEnd => Value::Array(a),
                    _ => {
                        return Err(ConfError::Internal {
                            pos,
                            what: "unbalanced container",
                        });
                    }
                };
                self.set_value(Item::new(value, pos), false)
            }
            Kind::String => self.set_value(Item::new(Value::String(text(t.val)), pos), false),
            Kind::Integer => {
                let literal = text(t.val);
                match parse_int(literal.as_bytes()) {
                    Ok(Some(n)) => self.set_literal(Value::Int(n), pos, literal),
                    // An unknown size suffix: the reference silently stores nothing.
                    Ok(None) => Ok(()),
                    Err(out_of_range) => Err(ConfError::Integer {
                        pos,
                        literal,
                        out_of_range,
                    }),
                }
            }
            Kind::Float => {
                let literal = text(t.val);
                match literal.parse::<f64>() {
                    Ok(x) if x.is_finite() => self.set_literal(Value::Float(x), pos, literal),
                    Ok(_) => Err(ConfError::Float {
                        pos,
                        literal,
                        out_of_range: true,
                    }),
                    Err(_) => Err(ConfError::Float {
                        pos,
                        literal,
                        out_of_range: false,
                    }),
                }
            }
            Kind::Bool => {
                let literal = text(t.val);
                let value = match literal.to_ascii_lowercase().as_str() {
                    "true" | "yes" | "on" => true,
                    "false" | "no" | "off" => false,
                    _ => {
                        return Err(ConfError::Internal {
                            pos,
                            what: "not a boolean",
                        });
                    }
                };
                self.set_literal(Value::Bool(value), pos, literal)
            }
            Kind::Datetime => match DateTime::parse_zulu(&t.val) {
                Some(dt) => self.set_literal(Value::DateTime(dt), pos, text(t.val)),
                None => Err(ConfError::DateTime {
                    pos,
                    literal: text(t.val),
                }),
            },
            Kind::Variable => self.variable(text(t.val), pos),
            Kind::Include => self.include(text(t.val), pos),
            Kind::CommentStart | Kind::Text | Kind::Eof => Ok(()),
        }
    }

    fn open(&mut self, ctx: Ctx, pos: Pos) -> Result<(), ConfError> {
        if self.ctxs.len() >= MAX_DEPTH {
            return Err(ConfError::TooDeep { pos });
        }
        self.ctxs.push(ctx);
        Ok(())
    }

    fn set_literal(&mut self, value: Value, pos: Pos, literal: String) -> Result<(), ConfError> {
        self.set_value(
            Item {
                value,
                pos,
                raw: Some(literal),
            },
            false,
        )
    }

    /// Append to the open array, or store in the open map under the last pushed key.
    fn set_value(&mut self, value: Item, used: bool) -> Result<(), ConfError> {
        match self.ctxs.last_mut() {
            Some(Ctx::Array(a)) => a.push(value),
            Some(Ctx::Map(m)) => {
                let Some((key, key_pos)) = self.keys.pop() else {
                    return Err(ConfError::Internal {
                        pos: value.pos,
                        what: "value without key",
                    });
                };
                m.insert_entry(Entry {
                    key,
                    key_pos,
                    value,
                    used_as_variable: used,
                });
            }
            None => {
                return Err(ConfError::Internal {
                    pos: value.pos,
                    what: "no open context",
                });
            }
        }
        Ok(())
    }

    /// A value that came from elsewhere (a variable or an include) may not push the tree past
    /// the depth limit at the place it lands.
    fn check_depth(&self, value: &Value, pos: &Pos) -> Result<(), ConfError> {
        if self.ctxs.len() + value.depth() > MAX_DEPTH {
            return Err(ConfError::TooDeep { pos: pos.clone() });
        }
        Ok(())
    }

    fn variable(&mut self, name: String, pos: Pos) -> Result<(), ConfError> {
        // `$2a$...` is a bcrypt hash, not a reference (other bcrypt prefixes are references).
        if name.starts_with("2a$") {
            let value = Value::String(format!("${name}"));
            return self.set_value(Item::new(value, pos), false);
        }
        let mut found = None;
        for ctx in self.ctxs.iter_mut().rev() {
            if let Ctx::Map(m) = ctx
                && let Some(entry) = m.entry_mut(&name)
            {
                entry.used_as_variable = true;
                found = Some(copy_item(&entry.value, &mut self.shared.budget, None));
                break;
            }
        }
        let item = match found {
            Some(Some(mut item)) => {
                item.pos = pos.clone();
                item
            }
            Some(None) => return Err(ConfError::ExpansionLimit { pos, name }),
            None => self.resolve_env(&name, &pos)?,
        };
        self.check_depth(&item.value, &pos)?;
        self.set_value(item, false)
    }

    /// Resolve `$name` from the environment: parse `pk=<value>` with the same environment
    /// reference set (to detect cycles), and take `pk`.
    fn resolve_env(&mut self, name: &str, pos: &Pos) -> Result<Item, ConfError> {
        let wrap = |cause| ConfError::Variable {
            pos: pos.clone(),
            name: name.to_string(),
            cause,
        };
        if self.env_refs.contains(name) {
            let cycle = ConfError::VariableCycle {
                pos: pos.clone(),
                name: name.to_string(),
            };
            return Err(wrap(Box::new(cycle)));
        }
        let not_found = || ConfError::VariableNotFound {
            pos: pos.clone(),
            name: name.into(),
        };
        let Some(raw) = lookup_env(self.shared.env, name) else {
            return Err(not_found());
        };
        if self.shared.nesting >= MAX_INCLUDE_DEPTH {
            return Err(ConfError::ExpansionLimit {
                pos: pos.clone(),
                name: name.to_string(),
            });
        }
        self.env_refs.insert(name.to_string());
        self.shared.nesting += 1;
        let src = format!("pk={raw}");
        let parsed = parse_source(src.as_bytes(), "", None, self.shared, self.env_refs);
        self.shared.nesting -= 1;
        self.env_refs.remove(name);
        let mut map = parsed.map_err(|e| wrap(Box::new(e)))?;
        let Some(entry) = map.entry_mut("pk") else {
            return Err(not_found());
        };
        // Charge the copy like any other substitution; positions point at the reference.
        match copy_item(&entry.value, &mut self.shared.budget, Some(pos)) {
            Some(item) => Ok(item),
            None => Err(ConfError::ExpansionLimit {
                pos: pos.clone(),
                name: name.to_string(),
            }),
        }
    }

    fn include(&mut self, name: String, pos: Pos) -> Result<(), ConfError> {
        let path = gopath::join(&self.dir, &name);
        let limit = |cycle| ConfError::IncludeLimit {
            pos: pos.clone(),
            path: path.clone(),
            cycle,
        };
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| PathBuf::from(&path));
        if self.shared.open_files.contains(&key) {
            return Err(limit(true));
        }
        if self.shared.nesting >= MAX_INCLUDE_DEPTH || self.shared.includes >= MAX_INCLUDES {
            return Err(limit(false));
        }
        self.shared.includes += 1;
        self.shared.nesting += 1;
        let result = parse_path(&path, self.shared);
        self.shared.nesting -= 1;
        let map = result.map_err(|cause| ConfError::Include {
            pos: pos.clone(),
            name: name.clone(),
            cause: Box::new(cause),
        })?;
        for entry in map {
            self.check_depth(&entry.value.value, &pos)?;
            self.keys.push((entry.key, entry.key_pos));
            self.set_value(entry.value, entry.used_as_variable)?;
        }
        Ok(())
    }
}

/// `os.LookupEnv`: names that cannot exist in an environment are simply absent.
fn lookup_env(env: EnvFn<'_>, name: &str) -> Option<String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    env(name)
}

/// Deep-copy a value for a variable reference, charging `budget`; `None` when it runs out.
/// With `at`, every copied position (values and keys) is replaced by `at`.
fn copy_item(src: &Item, budget: &mut usize, at: Option<&Pos>) -> Option<Item> {
    let own = match &src.value {
        Value::String(s) => s.len(),
        _ => 0,
    };
    *budget = budget.checked_sub(ITEM_COST.saturating_add(own))?;
    let value = match &src.value {
        Value::Array(items) => {
            let copied: Option<Vec<Item>> =
                items.iter().map(|i| copy_item(i, budget, at)).collect();
            Value::Array(copied?)
        }
        Value::Map(m) => {
            let mut out = Map::new();
            for e in m {
                *budget = budget.checked_sub(e.key.len())?;
                out.insert_entry(Entry {
                    key: e.key.clone(),
                    key_pos: at.unwrap_or(&e.key_pos).clone(),
                    value: copy_item(&e.value, budget, at)?,
                    used_as_variable: e.used_as_variable,
                });
            }
            Value::Map(out)
        }
        scalar => scalar.clone(),
    };
    Some(Item {
        value,
        pos: at.unwrap_or(&src.pos).clone(),
        raw: src.raw.clone(),
    })
}

/// The reference's integer rule: the leading run of digits and `-` (counted in runes, then used
/// as a byte length, as the reference does) must parse as an `i64`; the rest, lowercased, must
/// be a known size suffix. Multiplication wraps on overflow like Go's. `Ok(None)` is an unknown
/// suffix (no value); `Err(true)` is out of range, `Err(false)` is malformed.
pub(crate) fn parse_int(lexeme: &[u8]) -> Result<Option<i64>, bool> {
    let mut runes = 0;
    let mut rest = lexeme;
    loop {
        let (c, w) = decode_rune(rest);
        if w == 0 || !(is_digit(c) || c == '-') {
            break;
        }
        runes += 1;
        rest = rest.get(w..).unwrap_or_default();
    }
    let split = runes.min(lexeme.len());
    let (digits, suffix) = lexeme.split_at(split);
    let num = go_parse_i64(digits)?;
    let suffix = String::from_utf8_lossy(suffix).trim().to_ascii_lowercase();
    let factor: i64 = match suffix.as_str() {
        "" => 1,
        "k" => 1000,
        "kb" | "ki" | "kib" => 1 << 10,
        "m" => 1000_i64.pow(2),
        "mb" | "mi" | "mib" => 1 << 20,
        "g" => 1000_i64.pow(3),
        "gb" | "gi" | "gib" => 1 << 30,
        "t" => 1000_i64.pow(4),
        "tb" | "ti" | "tib" => 1 << 40,
        "p" => 1000_i64.pow(5),
        "pb" | "pi" | "pib" => 1 << 50,
        "e" => 1000_i64.pow(6),
        "eb" | "ei" | "eib" => 1 << 60,
        _ => return Ok(None),
    };
    Ok(Some(num.wrapping_mul(factor)))
}

/// Go's `strconv.ParseInt(s, 10, 64)`: `Err(true)` for a range error, `Err(false)` for syntax.
/// Like Go, a range error is reported as soon as the value overflows, even if a bad character
/// follows.
fn go_parse_i64(s: &[u8]) -> Result<i64, bool> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        Some(_) => (false, s),
        None => return Err(false),
    };
    if digits.is_empty() {
        return Err(false);
    }
    let mut n: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(false);
        }
        n = n
            .checked_mul(10)
            .ok_or(true)?
            .checked_add(u64::from(c - b'0'))
            .ok_or(true)?;
    }
    const CUTOFF: u64 = 1 << 63;
    match (neg, n) {
        (false, n) if n >= CUTOFF => Err(true),
        (true, n) if n > CUTOFF => Err(true),
        (true, n) => Ok(0_i64.wrapping_sub_unsigned(n)),
        (false, n) => i64::try_from(n).map_err(|_| true),
    }
}

#[cfg(test)]
#[path = "parser_tests.rs"]
mod tests;
