//! The handler crate's one integration test binary.
//!
//! - `router_props`: no input crashes the pure router/validator (proptest).
//! - `moto_handlers`: the handlers called in process with realistic events against moto
//!   (`TXDEPLOY_TEST_ENDPOINT`); skipped with a notice when it is unset.
//! - `bootstrap_runtime_api`: the real release `bootstrap` driven through a Lambda
//!   runtime-API emulator, end to end against moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bootstrap_runtime_api;
mod moto_handlers;
mod moto_harness;
mod router_props;
mod runtime_api_emulator;
