//! The TCP segments a transcript's events stand for, with sequence and
//! acknowledgement numbers, and the IPv4/IPv6 packets that carry them.
//!
//! The kernel's real segmentation is not recorded (only the programs'
//! system calls are), so each write or read becomes the segments a
//! loopback connection without delayed ACKs shows: the data, at most
//! [`MAX_PAYLOAD`] bytes a segment, then the peer's ACK. Each segment says
//! what it stands for ([`Segment::what`]): a system call the relay saw, or
//! an assumption. A connect that failed is its SYN, then the RST of a
//! refusal or nothing (timed out): no data, no FIN.

use std::net::{IpAddr, SocketAddr};

use super::transcript::{Event, EventKind, Transcript, REFUSED};

/// The largest payload in one segment: an IPv4 packet is at most 65,535
/// bytes, less 20 of IP header and 20 of TCP header. IPv6 could carry 20
/// more; one size for both keeps the segments of a session the same.
pub const MAX_PAYLOAD: usize = 65_495;

/// The relay's initial sequence number. Fixed, so one transcript always
/// gives the same capture (Wireshark shows relative numbers anyway).
pub const CLIENT_ISN: u32 = 0x1000_0000;
/// The target's initial sequence number.
pub const SERVER_ISN: u32 = 0x5000_0000;

/// TCP flags.
pub mod flags {
    /// No more data from the sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push the data to the application.
    pub const PSH: u8 = 0x08;
    /// The acknowledgement number is valid.
    pub const ACK: u8 = 0x10;
}

/// One TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment<'a> {
    /// Microseconds since the session started.
    pub t_us: u64,
    /// Sent by the relay (`true`) or by the target.
    pub from_client: bool,
    /// [`flags`] bits.
    pub flags: u8,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (0 without `ACK`).
    pub ack: u32,
    /// The payload.
    pub payload: &'a [u8],
    /// What the relay saw that this segment stands for, or that it is
    /// assumed (the pcapng's packet comment).
    pub what: &'static str,
}

/// The packet comments of reconstructed segments.
pub mod what {
    /// The SYN of the relay's `connect()`.
    pub const SYN: &str = "assumed: the SYN of the relay's connect() (time: connect() returned less the handshake's duration)";
    /// The target's SYN-ACK.
    pub const SYN_ACK: &str = "assumed: the target's SYN-ACK";
    /// The handshake's last ACK.
    pub const HANDSHAKE_ACK: &str = "assumed: the handshake's ACK (at the time connect() returned)";
    /// Data of one write.
    pub const SENT: &str =
        "data of one write() of the relay (the kernel's segmentation is not known)";
    /// Data of one read.
    pub const RECEIVED: &str =
        "data of one read() of the relay (the target's segmentation is not known)";
    /// An ACK nobody recorded.
    pub const ACK: &str =
        "assumed: an ACK (not recorded; the real one may have been delayed or combined)";
    /// The relay's FIN.
    pub const FIN: &str = "the relay's shutdown() or close(): its FIN";
    /// The target's FIN.
    pub const EOF: &str = "the target's FIN: the relay read end of stream";
    /// The target's reset.
    pub const RESET: &str = "the target's RST: the relay's read or write failed with a reset";
    /// A refused connect.
    pub const REFUSED: &str = "the RST that refused the relay's connect()";
}

/// Each side's next sequence number and whether it is finished.
#[derive(Debug, Clone)]
struct Side {
    next: u32,
    fin: bool,
}

/// The segments of a transcript's events one event at a time, so a
/// recording can write its capture as the session goes ([`segments`] is
/// this over a whole transcript).
#[derive(Debug, Clone)]
pub struct Segmenter {
    c: Side,
    s: Side,
    connected: bool,
    /// Nothing follows a reset or a failed connect.
    reset: bool,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter {
            c: Side {
                next: CLIENT_ISN,
                fin: false,
            },
            s: Side {
                next: SERVER_ISN,
                fin: false,
            },
            connected: false,
            reset: false,
        }
    }
}

