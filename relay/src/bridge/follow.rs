//! After the relay closes its side: both ends of the connection followed
//! through sock_diag (`sockets::lookup`, by the 4-tuple and by it reversed)
//! until the kernel drops them or they reach TIME_WAIT, so the session's
//! `socket` and `server_socket` events go on to FIN_WAIT1/FIN_WAIT2 and
//! TIME_WAIT (the side that closed first) or CLOSE_WAIT, LAST_ACK and
//! CLOSE (the other side), as `ss` shows them. A socket the kernel no longer
//! has is reported once as `CLOSE` (RFC 793's CLOSED).
//!
//! Bounded: at most `--observe-close-follow` per session (TIME_WAIT lasts
//! 60 s on Linux: it is reported when it starts, not waited out), two
//! sockets per session, one lookup each per [`FOLLOW_EVERY`]; the session
//! keeps its `--max-sessions` slot meanwhile, so no more than that many
//! sessions follow at once.

use std::time::Duration;

use futures_util::SinkExt;
use protocol::relay_api::{Observed, SocketInfo, TcpState};
use tokio::time::Instant;

use super::browser::ToBrowser;
use super::observed::{feed_observations, Observing};
use crate::observe::TEXT_PER_FLUSH;

/// Time between two looks. On loopback a state lasts microseconds to
/// milliseconds, so the first look is at once and the next soon after.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(5);

/// What a socket the kernel dropped is reported as.
fn gone() -> SocketInfo {
    SocketInfo {
        state: TcpState::Close,
        recv_q: 0,
        send_q: 0,
        rtt_us: None,
        unacked: None,
        retransmits: None,
    }
}

/// Follows the relay's socket and, where it lives on this machine, the
/// target's, for at most `limit`; returns at once for a session without
/// a connection or with a zero `limit`. With `ws_tx`, each new state goes
/// to the browser as it is seen (a FIN stuck behind a full Send-Q shows
/// at once, not when the limit is up).
pub(super) async fn closing<Tx>(obs: &Observing<'_>, limit: Duration, mut ws_tx: Option<&mut Tx>)
where
    Tx: ToBrowser,
{
    let Some((relay, target)) = obs.probe.ends else {
        return;
    };
    if limit.is_zero() {
        return;
    }
    obs.observer.start_following();
    let server_here = obs.hub.is_some() || obs.observer.target_is_local();
    let deadline = Instant::now() + limit;
    let (mut relay_done, mut server_done) = (false, !server_here);
    loop {
        if !relay_done {
            relay_done = look(obs, relay, target, Observed::Socket);
        }
        if !server_done {
            server_done = look(obs, target, relay, Observed::ServerSocket);
        }
        if let Some(ws_tx) = ws_tx.as_deref_mut() {
            if obs.observer.pending() {
                let mut budget = TEXT_PER_FLUSH;
                let fed = feed_observations(ws_tx, obs, &mut budget).await;
                if fed.is_err() || ws_tx.flush().await.is_err() {
                    return;
                }
            }
        }
        if (relay_done && server_done) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

/// One lookup, queued as `event`; true once there is no more to see.
fn look(
    obs: &Observing<'_>,
    local: std::net::SocketAddr,
    remote: std::net::SocketAddr,
    event: fn(SocketInfo) -> Observed,
) -> bool {
    match sockets::lookup(local, remote) {
        Ok(Some(found)) => {
            obs.observer.push(event(found.info));
            found.info.state == TcpState::TimeWait
        }
        Ok(None) => {
            obs.observer.push(event(gone()));
            true
        }
        // No sock_diag here (another OS, a kernel without it): nothing to follow.
        Err(_) => true,
    }
}
