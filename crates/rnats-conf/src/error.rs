//! Parse errors, carrying both a position and the reference's exact message.
//!
//! Model: one enum variant per failure the reference can report (plus the limits this crate adds
//! to stay safe on hostile input). [`ConfError::reference_message`] renders the text
//! nats-server 2.15 prints after `nats-server: ` (its messages mostly omit the file and column;
//! include and variable errors nest their cause), while `Display` prefixes the position as
//! `file:line:col: `. Why both: a drop-in server wants the reference's bytes on its console,
//! while tests and humans want to know where the problem is.

use crate::value::Pos;
use std::fmt;

/// Why a configuration could not be parsed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfError {
    /// A lexer error; `message` is the lexer's own text (e.g. `Unexpected EOF.`).
    Syntax { pos: Pos, message: String },
    /// A key with no value at the very end of the input (`config is invalid (file:line:col)`).
    MissingValue { pos: Pos },
    /// An integer literal that does not fit in 64 bits, or is not decimal.
    Integer {
        pos: Pos,
        literal: String,
        out_of_range: bool,
    },
    /// A float literal that overflows, or is malformed.
    Float {
        pos: Pos,
        literal: String,
        out_of_range: bool,
    },
    /// A datetime lexeme with an impossible date or time.
    DateTime { pos: Pos, literal: String },
    /// `$name` found neither in an enclosing map nor in the environment.
    VariableNotFound { pos: Pos, name: String },
    /// `$name` came from the environment but its value did not parse.
    Variable {
        pos: Pos,
        name: String,
        cause: Box<ConfError>,
    },
    /// An environment variable that (indirectly) references itself.
    VariableCycle { pos: Pos, name: String },
    /// A failure inside an included file; `name` is the path as written after `include`.
    Include {
        pos: Pos,
        name: String,
        cause: Box<ConfError>,
    },
    /// A file could not be opened or read; `reason` is Go's text for the OS error.
    Io {
        path: String,
        op: &'static str,
        reason: String,
    },
    /// Maps and arrays nested deeper than [`crate::MAX_DEPTH`] (the reference has no limit).
    TooDeep { pos: Pos },
    /// An include chain that comes back to a file being parsed, or is deeper than
    /// [`crate::MAX_INCLUDE_DEPTH`], or more than [`crate::MAX_INCLUDES`] includes in total.
    IncludeLimit { pos: Pos, path: String, cycle: bool },
    /// Variable substitution copied more values than the input can justify (a "billion laughs"
    /// configuration); the reference would try to build the whole tree.
    ExpansionLimit { pos: Pos, name: String },
    /// A parser invariant did not hold (the reference would panic here).
    Internal { pos: Pos, what: &'static str },
}

impl ConfError {
    /// Where the error was detected (`None` for I/O errors).
    pub fn pos(&self) -> Option<&Pos> {
        match self {
            ConfError::Syntax { pos, .. }
            | ConfError::MissingValue { pos }
            | ConfError::Integer { pos, .. }
            | ConfError::Float { pos, .. }
            | ConfError::DateTime { pos, .. }
            | ConfError::VariableNotFound { pos, .. }
            | ConfError::Variable { pos, .. }
            | ConfError::VariableCycle { pos, .. }
            | ConfError::Include { pos, .. }
            | ConfError::TooDeep { pos }
            | ConfError::IncludeLimit { pos, .. }
            | ConfError::ExpansionLimit { pos, .. }
            | ConfError::Internal { pos, .. } => Some(pos),
            ConfError::Io { .. } => None,
        }
    }

