//! The one integration test binary: the real `txdeploy` executable over fixtures, and every
//! adapter and the whole pipeline against the moto emulator.

mod harness;

mod adapters_tests;
mod apigateway_adapter_tests;
mod audit_tests;
mod autoscaling_adapter_tests;
mod canary_tests;
mod cli_moto_tests;
mod cli_tests;
mod cloudwatch_adapter_tests;
mod compute_adapter_tests;
mod config_fixture_tests;
mod dynamodb_adapter_tests;
mod lambda_wiring_adapter_tests;
mod lock_tests;
mod logs_adapter_tests;
mod release_tests;
mod restore_tests;
mod slice_tests;
mod stack_tests;
mod tui_tests;
mod undo_tests;
