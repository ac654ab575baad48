//! Four ways for a receiver to know where a message ends, as the Python
//! socket HOWTO lists them: a fixed length, a delimiter, a length prefix, or
//! the sender closing its side. TCP keeps no message boundaries, so each is
//! a contract between sender and receiver, and each has a way to go wrong.
//!
//! Every strategy is a small sans-I/O decoder with the shape of the
//! tutorial's [`Decoder`](crate::Decoder): [`Framer::push`] whatever
//! arrived, [`Framer::poll`] for each message it completes, [`Framer::need`]
//! for what it still waits for ([`Wait`]), and [`Framer::close`] when
//! `recv()` returned 0 bytes. [`Framing::encode`] is the sending side.
//!
//! # Fixed length (`fixed`)
//!
//! ```text
//! len = 8:   | H i ! \0 \0 \0 \0 \0 | l o n g e r   t | h a n   8 ...
//!            +------ message -------+---- message ----+-- 5 of 8, waiting
//!              "Hi!" padded           "longer than 8" sent whole
//! ```
//! The receiver cuts every `len` bytes. The sender pads a short payload with
//! zero bytes (the receiver cannot tell padding from data) and sends a long
//! one whole ([`Encoded::beyond`]): its tail is the start of another message,
//! and the receiver waits for the rest of it.
//!
//! # Delimiter (`lines`)
//!
//! ```text
//! byte = \n: | H i \n | t w o \n l i n e s \n |
//!            +- msg -+- msg --+--- msg -------+
//! ```
//! The receiver cuts after each delimiter byte and drops it. A payload that
//! contains the delimiter arrives as two messages ([`Encoded::delimiters_inside`]);
//! nothing escapes it. A receiver without a limit would buffer forever
//! waiting for a delimiter that never comes ([`FramingError::NoDelimiter`]).
//!
//! # Length prefix (`prefix`)
//!
//! ```text
//!            +- u16 BE -+---- 3 bytes ----+- u16 BE -+-- 0 --+
//!            | \x00\x03 |  H  i  !        | \x00\x00 |       |
//! ```
//! Two big-endian bytes give the payload's length, as the tutorial's own
//! header length does; 2 bytes because that is the tutorial's choice, which
//! caps a message at 65535 bytes ([`MAX_PREFIXED_PAYLOAD`]). Any payload
//! byte is fine; a prefix over the receiver's limit is refused before a
//! buffer is sized for it ([`FramingError::TooLong`]).
//!
//! # Until EOF (`close`)
//!
//! ```text
//!            | H i ! ...                       | FIN (shutdown SHUT_WR)
//!            +---------- one message ----------+
//! ```
//! The message is everything until the sender shuts down its writing side.
//! One message per connection, and the receiver can say nothing about it
//! until the FIN: a sender that only `close()`s cannot read the reply; it must
//! half-close (`shutdown(SHUT_WR)`) and keep reading.
//!
//! - `fixed`, `delimited`, `prefixed`, `eof`: one strategy each.
//! - `encode`: the sending side, [`Encoded`].

mod delimited;
mod encode;
mod eof;
mod fixed;
mod prefixed;

#[cfg(test)]
mod tests;

use std::fmt;

use bytes::{Buf, BytesMut};

pub use encode::Encoded;

/// Default [`FramerConfig::max_payload`]: 64 KiB, as much as a 2-byte
/// prefix can announce.
pub const DEFAULT_MAX_PAYLOAD: usize = 65536;
/// The largest payload a 2-byte length prefix can announce.
pub const MAX_PREFIXED_PAYLOAD: usize = u16::MAX as usize;
/// Bytes of the length prefix.
pub const PREFIX_BYTES: usize = 2;
/// The fixed length the servers use unless told otherwise.
pub const DEFAULT_FIXED_LEN: usize = 16;
/// The delimiter the `lines` server uses.
pub const DEFAULT_DELIMITER: u8 = b'\n';

/// The four strategies, by the names of the relay's targets and the
/// `framing-server --mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// A fixed length.
    Fixed,
    /// A delimiter byte.
    Lines,
    /// A 2-byte big-endian length prefix.
    Prefix,
    /// The sender's FIN.
    Close,
}

impl Strategy {
    /// All four, in the HOWTO's order.
    pub const ALL: [Strategy; 4] = [
        Strategy::Fixed,
        Strategy::Lines,
        Strategy::Prefix,
        Strategy::Close,
    ];

    /// Where a cut frame's message starts within the frame, given the
    /// frame's and the message's lengths (after the prefix, else at once).
    pub fn payload_offset(self, frame_len: usize, len: usize) -> usize {
        match self {
            Strategy::Prefix => frame_len.saturating_sub(len),
            _ => 0,
        }
    }

