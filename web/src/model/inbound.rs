//! The decoder's view of received bytes: each chunk as it arrived, what the
//! decoder completed and waits for after it, and the frames it decoded.
//!
//! Chunks are pushed one at a time into one decoder, so receiving a 16 MiB
//! message in 16 KiB reads costs each read's work, not the stream's again.

use std::borrow::Cow;
use std::cell::{Ref, RefCell};
use std::fmt;
use std::rc::Rc;

use protocol::app::Outcome;
use protocol::python::{content_repr, python_bytes_repr};
use protocol::{Content, DecodeError, Decoded, Decoder, Event, Layout, Message, Span, SpanKind};

/// One binary message received from the relay (one TCP read on its side).
/// The bytes are shared, so cloning a session copies no bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub bytes: Rc<[u8]>,
    pub at_ms: f64,
}

/// A received chunk and the decoder's state once it was pushed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRecord {
    pub offset: usize,
    pub len: usize,
    pub at_ms: f64,
    /// Stages completed by this chunk ("length prefix: header is 103 bytes").
    pub completed: Vec<String>,
    /// What the decoder waits for after it ("JSON header: 37 of 103 bytes").
    pub state: String,
    /// The decoder had stopped on an error by the end of this chunk.
    pub stopped: bool,
}

/// The bytes received so far: one append-only buffer that every clone
/// shares, each clone seeing its own length. The state is cloned on every
/// chunk (the page still holds the previous one), and copying a 16 MiB
/// stream each time would make receiving it quadratic.
#[derive(Clone, Default)]
pub struct Received {
    buf: Rc<RefCell<Vec<u8>>>,
    len: usize,
}

impl Received {
    /// The bytes this snapshot holds.
    pub fn get(&self) -> Ref<'_, [u8]> {
        let len = self.len;
        Ref::map(self.buf.borrow(), |b| &b[..len])
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn push(&mut self, bytes: &[u8]) {
        if self.buf.borrow().len() != self.len {
            // An older snapshot grows: it gets a buffer of its own.
            let own = self.get().to_vec();
            self.buf = Rc::new(RefCell::new(own));
        }
        self.buf.borrow_mut().extend_from_slice(bytes);
        self.len += bytes.len();
    }
}

impl PartialEq for Received {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && (Rc::ptr_eq(&self.buf, &other.buf) || *self.get() == *other.get())
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Received({} bytes)", self.len)
    }
}

/// The decoder that read a stream, with how many bytes it was given: shared
/// by the clones of one [`Inbound`] (a decoder cannot be cloned), and only
/// ever pushed by the newest of them.
#[derive(Clone, Default)]
struct Feed(Rc<RefCell<(Decoder, usize)>>);

impl PartialEq for Feed {
    // Two views of the same bytes are equal whatever decoder read them.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Feed")
    }
}

/// Everything the decoder made of the bytes received so far.
#[derive(Debug, Clone, Default)]
pub struct Inbound {
    pub bytes: Received,
    pub chunks: Vec<ChunkRecord>,
    pub messages: Vec<Decoded>,
    /// Byte map of everything decoded, in stream offsets.
    pub layout: Layout,
    pub error: Option<DecodeError>,
    /// Bytes of a frame still being read.
    pub pending: usize,
    /// Stream offset of the frame the decoder is reading or stopped in.
    pub last_frame_start: usize,
    /// What the last frame's prefix and header announced.
    pub announced_header_len: Option<u16>,
    pub announced_content_length: Option<u64>,
    /// Spans of the frame still being read (also at the end of `layout`).
    partial: Vec<Span>,
    /// Spans of `layout` that belong to whole frames.
    complete_spans: usize,
    feed: Feed,
}

impl PartialEq for Inbound {
    /// The same value is equal at once: renders compare their props, and a
    /// decoded 16 MiB message compared with itself costs milliseconds.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
            || (self.bytes == other.bytes
                && self.chunks == other.chunks
                && self.messages == other.messages
                && self.layout == other.layout
                && self.error == other.error
                && self.pending == other.pending
                && self.last_frame_start == other.last_frame_start
                && self.announced_header_len == other.announced_header_len
                && self.announced_content_length == other.announced_content_length
                && self.partial == other.partial
                && self.complete_spans == other.complete_spans)
    }
}

impl Inbound {
    /// Runs a fresh decoder over the chunks in order.
    pub fn from_chunks(chunks: &[Chunk]) -> Inbound {
        let mut inbound = Inbound::default();
        for chunk in chunks {
            inbound.push(chunk);
        }
        inbound
    }

