//! The parsed configuration tree: positioned values in insertion-ordered maps.
//!
//! Model: every value is an [`Item`] (a [`Value`] plus the [`Pos`] where the reference records
//! it, plus the literal text for numbers, booleans and datetimes). Maps keep their keys in source
//! order, remember where each key was written and whether the entry was read through a
//! `$variable` reference; a duplicate key replaces the earlier entry in place (last one wins).
//! Why: the option layer needs the reference's positions for `file:line:col:` messages, the
//! literal text to warn about `2m`-style durations, and the "used as variable" flag to implement
//! the reference's unknown-field rule. The tree depth is bounded by the parser, so the derived
//! recursive traits (`Clone`, `Drop`, `Debug`, `PartialEq`) cannot exhaust the stack.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Where something was written.
///
/// `line` is 1-based. `col` follows the reference: a byte offset counted from the newline that
/// precedes the line, which makes it 0-based on line 1 and 1-based on later lines (so the
/// reference's `t.conf:1:0:` and `t.conf:2:1:` both mean "first column").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Pos {
    /// The file, as the reference names it (the path given, or the include path joined onto the
    /// including file's directory). `None` for text parsed from a string or the environment.
    pub file: Option<Arc<Path>>,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Pos {
    /// `file:line:col`, or `line:col` without a file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}:{}:{}", file.display(), self.line, self.col),
            None => write!(f, "{}:{}", self.line, self.col),
        }
    }
}

/// A Zulu timestamp (`2006-01-02T15:04:05Z`), validated like Go's `time.Parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl DateTime {
    /// Parse the exact lexeme the lexer produced; `None` where Go's `time.Parse` fails.
    pub(crate) fn parse_zulu(s: &[u8]) -> Option<DateTime> {
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let digits = s.get(r)?;
            digits.iter().try_fold(0u16, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
            })
        };
        if s.len() != 20 || s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') {
            return None;
        }
        if s.get(10) != Some(&b'T') || s.get(13) != Some(&b':') || s.get(16) != Some(&b':') {
            return None;
        }
        if s.get(19) != Some(&b'Z') {
            return None;
        }
        let small = |r| num(r).and_then(|v| u8::try_from(v).ok());
        let dt = DateTime {
            year: num(0..4)?,
            month: small(5..7)?,
            day: small(8..10)?,
            hour: small(11..13)?,
            minute: small(14..16)?,
            second: small(17..19)?,
        };
        let valid = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= days_in_month(dt.year, dt.month)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 60;
        valid.then_some(dt)
    }

    /// Seconds since the Unix epoch (negative before 1970).
    pub fn unix_seconds(&self) -> i64 {
        // Days from civil (proleptic Gregorian), after Howard Hinnant's algorithm.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Display for DateTime {
    /// RFC 3339, which is also how the reference prints and JSON-encodes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// A configuration value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    DateTime(DateTime),
    Array(Vec<Item>),
    Map(Map),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_datetime(&self) -> Option<&DateTime> {
        match self {
            Value::DateTime(d) => Some(d),
            _ => None,
        }
    }
    pub fn as_array(&self) -> Option<&[Item]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The Go type the reference holds for this value, for reproducing its messages such as
    /// `interface conversion: interface {} is string, not int64` or `unsupported type %T`.
    pub fn go_type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int64",
            Value::Float(_) => "float64",
            Value::Bool(_) => "bool",
            Value::DateTime(_) => "time.Time",
            Value::Array(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
        }
    }

    /// Nesting depth: 0 for scalars, 1 + the deepest child for containers.
    pub(crate) fn depth(&self) -> usize {
        match self {
            Value::Array(a) => 1 + a.iter().map(|i| i.value.depth()).max().unwrap_or(0),
            Value::Map(m) => 1 + m.iter().map(|e| e.value.value.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub value: Value,
    /// The reference's position for this value: the start of a scalar (of the name, for a
    /// `$variable`); for a map or array, its closing bracket. Map entries additionally carry the
    /// key's position ([`Entry::key_pos`]), which is what the reference reports for them.
    pub pos: Pos,
    /// The literal as written, for integers, floats, booleans and datetimes (`2m`, `1KB`,
    /// `-3`, `Yes`, ...); `None` for strings and containers. A value obtained through a
    /// variable keeps the literal of its definition.
    pub raw: Option<String>,
}

impl Item {
    pub fn new(value: Value, pos: Pos) -> Self {
        Item {
            value,
            pos,
            raw: None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        self.value.as_str()
    }
    pub fn as_i64(&self) -> Option<i64> {
        self.value.as_i64()
    }
    pub fn as_f64(&self) -> Option<f64> {
        self.value.as_f64()
    }
    pub fn as_bool(&self) -> Option<bool> {
        self.value.as_bool()
    }
    pub fn as_array(&self) -> Option<&[Item]> {
        self.value.as_array()
    }
    pub fn as_map(&self) -> Option<&Map> {
        self.value.as_map()
    }
    /// The Go type name of the value (see [`Value::go_type_name`]).
    pub fn go_type_name(&self) -> &'static str {
        self.value.go_type_name()
    }

    /// True for an integer written with a size suffix (`2m`, `1k`, `3GB`, ...). The reference
    /// warns when such a value reaches a duration option (`2m` is 2,000,000 seconds there).
    pub fn has_size_suffix(&self) -> bool {
        matches!(self.value, Value::Int(_))
            && self
                .raw
                .as_deref()
                .and_then(|r| r.chars().last())
                .is_some_and(|c| c.is_ascii_alphabetic())
    }
}

/// One key of a map.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: String,
    /// Where the key was written; the reference reports map values at this position.
    pub key_pos: Pos,
    pub value: Item,
    /// Whether a later `$key` reference read this entry. The reference does not report an
    /// unknown top-level key (or block key) as an error when this is set; a variable that is
    /// defined but never used is therefore an unknown field.
    pub used_as_variable: bool,
}

/// An insertion-ordered map with unique keys (a later duplicate replaces the earlier entry in
/// place). Lookups are exact and case-sensitive, like the reference's Go maps.
#[derive(Debug, Clone, Default)]
pub struct Map {
    entries: Vec<Entry>,
    index: HashMap<String, usize>,
}

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Map {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn contains_key(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }
    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Item> {
        self.entry(key).map(|e| &e.value)
    }
    /// The whole entry stored under `key` (key position, used-as-variable flag).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.index.get(key).and_then(|&i| self.entries.get(i))
    }
    pub(crate) fn entry_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let i = *self.index.get(key)?;
        self.entries.get_mut(i)
    }
    /// Entries in source order (a replaced duplicate keeps its first slot).
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }
    /// Insert or replace (the new entry starts with `used_as_variable == false`); returns the
    /// replaced entry.
    pub fn insert(&mut self, key: String, key_pos: Pos, value: Item) -> Option<Entry> {
        self.insert_entry(Entry {
            key,
            key_pos,
            value,
            used_as_variable: false,
        })
    }
    pub(crate) fn insert_entry(&mut self, entry: Entry) -> Option<Entry> {
        match self.index.get(&entry.key) {
            Some(&i) => match self.entries.get_mut(i) {
                Some(slot) => Some(std::mem::replace(slot, entry)),
                None => None,
            },
            None => {
                self.index.insert(entry.key.clone(), self.entries.len());
                self.entries.push(entry);
                None
            }
        }
    }
    pub fn into_entries(self) -> Vec<Entry> {
        self.entries
    }
}

