//! The rnats tool for people: `rnats explain` (why a credential would be accepted or
//! rejected) and `rnats bench` (a raw-protocol load generator and a side-by-side comparison of
//! two server binaries).

#![forbid(unsafe_code)]

pub mod bench;
pub mod explain;
