//! The tutorial's servers as library code, so the binaries and the relay run
//! the same accept loops.
//!
//! - [`app`] is the application server (one request per connection, or
//!   several with `keep_alive`), driving `protocol`'s decoder.
//! - [`echo`] is the echo loop; the multi-connection server is this loop run
//!   for every connection at once.
//! - [`net`] binds (SO_REUSEADDR, `''` = all interfaces, IPv6 literals) and
//!   prints addresses as Python prints them.
//! - `limits` (private) is the accept loop both servers share: connection
//!   cap, graceful shutdown with a grace period; its defaults are
//!   [`DEFAULT_MAX_CONNECTIONS`] and [`DEFAULT_GRACE_PERIOD`].

pub mod app;
pub mod echo;
mod limits;
pub mod net;

pub use limits::{DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS};
