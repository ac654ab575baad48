//! What the kernel knows about TCP sockets, as `netstat -an` and `ss -ti`
//! show it: the one socket sampler of wirelab, shared by the relay (its
//! socket to a target, and the target's socket when it lives on this
//! machine), the tutorial's servers (their accepted sockets) and the traced
//! programs of `--run`.
//!
//! Two ways in, same answer ([`protocol::relay_api::SocketInfo`]):
//! - [`fd`]: a socket we hold, by its descriptor (`getsockopt(TCP_INFO)`,
//!   `SIOCINQ`/`SIOCOUTQ`): [`socket_info`], [`sample_fd`].
//! - [`diag`]: ANY local TCP socket, by its 4-tuple, through netlink
//!   `NETLINK_SOCK_DIAG` (`INET_DIAG`, what `ss` reads): [`lookup`] and
//!   [`dump`]. It also finds sockets nobody holds any more (FIN_WAIT1/2,
//!   TIME_WAIT, LAST_ACK after `close()`), and another process's sockets.
//!   It needs no privilege for TCP.
//!
//! Linux only: elsewhere the fd sampler returns `None` and [`lookup`]
//! returns `Err(Unsupported)`, so observation simply carries no socket events.

pub mod diag;
pub mod fd;

pub use diag::{dump, lookup, Diagnosed};
pub use fd::{sample_fd, socket_info};
