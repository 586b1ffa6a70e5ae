//! Shared by the corpus tests: loading `tests/corpus/*.conf` with their `.expect` files and
//! running our parser on them.
//!
//! Model: each `NAME.conf` has a `NAME.expect` whose first line is `valid` or `invalid`, then
//! optional `env NAME=VALUE` lines (the only environment the case sees), then the golden result:
//! `json <Go-JSON of the parsed map>` or `error <reference message>`, escaped with [`escape`] and
//! with the case's path and directory written as `{path}` and `{dir}`. A valid file that the
//! reference's option layer refuses under `-t` carries a `reference-rejects <message>` line. Why a corpus: the same
//! files are checked against the golden results (always) and against the reference binary
//! (`tests/reference.rs`), so every golden line is also a verified fact about nats-server.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const CORPUS: &str = "tests/corpus";

#[derive(Debug)]
pub struct Case {
    pub name: String,
    /// Path relative to the crate directory (the working directory of integration tests).
    pub path: String,
    pub expect_file: PathBuf,
    pub valid: bool,
    pub env: Vec<(String, String)>,
    /// The golden `json ...` or `error ...` line, if present.
    pub golden: Option<String>,
    /// For files the language accepts but the reference's option layer (`-t`) refuses:
    /// the message it prints (`reference-rejects <message>` in the `.expect` file).
    pub reference_rejects: Option<String>,
}

pub fn cases() -> Vec<Case> {
    let mut names: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("reading {CORPUS}: {e}"))
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter_map(|n| n.strip_suffix(".conf").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "corpus too small: {}", names.len());
    names.into_iter().map(load).collect()
}

fn load(name: String) -> Case {
    let expect_file = Path::new(CORPUS).join(format!("{name}.expect"));
    let text = std::fs::read_to_string(&expect_file)
        .unwrap_or_else(|e| panic!("{}: {e}", expect_file.display()));
    let mut lines = text.lines();
    let valid = match lines.next() {
        Some("valid") => true,
        Some("invalid") => false,
        other => panic!("{name}: first line must be valid/invalid, got {other:?}"),
    };
    let mut env = Vec::new();
    let mut golden = None;
    let mut reference_rejects = None;
    for line in lines {
        if let Some(kv) = line.strip_prefix("env ") {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}: bad env {kv}"));
            env.push((k.to_string(), v.to_string()));
        } else if let Some(m) = line.strip_prefix("reference-rejects ") {
            reference_rejects = Some(m.to_string());
        } else if line.starts_with("json ") || line.starts_with("error ") {
            golden = Some(line.to_string());
        } else if !line.is_empty() {
            panic!("{name}: unexpected line {line:?}");
        }
    }
    let path = format!("{CORPUS}/{name}.conf");
    Case {
        name,
        path,
        expect_file,
        valid,
        env,
        golden,
        reference_rejects,
    }
}

/// Make a message fit on one line, reversibly enough for comparisons.
pub fn escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out
}

impl Case {
    /// Our result, as the golden line it should match.
    pub fn ours(&self) -> Result<String, String> {
        let env = |k: &str| {
            self.env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        let placeholders = |s: String| s.replace(&self.path, "{path}").replace(CORPUS, "{dir}");
        match rnats_conf::parse_file_with_env(Path::new(&self.path), &env) {
            Ok(map) => Ok(format!("json {}", map.to_go_json().trim_end_matches('\n'))),
            Err(e) => Err(format!(
                "error {}",
                placeholders(escape(&e.reference_message()))
            )),
        }
    }

    /// A golden line with the placeholders filled in.
    pub fn expand(&self, golden: &str) -> String {
        golden
            .replace("{path}", &self.path)
            .replace("{dir}", CORPUS)
    }
}
