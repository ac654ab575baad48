//! The native side of wirelab: the tutorial's TCP programs and the relay.
//!
//! The programs (issue 3): [`servers`] holds the app and echo accept loops
//! the binaries and the relay share; [`client`] the app client; [`load`] the
//! load generator; [`cli`] logging, signals and errors for every binary.
//!
//! The relay (issue 4): [`http::Relay`] serves the router and runs sessions;
//! [`bridge`] moves one session's bytes; [`embedded`] starts the app and
//! echo servers as targets; [`targets`] is the named-target
//! registry; [`config`] holds every limit as a flag; [`metrics`] counts
//! sessions and held bytes; [`tap`] logs decoded frames. The README is the
//! user's guide.

pub mod bridge;
pub mod cli;
pub mod client;
pub mod config;
pub mod embedded;
pub mod http;
pub mod load;
pub mod metrics;
pub mod servers;
pub mod tap;
pub mod targets;