    /// The target's (and the `--mode`'s) name.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Fixed => "fixed",
            Strategy::Lines => "lines",
            Strategy::Prefix => "prefix",
            Strategy::Close => "close",
        }
    }
}

/// A strategy with its parameters: how both sides agree to cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Every message is exactly `len` bytes.
    Fixed {
        /// Bytes per message, at least 1.
        len: usize,
    },
    /// Every message ends with `byte`, which is not part of it.
    Delimited {
        /// The delimiter.
        byte: u8,
    },
    /// Every message starts with its length in 2 big-endian bytes.
    LengthPrefixed,
    /// The message is everything until the sender's FIN.
    UntilEof,
}

impl Framing {
    /// The servers' framing for `strategy`, with the default length and delimiter.
    pub fn default_for(strategy: Strategy) -> Framing {
        match strategy {
            Strategy::Fixed => Framing::Fixed {
                len: DEFAULT_FIXED_LEN,
            },
            Strategy::Lines => Framing::Delimited {
                byte: DEFAULT_DELIMITER,
            },
            Strategy::Prefix => Framing::LengthPrefixed,
            Strategy::Close => Framing::UntilEof,
        }
    }

    /// Which of the four it is.
    pub fn strategy(self) -> Strategy {
        match self {
            Framing::Fixed { .. } => Strategy::Fixed,
            Framing::Delimited { .. } => Strategy::Lines,
            Framing::LengthPrefixed => Strategy::Prefix,
            Framing::UntilEof => Strategy::Close,
        }
    }
}

/// The part of a length-prefixed or fixed message being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePart {
    /// The 2-byte length prefix.
    Prefix,
    /// The payload.
    Payload,
}

/// What a framer waits for; like the decoder's [`Need`](crate::Need), with
/// the two things a byte count cannot say (a delimiter, the FIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// `have` of `need` bytes of `part`.
    Bytes {
        /// The part being read.
        part: FramePart,
        /// Bytes of it buffered.
        have: usize,
        /// Bytes it has in all.
        need: usize,
    },
    /// The delimiter; `have` bytes without it are buffered.
    Delimiter {
        /// The delimiter byte.
        byte: u8,
        /// Bytes buffered since the last delimiter.
        have: usize,
    },
    /// The sender's FIN; `have` bytes are buffered.
    Eof {
        /// Bytes buffered.
        have: usize,
    },
}

/// In the page's and the servers' words.
impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Wait::Bytes {
                part: FramePart::Prefix,
                have,
                need,
            } => write!(f, "length prefix: {have} of {need} bytes"),
            Wait::Bytes {
                part: FramePart::Payload,
                have,
                need,
            } => write!(f, "message: {have} of {need} bytes"),
            Wait::Delimiter { byte, have } => write!(
                f,
                "the delimiter {}: {have} bytes without it so far",
                crate::python::python_bytes_repr(&[byte])
            ),
            Wait::Eof { have } => write!(
                f,
                "the sender's FIN (shutdown SHUT_WR): {have} bytes so far"
            ),
        }
    }
}

/// A message a framer cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    /// The message (fixed: padding included; lines: delimiter excluded;
    /// prefix: prefix excluded).
    pub payload: Vec<u8>,
    /// Stream offset of the frame's first byte.
    pub start: u64,
    /// Bytes of the stream the frame took (prefix and delimiter included).
    pub frame_len: usize,
}

/// Why a stream cannot be framed, or a payload cannot be sent framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A message is (or would grow) longer than the receiver's limit.
    #[error("a message of {len} bytes is over the limit of {limit}")]
    TooLong {
        /// Its length (for a prefix, what the prefix says).
        len: u64,
        /// [`FramerConfig::max_payload`].
        limit: usize,
    },
    /// More bytes than the limit arrived without the delimiter.
    #[error("no delimiter in {limit} bytes")]
    NoDelimiter {
        /// [`FramerConfig::max_payload`].
        limit: usize,
    },
    /// The sender closed in the middle of a message.
    #[error("the stream ended inside a message, waiting for {0}")]
    Truncated(Wait),
    /// Data came after the until-EOF message (cannot happen over TCP).
    #[error("bytes after the end of the stream")]
    AfterEof,
    /// A fixed length of 0 or over the limit.
    #[error("a fixed length must be 1 to {limit} bytes, not {len}")]
    BadFixedLength {
        /// What was asked for.
        len: usize,
        /// [`FramerConfig::max_payload`].
        limit: usize,
    },
    /// The payload does not fit a 2-byte prefix.
    #[error("{len} bytes do not fit a 2-byte length prefix (at most 65535)")]
    PayloadTooLong {
        /// The payload's length.
        len: usize,
    },
}