    /// Pushes one more chunk into the decoder: the work is that chunk's,
    /// not the whole stream's again.
    pub fn push(&mut self, chunk: &Chunk) {
        if self.feed.0.borrow().1 != self.bytes.len() {
            // An older view is pushed: replay its chunks into a decoder of its own.
            let bytes = self.bytes.get().to_vec();
            let chunks: Vec<Chunk> = self
                .chunks
                .iter()
                .map(|c| Chunk {
                    bytes: bytes[c.offset..c.offset + c.len].into(),
                    at_ms: c.at_ms,
                })
                .collect();
            *self = Inbound::from_chunks(&chunks);
        }
        let feed = self.feed.clone();
        let mut guard = feed.0.borrow_mut();
        let (decoder, fed) = &mut *guard;
        let offset = self.bytes.len();
        if self.error.is_some() {
            // The decoder stopped for good: say so once, not per chunk. The
            // bytes still count, so offsets stay those of the stream.
            *fed += chunk.bytes.len();
            self.bytes.push(&chunk.bytes);
            self.chunks.push(ChunkRecord {
                offset,
                len: chunk.bytes.len(),
                at_ms: chunk.at_ms,
                completed: Vec::new(),
                state: "not decoded: the decoder stopped at an earlier chunk".to_owned(),
                stopped: true,
            });
            return;
        }
        decoder.push(&chunk.bytes);
        *fed += chunk.bytes.len();
        self.bytes.push(&chunk.bytes);
        self.layout.spans.truncate(self.complete_spans);
        let mut completed = Vec::new();
        loop {
            match decoder.poll() {
                Ok(Some(event)) => {
                    completed.push(describe_event(&event));
                    self.take_event(event);
                }
                Ok(None) => break,
                Err(e) => {
                    self.error = Some(e);
                    break;
                }
            }
        }
        let state = match (decoder.error(), decoder.need()) {
            (Some(_), _) => "stopped on the error below".to_owned(),
            (None, _) if decoder.is_idle_with(decoder.buffered().len()) => {
                if self.messages.is_empty() {
                    "waiting for the first byte".to_owned()
                } else {
                    "message complete; waiting for the next".to_owned()
                }
            }
            (None, Some(need)) => need.to_string(),
            (None, None) => String::new(),
        };
        self.chunks.push(ChunkRecord {
            offset,
            len: chunk.bytes.len(),
            at_ms: chunk.at_ms,
            completed,
            state,
            stopped: decoder.error().is_some(),
        });
        self.complete_spans = self.layout.spans.len();
        self.last_frame_start = decoder.frame_start() as usize;
        self.pending = self.bytes.len() - decoder.frame_start() as usize;
        let mut partial = self.partial.clone();
        if self.error.is_none() && self.pending > 0 {
            // Name the bytes of the frame still being read, so they are coloured too.
            let end = self.bytes.len();
            match partial.last().map(|s| (s.kind, s.range.end)) {
                Some((SpanKind::Header, header_end)) if header_end < end => partial.push(Span {
                    range: header_end..end,
                    kind: SpanKind::Content,
                    label: Cow::Borrowed("content (so far)"),
                    parent: None,
                }),
                Some((SpanKind::LengthPrefix, prefix_end)) if prefix_end < end => {
                    partial.push(Span {
                        range: prefix_end..end,
                        kind: SpanKind::Header,
                        label: Cow::Borrowed("JSON header (so far)"),
                        parent: None,
                    })
                }
                _ => {}
            }
        }
        let base = self.layout.spans.len();
        self.layout.spans.extend(partial.into_iter().map(|mut s| {
            s.parent = s.parent.map(|p| p + base);
            s
        }));
    }

    fn take_event(&mut self, event: Event) {
        match event {
            Event::Prefix {
                frame_start,
                header_len,
            } => {
                self.announced_header_len = Some(header_len);
                self.announced_content_length = None;
                let start = frame_start as usize;
                self.partial.clear();
                self.partial.push(Span {
                    range: start..start + 2,
                    kind: SpanKind::LengthPrefix,
                    label: Cow::Borrowed("length prefix"),
                    parent: None,
                });
            }
            Event::Header {
                frame_start,
                range,
                content_length,
            } => {
                self.announced_content_length = Some(content_length);
                let start = frame_start as usize;
                self.partial.push(Span {
                    range: range.start + start..range.end + start,
                    kind: SpanKind::Header,
                    label: Cow::Borrowed("JSON header"),
                    parent: None,
                });
            }
            Event::Message(decoded) => {
                self.partial.clear();
                let base = self.layout.spans.len();
                let shifted = decoded.layout.clone().shifted(decoded.frame_start as usize);
                self.layout
                    .spans
                    .extend(shifted.spans.into_iter().map(|mut s| {
                        s.parent = s.parent.map(|p| p + base);
                        s
                    }));
                self.messages.push(decoded);
            }
        }
    }

    /// What the stream amounts to, as it stands (`ended`: no more bytes will come).
    pub fn verdict(&self, ended: bool) -> Verdict {
        if let Some(e) = &self.error {
            return Verdict::Invalid(e.clone());
        }
        if self.pending > 0 || (self.messages.is_empty() && ended) {
            let need = self
                .chunks
                .last()
                .map(|c| c.state.clone())
                .unwrap_or_default();
            if ended {
                if self.bytes.is_empty() {
                    return Verdict::NoBytes;
                }
                return Verdict::Truncated { need };
            }
            return Verdict::Incomplete { need };
        }
        Verdict::Frames(self.messages.len())
    }
}

