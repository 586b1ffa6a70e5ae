//! The rnats tool for people: `rnats explain` (why a credential would be accepted or
//! rejected) and, later, `rnats bench`.

#![forbid(unsafe_code)]

pub mod explain;
