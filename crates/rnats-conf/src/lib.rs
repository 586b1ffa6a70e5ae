//! The NATS configuration language, read exactly as nats-server 2.15 reads it
//! (`conf/lex.go` + `conf/parse.go`, in the position-keeping mode the server uses).
//!
//! Model: [`parse_str`] / [`parse_file`] turn text into a [`Map`] of positioned [`Item`]s.
//! The lexer is a state-for-state port of the reference's, so the set of accepted files, the
//! values, the error texts and the reported lines and columns all match, quirks included; the
//! parser keeps the reference's separate context and key stacks for the same reason. Why so
//! literal: this language has no specification besides that code, and rnats is meant to be a
//! drop-in replacement that accepts and rejects the same configuration files.
//!
//! Language summary (see the module docs of `lexer` and `parser` for the details):
//! - the top level is an implicit map, optionally wrapped in `{ ... }`; `key = value`,
//!   `key: value` or `key value`; keys may be quoted; values end at a newline, `;` or `,`;
//! - `#` and `//` comments; maps `{}` and arrays `[]` nest;
//! - strings (bare, `"..."` with `\t \n \r \" \\ \xHH` escapes, `'...'` raw, `( ... )` blocks
//!   closed by a `)` alone on its line), booleans (`true/false/yes/no/on/off`, any case,
//!   unquoted), integers with size suffixes (`1k` = 1000, `1kb`/`1ki`/`1kib` = 1024, ... up to
//!   `e`/`eb`), floats, Zulu datetimes; `127.0.0.1:4222` is a string; unquoted `10s` is a string
//!   but `2m` is the integer 2,000,000 and `1m30s` is a syntax error;
//! - `$NAME` variables (enclosing maps innermost first, then the environment; `$2a$...` is a
//!   bcrypt literal); `include path` merges another file (its own variable scope);
//! - duplicate keys: the last one wins.
//!
//! For the option layer: [`Entry::used_as_variable`] tells whether a key was read through a
//! `$reference`; the reference reports an unknown key as `unknown field` only when it is not
//! set (so a top-level variable that is never used is an unknown field). [`Entry::key_pos`] is
//! the position the reference prints for a value, [`Item::raw`] keeps literals such as `2m`,
//! [`Value::go_type_name`] names types as Go does, and [`Map::to_go_json`] reproduces the JSON
//! whose SHA-256 is the reference's configuration digest.
//!
//! Differences from the reference, all on inputs it cannot handle sensibly: nesting deeper than
//! [`MAX_DEPTH`], include chains deeper than [`MAX_INCLUDE_DEPTH`] or cyclic, more than
//! [`MAX_INCLUDES`] includes, and variable expansion far larger than the input are errors (the
//! reference overflows its stack or memory); strings are UTF-8 (`\xHH` escapes that do not form
//! valid UTF-8 become U+FFFD).
#![forbid(unsafe_code)]

mod chars;
mod error;
mod gopath;
mod json;
mod lexer;
mod parser;
mod value;

pub use error::ConfError;
pub use value::{DateTime, Entry, Item, Map, Pos, Value};

use std::collections::HashSet;
use std::path::Path;

/// Maximum nesting of maps and arrays, counting the top-level map.
pub const MAX_DEPTH: usize = 128;
/// Maximum nesting of includes (and of environment variables referencing each other).
pub const MAX_INCLUDE_DEPTH: usize = 64;
/// Maximum number of include directives processed for one top-level file.
pub const MAX_INCLUDES: usize = 65_536;

/// Parse configuration text. Includes are resolved relative to the current directory and
/// variables fall back to the process environment.
pub fn parse_str(src: &str) -> Result<Map, ConfError> {
    parse_str_with_env(src, &process_env)
}

/// Parse a configuration file (includes relative to its directory, as the reference does).
pub fn parse_file(path: &Path) -> Result<Map, ConfError> {
    parse_file_with_env(path, &process_env)
}

/// [`parse_str`] with a custom environment for `$NAME` references not defined in the text.
pub fn parse_str_with_env(
    src: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Map, ConfError> {
    parse_bytes_with_env(src.as_bytes(), env)
}

/// Like [`parse_str_with_env`] for text that may not be UTF-8 (it is lexed byte for byte, as
/// the reference does).
pub fn parse_bytes_with_env(
    src: &[u8],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Map, ConfError> {
    let mut shared = parser::Shared::new(env);
    let mut env_refs = HashSet::new();
    shared.grant(src.len());
    parser::parse_source(src, "", None, &mut shared, &mut env_refs)
}

/// [`parse_file`] with a custom environment for `$NAME` references not defined in the files.
pub fn parse_file_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Map, ConfError> {
    let mut shared = parser::Shared::new(env);
    parser::parse_path(&path.to_string_lossy(), &mut shared)
}

fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

#[cfg(test)]
pub(crate) mod test_support {
    /// Deterministic pseudo-random inputs (xorshift + LCG) over an alphabet rich in syntax
    /// characters, for the lexer's and the parser's "never panics, always ends" tests.
    pub fn random_inputs(mut seed: u64, count: usize, max_len: u64) -> Vec<Vec<u8>> {
        let alphabet: &[u8] = b"ab1-.:=;,{}[]()'\"\\$#/ \t\n\r\0xkmKMBi\xc3\xa9\xff2aTZ";
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % max_len) as usize;
            let mut input = Vec::with_capacity(len);
            let mut s = seed;
            for _ in 0..len {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                input.push(alphabet[((s >> 33) % alphabet.len() as u64) as usize]);
            }
            out.push(input);
        }
        out
    }
}
