//! Until EOF: the one message is everything before the sender's FIN.

use super::{Cut, Framed, FramingError, Input, Wait};

pub(super) struct UntilEof {
    pub(super) done: bool,
}

impl Cut for UntilEof {
    fn next(&mut self, input: &mut Input, limit: usize) -> Result<Option<Framed>, FramingError> {
        if self.done {
            return Ok(None);
        }
        if input.buf.len() > limit {
            return Err(FramingError::TooLong {
                len: input.buf.len() as u64,
                limit,
            });
        }
        if !input.eof {
            return Ok(None);
        }
        self.done = true;
        let len = input.buf.len();
        Ok(Some(input.cut(len, 0..len)))
    }

    fn wait(&self, input: &Input) -> Wait {
        Wait::Eof {
            have: input.buf.len(),
        }
    }

    fn is_done(&self, _input: &Input) -> bool {
        // Before the FIN even an empty buffer still owes a message.
        self.done
    }
}
