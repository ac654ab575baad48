//! The labs: pages beside the playground, one lesson each, picked from the
//! tab bar ([`crate::app::Tab`]).
//!
//! - [`framing`]: one payload sent the HOWTO's four ways (fixed length,
//!   delimiter, length prefix, until EOF) to the relay's framing servers,
//!   side by side; [`framing_model`] is its state and reducer.

pub mod framing;
pub mod framing_model;

pub use framing::FramingLab;
