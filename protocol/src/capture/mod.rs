//! A session written out: the [`Transcript`] (versioned JSON with every
//! byte, for replay and bug reports) and, made from it, a [`pcapng`]
//! capture of the TCP leg between the relay and the target that Wireshark
//! and tshark open (with `tools/wireshark/wirelab.lua`, as the tutorial's
//! protocol).
//!
//! The reconstruction says so, in the file's comment and in each packet's
//! ([`pcapng::RECONSTRUCTED`], [`tcp::what`]); where the relay may capture
//! packets, it writes the real ones with the same block writer
//! ([`pcapng::header`], [`pcapng::packet_block`]) instead.
//!
//! Sans I/O like the rest of the crate: the relay's `--record` and the
//! page's downloads call the same functions, so the page's file and the
//! relay's are the same bytes for the same transcript.

pub use crate::base64;
pub mod pcapng;
pub mod tcp;
#[cfg(test)]
mod tests;
pub mod transcript;

pub use pcapng::{pcapng, Packets};
pub use tcp::Segmenter;
pub use transcript::{
    Closed, Event, EventKind, Transcript, TranscriptError, JSON_SEPARATOR, OBSERVATIONS_END,
    OBSERVATIONS_START, REFUSED, TIMED_OUT, VERSION,
};
