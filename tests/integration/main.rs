//! The one integration-test binary: every test module shares the harness below.

mod adapters_tests;
mod harness;
