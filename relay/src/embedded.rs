//! The servers the relay runs in-process on loopback and registers as
//! targets: what makes one `relay` command the whole back end. [`EMBEDDED`]
//! is the one list of them (name, what it is, which of the relay's flags it
//! follows); `--no-embedded`'s help, the tests' relay and the docs' target
//! tables come from it (a test holds the docs to it). The relay binary and
//! the tests start them with [`start`]. Each reports observed sessions'
//! connections to the registry's hub ([`Targets::hub`]).
//!
//! What bounds a connection to an embedded server: a session through the
//! relay is bounded per browser address by `--max-sessions-per-ip` (the
//! relay knows the browser's address; every session reaches the server
//! from the relay's own loopback address, so the server does not count
//! them per address). The servers' own per-address share
//! (`--embedded-max-connections-per-ip`) bounds clients that reach the
//! loopback port directly (any local user), and `--max-sessions` bounds
//! each server's connections in all.
//!
//! [`expose`] (`--expose NAME=HOST:PORT`) starts one of them a second time,
//! with the same limits, on a listener of its own for the learner's
//! clients, and registers that listener in the hub.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use protocol::framing::{Framing, Strategy};
use tutorial::servers::observe::Hook;
use tutorial::servers::{self, app, blackhole, echo, event_loop, framing, net, reset, LogLines};

use crate::config::RelayConfig;
use crate::observe::watch::Exposed;
use crate::targets::Targets;

/// A relay flag an embedded server follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follows {
    /// `--max-sessions`: its connections at once.
    MaxSessions,
    /// `--idle-timeout` (plus [`IDLE_MARGIN`], so that the relay's own
    /// timeout decides a quiet session): how long a quiet connection lives;
    /// the blackhole holds a connection that long.
    IdleTimeout,
    /// `--embedded-max-connections-per-ip`: one client address's share of
    /// its connections.
    PerIpShare,
    /// `--refusal-log-rate`: its connection log lines per second.
    LogRate,
}

impl Follows {
    /// The flag, as `relay --help` writes it.
    pub fn flag(self) -> &'static str {
        match self {
            Follows::MaxSessions => "--max-sessions",
            Follows::IdleTimeout => "--idle-timeout",
            Follows::PerIpShare => "--embedded-max-connections-per-ip",
            Follows::LogRate => "--refusal-log-rate",
        }
    }
}

/// Which server a target runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The tutorial's application server (`tutorial::servers::app`).
    App,
    /// The echo server (`tutorial::servers::echo`).
    Echo,
    /// The tutorial's `app-server-test` (`tutorial::servers::blackhole`).
    Blackhole,
    /// The selectors-style event loop (`tutorial::servers::event_loop`).
    Multiconn,
    /// A framing lab server (`tutorial::servers::framing`).
    Framing(Strategy),
    /// Lesson 12's server that closes with unread data (`tutorial::servers::reset`).
    Reset,
    /// Lesson 12's port where nothing listens: bound, never listening.
    Refused,
}

/// One embedded target.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedTarget {
    /// What the page puts in `/ws?target=`.
    pub name: &'static str,
    pub server: Server,
    /// What it is, in a few words (the picker's description starts so).
    pub what: &'static str,
    /// The relay flags it follows; the rest of its settings are its
    /// server's defaults.
    pub follows: &'static [Follows],
}

/// The flags every embedded server but `app` follows.
const ALL_FLAGS: &[Follows] = &[
    Follows::MaxSessions,
    Follows::IdleTimeout,
    Follows::PerIpShare,
    Follows::LogRate,
];

/// Every embedded target, in the order `/targets` lists them.
pub const EMBEDDED: [EmbeddedTarget; 10] = [
    EmbeddedTarget {
        name: "app",
        server: Server::App,
        what: "the tutorial's application server",
        // Its own idle (10 s) and request (30 s) timeouts: the tutorial's
        // one request per connection needs no more.
        follows: &[Follows::MaxSessions, Follows::PerIpShare, Follows::LogRate],
    },
    EmbeddedTarget {
        name: "echo",
        server: Server::Echo,
        what: "echo server",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "blackhole",
        server: Server::Blackhole,
        what: "the tutorial's app-server-test",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "multiconn",
        server: Server::Multiconn,
        what: "the tutorial's multi-connection server",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "fixed",
        server: Server::Framing(Strategy::Fixed),
        what: "framing lab",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "lines",
        server: Server::Framing(Strategy::Lines),
        what: "framing lab",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "prefix",
        server: Server::Framing(Strategy::Prefix),
        what: "framing lab",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "close",
        server: Server::Framing(Strategy::Close),
        what: "framing lab",
        follows: ALL_FLAGS,
    },
    EmbeddedTarget {
        name: "reset",
        server: Server::Reset,
        what: "reset server",
        // It reads once and closes within its own wait: no idle time to follow.
        follows: &[Follows::MaxSessions, Follows::PerIpShare, Follows::LogRate],
    },
    EmbeddedTarget {
        name: "refused",
        server: Server::Refused,
        what: "nothing listens here",
        // No connection is ever accepted.
        follows: &[],
    },
];

