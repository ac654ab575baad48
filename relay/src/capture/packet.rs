//! One connection's packets from the kernel: an `AF_PACKET` socket
//! (`SOCK_DGRAM`, so each packet starts at its IP header, as
//! `LINKTYPE_RAW` wants) with a classic BPF filter that keeps only TCP
//! between two ports, both ways. Through libc, no libpcap.
//!
//! The socket is made with protocol 0, which delivers nothing; the filter
//! is attached, and only then is the socket bound with `ETH_P_ALL`: no
//! packet of another connection is ever queued to it.
//!
//! On loopback the kernel shows every packet twice, leaving
//! (`PACKET_OUTGOING`) and arriving; like libpcap, the copy leaving is
//! skipped there.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `linux/if_packet.h`, `linux/sockios.h` (not all in every libc).
const SOL_PACKET: libc::c_int = 263;
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_OUTGOING: u8 = 4;
const SIOCGSTAMP: libc::c_ulong = 0x8906;

/// What the filter returns for a packet it keeps: the whole packet (a
/// loopback GSO packet is at most 64 KiB).
const SNAPLEN: u32 = 262_144;

/// One packet read.
#[derive(Debug)]
pub struct Packet {
    /// Bytes of it in the buffer.
    pub len: usize,
    /// Its length on the wire.
    pub orig_len: usize,
    /// When the kernel saw it, microseconds since the Unix epoch.
    pub ts_unix_us: u64,
}

/// An `AF_PACKET` socket that sees one connection's TCP segments.
pub struct PacketSocket {
    fd: OwnedFd,
    /// Bound to loopback: the leaving copy of each packet is skipped.
    loopback: bool,
}

#[repr(C)]
struct TpacketStats {
    packets: u32,
    drops: u32,
}

impl PacketSocket {
    /// Segments between `local_port` and `peer`'s port, both ways, on
    /// loopback when `peer` is a loopback address, else on every
    /// interface. Fails without `CAP_NET_RAW` (`EPERM`).
    pub fn open(local_port: u16, peer: SocketAddr, rcvbuf: usize) -> io::Result<PacketSocket> {
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a descriptor we just opened and own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let program = filter(peer.is_ipv6(), local_port, peer.port());
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        setsockopt(raw, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &fprog)?;
        let size = libc::c_int::try_from(rcvbuf).unwrap_or(libc::c_int::MAX);
        setsockopt(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, &size)?;
        // Every packet stamped as it arrives: without this the first
        // SIOCGSTAMP turns stamping on and answers with the time of the call.
        setsockopt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMP,
            &1 as &libc::c_int,
        )?;
        let loopback = peer.ip().is_loopback();
        let ifindex = if loopback { loopback_index()? } else { 0 };
        // SAFETY: sockaddr_ll is plain old data.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = ifindex;
        // SAFETY: `addr` is a live sockaddr_ll and its size is passed.
        let bound = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if bound != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket { fd, loopback })
    }

    /// The next packet into `buf`, `Ok(None)` for one skipped (the
    /// leaving copy on loopback), `WouldBlock` when there is none.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Packet>> {
        // SAFETY: sockaddr_ll is plain old data.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut from_len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` and `from` are live and their sizes are passed;
        // MSG_TRUNC makes the result the packet's whole length.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if self.loopback && from.sll_pkttype == PACKET_OUTGOING {
            return Ok(None);
        }
        let orig_len = n as usize;
        Ok(Some(Packet {
            len: orig_len.min(buf.len()),
            orig_len,
            ts_unix_us: self.stamp(),
        }))
    }

    /// The kernel's time of the last packet read (SIOCGSTAMP), else now.
    fn stamp(&self) -> u64 {
        // SAFETY: timeval is plain old data; the ioctl writes one.
        let mut tv: libc::timeval = unsafe { zeroed() };
        // SAFETY: a live timeval for SIOCGSTAMP to fill.
        let got = unsafe { libc::ioctl(self.fd.as_raw_fd(), SIOCGSTAMP as _, &mut tv) };
        if got == 0 {
            return tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
        }
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64)
    }

    /// Packets the kernel dropped because this socket's buffer was full
    /// (since the last call: the kernel resets the counters).
    pub fn drops(&self) -> u32 {
        let mut stats = TpacketStats {
            packets: 0,
            drops: 0,
        };
        let mut len = size_of::<TpacketStats>() as libc::socklen_t;
        // SAFETY: a live struct of the size passed.
        let got = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                SOL_PACKET,
                PACKET_STATISTICS,
                (&mut stats as *mut TpacketStats).cast(),
                &mut len,
            )
        };
        if got == 0 {
            stats.drops
        } else {
            0
        }
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is live and its size is passed.
    let got = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if got == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn loopback_index() -> io::Result<libc::c_int> {
    // SAFETY: a NUL-terminated constant name.
    let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(index as libc::c_int)
}

