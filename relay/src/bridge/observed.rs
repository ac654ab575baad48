//! The bridge's side of observation (`observe=1`, or `--record`): connecting so the
//! embedded server's accept can be paired with the session, writes that
//! report each system call, socket samples, and the text messages the
//! downstream pump interleaves with the bytes.
//!
//! The relay's socket is sampled once per flush of text messages, not once
//! per event: an event marks the socket unsampled, and the flush that
//! sends it ([`feed_observations`]) samples first. The queue keeps only the
//! newest sample anyway, so every byte event that goes out is still
//! followed by a sample taken after it, for one `TCP_INFO` and two ioctls
//! per flush instead of per system call.
//!
//! None of this runs for a session without `observe=1` or `--record`: the
//! pumps take their old paths when [`Observing`] is absent. A recorded
//! session without `observe=1` runs it all, but its observer queues nothing
//! for the browser, so no text message goes out.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use axum::extract::ws::Message;
use futures_util::SinkExt;
use protocol::relay_api::Observed;
use tokio::io::AsyncWrite;
use tokio::net::{TcpSocket, TcpStream};

use super::browser::ToBrowser;
use super::stats::SessionStats;
use crate::observe::{Expected, Hub, Relaying, SessionObserver};

/// What an observed session's bridge needs.
#[derive(Clone, Copy)]
pub struct Observing<'a> {
    pub observer: &'a Arc<SessionObserver>,
    /// The registry's hub when the target is an embedded server.
    pub hub: Option<&'a Arc<Hub>>,
    /// The relay's socket to the target, once connected (none in unit tests).
    pub probe: Probe,
}

/// A descriptor to sample, valid while the session's stream lives (the
/// bridge's futures never outlive it), and the connection's two ends (the
/// relay's address, the target's) for sock_diag, which needs no descriptor.
#[derive(Clone, Copy, Default)]
pub struct Probe {
    #[cfg(unix)]
    fd: Option<std::os::fd::RawFd>,
    pub(super) ends: Option<(SocketAddr, SocketAddr)>,
}

impl Probe {
    pub fn of(stream: &TcpStream) -> Probe {
        Probe {
            #[cfg(unix)]
            fd: Some(std::os::fd::AsRawFd::as_raw_fd(stream)),
            ends: stream.local_addr().ok().zip(stream.peer_addr().ok()),
        }
    }
}

impl Probe {
    /// The socket's (receive, send) queues now: bytes the kernel holds for
    /// the relay to read, and bytes it has yet to get acknowledged. The idle
    /// clock uses them to see bytes move while no system call does (a slow
    /// target draining a full send buffer).
    pub(super) fn queues(&self) -> Option<(u64, u64)> {
        #[cfg(unix)]
        if let Some(fd) = self.fd {
            return sockets::sample_fd(fd).map(|info| (info.recv_q, info.send_q));
        }
        None
    }
}

impl Observing<'_> {
    /// Queues an event of the relay's socket; all but the final `close`
    /// change that socket, so the next flush samples it first.
    pub fn push(&self, event: Observed) {
        if !matches!(event, Observed::Close) {
            self.observer.mark_unsampled();
        }
        self.observer.push(event);
    }

    /// The relay socket's kernel state now (the queue drops repeats) and,
    /// for a target on this machine that is not one of the relay's own
    /// servers (those sample their socket themselves), the target's socket
    /// through sock_diag. Once the relay has closed, both come from
    /// sock_diag only ([`follow::closing`](super::follow)): a descriptor
    /// cannot show TIME_WAIT.
    pub fn sample(&self) {
        self.observer.take_unsampled();
        if self.observer.following() {
            return;
        }
        #[cfg(unix)]
        if let Some(fd) = self.probe.fd {
            if let Some(info) = sockets::sample_fd(fd) {
                self.observer.push(Observed::Socket(info));
            }
        }
        if self.hub.is_none() {
            if let Some((relay, target)) = self.probe.ends {
                if self.observer.target_may_be_local() {
                    let found = sockets::lookup(target, relay).ok().flatten();
                    self.observer.target_found(found.is_some(), target);
                    if let Some(server) = found {
                        self.observer.push(Observed::ServerSocket(server.info));
                    }
                }
            }
        }
    }

    /// [`sample`](Self::sample) if the socket did something since the last one.
    pub fn sample_if_changed(&self) {
        if self.observer.take_unsampled() {
            self.sample();
        }
    }

    /// Samples every `--observe-sample` until dropped.
    pub async fn sample_forever(&self) {
        let every = self.observer.sample_every();
        loop {
            tokio::time::sleep(every).await;
            self.sample();
        }
    }
}