/// Limits of a [`Framer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerConfig {
    /// Longest message payload accepted, in bytes: checked before the buffer grows
    /// past it (a prefix is checked as soon as its 2 bytes are in).
    pub max_payload: usize,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig {
            max_payload: DEFAULT_MAX_PAYLOAD,
        }
    }
}

/// The bytes a framer has received and not yet cut, and where they are in
/// the stream.
#[derive(Debug, Default)]
struct Input {
    buf: BytesMut,
    /// Stream offset of `buf[0]`.
    offset: u64,
    /// `recv()` returned 0: no more bytes will come.
    eof: bool,
}

impl Input {
    /// Cuts a frame of `frame_len` bytes whose payload is `payload` within it.
    fn cut(&mut self, frame_len: usize, payload: std::ops::Range<usize>) -> Framed {
        let frame = self.buf.split_to(frame_len);
        let start = self.offset;
        self.offset += frame_len as u64;
        Framed {
            payload: frame[payload].to_vec(),
            start,
            frame_len,
        }
    }
}

/// One strategy's rule: cut the next message from `input` if it is there.
trait Cut: Send {
    fn next(&mut self, input: &mut Input, limit: usize) -> Result<Option<Framed>, FramingError>;
    /// What the next message still needs, with `input` as it is.
    fn wait(&self, input: &Input) -> Wait;
    /// Nothing more can come and nothing is owed.
    fn is_done(&self, input: &Input) -> bool {
        input.eof && input.buf.is_empty()
    }
}

/// The incremental receiver of one [`Framing`]: push bytes, poll messages.
/// An error is final, as the tutorial decoder's is.
pub struct Framer {
    framing: Framing,
    config: FramerConfig,
    cut: Box<dyn Cut>,
    input: Input,
    failed: Option<FramingError>,
}

impl fmt::Debug for Framer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Framer")
            .field("framing", &self.framing)
            .field("buffered", &self.input.buf.len())
            .field("eof", &self.input.eof)
            .finish()
    }
}

impl Framer {
    /// A framer at the start of a stream; refuses a fixed length of 0 or
    /// over the limit.
    pub fn new(framing: Framing, config: FramerConfig) -> Result<Framer, FramingError> {
        let cut: Box<dyn Cut> = match framing {
            Framing::Fixed { len } => {
                if len == 0 || len > config.max_payload {
                    return Err(FramingError::BadFixedLength {
                        len,
                        limit: config.max_payload,
                    });
                }
                Box::new(fixed::Fixed { len })
            }
            Framing::Delimited { byte } => Box::new(delimited::Delimited { byte, scanned: 0 }),
            Framing::LengthPrefixed => Box::new(prefixed::Prefixed),
            Framing::UntilEof => Box::new(eof::UntilEof { done: false }),
        };
        Ok(Framer {
            framing,
            config,
            cut,
            input: Input::default(),
            failed: None,
        })
    }

    /// How it cuts.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Adds received bytes.
    pub fn push(&mut self, chunk: &[u8]) {
        if self.input.eof && !chunk.is_empty() {
            self.failed.get_or_insert(FramingError::AfterEof);
        }
        self.input.buf.extend_from_slice(chunk);
    }

    /// The sender closed its side (`recv()` returned 0 bytes).
    pub fn close(&mut self) {
        self.input.eof = true;
    }

    /// The next complete message, if the bytes so far make one. Call it
    /// until it returns `Ok(None)`.
    pub fn poll(&mut self) -> Result<Option<Framed>, FramingError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.next();
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn next(&mut self) -> Result<Option<Framed>, FramingError> {
        let framed = self.cut.next(&mut self.input, self.config.max_payload)?;
        if framed.is_none() && self.input.eof && !self.cut.is_done(&self.input) {
            return Err(FramingError::Truncated(self.cut.wait(&self.input)));
        }
        Ok(framed)
    }

    /// What the next message still needs; `None` once the stream is done
    /// (closed with nothing owed) or failed.
    pub fn need(&self) -> Option<Wait> {
        if self.failed.is_some() || self.cut.is_done(&self.input) {
            return None;
        }
        Some(self.cut.wait(&self.input))
    }

    /// Bytes received and not yet cut into a message.
    pub fn buffered(&self) -> &[u8] {
        &self.input.buf
    }

    /// The error it stopped at, if any.
    pub fn error(&self) -> Option<&FramingError> {
        self.failed.as_ref()
    }
}

/// Reads a big-endian u16 prefix at the front of `buf`.
fn prefix_at(buf: &BytesMut) -> Option<usize> {
    (buf.len() >= PREFIX_BYTES).then(|| usize::from((&buf[..PREFIX_BYTES]).get_u16()))
}
