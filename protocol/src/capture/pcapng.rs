//! A pcapng file (one section header, one interface, one enhanced packet
//! block per segment) of a transcript's TCP leg, for Wireshark and tshark.
//!
//! [`header`] and [`packet_block`] write the blocks of any capture (the
//! relay's real one uses them too); [`pcapng`] reconstructs one from a
//! transcript. The three block types are written by hand (pcapng's spec,
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

/// The reconstructed capture of `transcript`'s TCP leg (see
/// [`RECONSTRUCTED`]). Addresses that are missing or unreadable are drawn
/// as [`DEFAULT_CLIENT`] and [`DEFAULT_SERVER`], and the comment says so;
/// a truncated recording says so in the section's comment.
pub fn pcapng(transcript: &Transcript) -> Vec<u8> {
    let mut out = reconstructed_header(transcript);
    let mut packets = Packets::new(transcript);
    for segment in segments(transcript) {
        packets.write(&segment, &mut out);
    }
    out
}

/// The first words of every reconstructed capture's comment: what a
/// reader must know before trusting a segment of it.
pub const RECONSTRUCTED: &str = "RECONSTRUCTED, not captured: segments drawn from the relay's system calls (times are the relay's; windows, ACK timing and segmentation are not known; each packet's comment says what it stands for)";

/// The section and interface blocks that start [`pcapng`]'s file, with
/// the [`RECONSTRUCTED`] comment: all it takes of `transcript` is its
/// target, addresses, start and truncation, so a recording written as it
/// goes calls it last, with a transcript of those alone, and puts it
/// before the [`Packets`] it wrote.
pub fn reconstructed_header(transcript: &Transcript) -> Vec<u8> {
    // The addresses as written (Display of a parsed IPv6 address would add
    // its formatting code to the page for nothing).
    let mut comment = format!(
        "{RECONSTRUCTED}. wirelab session to {}: relay {} -> target {}",
        transcript.target,
        transcript.client.as_deref().unwrap_or(DEFAULT_CLIENT),
        transcript.server.as_deref().unwrap_or(DEFAULT_SERVER),
    );
    if transcript.client.is_none() || transcript.server.is_none() {
        comment.push_str(" (addresses not known are drawn as these)");
    }
    if let Some(event) = transcript.truncated() {
        comment.push_str(&format!(
            "; recording truncated at {} us: {}",
            event.t_us,
            event.note.as_deref().unwrap_or("size cap")
        ));
    }
    header(&comment, "relay-target (reconstructed)")
}

/// The section header and the one interface of a capture: `comment` is
/// the section's comment (what the file is, and what it is not), `if_name`
/// the interface's name. Packets follow as [`packet_block`]s, each an IP
/// packet (`LINKTYPE_RAW`) timed in microseconds since the Unix epoch.
pub fn header(comment: &str, if_name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = Vec::new();
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&(-1i64).to_le_bytes()); // section length unknown
    option(&mut body, SHB_USERAPPL, b"wirelab");
    option(&mut body, OPT_COMMENT, comment.as_bytes());
    option(&mut body, OPT_END, &[]);
    block(&mut out, SHB, &body);

    body.clear();
    body.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes()); // no snap length
    option(&mut body, IF_NAME, if_name.as_bytes());
    option(&mut body, OPT_END, &[]); // if_tsresol absent: microseconds
    block(&mut out, IDB, &body);
    out
}

/// The reconstructed packet blocks of one session, one segment at a time,
/// each with its segment's [`Segment::what`] as its comment.
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
        packet_block(out, ts, data.len() as u32, &data, Some(segment.what));
    }
}

/// Appends one enhanced packet block: `data` (the first bytes of an IP
/// packet of `orig_len` bytes) seen at `ts_unix_us`, with a packet comment
/// when there is one.
pub fn packet_block(
    out: &mut Vec<u8>,
    ts_unix_us: u64,
    orig_len: u32,
    data: &[u8],
    comment: Option<&str>,
) {
    let mut body = Vec::with_capacity(20 + data.len().next_multiple_of(4) + 8);
    body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    body.extend_from_slice(&((ts_unix_us >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts_unix_us as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&orig_len.to_le_bytes());
    body.extend_from_slice(data);
    body.resize(body.len().next_multiple_of(4), 0);
    if let Some(comment) = comment {
        option(&mut body, OPT_COMMENT, comment.as_bytes());
        option(&mut body, OPT_END, &[]);
    }
    block(out, EPB, &body);
}
