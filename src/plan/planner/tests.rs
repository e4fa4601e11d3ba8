//! Snapshot tests of the planner (filled in by its owner).
