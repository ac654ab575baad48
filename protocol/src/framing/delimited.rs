//! Delimiter: cut after each delimiter byte, which is dropped.

use super::{Cut, Framed, FramingError, Input, Wait};

pub(super) struct Delimited {
    pub(super) byte: u8,
    /// Bytes at the front of the buffer already searched, so a message
    /// arriving a byte at a time is searched once, not once per byte.
    pub(super) scanned: usize,
}

impl Cut for Delimited {
    fn next(&mut self, input: &mut Input, limit: usize) -> Result<Option<Framed>, FramingError> {
        let found = input.buf[self.scanned..]
            .iter()
            .position(|&b| b == self.byte)
            .map(|i| self.scanned + i);
        match found {
            Some(end) if end <= limit => {
                self.scanned = 0;
                Ok(Some(input.cut(end + 1, 0..end)))
            }
            Some(_) => Err(FramingError::NoDelimiter { limit }),
            None if input.buf.len() > limit => Err(FramingError::NoDelimiter { limit }),
            None => {
                self.scanned = input.buf.len();
                Ok(None)
            }
        }
    }

    fn wait(&self, input: &Input) -> Wait {
        Wait::Delimiter {
            byte: self.byte,
            have: input.buf.len(),
        }
    }
}
