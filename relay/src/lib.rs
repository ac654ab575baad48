//! The native side of wirelab (filled in by the relay and programs issues).
//!
//! The relay (issue 4): [`http::Relay`] serves the router and runs sessions;
//! [`bridge`] moves one session's bytes; [`targets`] is the named-target
//! registry; [`config`] holds every limit as a flag; [`metrics`] counts
//! sessions and held bytes; [`tap`] logs decoded frames. RELAY.md is the
//! user's guide.

pub mod bridge;
pub mod cli;
pub mod client;
pub mod config;
pub mod http;
pub mod load;
pub mod metrics;
pub mod servers;
pub mod tap;
pub mod targets;
