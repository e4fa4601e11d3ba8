//! The one integration test binary: runs the real `txdeploy` executable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod cli_tests;
mod config_fixture_tests;
