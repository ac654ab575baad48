//! The sending side: a payload framed for the wire, and what the framing
//! did to it on the way (padding, cutting, delimiters inside).

use super::{Framing, FramingError, MAX_PREFIXED_PAYLOAD};

/// A payload framed for sending.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Encoded {
    /// What goes on the wire.
    pub bytes: Vec<u8>,
    /// Zero bytes appended to reach a fixed length.
    pub padding: usize,
    /// Payload bytes past a fixed length, sent as they are: to the receiver
    /// they are the start of a second message, and it waits for the rest.
    pub beyond: usize,
    /// Delimiter bytes inside the payload, sent as they are: the receiver
    /// will cut there too, so it gets this many more messages than one.
    pub delimiters_inside: usize,
}

impl Framing {
    /// Frames `payload`. Fixed length pads a short payload with zero bytes
    /// and sends a long one whole, nothing dropped (and says so in
    /// [`Encoded`]); a delimiter is appended without escaping the ones
    /// inside; a prefix refuses more than 65535 bytes; until-EOF sends the
    /// bytes as they are (the sender then half-closes).
    pub fn encode(&self, payload: &[u8]) -> Result<Encoded, FramingError> {
        let mut out = Encoded::default();
        match *self {
            Framing::Fixed { len } => {
                out.bytes.extend_from_slice(payload);
                out.beyond = payload.len().saturating_sub(len);
                out.padding = len.saturating_sub(payload.len());
                out.bytes.resize(payload.len().max(len), 0);
            }
            Framing::Delimited { byte } => {
                out.delimiters_inside = payload.iter().filter(|&&b| b == byte).count();
                out.bytes.reserve(payload.len() + 1);
                out.bytes.extend_from_slice(payload);
                out.bytes.push(byte);
            }
            Framing::LengthPrefixed => {
                let len = u16::try_from(payload.len())
                    .ok()
                    .filter(|&n| usize::from(n) <= MAX_PREFIXED_PAYLOAD)
                    .ok_or(FramingError::PayloadTooLong { len: payload.len() })?;
                out.bytes.reserve(2 + payload.len());
                out.bytes.extend_from_slice(&len.to_be_bytes());
                out.bytes.extend_from_slice(payload);
            }
            Framing::UntilEof => out.bytes.extend_from_slice(payload),
        }
        Ok(out)
    }
}