impl<'a> IntoIterator for &'a Map {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl IntoIterator for Map {
    type Item = Entry;
    type IntoIter = std::vec::IntoIter<Entry>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_validation_matches_time_parse() {
        let ok = |s: &str| DateTime::parse_zulu(s.as_bytes());
        let dt = ok("2016-05-04T18:53:41Z").expect("valid");
        assert_eq!(dt.to_string(), "2016-05-04T18:53:41Z");
        assert_eq!(dt.unix_seconds(), 1_462_388_021);
        assert_eq!(
            ok("1970-01-01T00:00:00Z").map(|d| d.unix_seconds()),
            Some(0)
        );
        assert!(ok("2000-02-29T00:00:00Z").is_some());
        assert!(ok("1900-02-29T00:00:00Z").is_none());
        assert!(ok("2016-13-04T18:53:41Z").is_none());
        assert!(ok("2016-04-31T18:53:41Z").is_none());
        assert!(ok("2016-04-30T24:00:00Z").is_none());
        assert!(ok("2016-04-30T23:60:00Z").is_none());
        assert!(ok("2016-04-30T23:59:60Z").is_none());
        assert!(ok("0000-01-01T00:00:00Z").is_some());
    }

    #[test]
    fn map_keeps_order_and_last_duplicate_wins() {
        let mut m = Map::new();
        let it = |v: i64| Item::new(Value::Int(v), Pos::default());
        m.insert("b".into(), Pos::default(), it(1));
        m.insert("a".into(), Pos::default(), it(2));
        let old = m.insert(
            "b".into(),
            Pos {
                line: 9,
                ..Pos::default()
            },
            it(3),
        );
        assert_eq!(old.map(|e| e.value.as_i64()), Some(Some(1)));
        assert_eq!(m.keys().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(m.get("b").and_then(Item::as_i64), Some(3));
        assert_eq!(m.entry("b").map(|e| e.key_pos.line), Some(9));
        assert!(m.get("B").is_none());
    }

    #[test]
    fn pos_display() {
        let p = Pos {
            file: Some(Arc::from(Path::new("a/t.conf"))),
            line: 2,
            col: 1,
        };
        assert_eq!(p.to_string(), "a/t.conf:2:1");
        assert_eq!(
            Pos {
                file: None,
                line: 1,
                col: 0
            }
            .to_string(),
            "1:0"
        );
    }

    #[test]
    fn suffix_flag() {
        let mut i = Item::new(Value::Int(2_000_000), Pos::default());
        i.raw = Some("2m".into());
        assert!(i.has_size_suffix());
        i.raw = Some("2000000".into());
        assert!(!i.has_size_suffix());
    }
}
