//! The tutorial's servers as library code, so the binaries and the relay run
//! the same accept loops.
//!
//! - [`app`] is the application server (one request per connection, or
//!   several with `keep_alive`), driving `protocol`'s decoder.
//! - [`echo`] is the echo loop; the multi-connection server is this loop run
//!   for every connection at once.
//! - [`event_loop`] is the tutorial's multi-connection server as it wrote
//!   it: one thread, a `selectors`-style loop (mio).
//! - [`framing`] echoes each message framed as it came: a fixed length, a
//!   delimiter, a length prefix or until EOF (the framing lab).
//! - [`blackhole`] accepts and never reads: the tutorial's `app-server-test`.
//! - [`reset`] reads a little and closes with the rest unread: the kernel
//!   sends RST (the "connection reset" of the tutorial's error table).
//! - [`observe`] is the optional hook through which a server tells the relay
//!   what one connection did (recv, send, log lines, socket queues).
//! - [`net`] binds (SO_REUSEADDR, `''` = all interfaces, IPv6 literals) and
//!   prints addresses as Python prints them.
//! - `limits` (private) is the accept loop both servers share: connection
//!   cap, graceful shutdown with a grace period; its defaults are
//!   [`DEFAULT_MAX_CONNECTIONS`] and [`DEFAULT_GRACE_PERIOD`].

pub mod app;
pub mod blackhole;
pub mod echo;
pub mod event_loop;
pub mod framing;
mod limits;
pub mod net;
pub mod observe;
pub mod reset;

pub use limits::{DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS};