    /// The message exactly as nats-server 2.15 words it (what follows `nats-server: ` when it
    /// refuses a configuration). Messages for limits the reference does not have are our own.
    pub fn reference_message(&self) -> String {
        match self {
            ConfError::Syntax { pos, message } => {
                format!("Parse error on line {}: '{}'", pos.line, message)
            }
            ConfError::MissingValue { pos } => {
                let file = pos.file.as_deref().map(|f| f.display().to_string());
                let file = file.unwrap_or_default();
                format!("config is invalid ({}:{}:{})", file, pos.line, pos.col)
            }
            ConfError::Integer {
                literal,
                out_of_range: true,
                ..
            } => {
                format!("integer '{literal}' is out of the range")
            }
            ConfError::Integer { literal, .. } => format!("expected integer, but got '{literal}'"),
            ConfError::Float {
                literal,
                out_of_range: true,
                ..
            } => {
                format!("float '{literal}' is out of the range")
            }
            ConfError::Float { literal, .. } => format!("expected float, but got '{literal}'"),
            ConfError::DateTime { literal, .. } => {
                format!("expected Zulu formatted DateTime, but got '{literal}'")
            }
            ConfError::VariableNotFound { pos, name } => {
                format!(
                    "variable reference for '{name}' on line {} can not be found",
                    pos.line
                )
            }
            ConfError::Variable { pos, name, cause } => format!(
                "variable reference for '{name}' on line {} could not be parsed: {}",
                pos.line,
                cause.reference_message()
            ),
            ConfError::VariableCycle { name, .. } => {
                format!("variable reference cycle for '{name}'")
            }
            ConfError::Include { name, cause, .. } => {
                format!(
                    "error parsing include file '{name}', {}",
                    cause.reference_message()
                )
            }
            ConfError::Io { path, op, reason } => format!("{op} {path}: {reason}"),
            ConfError::TooDeep { .. } => format!(
                "maps and arrays are nested more than {} levels deep",
                crate::MAX_DEPTH
            ),
            ConfError::IncludeLimit {
                path, cycle: true, ..
            } => {
                format!("include cycle: '{path}' is already being parsed")
            }
            ConfError::IncludeLimit { path, .. } => {
                format!("too many nested or repeated includes at '{path}'")
            }
            ConfError::ExpansionLimit { name, .. } => {
                format!("variable reference for '{name}' expands the configuration too much")
            }
            ConfError::Internal { what, .. } => format!("internal parser error: {what}"),
        }
    }
}

impl fmt::Display for ConfError {
    /// `file:line:col: message` (`line:col: message` without a file), where `message` is
    /// [`ConfError::reference_message`]; I/O errors have no position and print the message only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos() {
            Some(pos) => write!(f, "{pos}: {}", self.reference_message()),
            None => f.write_str(&self.reference_message()),
        }
    }
}

impl std::error::Error for ConfError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfError::Variable { cause, .. } | ConfError::Include { cause, .. } => Some(&**cause),
            _ => None,
        }
    }
}

/// Go's wording for an OS error (`syscall.Errno.Error()`): the C library's text with its first
/// letter lowercased, e.g. `no such file or directory`.
pub(crate) fn go_os_reason(err: &std::io::Error) -> String {
    let text = match err.raw_os_error() {
        Some(code) => {
            let full = std::io::Error::from_raw_os_error(code).to_string();
            match full.rfind(" (os error ") {
                Some(i) => full.get(..i).unwrap_or_default().to_string(),
                None => full,
            }
        }
        None => err.to_string(),
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;

    #[test]
    fn display_and_reference_text() {
        let pos = Pos {
            file: Some(Arc::from(Path::new("t.conf"))),
            line: 1,
            col: 7,
        };
        let e = ConfError::Syntax {
            pos: pos.clone(),
            message: "Unexpected EOF.".into(),
        };
        assert_eq!(
            e.reference_message(),
            "Parse error on line 1: 'Unexpected EOF.'"
        );
        assert_eq!(
            e.to_string(),
            "t.conf:1:7: Parse error on line 1: 'Unexpected EOF.'"
        );
        let inc = ConfError::Include {
            pos: pos.clone(),
            name: "x.conf".into(),
            cause: Box::new(ConfError::Io {
                path: "x.conf".into(),
                op: "open",
                reason: "no such file or directory".into(),
            }),
        };
        assert_eq!(
            inc.reference_message(),
            "error parsing include file 'x.conf', open x.conf: no such file or directory"
        );
        let mv = ConfError::MissingValue {
            pos: Pos {
                file: None,
                line: 1,
                col: 41,
            },
        };
        assert_eq!(mv.reference_message(), "config is invalid (:1:41)");
        assert_eq!(mv.to_string(), "1:41: config is invalid (:1:41)");
    }

    #[test]
    fn os_reasons_use_go_wording() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(go_os_reason(&e), "no such file or directory");
        let e = std::io::Error::from_raw_os_error(13);
        assert_eq!(go_os_reason(&e), "permission denied");
        let e = std::io::Error::from_raw_os_error(21);
        assert_eq!(go_os_reason(&e), "is a directory");
    }
}
