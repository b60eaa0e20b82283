//! lint: existing deployment files → a Plan → the same check catalog.
pub mod flink_conf;
pub mod properties;
pub mod sql;
pub mod yaml;