/// What a session's connection keeps registered in the hub until the
/// session ends.
pub struct Registered {
    _expected: Option<Expected>,
    _relaying: Option<Relaying>,
}

/// Connects `socket` (bound to `local` when the hub, a capture or a
/// recording needed its address first) to `address`. To an embedded
/// server (`hub`), its address is noted in the hub as the relay's own (the
/// server does not count it per client address) and, observed, registered
/// before the server can accept it so the server's side is paired with the
/// session. Observed, the connect is the session's first event.
pub async fn connect(
    socket: TcpSocket,
    local: Option<SocketAddr>,
    address: SocketAddr,
    observing: Option<&Observing<'_>>,
    hub: Option<&Arc<Hub>>,
) -> io::Result<(TcpStream, Registered)> {
    let registered = match (hub, local) {
        (Some(hub), Some(local)) => Registered {
            _relaying: Some(hub.relaying(local, address)),
            _expected: observing.map(|obs| hub.expect(local, address, obs.observer)),
        },
        _ => Registered {
            _expected: None,
            _relaying: None,
        },
    };
    let started = Instant::now();
    let stream = socket.connect(address).await?;
    let connect_us = started.elapsed().as_micros() as u64;
    if let Some(observing) = observing {
        observing.push(Observed::Connect {
            local: stream.local_addr()?.to_string(),
            peer: address.to_string(),
            connect_us,
        });
    }
    Ok((stream, registered))
}

/// `write_all`, one reported system call at a time: what the kernel took of
/// what was offered, and a `sent: 0` event when it took nothing and the
/// write has to wait (the send buffer is full). Each call that took bytes
/// restarts the session's idle clock.
pub async fn write_observed<W: AsyncWrite + Unpin>(
    up_wr: &mut W,
    mut bytes: &[u8],
    observing: &Observing<'_>,
    stats: &SessionStats,
) -> io::Result<()> {
    let mut stalled = false;
    while !bytes.is_empty() {
        let n = std::future::poll_fn(|cx| match Pin::new(&mut *up_wr).poll_write(cx, bytes) {
            Poll::Pending => {
                if !stalled {
                    stalled = true;
                    observing.push(Observed::Write {
                        len: bytes.len() as u64,
                        sent: 0,
                        count: 1,
                    });
                }
                Poll::Pending
            }
            ready => ready,
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        stalled = false;
        stats.touch();
        observing.push(Observed::Write {
            len: bytes.len() as u64,
            sent: n as u64,
            count: 1,
        });
        bytes = &bytes[n..];
    }
    Ok(())
}

/// Feeds queued observations (while `budget` lasts) as text messages,
/// after a sample of the relay's socket if it did something since the
/// last one; returns how many.
pub async fn feed_observations<Tx>(
    ws_tx: &mut Tx,
    observing: &Observing<'_>,
    budget: &mut usize,
) -> Result<usize, Tx::Error>
where
    Tx: ToBrowser,
{
    observing.sample_if_changed();
    let texts = observing.observer.drain(budget);
    let n = texts.len();
    for text in texts {
        ws_tx.feed(Message::Text(text.into())).await?;
    }
    Ok(n)
}
