//! CONNECT JSON: arbitrary bytes must parse into options or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rnats_proto::ConnectOptions::parse(data);
});
