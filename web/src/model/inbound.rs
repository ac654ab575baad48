//! The decoder's view of received bytes: each chunk as it arrived, what the
//! decoder completed and waits for after it, and the frames it decoded.

use std::borrow::Cow;
use std::fmt;

use protocol::app::Outcome;
use protocol::{DecodeError, Decoded, Decoder, Event, Layout, Message, Span, SpanKind};

/// One binary message received from the relay (one TCP read on its side).
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub bytes: Vec<u8>,
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

/// Everything the decoder made of the bytes received so far.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Inbound {
    pub bytes: Vec<u8>,
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
}

impl Inbound {
    /// Runs a fresh decoder over the chunks in order. Rebuilding from the
    /// chunks keeps the state plain data (a decoder cannot be cloned); a
    /// session's few chunks make this cheap.
    pub fn from_chunks(chunks: &[Chunk]) -> Inbound {
        let mut decoder = Decoder::default();
        let mut inbound = Inbound::default();
        let mut partial: Vec<Span> = Vec::new();
        for chunk in chunks {
            let offset = inbound.bytes.len();
            inbound.bytes.extend_from_slice(&chunk.bytes);
            if inbound.error.is_some() {
                // The decoder stopped for good: say so once, not per chunk.
                inbound.chunks.push(ChunkRecord {
                    offset,
                    len: chunk.bytes.len(),
                    at_ms: chunk.at_ms,
                    completed: Vec::new(),
                    state: "not decoded: the decoder stopped at an earlier chunk".to_owned(),
                    stopped: true,
                });
                continue;
            }
            decoder.push(&chunk.bytes);
            let mut completed = Vec::new();
            loop {
                match decoder.poll() {
                    Ok(Some(event)) => {
                        completed.push(describe_event(&event));
                        inbound.take_event(event, &mut partial);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        inbound.error = Some(e);
                        break;
                    }
                }
            }
            let state = match (decoder.error(), decoder.need()) {
                (Some(_), _) => "stopped on the error below".to_owned(),
                (None, _) if decoder.is_idle_with(decoder.buffered().len()) => {
                    if inbound.messages.is_empty() {
                        "waiting for the first byte".to_owned()
                    } else {
                        "message complete; waiting for the next".to_owned()
                    }
                }
                (None, Some(need)) => need.to_string(),
                (None, None) => String::new(),
            };
            inbound.chunks.push(ChunkRecord {
                offset,
                len: chunk.bytes.len(),
                at_ms: chunk.at_ms,
                completed,
                state,
                stopped: decoder.error().is_some(),
            });
        }
        inbound.last_frame_start = decoder.frame_start() as usize;
        inbound.pending = inbound.bytes.len() - decoder.frame_start() as usize;
        if inbound.error.is_none() && inbound.pending > 0 {
            // Name the bytes of the frame still being read, so they are coloured too.
            let end = inbound.bytes.len();
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
        let base = inbound.layout.spans.len();
        inbound
            .layout
            .spans
            .extend(partial.into_iter().map(|mut s| {
                s.parent = s.parent.map(|p| p + base);
                s
            }));
        inbound
    }

    fn take_event(&mut self, event: Event, partial: &mut Vec<Span>) {
        match event {
            Event::Prefix {
                frame_start,
                header_len,
            } => {
                self.announced_header_len = Some(header_len);
                self.announced_content_length = None;
                let start = frame_start as usize;
                partial.clear();
                partial.push(Span {
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
                partial.push(Span {
                    range: range.start + start..range.end + start,
                    kind: SpanKind::Header,
                    label: Cow::Borrowed("JSON header"),
                    parent: None,
                });
            }
            Event::Message(decoded) => {
                partial.clear();
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

/// The reply in words, as the tutorial's client prints it.
pub fn outcome_line(message: &Message) -> String {
    Outcome::of(message).to_string()
}

/// A request in words, as the tutorial's server logs it on receipt
/// (`Received request {'action': ...}`), without the peer's address.
pub fn request_line(message: &Message) -> String {
    format!("Received {}", protocol::app::describe(message, "request"))
}
