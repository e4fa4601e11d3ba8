//! The `txdeploy` binary: everything lives in the library.

fn main() {}