/// Whether `packet` (an IP packet) is TCP between `a` and `b`, either way:
/// the filter looks at ports only, this at the addresses too (an
/// unspecified address matches any).
pub fn between(packet: &[u8], a: SocketAddr, b: SocketAddr) -> bool {
    let Some((src, dst)) = endpoints(packet) else {
        return false;
    };
    let same = |x: SocketAddr, y: SocketAddr| {
        x.port() == y.port() && (y.ip().is_unspecified() || x.ip() == y.ip())
    };
    (same(src, a) && same(dst, b)) || (same(src, b) && same(dst, a))
}

/// The TCP source and destination of an IPv4 or IPv6 packet.
fn endpoints(p: &[u8]) -> Option<(SocketAddr, SocketAddr)> {
    let (src, dst, tcp): (IpAddr, IpAddr, usize) = match p.first()? >> 4 {
        4 => {
            let ihl = usize::from(p[0] & 0x0f) * 4;
            let a: [u8; 4] = p.get(12..16)?.try_into().ok()?;
            let b: [u8; 4] = p.get(16..20)?.try_into().ok()?;
            (a.into(), b.into(), ihl)
        }
        6 => {
            let a: [u8; 16] = p.get(8..24)?.try_into().ok()?;
            let b: [u8; 16] = p.get(24..40)?.try_into().ok()?;
            (a.into(), b.into(), 40)
        }
        _ => return None,
    };
    let ports = p.get(tcp..tcp + 4)?;
    let sport = u16::from_be_bytes([ports[0], ports[1]]);
    let dport = u16::from_be_bytes([ports[2], ports[3]]);
    Some((SocketAddr::new(src, sport), SocketAddr::new(dst, dport)))
}

/// The TCP flags of an IP packet (0 if it is not readable TCP).
pub fn tcp_flags(p: &[u8]) -> u8 {
    let tcp = match p.first().map(|b| b >> 4) {
        Some(4) => usize::from(p[0] & 0x0f) * 4,
        Some(6) => 40,
        _ => return 0,
    };
    p.get(tcp + 13).copied().unwrap_or(0)
}

fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The classic BPF program: TCP (unfragmented, for IPv4) with ports
/// (`a`, `b`) or (`b`, `a`). On a `SOCK_DGRAM` packet socket offset 0 is
/// the IP header.
pub fn filter(ipv6: bool, a: u16, b: u16) -> Vec<libc::sock_filter> {
    use libc::{
        BPF_ABS, BPF_ALU, BPF_AND, BPF_B, BPF_H, BPF_IND, BPF_JEQ, BPF_JMP, BPF_JSET, BPF_K,
        BPF_LD, BPF_LDX, BPF_MSH, BPF_RET,
    };
    let (a, b) = (u32::from(a), u32::from(b));
    let ld_b = |k| op((BPF_LD | BPF_B | BPF_ABS) as u16, 0, 0, k);
    let ld_h = |k| op((BPF_LD | BPF_H | BPF_ABS) as u16, 0, 0, k);
    let jeq = |k, jt, jf| op((BPF_JMP | BPF_JEQ | BPF_K) as u16, jt, jf, k);
    let and = |k| op((BPF_ALU | BPF_AND | BPF_K) as u16, 0, 0, k);
    let keep = op((BPF_RET | BPF_K) as u16, 0, 0, SNAPLEN);
    let reject = op((BPF_RET | BPF_K) as u16, 0, 0, 0);
    // The port tests, the same for both families once the TCP header's
    // offset is known: `ports(load_src, load_dst)`, 6 instructions, then
    // keep, then drop.
    let ports = |src: libc::sock_filter, dst: libc::sock_filter| {
        vec![
            src,
            jeq(a, 0, 2), // source a: the destination must be b
            dst,          //
            jeq(b, 3, 4), // → keep / drop
            jeq(b, 0, 3), // source b: the destination must be a, else drop
            dst,          //
            jeq(a, 0, 1), // → keep / drop
            keep,
            reject,
        ]
    };
    let mut out;
    if ipv6 {
        // Version 6, next header TCP (no extension headers on this leg).
        out = vec![ld_b(0), and(0xf0), jeq(0x60, 0, 10), ld_b(6), jeq(6, 0, 8)];
        out.extend(ports(ld_h(40), ld_h(42)));
    } else {
        let ld_ind = |k| op((BPF_LD | BPF_H | BPF_IND) as u16, 0, 0, k);
        let jset = |k, jt, jf| op((BPF_JMP | BPF_JSET | BPF_K) as u16, jt, jf, k);
        // Version 4, protocol TCP, first fragment; X = the IP header's length.
        out = vec![
            ld_b(0),
            and(0xf0),
            jeq(0x40, 0, 13),
            ld_b(9),
            jeq(6, 0, 11),
            ld_h(6),
            jset(0x1fff, 9, 0),
            op((BPF_LDX | BPF_B | BPF_MSH) as u16, 0, 0, 0),
        ];
        out.extend(ports(ld_ind(0), ld_ind(2)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a classic BPF program (the instructions [`filter`] uses) on `p`.
    fn run(program: &[libc::sock_filter], p: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |k: usize| u32::from(p.get(k).copied().unwrap_or(0));
        loop {
            let i = program[pc];
            let k = i.k;
            pc += 1;
            match u32::from(i.code) {
                c if c == libc::BPF_LD | libc::BPF_B | libc::BPF_ABS => a = byte(k as usize),
                c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_ABS => {
                    a = byte(k as usize) << 8 | byte(k as usize + 1)
                }
                c if c == libc::BPF_LD | libc::BPF_H | libc::BPF_IND => {
                    let at = (x + k) as usize;
                    a = byte(at) << 8 | byte(at + 1)
                }
                c if c == libc::BPF_LDX | libc::BPF_B | libc::BPF_MSH => {
                    x = (byte(k as usize) & 0xf) * 4
                }
                c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => a &= k,
                c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                    pc += usize::from(if a == k { i.jt } else { i.jf })
                }
                c if c == libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K => {
                    pc += usize::from(if a & k != 0 { i.jt } else { i.jf })
                }
                c if c == libc::BPF_RET | libc::BPF_K => return k,
                c => panic!("unexpected instruction {c:#x}"),
            }
        }
    }

    fn segment(from: &str, to: &str) -> Vec<u8> {
        let seg = protocol::capture::tcp::Segment {
            t_us: 0,
            from_client: true,
            flags: protocol::capture::tcp::flags::SYN,
            seq: 1,
            ack: 0,
            payload: b"",
            what: "",
        };
        protocol::capture::tcp::packet(&seg, from.parse().unwrap(), to.parse().unwrap(), 0)
    }

    #[test]
    fn the_filter_keeps_the_connections_segments_both_ways_and_nothing_else() {
        for (v6, l, t, other) in [
            (
                false,
                "127.0.0.1:50112",
                "127.0.0.1:65432",
                "127.0.0.1:50113",
            ),
            (true, "[::1]:50112", "[::1]:65432", "[::1]:50113"),
        ] {
            let program = filter(v6, 50112, 65432);
            assert_eq!(run(&program, &segment(l, t)), SNAPLEN, "{l} -> {t}");
            assert_eq!(run(&program, &segment(t, l)), SNAPLEN, "{t} -> {l}");
            assert_eq!(run(&program, &segment(other, t)), 0, "{other} -> {t}");
            assert_eq!(run(&program, &segment(t, other)), 0, "{t} -> {other}");
            assert_eq!(run(&program, &segment(l, other)), 0, "{l} -> {other}");
            assert_eq!(run(&program, &segment(l, l)), 0, "{l} -> {l}");
            let mut udp = segment(l, t);
            udp[if v6 { 6 } else { 9 }] = 17;
            assert_eq!(run(&program, &udp), 0, "not TCP");
        }
        let program = filter(false, 50112, 65432);
        assert_eq!(run(&program, &segment("[::1]:50112", "[::1]:65432")), 0);
        let mut fragment = segment("127.0.0.1:50112", "127.0.0.1:65432");
        fragment[7] = 8;
        assert_eq!(run(&program, &fragment), 0, "a later fragment");
    }

    #[test]
    fn endpoints_and_flags_are_read_from_either_family() {
        let p = segment("127.0.0.1:50112", "127.0.0.1:65432");
        let (l, t) = (
            "127.0.0.1:50112".parse().unwrap(),
            "127.0.0.1:65432".parse().unwrap(),
        );
        assert!(between(&p, l, t));
        assert!(between(&p, t, l));
        assert!(between(&p, "0.0.0.0:50112".parse().unwrap(), t));
        assert!(!between(&p, "10.0.0.1:50112".parse().unwrap(), t));
        assert_eq!(tcp_flags(&p), protocol::capture::tcp::flags::SYN);
        let p = segment("[::1]:1", "[::1]:2");
        assert!(between(
            &p,
            "[::1]:2".parse().unwrap(),
            "[::1]:1".parse().unwrap()
        ));
    }
}
