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
//! - [`accept`] is the one accept loop of the tokio servers, generic over
//!   what a server does with a connection ([`accept::Handler`]: each
//!   server's `Config` is one): the connection cap, the per-address share,
//!   graceful shutdown with a grace period ([`accept::Limits`], defaults
//!   [`DEFAULT_MAX_CONNECTIONS`], [`DEFAULT_MAX_CONNECTIONS_PER_IP`],
//!   [`DEFAULT_GRACE_PERIOD`]), and the accept and closing lines.
//! - [`lines`]: how much a server logs: every line (the tutorial's
//!   programs) or a bounded log (embedded in the relay).
//!
//! `servers::serve(listener, limits, echo::Config::default(), None, shutdown)`
//! runs the echo server; the app, blackhole and framing servers alike.

pub mod accept;
pub mod app;
pub mod blackhole;
pub mod echo;
pub mod event_loop;
pub mod framing;
pub mod lines;
pub mod net;
pub mod observe;
pub mod reset;

pub use accept::{
    serve, Limits, DEFAULT_GRACE_PERIOD, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
};
pub use lines::LogLines;
