//! Fixed length: cut every `len` bytes.

use super::{Cut, FramePart, Framed, FramingError, Input, Wait};

pub(super) struct Fixed {
    pub(super) len: usize,
}

impl Cut for Fixed {
    fn next(&mut self, input: &mut Input, _limit: usize) -> Result<Option<Framed>, FramingError> {
        // The length was checked against the limit when the framer was made.
        if input.buf.len() < self.len {
            return Ok(None);
        }
        Ok(Some(input.cut(self.len, 0..self.len)))
    }

    fn wait(&self, input: &Input) -> Wait {
        Wait::Bytes {
            part: FramePart::Payload,
            have: input.buf.len().min(self.len),
            need: self.len,
        }
    }
}
