//! The blackhole server, the tutorial's `app-server-test.py`: it accepts
//! connections and never calls `recv()`, so what a client sends piles up in
//! the server's receive queue, then in the client's send queue, until the
//! client's `send()` would block (the tutorial's troubleshooting section,
//! "netstat").
//!
//! A connection is held until its client closes (seen in the socket's TCP
//! state, since reading is exactly what this server must not do), until
//! [`Config::hold`] has passed, or until the server stops. The kernel
//! bounds what piles up: one receive buffer per connection, at most the
//! accept loop's `max_connections` of them.

use std::time::Duration;

use protocol::relay_api::TcpState;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::accept::{Conn, Ending, Handler};
use crate::sockstat::socket_info;

/// Default [`Config::hold`].
pub const DEFAULT_HOLD: Duration = Duration::from_secs(60);
/// How often an unobserved connection looks whether its client has gone.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The blackhole's own setting (its connection bounds are the accept
/// loop's [`Limits`](super::accept::Limits)). Serve it with
/// [`accept::serve`](super::accept::serve).
#[derive(Debug, Clone)]
pub struct Config {
    /// Longest a connection is held (it is never read, so it is never idle
    /// in the usual sense); then the server closes it.
    pub hold: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config { hold: DEFAULT_HOLD }
    }
}

impl Handler for Config {
    async fn handle(&self, conn: &mut Conn) -> Ending {
        let until = Instant::now() + conn.idle_timeout(self.hold);
        let Conn {
            stream,
            stop,
            watch,
            ..
        } = conn;
        let why = loop {
            tokio::select! {
                biased;
                _ = stop.shutdown.cancelled() => break "server shutting down",
                _ = tokio::time::sleep_until(until) => break "held for the longest allowed",
                () = watch.tick() => watch.sample(stream),
                _ = tokio::time::sleep(CHECK_EVERY), if !watch.is_on() => {}
            }
            if client_gone(stream) {
                break "the client closed its side";
            }
        };
        Ending::Closed(why)
    }
}

/// The client's FIN has arrived (or the connection is gone), which reading
/// would show as a 0-byte `recv()` only after every byte before it.
fn client_gone(stream: &TcpStream) -> bool {
    socket_info(stream).is_some_and(|info| {
        !matches!(
            info.state,
            TcpState::Established | TcpState::SynRecv | TcpState::FinWait1 | TcpState::FinWait2
        )
    })
}
