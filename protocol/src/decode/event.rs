//! What the decoder reports: which part of a frame it is reading, how far it
//! has got, and each stage as it completes. Stages are reported one by one
//! (not just whole messages) because the playground shows a frame filling in.

use std::fmt;
use std::ops::Range;

use crate::layout::Layout;
use crate::model::Message;

/// The part of a frame being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The 2-byte big-endian length of the JSON header.
    LengthPrefix,
    /// The JSON header, as many bytes as the prefix says.
    Header,
    /// The content, as many bytes as the header's `content-length` says.
    Content,
}

/// What the decoder is waiting for: `have` of `need` bytes of `part`.
/// The relay reports its servers' decoders to the page in these terms
/// (`relay_api`'s `decoder` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The part being read.
    pub part: Part,
    /// Bytes of it already buffered.
    pub have: usize,
    /// Bytes it has in all.
    pub need: usize,
}

/// In the words the tutorial's programs would use, for a status line or a
/// truncation error.
impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Need { part, have, need } = *self;
        match part {
            Part::LengthPrefix => write!(f, "have {have} of {need} header-length bytes"),
            Part::Header => write!(f, "JSON header: {have} of {need} bytes"),
            Part::Content => write!(f, "content: {have} of {need} bytes"),
        }
    }
}

/// A stage of a frame, completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The 2-byte length prefix is in: the JSON header is `header_len` bytes.
    Prefix {
        /// Stream offset of the frame's first byte.
        frame_start: u64,
        /// What the prefix says the header's length is.
        header_len: u16,
    },
    /// The JSON header is in and valid ([`Decoder::header`](super::Decoder::header) shows it).
    Header {
        /// Stream offset of the frame's first byte.
        frame_start: u64,
        /// Byte range of the header within the frame.
        range: Range<usize>,
        /// The content bytes still to come, already checked against the limit.
        content_length: u64,
    },
    /// A whole message is in.
    Message(Decoded),
}

/// A complete message and where it was in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The message, its content interpreted as the header says.
    pub message: Message,
    /// The frame's byte map (empty when [`DecoderConfig::layout`](super::DecoderConfig::layout) is off).
    pub layout: Layout,
    /// Stream offset of the frame's first byte.
    pub frame_start: u64,
    /// Length of the whole frame in bytes.
    pub frame_len: usize,
}
