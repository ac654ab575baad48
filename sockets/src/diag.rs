//! Any local TCP socket, by its 4-tuple, as `ss -ti` reads it: one netlink
//! `NETLINK_SOCK_DIAG` request (`SOCK_DIAG_BY_FAMILY`, an `inet_diag_req_v2`
//! asking for `INET_DIAG_INFO`) and its `inet_diag_msg` reply.
//!
//! Unlike [`crate::fd`], this needs no descriptor: it sees another
//! process's sockets (a target's accepted socket, a traced program's) and
//! sockets nobody holds any more, which the kernel keeps after `close()`
//! until the connection is done: FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK
//! and the 60 s of TIME_WAIT. For those, and for SYN_RECV, the kernel
//! reports fewer fields: no TCP_INFO (`rtt_us`, `unacked`, `retransmits`
//! are `None`) and, in TIME_WAIT, empty queues. For a LISTEN socket the
//! queues are the accept queue (`recv_q`) and its backlog (`send_q`), as
//! `ss` shows them.
//!
//! The request and reply are small fixed layouts (`linux/inet_diag.h`),
//! written here by hand over `libc`: see `docs/architecture.md`, "Socket
//! sampling".

use std::io;
use std::net::SocketAddr;

use protocol::relay_api::SocketInfo;

/// One socket as sock_diag reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diagnosed {
    /// Its own address (`ss`'s "Local Address:Port").
    pub local: SocketAddr,
    /// Its peer's address (unspecified, port 0, for a listener).
    pub remote: SocketAddr,
    /// State, queues and, where the kernel gives them, TCP_INFO's figures.
    pub info: SocketInfo,
    /// Owner's uid.
    pub uid: u32,
    /// The socket's inode (`socket:[N]` in `/proc/PID/fd`); 0 once no
    /// descriptor refers to it (orphaned after close, TIME_WAIT).
    pub inode: u32,
    /// Milliseconds until the socket's pending timer fires (for TIME_WAIT:
    /// until the kernel drops it), 0 when none is pending.
    pub expires_ms: u32,
}

