//! The labs: pages beside the playground, one lesson each, picked from the
//! tab bar (the root component's `Tab`). They take their sockets' URL
//! from `crate::socket_url`, not from the root component.
//!
//! - [`framing`]: one payload sent the HOWTO's four ways (fixed length,
//!   delimiter, length prefix, until EOF) to the relay's framing servers,
//!   side by side; [`framing_model`] is its state and reducer.
//! - [`many`]: Many connections, the tutorial's event-loop server serving
//!   several of the browser's connections at once.
//! - [`watch`]: Watch your own client, the learner's programs arriving at
//!   an `--expose`d server; [`watch_model`] is its state.

pub mod framing;
pub mod framing_model;
pub mod many;
mod many_model;
pub mod watch;
pub mod watch_model;

pub use framing::FramingLab;
