//! Helpers shared by integration test files.

pub mod connz;
pub mod jwtdiff;
