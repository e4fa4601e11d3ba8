//! Unit tests of the undo planner.

#![allow(clippy::unwrap_used)]

use super::*;
