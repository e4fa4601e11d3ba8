//! The one integration test binary: runs the real `txdeploy` executable.

mod harness;

mod cli_tests;
mod config_fixture_tests;
