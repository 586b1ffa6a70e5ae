//! Helpers shared by integration test files.

pub mod jsonshape;
pub mod jwtdiff;
