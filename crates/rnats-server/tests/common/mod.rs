//! Helpers shared by integration test files.

pub mod jwtdiff;