/// What an embedded server's idle timeout adds to `--idle-timeout`: the
/// relay's clock, started later than the server's (it forwards what the
/// server sent), must run out first, so a quiet session ends with the
/// relay's "idle timeout", not with the server hanging up.
pub const IDLE_MARGIN: Duration = Duration::from_secs(1);

impl EmbeddedTarget {
    /// What the server does with the bytes, for the picker.
    pub fn does(&self) -> String {
        match self.server {
            Server::App => "search requests and binary replies".into(),
            Server::Echo => "every byte comes back".into(),
            Server::Blackhole => "accepts and never reads, so the queues fill".into(),
            Server::Multiconn => {
                "one thread, a selectors-style event loop echoing every connection".into()
            }
            Server::Framing(strategy) => {
                let how = match Framing::default_for(strategy) {
                    Framing::Fixed { len } => format!("every {len} bytes is a message"),
                    Framing::Delimited { .. } => "a message ends at each b'\\n'".into(),
                    Framing::LengthPrefixed => {
                        "a 2-byte big-endian length before each message".into()
                    }
                    Framing::UntilEof => {
                        "the message ends at the client's FIN; answers, then closes".into()
                    }
                };
                format!("{how}; echoes each message framed the same way")
            }
            Server::Reset => format!(
                "reads {} bytes, then closes with the rest unread, so the kernel sends RST: ECONNRESET at the client",
                reset::READ
            ),
            Server::Refused => "the port is bound but never listens: the kernel answers the SYN with RST, connect() fails with ECONNREFUSED".into(),
        }
    }

    /// The picker's line for this target. It names no address: `/targets`
    /// gives the address only with `--show-addresses`.
    pub fn description(&self) -> String {
        format!("{} (embedded): {}", self.what, self.does())
    }
}

/// The embedded targets' names, in order.
pub fn names() -> impl Iterator<Item = &'static str> {
    EMBEDDED.iter().map(|t| t.name)
}

/// `--no-embedded`'s help, naming every embedded target.
pub fn no_embedded_help() -> String {
    format!(
        "Do not start the embedded servers (no targets {})",
        names().collect::<Vec<_>>().join(", ")
    )
}

/// The accept loop's limits of every embedded server under `config`.
pub fn limits(config: &RelayConfig) -> servers::Limits {
    servers::Limits {
        max_connections: config.max_sessions,
        max_connections_per_ip: config.embedded_max_connections_per_ip,
        log: LogLines::Bounded {
            per_second: config.refusal_log_rate,
        },
        ..servers::Limits::default()
    }
}

/// Binds every server of [`EMBEDDED`] on `127.0.0.1:0` with the limits
/// `config` gives them, spawns them into the returned set, and registers
/// them in `targets`. They stop when `shutdown` is cancelled.
pub fn start(
    targets: &mut Targets,
    config: &RelayConfig,
    shutdown: &CancellationToken,
) -> io::Result<JoinSet<io::Result<()>>> {
    let mut servers = JoinSet::new();
    for target in &EMBEDDED {
        let hook = Some(Hook(targets.hub().clone()));
        if target.server == Server::Refused {
            let addr = bind_never_listening(&mut servers, shutdown)?;
            register(targets, target, addr)?;
            continue;
        }
        let listener = bind_loopback()?;
        let addr = listener.local_addr()?;
        let stop = shutdown.clone();
        spawn_server(&mut servers, target.server, listener, config, hook, stop)?;
        register(targets, target, addr)?;
    }
    Ok(servers)
}

