//! Length prefix: 2 big-endian bytes, then that many bytes of payload.

use super::{prefix_at, Cut, FramePart, Framed, FramingError, Input, Wait, PREFIX_BYTES};

pub(super) struct Prefixed;

impl Cut for Prefixed {
    fn next(&mut self, input: &mut Input, limit: usize) -> Result<Option<Framed>, FramingError> {
        let Some(len) = prefix_at(&input.buf) else {
            return Ok(None);
        };
        if len > limit {
            return Err(FramingError::TooLong {
                len: len as u64,
                limit,
            });
        }
        let frame_len = PREFIX_BYTES + len;
        if input.buf.len() < frame_len {
            // Checked above: the reservation is bounded by the limit.
            let more = frame_len - input.buf.len();
            input.buf.reserve(more);
            return Ok(None);
        }
        Ok(Some(input.cut(frame_len, PREFIX_BYTES..frame_len)))
    }

    fn wait(&self, input: &Input) -> Wait {
        match prefix_at(&input.buf) {
            None => Wait::Bytes {
                part: FramePart::Prefix,
                have: input.buf.len(),
                need: PREFIX_BYTES,
            },
            Some(len) => Wait::Bytes {
                part: FramePart::Payload,
                have: (input.buf.len() - PREFIX_BYTES).min(len),
                need: len,
            },
        }
    }
}
