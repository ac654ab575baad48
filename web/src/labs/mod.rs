//! The labs beside the playground, one module each.
//!
//! - [`many`]: Many connections, the tutorial's event-loop server serving
//!   several of the browser's connections at once.

pub mod many;
mod many_model;
