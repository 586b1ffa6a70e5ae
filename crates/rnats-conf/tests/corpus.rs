//! Golden corpus: every `tests/corpus/*.conf` must parse (or fail) exactly as its `.expect`
//! file says: the Go-JSON of the tree for valid files, the reference's message for invalid ones.
//!
//! Model: results are compared as single lines (see `common`). Set `RNATS_CONF_BLESS=1` to
//! write the golden lines from the current parser (then review the diff, and run
//! `tests/reference.rs`, which checks the same files against the reference binary).

mod common;

#[test]
fn corpus_matches_golden() {
    let bless = std::env::var_os("RNATS_CONF_BLESS").is_some();
    let mut failures = Vec::new();
    for case in common::cases() {
        let ours = case.ours();
        if ours.is_ok() != case.valid {
            failures.push(format!(
                "{}: expected valid={}, got {ours:?}",
                case.name, case.valid
            ));
            continue;
        }
        let line = match ours {
            Ok(l) | Err(l) => l,
        };
        if bless {
            let mut text = String::from(if case.valid { "valid\n" } else { "invalid\n" });
            for (k, v) in &case.env {
                text.push_str(&format!("env {k}={v}\n"));
            }
            if let Some(m) = &case.reference_rejects {
                text.push_str(&format!("reference-rejects {m}\n"));
            }
            text.push_str(&line);
            text.push('\n');
            std::fs::write(&case.expect_file, text).expect("bless");
            continue;
        }
        match &case.golden {
            Some(g) if *g == line => {}
            Some(g) => failures.push(format!("{}:\n  want {g}\n  got  {line}", case.name)),
            None => failures.push(format!(
                "{}: no golden line (run with RNATS_CONF_BLESS=1)",
                case.name
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "corpus mismatches:\n{}",
        failures.join("\n")
    );
}
