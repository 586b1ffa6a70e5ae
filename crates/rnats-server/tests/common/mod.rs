//! Helpers shared by integration test files.

pub mod connz;
pub mod jsonshape;
pub mod jwtdiff;
