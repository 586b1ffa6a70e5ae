//! The `.conf` lexer and parser: arbitrary bytes must give a value tree or an error, never a
//! panic, a stack overflow or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let env = |_: &str| -> Option<String> { None };
    if let Ok(map) = rnats_conf::parse_bytes_with_env(data, &env) {
        let _ = map.to_go_json();
    }
});