impl Segmenter {
    /// Appends to `out` the segments `event` stands for (the handshake
    /// before the first event; a failed connect's SYN and RST; nothing
    /// after a reset or a failed connect, or for a `truncated`).
    pub fn feed<'a>(&mut self, event: &'a Event, out: &mut Vec<Segment<'a>>) {
        use flags::*;
        let seg = |t_us, from_client, flags, seq, ack, payload, what| Segment {
            t_us,
            from_client,
            flags,
            seq,
            ack,
            payload,
            what,
        };
        let t = event.t_us;
        if self.reset || event.kind == EventKind::Truncated {
            return;
        }
        let (c, s) = (&mut self.c, &mut self.s);
        if event.kind == EventKind::ConnectFailed {
            // No handshake: the SYN, then a refusal's RST or nothing.
            self.reset = true;
            let took = event.connect_us.unwrap_or(0);
            let syn = t.saturating_sub(took);
            out.push(seg(syn, true, SYN, c.next, 0, &[][..], what::SYN));
            if event.note.as_deref() == Some(REFUSED) {
                let ack = c.next.wrapping_add(1);
                out.push(seg(t, false, RST | ACK, 0, ack, &[][..], what::REFUSED));
            }
            return;
        }
        if !self.connected {
            self.connected = true;
            let took = event.connect_us.unwrap_or(0);
            let syn = t.saturating_sub(took);
            out.push(seg(syn, true, SYN, c.next, 0, &[][..], what::SYN));
            c.next = c.next.wrapping_add(1);
            out.push(seg(
                syn + took / 2,
                false,
                SYN | ACK,
                s.next,
                c.next,
                &[][..],
                what::SYN_ACK,
            ));
            s.next = s.next.wrapping_add(1);
            let ack = seg(t, true, ACK, c.next, s.next, &[][..], what::HANDSHAKE_ACK);
            out.push(ack);
        }
        match event.kind {
            EventKind::Connect | EventKind::Truncated | EventKind::ConnectFailed => {}
            EventKind::Sent | EventKind::Received => {
                let client = event.kind == EventKind::Sent;
                let (from, to) = if client { (c, s) } else { (s, c) };
                if event.data.is_empty() {
                    return;
                }
                let data = if client { what::SENT } else { what::RECEIVED };
                for chunk in event.data.chunks(MAX_PAYLOAD) {
                    out.push(seg(t, client, PSH | ACK, from.next, to.next, chunk, data));
                    from.next = from.next.wrapping_add(chunk.len() as u32);
                }
                out.push(seg(t, !client, ACK, to.next, from.next, &[][..], what::ACK));
            }
            EventKind::ShutdownWrite | EventKind::Close if c.fin => {}
            EventKind::ShutdownWrite | EventKind::Close => {
                c.fin = true;
                out.push(seg(t, true, FIN | ACK, c.next, s.next, &[][..], what::FIN));
                c.next = c.next.wrapping_add(1);
                out.push(seg(t, false, ACK, s.next, c.next, &[][..], what::ACK));
            }
            EventKind::Eof if s.fin => {}
            EventKind::Eof => {
                s.fin = true;
                out.push(seg(t, false, FIN | ACK, s.next, c.next, &[][..], what::EOF));
                s.next = s.next.wrapping_add(1);
                out.push(seg(t, true, ACK, c.next, s.next, &[][..], what::ACK));
            }
            EventKind::Reset => {
                self.reset = true;
                out.push(seg(
                    t,
                    false,
                    RST | ACK,
                    s.next,
                    c.next,
                    &[][..],
                    what::RESET,
                ));
            }
        }
    }
}

/// The segments of `transcript`'s events, in time order.
pub fn segments(transcript: &Transcript) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut segmenter = Segmenter::default();
    for event in &transcript.events {
        segmenter.feed(event, &mut out);
    }
    out
}

/// The one's-complement sum of RFC 1071, folded and complemented.
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    let mut odd: Option<u8> = None;
    for part in parts {
        for &b in *part {
            match odd.take() {
                Some(hi) => sum += u32::from(u16::from_be_bytes([hi, b])),
                None => odd = Some(b),
            }
        }
    }
    if let Some(hi) = odd {
        sum += u32::from(u16::from_be_bytes([hi, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The IP packet (IPv4 or IPv6 as the addresses are) carrying `segment`
/// between `client` and `server`, checksums filled in. `id` is the IPv4
/// identification. Mixed families are drawn as IPv6 (IPv4-mapped).
pub fn packet(segment: &Segment<'_>, client: SocketAddr, server: SocketAddr, id: u16) -> Vec<u8> {
    let (src, dst) = if segment.from_client {
        (client, server)
    } else {
        (server, client)
    };
    let tcp_len = 20 + segment.payload.len();
    let mut tcp = Vec::with_capacity(tcp_len);
    tcp.extend_from_slice(&src.port().to_be_bytes());
    tcp.extend_from_slice(&dst.port().to_be_bytes());
    tcp.extend_from_slice(&segment.seq.to_be_bytes());
    tcp.extend_from_slice(&segment.ack.to_be_bytes());
    tcp.push(5 << 4); // 20-byte header, no options
    tcp.push(segment.flags);
    tcp.extend_from_slice(&65_535u16.to_be_bytes()); // window
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(segment.payload);
    let mut out = Vec::with_capacity(40 + tcp_len);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let pseudo = [
                &s.octets()[..],
                &d.octets(),
                &[0, 6],
                &(tcp_len as u16).to_be_bytes(),
            ];
            let sum = checksum(&[&pseudo.concat(), &tcp]);
            tcp[16..18].copy_from_slice(&sum.to_be_bytes());
            let mut ip = Vec::with_capacity(20);
            ip.extend_from_slice(&[0x45, 0]);
            ip.extend_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
            ip.extend_from_slice(&id.to_be_bytes());
            ip.extend_from_slice(&[0x40, 0, 64, 6, 0, 0]); // DF, TTL 64, TCP
            ip.extend_from_slice(&s.octets());
            ip.extend_from_slice(&d.octets());
            let sum = checksum(&[&ip]);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&ip);
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V6(a) => a.octets(),
                IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            };
            let (s, d) = (v6(s), v6(d));
            let pseudo = [&s[..], &d, &(tcp_len as u32).to_be_bytes(), &[0, 0, 0, 6]];
            let sum = checksum(&[&pseudo.concat(), &tcp]);
            tcp[16..18].copy_from_slice(&sum.to_be_bytes());
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            out.extend_from_slice(&[6, 64]); // TCP, hop limit 64
            out.extend_from_slice(&s);
            out.extend_from_slice(&d);
        }
    }
    out.extend_from_slice(&tcp);
    out
}

#[cfg(test)]
pub(super) fn checksum_for_tests(parts: &[&[u8]]) -> u16 {
    checksum(parts)
}
