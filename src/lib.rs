//! flinkgen: compiles Flink job and Kafka cluster profiles into consistent, checked configuration.
//!
//! Pipeline: load → resolve → check → render → emit (see DESIGN.md). Everything between load and
//! emit is pure.

pub mod app;
pub mod check;
pub mod cli;
pub mod commands;
pub mod diag;
pub mod diff;
pub mod docs;
pub mod emit;
pub mod explain;
pub mod fmt;
pub mod import;
pub mod lint;
pub mod plan;
pub mod policy;
pub mod profile;
pub mod render;
pub mod resolve;
pub mod sarif;
pub mod stream;
pub mod units;