/// What a decoder makes of a stream of bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// This many whole frames and nothing left over.
    Frames(usize),
    /// The decoder stopped on this error.
    Invalid(DecodeError),
    NoBytes,
    /// The bytes end inside a frame; `need` is what the decoder waits for.
    Truncated {
        need: String,
    },
    /// More bytes may still come to finish the frame.
    Incomplete {
        need: String,
    },
}

impl Verdict {
    /// Exactly one whole frame: what a composed message should be.
    pub fn is_one_frame(&self) -> bool {
        *self == Verdict::Frames(1)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Frames(1) => f.write_str("a valid frame"),
            Verdict::Frames(n) => write!(f, "{n} valid frames"),
            Verdict::Invalid(e) => write!(f, "not a valid frame: {e}"),
            Verdict::NoBytes => f.write_str("no bytes"),
            Verdict::Truncated { need } => {
                write!(f, "truncated: the bytes end inside a frame ({need})")
            }
            Verdict::Incomplete { need } => write!(f, "incomplete: {need}"),
        }
    }
}

fn describe_event(event: &Event) -> String {
    match event {
        Event::Prefix { header_len, .. } => {
            format!("length prefix read: the JSON header is {header_len} bytes")
        }
        Event::Header { content_length, .. } => {
            format!("JSON header read: content-length {content_length}")
        }
        Event::Message(d) => format!("content complete: a {}-byte message", d.frame_len),
    }
}

/// Most content bytes a line on the page spells out; the rest is counted
/// (a 16 MiB reply spelled out is 64 MiB of text).
pub const SHOWN_CONTENT: usize = 4096;

/// The reply in words, as the tutorial's client prints it; raw content past
/// [`SHOWN_CONTENT`] bytes is counted, not spelled out.
pub fn outcome_line(message: &Message) -> String {
    let raw: &[u8] = match &message.content {
        Content::Binary(bytes) => bytes,
        Content::Text(text) => text.as_bytes(),
        Content::Json(_) => return Outcome::of(message).to_string(),
    };
    if raw.len() <= SHOWN_CONTENT {
        return Outcome::of(message).to_string();
    }
    let shown = Outcome::Response(raw[..SHOWN_CONTENT].to_vec().into());
    format!("{shown} … and {} more bytes", raw.len() - SHOWN_CONTENT)
}

/// `repr()` of the content as the tutorial's programs hold it, binary
/// content past [`SHOWN_CONTENT`] bytes counted, not spelled out.
pub fn content_shown(content: &Content) -> String {
    match content {
        Content::Binary(bytes) if bytes.len() > SHOWN_CONTENT => format!(
            "{} … and {} more bytes",
            python_bytes_repr(&bytes[..SHOWN_CONTENT]),
            bytes.len() - SHOWN_CONTENT
        ),
        _ => content_repr(content),
    }
}

/// A request in words, as the tutorial's server logs it on receipt
/// (`Received request {'action': ...}`), without the peer's address.
pub fn request_line(message: &Message) -> String {
    format!("Received {}", protocol::app::describe(message, "request"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn chunks(stream: &[u8], size: usize) -> Vec<Chunk> {
        stream
            .chunks(size)
            .map(|b| Chunk {
                bytes: b.into(),
                at_ms: 0.0,
            })
            .collect()
    }

    #[test]
    fn a_stream_pushed_chunk_by_chunk_decodes_like_the_whole_stream_at_once() {
        let frame = protocol::encode(&protocol::app::request("search", "morpheus"))
            .unwrap()
            .bytes;
        let stream = [frame.clone(), frame].concat();
        let whole = Inbound::from_chunks(&chunks(&stream, stream.len()));
        let mut pushed = Inbound::default();
        for (i, chunk) in chunks(&stream, 7).iter().enumerate() {
            pushed.push(chunk);
            assert_eq!(pushed.chunks.len(), i + 1);
        }
        assert_eq!(pushed.messages, whole.messages);
        assert_eq!(pushed.layout, whole.layout);
        assert_eq!(*pushed.bytes.get(), stream[..]);
        assert_eq!(pushed.verdict(true), Verdict::Frames(2));
    }

    #[test]
    fn an_older_view_pushed_again_decodes_its_own_bytes_and_leaves_the_newer_one_alone() {
        let frame = protocol::encode(&protocol::app::request("search", "ring"))
            .unwrap()
            .bytes;
        let parts = chunks(&frame, 50);
        let mut newer = Inbound::default();
        newer.push(&parts[0]);
        let mut older = newer.clone();
        newer.push(&parts[1]);
        newer.push(&parts[2]);
        older.push(&parts[1]);
        assert_eq!(*older.bytes.get(), frame[..100]);
        assert_eq!(*newer.bytes.get(), frame[..]);
        assert_eq!(older.chunks.len(), 2);
        assert_eq!(older.pending, 100);
        assert_eq!(newer.messages.len(), 1);
    }
}