/// The socket whose own address is `local` and whose peer is `remote`, if
/// the kernel has one: `Ok(None)` once it is gone (or never was).
///
/// IPv4 addresses also find an IPv6 socket that carries them v4-mapped
/// (`::ffff:a.b.c.d`, a dual-stack listener's connections); the answer's
/// addresses are then the canonical IPv4 ones. One netlink socket per call
/// (a few microseconds): callers on several threads need nothing shared.
pub fn lookup(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<Diagnosed>> {
    imp::lookup(local, remote)
}

/// Every TCP socket of this network namespace, IPv4 and IPv6 (what `ss -tan`
/// lists), for a caller that knows a socket by its inode rather than its
/// addresses.
pub fn dump() -> io::Result<Vec<Diagnosed>> {
    imp::dump()
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn lookup(_local: SocketAddr, _remote: SocketAddr) -> io::Result<Option<Diagnosed>> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub fn dump() -> io::Result<Vec<Diagnosed>> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    use protocol::relay_api::TcpState;

    use super::*;
    use crate::fd::{from_tcp_info, TCP_INFO_MIN};

    // linux/sock_diag.h, linux/inet_diag.h, linux/netlink.h.
    const NETLINK_SOCK_DIAG: libc::c_int = 4;
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const INET_DIAG_INFO: u16 = 2;
    const INET_DIAG_NOCOOKIE: u32 = !0;
    const NLMSG_HDR: usize = 16;
    /// `inet_diag_sockid`: ports, two 16-byte addresses, interface, cookie.
    const SOCKID: usize = 48;
    /// `inet_diag_req_v2`: family, protocol, ext, pad, states, sockid.
    const REQ: usize = 8 + SOCKID;
    /// `inet_diag_msg`: family, state, timer, retrans, sockid, expires,
    /// rqueue, wqueue, uid, inode.
    const MSG: usize = 4 + SOCKID + 20;

    pub fn lookup(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<Diagnosed>> {
        let (local, remote) = (canonical(local), canonical(remote));
        let family = match local {
            SocketAddr::V4(_) => libc::AF_INET,
            SocketAddr::V6(_) => libc::AF_INET6,
        };
        let link = Netlink::open()?;
        link.send(&request(
            family,
            libc::NLM_F_REQUEST as u16,
            Some((local, remote)),
        ))?;
        let mut found = None;
        link.replies(|reply| {
            // The kernel's lookup falls back to a listener on the local
            // port: that is not the connection asked for.
            if reply.local == local && reply.remote == remote {
                found = Some(reply);
            }
        })?;
        Ok(found)
    }

    pub fn dump() -> io::Result<Vec<Diagnosed>> {
        let mut all = Vec::new();
        for family in [libc::AF_INET, libc::AF_INET6] {
            let link = Netlink::open()?;
            let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
            link.send(&request(family, flags, None))?;
            link.replies(|reply| all.push(reply))?;
        }
        Ok(all)
    }

    /// An IPv4 address an IPv6 socket carries v4-mapped, as IPv4.
    fn canonical(address: SocketAddr) -> SocketAddr {
        SocketAddr::new(address.ip().to_canonical(), address.port())
    }

    /// `nlmsghdr` + `inet_diag_req_v2` for TCP, all states, TCP_INFO
    /// wanted; `exact` names one socket (no cookie to check).
    fn request(
        family: libc::c_int,
        flags: u16,
        exact: Option<(SocketAddr, SocketAddr)>,
    ) -> Vec<u8> {
        let mut m = Vec::with_capacity(NLMSG_HDR + REQ);
        m.extend_from_slice(&((NLMSG_HDR + REQ) as u32).to_ne_bytes());
        m.extend_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        m.extend_from_slice(&0u32.to_ne_bytes()); // to the kernel
        m.push(family as u8);
        m.push(libc::IPPROTO_TCP as u8);
        m.push(1 << (INET_DIAG_INFO - 1));
        m.push(0);
        m.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
        let (local, remote) = match exact {
            Some(pair) => pair,
            None => {
                m.resize(NLMSG_HDR + REQ, 0);
                return m;
            }
        };
        m.extend_from_slice(&local.port().to_be_bytes());
        m.extend_from_slice(&remote.port().to_be_bytes());
        m.extend_from_slice(&address_bytes(local.ip()));
        m.extend_from_slice(&address_bytes(remote.ip()));
        m.extend_from_slice(&0u32.to_ne_bytes()); // any interface
        m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
        m.extend_from_slice(&INET_DIAG_NOCOOKIE.to_ne_bytes());
        m
    }

    /// An address as `inet_diag_sockid` holds it: 16 bytes, IPv4 in the first 4.
    fn address_bytes(ip: IpAddr) -> [u8; 16] {
        match ip {
            IpAddr::V4(v4) => {
                let mut b = [0; 16];
                b[..4].copy_from_slice(&v4.octets());
                b
            }
            IpAddr::V6(v6) => v6.octets(),
        }
    }

    fn read_u32(b: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(b[at..at + 4].try_into().expect("4 bytes"))
    }

    fn read_u16(b: &[u8], at: usize) -> u16 {
        u16::from_ne_bytes(b[at..at + 2].try_into().expect("2 bytes"))
    }

    /// One `inet_diag_msg` and its attributes; `None` for a state or family
    /// we do not name.
    fn parse(body: &[u8]) -> Option<Diagnosed> {
        if body.len() < MSG {
            return None;
        }
        let state = TcpState::from_linux(body[1])?;
        let id = &body[4..4 + SOCKID];
        let sport = u16::from_be_bytes([id[0], id[1]]);
        let dport = u16::from_be_bytes([id[2], id[3]]);
        let ip = |b: &[u8]| -> Option<IpAddr> {
            Some(match body[0] as libc::c_int {
                libc::AF_INET => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                libc::AF_INET6 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(b).ok()?)),
                _ => return None,
            })
        };
        let local = SocketAddr::new(ip(&id[4..20])?.to_canonical(), sport);
        let remote = SocketAddr::new(ip(&id[20..36])?.to_canonical(), dport);
        let after = 4 + SOCKID;
        let mut info = SocketInfo {
            state,
            recv_q: read_u32(body, after + 4).into(),
            send_q: read_u32(body, after + 8).into(),
            rtt_us: None,
            unacked: None,
            retransmits: None,
        };
        // Attributes: {len: u16, type: u16, payload}, each 4-byte aligned.
        let mut at = MSG;
        while at + 4 <= body.len() {
            let len = read_u16(body, at) as usize;
            if len < 4 || at + len > body.len() {
                break;
            }
            if read_u16(body, at + 2) == INET_DIAG_INFO {
                let payload = &body[at + 4..at + len];
                if payload.len() >= TCP_INFO_MIN {
                    // SAFETY: tcp_info is plain old data (all integers);
                    // zeroed, then at most its size copied in.
                    let mut tcp: libc::tcp_info = unsafe { std::mem::zeroed() };
                    let n = payload.len().min(std::mem::size_of::<libc::tcp_info>());
                    // SAFETY: n is within both the payload and the struct.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            payload.as_ptr(),
                            (&mut tcp as *mut libc::tcp_info).cast::<u8>(),
                            n,
                        )
                    };
                    (info.rtt_us, info.unacked, info.retransmits) = from_tcp_info(&tcp);
                }
            }
            at += (len + 3) & !3;
        }
        Some(Diagnosed {
            local,
            remote,
            info,
            uid: read_u32(body, after + 12),
            inode: read_u32(body, after + 16),
            expires_ms: read_u32(body, after),
        })
    }

    /// A `NETLINK_SOCK_DIAG` socket, closed on drop.
    struct Netlink(OwnedFd);

    impl Netlink {
        fn open() -> io::Result<Netlink> {
            // SAFETY: plain socket(2); the descriptor is owned right away.
            let fd = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                    NETLINK_SOCK_DIAG,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd was just opened and nothing else owns it.
            let link = Netlink(unsafe { OwnedFd::from_raw_fd(fd) });
            // The kernel answers at once; a second is a kernel in trouble.
            let timeout = libc::timeval {
                tv_sec: 1,
                tv_usec: 0,
            };
            // SAFETY: a live timeval of the size passed.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_RCVTIMEO,
                    (&timeout as *const libc::timeval).cast(),
                    std::mem::size_of::<libc::timeval>() as libc::socklen_t,
                )
            };
            Ok(link)
        }

        fn send(&self, message: &[u8]) -> io::Result<()> {
            // SAFETY: an all-zero sockaddr_nl is the kernel's address
            // once its family is set.
            let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
            // SAFETY: message and kernel are live for the call; sizes are theirs.
            let sent = unsafe {
                libc::sendto(
                    self.0.as_raw_fd(),
                    message.as_ptr().cast(),
                    message.len(),
                    0,
                    (&kernel as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
                )
            };
            if sent < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }

        /// Reads replies until the request is answered: one socket (or
        /// ENOENT: none) for a lookup, `NLMSG_DONE` after a dump.
        fn replies(&self, mut each: impl FnMut(Diagnosed)) -> io::Result<()> {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                // SAFETY: buf is live and its length is passed.
                let n = unsafe {
                    libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
                };
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                let mut rest = &buf[..n as usize];
                let mut single = false;
                while rest.len() >= NLMSG_HDR {
                    let len = read_u32(rest, 0) as usize;
                    if len < NLMSG_HDR || len > rest.len() {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "sock_diag: truncated netlink message",
                        ));
                    }
                    let kind = read_u16(rest, 4);
                    let flags = read_u16(rest, 6);
                    let body = &rest[NLMSG_HDR..len];
                    match kind as libc::c_int {
                        libc::NLMSG_DONE => return Ok(()),
                        libc::NLMSG_ERROR => {
                            let errno = body
                                .get(..4)
                                .map_or(0, |b| i32::from_ne_bytes(b.try_into().expect("4 bytes")));
                            return match -errno {
                                0 | libc::ENOENT => Ok(()),
                                e => Err(io::Error::from_raw_os_error(e)),
                            };
                        }
                        _ if kind == SOCK_DIAG_BY_FAMILY => {
                            if let Some(found) = parse(body) {
                                each(found);
                            }
                            single |= flags & libc::NLM_F_MULTI as u16 == 0;
                        }
                        _ => {}
                    }
                    rest = &rest[((len + 3) & !3).min(rest.len())..];
                }
                if single {
                    return Ok(());
                }
            }
        }
    }
}
