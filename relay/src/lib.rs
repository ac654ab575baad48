//! The native side of wirelab (filled in by the relay and programs issues).

pub mod bridge;
pub mod cli;
pub mod client;
pub mod config;
pub mod http;
pub mod metrics;
pub mod servers;
pub mod tap;
pub mod targets;
