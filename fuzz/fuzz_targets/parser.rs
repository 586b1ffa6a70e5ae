//! The client protocol parser: arbitrary bytes, split at an arbitrary point, with arbitrary
//! limits and flags. It must never panic, and splitting must not change the ops produced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rnats_proto::parser::{Parser, Step};

fn run(p: &mut Parser, chunks: &[&[u8]]) -> (Vec<String>, bool) {
    let mut buf: Vec<u8> = Vec::new();
    let mut ops = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        loop {
            match p.parse(&buf) {
                Ok(Step::Op(op, n)) => {
                    ops.push(format!("{op:?}"));
                    buf.drain(..n);
                }
                Ok(Step::NeedMore(n)) => {
                    buf.drain(..n);
                    break;
                }
                Err(_) => return (ops, true),
            }
        }
    }
    (ops, false)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let (ctl, input) = data.split_at(4);
    let cut = usize::from(ctl[0]) * input.len() / 256;
    let make = || {
        let mut p = Parser::new(usize::from(ctl[2]) * 16, i64::from(ctl[3]) * 64 - 1);
        p.headers = ctl[1] & 1 == 1;
        p.pedantic = ctl[1] & 2 == 2;
        p.expect_connect = ctl[1] & 4 == 4;
        p
    };
    let whole = run(&mut make(), &[input]);
    let split = run(&mut make(), &[&input[..cut], &input[cut..]]);
    // An error may be detected earlier with less data, but never a different op stream before it.
    let n = whole.0.len().min(split.0.len());
    assert_eq!(whole.0[..n], split.0[..n]);
    if !whole.1 && !split.1 {
        assert_eq!(whole.0, split.0);
    }
});
