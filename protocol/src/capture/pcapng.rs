//! A pcapng file (one section header, one interface, one enhanced packet
//! block per segment) of a transcript's TCP leg, for Wireshark and tshark.
//!
//! The three block types are written by hand (pcapng's spec,
//! draft-ietf-opsawg-pcapng): they are a few fixed little-endian fields
//! each, and a crate for them (`pcap-file` + `etherparse`) would add more
//! to the page's wasm than this whole module. The link type is
//! `LINKTYPE_RAW` (101): packets start at the IP header, IPv4 or IPv6 as
//! the recorded addresses are.

use std::net::SocketAddr;

use super::tcp::{packet, segments, Segment};
use super::transcript::Transcript;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const LINKTYPE_RAW: u16 = 101;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;

/// The addresses a transcript without them (a page session that was not
/// observed) is drawn with: loopback, an ephemeral port, the tutorial's port.
pub const DEFAULT_CLIENT: &str = "127.0.0.1:50000";
/// See [`DEFAULT_CLIENT`].
pub const DEFAULT_SERVER: &str = "127.0.0.1:65432";

fn address(text: Option<&str>, default: &str) -> SocketAddr {
    text.and_then(|t| t.parse().ok())
        .unwrap_or_else(|| default.parse().expect("a valid default"))
}

fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// Appends a block: type, total length, `body`, total length.
fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let len = (12 + body.len()) as u32;
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&len.to_le_bytes());
}

/// The capture of `transcript`'s TCP leg. Addresses that are missing or
/// unreadable are drawn as [`DEFAULT_CLIENT`] and [`DEFAULT_SERVER`]; a
/// truncated recording says so in the section's comment.
pub fn pcapng(transcript: &Transcript) -> Vec<u8> {
    let mut out = header(transcript);
    let mut packets = Packets::new(transcript);
    for segment in segments(transcript) {
        packets.write(&segment, &mut out);
    }
    out
}

/// The section and interface blocks that start [`pcapng`]'s file: all it
/// takes of `transcript` is its target, addresses, start and truncation,
/// so a recording written as it goes calls it last, with a transcript of
/// those alone, and puts it before the [`Packets`] it wrote.
pub fn header(transcript: &Transcript) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
    option(&mut body, SHB_USERAPPL, b"wirelab");
    // The addresses as written (Display of a parsed IPv6 address would add
    // its formatting code to the page for nothing).
    let mut comment = format!(
        "wirelab session to {}: relay {} -> target {}",
        transcript.target,
        transcript.client.as_deref().unwrap_or(DEFAULT_CLIENT),
        transcript.server.as_deref().unwrap_or(DEFAULT_SERVER),
    );
    if let Some(event) = transcript.truncated() {
        comment.push_str(&format!(
            "; recording truncated at {} us: {}",
            event.t_us,
            event.note.as_deref().unwrap_or("size cap")
        ));
    }
    option(&mut body, OPT_COMMENT, comment.as_bytes());
    option(&mut body, OPT_END, &[]);
    block(&mut out, SHB, &body);

    body.clear();
    body.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes()); // no snap length
    option(&mut body, IF_NAME, b"relay-target");
    option(&mut body, OPT_END, &[]); // if_tsresol absent: microseconds
    block(&mut out, IDB, &body);
    out
}

/// The packet blocks of one capture, one segment at a time.
#[derive(Debug, Clone)]
pub struct Packets {
    client: SocketAddr,
    server: SocketAddr,
    started_unix_us: u64,
    /// Packets written so far (the IPv4 identification of the next).
    n: u32,
}

impl Packets {
    /// The packets of `transcript`'s session (its addresses and start).
    pub fn new(transcript: &Transcript) -> Packets {
        Packets {
            client: address(transcript.client.as_deref(), DEFAULT_CLIENT),
            server: address(transcript.server.as_deref(), DEFAULT_SERVER),
            started_unix_us: transcript.started_unix_us,
            n: 0,
        }
    }

    /// Appends `segment`'s enhanced packet block to `out`.
    pub fn write(&mut self, segment: &Segment<'_>, out: &mut Vec<u8>) {
        let data = packet(segment, self.client, self.server, self.n as u16);
        self.n = self.n.wrapping_add(1);
        let ts = self.started_unix_us.saturating_add(segment.t_us);
        let mut body = Vec::with_capacity(20 + data.len() + 3);
        body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
        body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(ts as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(&data);
        body.resize(body.len().next_multiple_of(4), 0);
        block(out, EPB, &body);
    }
}
