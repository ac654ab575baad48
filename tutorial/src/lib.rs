//! The Real Python socket tutorial's TCP programs, in tokio: the servers
//! (which the relay also runs in-process as targets), the clients, and a
//! load generator to measure them.
//!
//! Where things are:
//! - [`servers`]: the app, echo, blackhole, event-loop and framing servers
//!   as library code, with the one accept loop they share
//!   ([`servers::serve`]: connection cap, per-address share, graceful
//!   shutdown, how much they log) and [`servers::net`] (binding as the
//!   tutorial does, addresses printed as Python prints them).
//! - [`sockstat`]: the `sockets` crate's fd sampler, re-exported (the
//!   socket sampler lives in the `sockets` crate, which the relay shares).
//! - [`client`]: the app client's conversation: connect, send, decode replies.
//! - [`load`]: the load generator behind `loadgen`.
//! - [`log_rate`]: at most so many log lines a second, the rest counted
//!   (the relay's refusals, the embedded servers' connection lines).
//! - [`truncate`]: the one cut applied to a stranger's text before it is
//!   logged or reported (`… (N bytes)`).
//! - [`cli`]: what every binary shares: logging that reads like the
//!   tutorial's `print()`s, Ctrl-C/SIGTERM, one-line errors, durations.
//! - [`args`]: the clap pieces the binaries flatten ([`args::ListenArgs`],
//!   [`args::ServerLimits`], [`args::ServerAddr`], [`args::ClientTimeout`]),
//!   so each flag and its default is written once.
//! - `src/bin/`: `echo-server`, `echo-client`, `multiconn-server`,
//!   `multiconn-client`, `app-server`, `app-client`, `app-server-test`,
//!   `app-client-test`, `framing-server`, `framing-client`, `loadgen`; each file
//!   opens with how to run it.
//! - `examples/bare-server.rs`: the benchmark's floor (no logging, limits or
//!   shutdown), for `loadgen` to compare with.
//! - `scripts/bench-programs.sh`: `loadgen` against the servers, in rounds.
//! - `tests/`: the binaries run as processes (`programs_*.rs`), against
//!   each other and against the Python fixtures in `tests/python/`.

pub mod args;
pub mod cli;
pub mod client;
pub mod load;
pub mod log_rate;
pub mod servers;
/// A TCP socket's state and queues as netstat shows them: the `sockets`
/// crate's fd sampler (TCP_INFO, SIOCINQ/SIOCOUTQ), named as before.
pub mod sockstat {
    pub use sockets::fd::*;
}
pub mod truncate;
