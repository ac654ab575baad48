//! The state machine: prefix → header → content, one stage per poll, over
//! the decoder's own buffer or a caller's.

use std::mem;

use bytes::{Buf, BytesMut};

use super::content::interpret;
use super::error::DecodeError;
use super::event::{Decoded, Event, Need, Part};
use super::header::parse_header;
use crate::encode::PREFIX_LEN;
use crate::layout::{Layout, Recorder, Span};
use crate::model::{Header, Message};

/// Default for [`DecoderConfig::max_content_length`]: 16 MiB.
pub const DEFAULT_MAX_CONTENT_LENGTH: u64 = 16 * 1024 * 1024;

/// Limits and options of a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderConfig {
    /// Largest `content-length` accepted. Checked as soon as the header is
    /// read, before any buffer is sized for the content.
    pub max_content_length: u64,
    /// Record the byte map of each message (the UI and tests want it;
    /// servers turn it off and skip the work).
    pub layout: bool,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            layout: true,
        }
    }
}

/// Where the machine is in the current frame. The header, once read, waits
/// here with its spans until the content is in, so a message is reported
/// whole or not at all.
enum State {
    Prefix,
    Header {
        header_len: usize,
    },
    Content {
        header_len: usize,
        header: Header,
        spans: Vec<Span>,
    },
    Failed(DecodeError),
}

/// The incremental decoder. It owns a buffer for [`push`](Self::push) and
/// [`poll`](Self::poll); [`decode_from`](Self::decode_from) runs the same
/// machine over a caller's buffer (the tokio codec's).
pub struct Decoder {
    config: DecoderConfig,
    buf: BytesMut,
    /// Stream offset of the first byte of the frame being read.
    frame_start: u64,
    state: State,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            config,
            buf: BytesMut::new(),
            frame_start: 0,
            state: State::Prefix,
        }
    }

    /// The limits and options it was made with.
    pub fn config(&self) -> &DecoderConfig {
        &self.config
    }

    /// Adds received bytes to the buffer.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// Advances by one stage if the buffered bytes allow it. One push can
    /// complete several stages (or messages): call it until it returns `Ok(None)`.
    pub fn poll(&mut self) -> Result<Option<Event>, DecodeError> {
        let mut buf = mem::take(&mut self.buf);
        let result = self.decode_from(&mut buf);
        self.buf = buf;
        result
    }

    /// Like [`poll`](Self::poll), over bytes buffered by the caller; consumed
    /// bytes are removed from `buf`.
    pub fn decode_from(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        let result = self.step(buf);
        if let Err(e) = &result {
            self.state = State::Failed(e.clone());
        }
        result
    }

    /// What the next stage still needs, given `buffered` bytes on hand
    /// (`None` once the decoder has failed).
    pub fn need_with(&self, buffered: usize) -> Option<Need> {
        let (part, need) = match &self.state {
            State::Prefix => (Part::LengthPrefix, PREFIX_LEN),
            State::Header { header_len } => (Part::Header, *header_len),
            State::Content { header, .. } => (Part::Content, header.content_length as usize),
            State::Failed(_) => return None,
        };
        Some(Need {
            part,
            have: buffered.min(need),
            need,
        })
    }

    /// What the next stage still needs from the own buffer.
    pub fn need(&self) -> Option<Need> {
        self.need_with(self.buf.len())
    }

    /// Bytes received and not yet consumed by a completed stage.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// The header of the message being read, once it is in.
    pub fn header(&self) -> Option<&Header> {
        match &self.state {
            State::Content { header, .. } => Some(header),
            _ => None,
        }
    }

    /// Stream offset of the frame being read.
    pub fn frame_start(&self) -> u64 {
        self.frame_start
    }

    /// The error the decoder stopped at, if any.
    pub fn error(&self) -> Option<&DecodeError> {
        match &self.state {
            State::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// True between messages: nothing of a next frame has arrived.
    pub fn is_idle_with(&self, buffered: usize) -> bool {
        matches!(self.state, State::Prefix) && buffered == 0
    }

    /// Checks that the stream may end here, with `buffered` bytes unread.
    pub fn finish_with(&self, buffered: usize) -> Result<(), DecodeError> {
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        if self.is_idle_with(buffered) {
            return Ok(());
        }
        Err(DecodeError::Truncated(
            self.need_with(buffered).expect("not failed"),
        ))
    }

    /// [`finish_with`](Self::finish_with) for the own buffer.
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.finish_with(self.buf.len())
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Event>, DecodeError> {
        match &mut self.state {
            State::Failed(e) => Err(e.clone()),
            State::Prefix => {
                if buf.len() < PREFIX_LEN {
                    return Ok(None);
                }
                let header_len = buf.get_u16();
                if header_len == 0 {
                    return Err(DecodeError::ZeroLengthHeader);
                }
                self.state = State::Header {
                    header_len: usize::from(header_len),
                };
                Ok(Some(Event::Prefix {
                    frame_start: self.frame_start,
                    header_len,
                }))
            }
            State::Header { header_len } => {
                let header_len = *header_len;
                if buf.len() < header_len {
                    return Ok(None);
                }
                let mut spans = Vec::new();
                let header = parse_header(
                    &buf[..header_len],
                    Recorder::new(self.config.layout.then_some(&mut spans)),
                    self.config.max_content_length,
                )?;
                buf.advance(header_len);
                // The limit was checked in parse_header: this reservation is bounded.
                let content_length = header.content_length;
                buf.reserve((content_length as usize).saturating_sub(buf.len()));
                self.state = State::Content {
                    header_len,
                    header,
                    spans,
                };
                Ok(Some(Event::Header {
                    frame_start: self.frame_start,
                    range: PREFIX_LEN..PREFIX_LEN + header_len,
                    content_length,
                }))
            }
            State::Content { header, .. } => {
                let content_len = header.content_length as usize;
                if buf.len() < content_len {
                    return Ok(None);
                }
                let State::Content {
                    header_len,
                    header,
                    mut spans,
                } = mem::replace(&mut self.state, State::Prefix)
                else {
                    unreachable!("matched above")
                };
                let content_start = PREFIX_LEN + header_len;
                let rec = Recorder::new(self.config.layout.then_some(&mut spans));
                let content = interpret(&header, buf, content_len, content_start, rec)?;
                let frame_start = self.frame_start;
                let frame_len = content_start + content_len;
                self.frame_start += frame_len as u64;
                Ok(Some(Event::Message(Decoded {
                    message: Message { header, content },
                    layout: Layout { spans },
                    frame_start,
                    frame_len,
                })))
            }
        }
    }
}