/// Spawns the server of `server` on `listener` with the limits `config`
/// gives the embedded servers.
fn spawn_server(
    servers: &mut JoinSet<io::Result<()>>,
    server: Server,
    listener: tokio::net::TcpListener,
    config: &RelayConfig,
    hook: Option<Hook>,
    stop: CancellationToken,
) -> io::Result<()> {
    let limits = limits(config);
    let idle = config.idle_timeout + IDLE_MARGIN;
    match server {
        Server::App => {
            servers.spawn(servers::serve(
                listener,
                limits,
                app::Config::default(),
                hook,
                stop,
            ));
        }
        Server::Echo => {
            let echo = echo::Config { idle_timeout: idle };
            servers.spawn(servers::serve(listener, limits, echo, hook, stop));
        }
        Server::Blackhole => {
            let blackhole = blackhole::Config { hold: idle };
            servers.spawn(servers::serve(listener, limits, blackhole, hook, stop));
        }
        Server::Multiconn => {
            let config = event_loop::Config {
                max_connections: limits.max_connections,
                max_connections_per_ip: limits.max_connections_per_ip,
                idle_timeout: idle,
                log: limits.log,
                ..event_loop::Config::default()
            };
            let listener = listener.into_std()?;
            servers.spawn(event_loop::serve(listener, config, hook, stop));
        }
        Server::Framing(strategy) => {
            let handler = framing::Config {
                idle_timeout: idle,
                ..framing::Config::new(Framing::default_for(strategy))
            }
            .handler()?;
            servers.spawn(servers::serve(listener, limits, handler, hook, stop));
        }
        Server::Reset => {
            let reset = reset::Config::default();
            servers.spawn(servers::serve(listener, limits, reset, hook, stop));
        }
        Server::Refused => unreachable!("bound above, never listening"),
    }
    Ok(())
}

/// `--expose NAME=HOST:PORT`: the embedded server of target `name` (one of
/// [`crate::expose::EXPOSABLE`]) also serves `listener`, as a second
/// instance with the limits `start` gave the first; the connections it
/// accepts there go to `/ws?watch=NAME`'s watchers.
pub fn expose(
    targets: &Targets,
    servers: &mut JoinSet<io::Result<()>>,
    name: &str,
    listener: tokio::net::TcpListener,
    config: &RelayConfig,
    shutdown: &CancellationToken,
) -> io::Result<Arc<Exposed>> {
    let address = listener.local_addr()?;
    let target = EMBEDDED
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| io::Error::other(format!("{name:?} cannot be exposed")))?;
    let hook = Some(Hook(targets.hub().clone()));
    spawn_server(
        servers,
        target.server,
        listener,
        config,
        hook,
        shutdown.clone(),
    )?;
    let exposed = Exposed::new(name, address);
    targets.hub().expose(exposed.clone());
    Ok(exposed)
}

fn register(targets: &mut Targets, target: &EmbeddedTarget, addr: SocketAddr) -> io::Result<()> {
    targets
        .add_embedded(target.name, addr, target.description())
        .map_err(|e| io::Error::other(format!("cannot register {}: {e}", target.name)))
}

/// A loopback port that is bound and never listens, held until shutdown so
/// that no other program takes it: a connect to it is refused.
fn bind_never_listening(
    servers: &mut JoinSet<io::Result<()>>,
    shutdown: &CancellationToken,
) -> io::Result<SocketAddr> {
    let bound = tokio::net::TcpSocket::new_v4()?;
    bound.bind((Ipv4Addr::LOCALHOST, 0).into())?;
    let addr = bound.local_addr()?;
    let held = shutdown.clone();
    servers.spawn(async move {
        held.cancelled().await;
        drop(bound);
        Ok(())
    });
    Ok(addr)
}

fn bind_loopback() -> io::Result<tokio::net::TcpListener> {
    net::bind((Ipv4Addr::LOCALHOST, 0).into(), net::DEFAULT_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_framing_target_is_named_as_its_strategy_and_every_name_once() {
        for target in &EMBEDDED {
            if let Server::Framing(strategy) = target.server {
                assert_eq!(target.name, strategy.name());
            }
        }
        let mut names: Vec<_> = names().collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EMBEDDED.len());
        assert_eq!(
            no_embedded_help(),
            "Do not start the embedded servers (no targets app, echo, blackhole, multiconn, fixed, lines, prefix, close, reset, refused)"
        );
    }

    #[test]
    fn every_flag_a_target_follows_is_a_relay_flag() {
        use clap::Args;
        let command = RelayConfig::augment_args(clap::Command::new("relay"));
        for target in &EMBEDDED {
            for follows in target.follows {
                let long = follows.flag().trim_start_matches("--");
                assert!(
                    command.get_arguments().any(|a| a.get_long() == Some(long)),
                    "{} follows {}, which the relay does not have",
                    target.name,
                    follows.flag()
                );
            }
        }
    }
}
