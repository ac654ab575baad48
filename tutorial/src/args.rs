//! The clap pieces the binaries share, `#[command(flatten)]`ed into each
//! one's arguments. Every default comes from the library constant the code
//! itself uses ([`crate::servers`], [`crate::client`]), so a flag's default
//! and the library's cannot drift apart.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::cli::{duration_text, listen, parse_duration};
use crate::client;
use crate::servers::{self, net};

/// The tutorial's own address (`HOST = "127.0.0.1"`, `PORT = 65432`): the
/// defaults of its first server and client.
pub const TUTORIAL_HOST: &str = "127.0.0.1";
/// See [`TUTORIAL_HOST`].
pub const TUTORIAL_PORT: u16 = 65432;

/// Where a server listens: `HOST PORT`.
#[derive(Debug, Clone, clap::Args)]
pub struct ListenArgs {
    /// Interface to listen on: '' for all IPv4 interfaces, an IP address (::1 works) or a host name.
    pub host: String,
    /// Port to listen on (0 picks a free one; the "Listening on" line shows it).
    pub port: u16,
}

impl ListenArgs {
    /// Binds with [`ServerLimits::backlog`] and logs the `Listening on …`
    /// line ([`listen`]).
    pub fn listen(&self, limits: &ServerLimits) -> Result<TcpListener, String> {
        listen(&self.host, self.port, limits.backlog)
    }
}

/// The limits every concurrent server takes: the accept loop's, and the
/// kernel backlog where connections over the cap wait.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerLimits {
    /// Connections served at once; more wait in the listen backlog.
    #[arg(long, value_name = "N", default_value_t = servers::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Connections one client address may have open at once; more are closed as soon as they are accepted (logged).
    #[arg(long, value_name = "N", default_value_t = servers::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: usize,
    /// After Ctrl-C/SIGTERM, how long open connections may take to finish.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(servers::DEFAULT_GRACE_PERIOD))]
    pub grace_period: Duration,
    /// Listen backlog (where connections over --max-connections wait).
    #[arg(long, value_name = "N", default_value_t = net::DEFAULT_BACKLOG)]
    pub backlog: u32,
}

impl ServerLimits {
    /// The accept loop's limits these flags set (every log line, as the
    /// tutorial's programs print them).
    pub fn limits(&self) -> servers::Limits {
        servers::Limits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            grace_period: self.grace_period,
            log: servers::LogLines::Every,
        }
    }
}

/// The server a client talks to: `HOST PORT`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerAddr {
    /// Server host: an IP address (::1 works) or a host name.
    pub host: String,
    /// Server port.
    pub port: u16,
}

/// How long a client waits before giving up.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientTimeout {
    /// Give up when connecting, or waiting for what the server sends back, takes longer than this.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration,
          default_value = duration_text(client::DEFAULT_TIMEOUT))]
    pub timeout: Duration,
}
