//! The playground's whole state and its one reducer.
//!
//! Everything the panels show is derived here from [`State`] by pure
//! functions: the composed frame ([`compose`]), the encode steps
//! ([`encode_steps`]), the decoder's view of the received bytes
//! ([`Inbound::from_chunks`]). Side effects (the WebSocket, timers, the
//! clock, the URL) live in `hooks/` and `app.rs` and only ever
//! [`dispatch`](yew::UseReducerHandle::dispatch) an [`Action`] here, with the
//! time it happened, so `reduce` stays a pure function that native and
//! browser tests can drive.

use std::borrow::Cow;
use std::ops::Range;
use std::rc::Rc;

use protocol::app::{self, Outcome};
use protocol::hexdump::parse_hex;
use protocol::json::{self, Json};
use protocol::python::python_repr;
use protocol::{
    encode, Content, DecodeError, Decoded, Decoder, Event, Layout, Message, Span, SpanKind,
};
use yew::Reducible;

use crate::presets;

/// How the message is being composed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The tutorial client's request: an action and a value.
    Request,
    /// Any content type, encoding and content.
    Custom,
    /// Hand-made bytes, typed as hex.
    Hex,
}

impl Mode {
    pub fn key(self) -> &'static str {
        match self {
            Mode::Request => "request",
            Mode::Custom => "custom",
            Mode::Hex => "hex",
        }
    }

    pub fn from_key(key: &str) -> Option<Mode> {
        Some(match key {
            "request" => Mode::Request,
            "custom" => Mode::Custom,
            "hex" => Mode::Hex,
            _ => return None,
        })
    }
}

/// What the user typed in the composer.
#[derive(Debug, Clone, PartialEq)]
pub struct Composer {
    pub mode: Mode,
    pub action: String,
    pub value: String,
    pub byteorder: String,
    pub content_type: String,
    pub content_encoding: String,
    /// Custom content: JSON for `text/json`, text otherwise.
    pub content: String,
    /// Extra header keys, as a JSON object (empty for none).
    pub extra_headers: String,
    pub hex: String,
    /// The preset last applied, while the fields still match it.
    pub preset: Option<&'static str>,
}

impl Default for Composer {
    fn default() -> Self {
        Composer {
            mode: Mode::Request,
            action: "search".into(),
            value: "morpheus".into(),
            byteorder: "big".into(),
            content_type: "text/json".into(),
            content_encoding: "utf-8".into(),
            content: r#"{"action": "search", "value": "ring"}"#.into(),
            extra_headers: String::new(),
            hex: String::new(),
            preset: Some("morpheus"),
        }
    }
}

/// The bytes the composer stands for, with their byte map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Composed {
    pub bytes: Vec<u8>,
    pub layout: Layout,
    /// The message, when the bytes are a valid frame.
    pub message: Option<Message>,
    /// Why nothing could be encoded (then `bytes` is empty).
    pub error: Option<String>,
    /// What a decoder makes of hand-made bytes ("a valid frame", or the error).
    pub verdict: Option<String>,
    /// The header length the prefix announces and the header's content-length,
    /// as the decoder read them (for the encode steps of hand-made frames).
    pub announced_header_len: Option<u16>,
    pub announced_content_length: Option<u64>,
}

/// Turns the composer's fields into bytes, through the protocol crate only.
pub fn compose(c: &Composer) -> Composed {
    match build(c) {
        Ok(Built::Message(message)) => match encode(&message) {
            Ok(frame) => Composed {
                announced_header_len: frame
                    .layout
                    .find(SpanKind::Header)
                    .and_then(|h| u16::try_from(h.range.len()).ok()),
                announced_content_length: Some(message.header.content_length),
                bytes: frame.bytes,
                layout: frame.layout,
                message: Some(message),
                ..Composed::default()
            },
            Err(e) => failed(e.to_string()),
        },
        Ok(Built::Bytes(bytes)) => {
            let local = Inbound::from_chunks(&[Chunk {
                bytes: bytes.clone(),
                at_ms: 0.0,
            }]);
            let verdict = local.verdict(true);
            Composed {
                announced_header_len: local.announced_header_len,
                announced_content_length: local.announced_content_length,
                message: local.messages.first().map(|d| d.message.clone()),
                layout: local.layout,
                bytes,
                verdict: Some(verdict),
                ..Composed::default()
            }
        }
        Err(e) => failed(e),
    }
}

fn failed(error: String) -> Composed {
    Composed {
        error: Some(error),
        ..Composed::default()
    }
}

enum Built {
    Message(Message),
    Bytes(Vec<u8>),
}

fn build(c: &Composer) -> Result<Built, String> {
    let message = match c.mode {
        Mode::Hex => {
            return parse_hex(&c.hex)
                .map(Built::Bytes)
                .map_err(|e| format!("hex: {e}"))
        }
        Mode::Request => app::request(&c.action, &c.value),
        Mode::Custom => {
            let content = if c.content_type == protocol::model::JSON_CONTENT_TYPE {
                Content::Json(
                    json::parse(&c.content).map_err(|e| format!("content is not JSON: {e}"))?,
                )
            } else if protocol::TextEncoding::from_name(&c.content_encoding).is_some()
                && c.content_type.starts_with("text/")
            {
                Content::Text(c.content.clone())
            } else {
                Content::Binary(c.content.clone().into_bytes().into())
            };
            Message::new(c.content_type.clone(), c.content_encoding.clone(), content)
                .map_err(|e| e.to_string())?
        }
    };
    let mut message = message.with_byteorder(c.byteorder.clone());
    for (key, value) in extra_headers(&c.extra_headers)? {
        message = message.with_extra(key, value);
    }
    Ok(Built::Message(message))
}

/// The extra header keys typed as a JSON object.
pub fn extra_headers(text: &str) -> Result<Vec<(String, Json)>, String> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    match json::parse(text) {
        Ok(Json::Object(object)) => Ok(object.into_members()),
        Ok(other) => Err(format!(
            "extra headers must be a JSON object, not {}",
            other.type_name()
        )),
        Err(e) => Err(format!("extra headers are not JSON: {e}")),
    }
}

/// One step of building a frame, for the step-by-step view.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeStep {
    pub title: &'static str,
    /// What was computed and why, in one line.
    pub line: String,
    /// The bytes this step produced, within the frame.
    pub range: Range<usize>,
}

/// Content → header → length prefix → frame, from the encoder's own layout.
pub fn encode_steps(composed: &Composed) -> Vec<EncodeStep> {
    let layout = &composed.layout;
    let (Some(prefix), Some(header)) = (
        layout.find(SpanKind::LengthPrefix),
        layout.find(SpanKind::Header),
    ) else {
        return Vec::new();
    };
    let content = layout
        .find(SpanKind::Content)
        .map_or(header.range.end..header.range.end, |s| s.range.clone());
    let content_len = content.len();
    let what = match &composed.message {
        Some(m) => match &m.content {
            Content::Json(_) => format!(
                "JSON written the way Python's json.dumps writes it, encoded as {}",
                m.header.content_encoding
            ),
            Content::Text(_) => format!("text encoded as {}", m.header.content_encoding),
            Content::Binary(_) => "raw bytes, sent as they are".to_owned(),
        },
        None => "the bytes after the header".to_owned(),
    };
    let length_note = match composed.announced_content_length {
        Some(v) if v == content_len as u64 => {
            format!("content-length = {v}, the content's byte count")
        }
        Some(v) => format!("content-length says {v}, but the content is {content_len} bytes"),
        None => "no valid content-length: a receiver cannot know where the content ends".to_owned(),
    };
    let header_len = header.range.len();
    let frame_len = composed.bytes.len();
    let hi = composed.bytes[prefix.range.start];
    let lo = composed.bytes[prefix.range.start + 1];
    let prefix_line = match composed.announced_header_len {
        Some(n) if usize::from(n) == header_len => format!(
            "header is {header_len} bytes → 0x{hi:02x} 0x{lo:02x}, a 2-byte big-endian integer (network byte order)"
        ),
        Some(n) => format!(
            "0x{hi:02x} 0x{lo:02x} announces a {n}-byte header (big-endian), but {header_len} header bytes follow"
        ),
        None => format!("0x{hi:02x} 0x{lo:02x}: the header's length, big-endian"),
    };
    vec![
        EncodeStep {
            title: "Content bytes",
            line: format!("content is {content_len} bytes: {what}"),
            range: content,
        },
        EncodeStep {
            title: "JSON header",
            line: format!("header is {header_len} bytes of UTF-8 JSON; {length_note}"),
            range: header.range.clone(),
        },
        EncodeStep {
            title: "Header length",
            line: prefix_line,
            range: prefix.range.clone(),
        },
        EncodeStep {
            title: "Whole frame",
            line: format!(
                "frame = {} + {header_len} + {content_len} = {frame_len} bytes: length, header, content",
                prefix.range.len()
            ),
            range: 0..frame_len,
        },
    ]
}

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
    /// What the last frame's prefix and header announced.
    pub announced_header_len: Option<u16>,
    pub announced_content_length: Option<u64>,
}

impl Inbound {
    /// Runs a fresh decoder over the chunks in order. Rebuilding from the
    /// chunks keeps [`State`] plain data (a decoder cannot be cloned); a
    /// session's few chunks make this cheap.
    pub fn from_chunks(chunks: &[Chunk]) -> Inbound {
        let mut decoder = Decoder::default();
        let mut inbound = Inbound::default();
        let mut partial: Vec<Span> = Vec::new();
        for chunk in chunks {
            decoder.push(&chunk.bytes);
            let offset = inbound.bytes.len();
            inbound.bytes.extend_from_slice(&chunk.bytes);
            let mut completed = Vec::new();
            loop {
                match decoder.poll() {
                    Ok(Some(event)) => {
                        completed.push(describe_event(&event));
                        inbound.take_event(event, &mut partial);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        completed.push(format!("error: {e}"));
                        inbound.error = Some(e);
                        break;
                    }
                }
            }
            let state = match (decoder.error(), decoder.need()) {
                (Some(e), _) => format!("stopped: {e}"),
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
            });
        }
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

    /// One line on the state of the stream, as it stands (`ended`: no more bytes will come).
    pub fn verdict(&self, ended: bool) -> String {
        if let Some(e) = &self.error {
            return format!("not a valid frame: {e}");
        }
        if self.pending > 0 || (self.messages.is_empty() && ended) {
            let need = self
                .chunks
                .last()
                .map(|c| c.state.clone())
                .unwrap_or_default();
            if ended {
                if self.bytes.is_empty() {
                    return "no bytes".to_owned();
                }
                return format!("truncated: the bytes end inside a frame ({need})");
            }
            return format!("incomplete: {need}");
        }
        match self.messages.len() {
            1 => "a valid frame".to_owned(),
            n => format!("{n} valid frames"),
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

/// The decoded content, in Python's repr where it is JSON.
pub fn content_repr(message: &Message) -> String {
    match &message.content {
        Content::Json(v) => python_repr(v),
        Content::Text(t) => protocol::python::python_str_repr(t),
        Content::Binary(b) => protocol::python::python_bytes_repr(b),
    }
}

/// A target the relay offers.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetInfo {
    pub name: String,
    pub description: String,
}

/// Parses the relay's `GET /targets` body: `[{"name": ..., "description": ...}]`.
pub fn parse_targets(body: &str) -> Result<Vec<TargetInfo>, String> {
    let value = json::parse(body).map_err(|e| format!("/targets is not JSON: {e}"))?;
    let Json::Array(items) = value else {
        return Err("/targets is not a JSON list".to_owned());
    };
    items
        .iter()
        .map(|item| {
            let object = item
                .as_object()
                .ok_or("a /targets entry is not an object")?;
            let text = |key: &str| object.get(key).and_then(Json::as_str).map(str::to_owned);
            Ok(TargetInfo {
                name: text("name").ok_or("a /targets entry has no name")?,
                description: text("description").unwrap_or_default(),
            })
        })
        .collect()
}

/// Whether the relay's target list is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Loading,
    Loaded(Vec<TargetInfo>),
    Failed(String),
}

/// The WebSocket's state, always on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Idle,
    Connecting,
    Open,
    Closed {
        code: u16,
        reason: String,
        clean: bool,
    },
    /// The relay or the target could not be reached; says which and why.
    Failed(String),
}

impl Conn {
    pub fn label(&self) -> String {
        match self {
            Conn::Idle => "not connected".into(),
            Conn::Connecting => "connecting…".into(),
            Conn::Open => "connected".into(),
            Conn::Closed { code, reason, .. } if reason.is_empty() => format!("closed ({code})"),
            Conn::Closed { code, reason, .. } => format!("closed ({code} {reason})"),
            Conn::Failed(why) => format!("failed: {why}"),
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Conn::Connecting | Conn::Open)
    }
}

/// Who did something, for the transcript and the sequence diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Browser,
    Relay,
    Server,
}

/// One entry of the session's timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineKind {
    Connect {
        target: String,
    },
    Open,
    Send {
        offset: usize,
        len: usize,
    },
    Receive {
        offset: usize,
        len: usize,
    },
    HalfClose,
    Close {
        by: Party,
        code: u16,
        reason: String,
    },
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEvent {
    /// Milliseconds since the session started.
    pub at_ms: f64,
    pub kind: TimelineKind,
}

impl TimelineEvent {
    /// One line for the transcript.
    pub fn describe(&self) -> String {
        match &self.kind {
            TimelineKind::Connect { target } => format!("browser opens /ws?target={target}"),
            TimelineKind::Open => "WebSocket open; the relay connects to the target".into(),
            TimelineKind::Send { offset, len } => {
                format!("sent {len} bytes (bytes {offset}..{})", offset + len)
            }
            TimelineKind::Receive { offset, len } => {
                format!("received {len} bytes (bytes {offset}..{})", offset + len)
            }
            TimelineKind::HalfClose => "browser shut down its sending side".into(),
            TimelineKind::Close { by, code, reason } => {
                let who = match by {
                    Party::Browser => "browser closed",
                    _ => "relay closed",
                };
                if reason.is_empty() {
                    format!("{who} ({code})")
                } else {
                    format!("{who} ({code} {reason})")
                }
            }
            TimelineKind::Error { message } => format!("error: {message}"),
        }
    }

    /// The transcript as JSON, written by the protocol crate's JSON writer.
    pub fn to_json(&self) -> Json {
        let mut o = json::Object::new();
        o.insert("at_ms", Json::from((self.at_ms * 10.0).round() / 10.0));
        let (event, extra): (&str, Vec<(&str, Json)>) = match &self.kind {
            TimelineKind::Connect { target } => {
                ("connect", vec![("target", target.as_str().into())])
            }
            TimelineKind::Open => ("open", vec![]),
            TimelineKind::Send { offset, len } => (
                "send",
                vec![
                    ("offset", (*offset as i64).into()),
                    ("len", (*len as i64).into()),
                ],
            ),
            TimelineKind::Receive { offset, len } => (
                "recv",
                vec![
                    ("offset", (*offset as i64).into()),
                    ("len", (*len as i64).into()),
                ],
            ),
            TimelineKind::HalfClose => ("half-close", vec![]),
            TimelineKind::Close { by, code, reason } => (
                "close",
                vec![
                    (
                        "by",
                        if *by == Party::Browser {
                            "browser"
                        } else {
                            "relay"
                        }
                        .into(),
                    ),
                    ("code", i64::from(*code).into()),
                    ("reason", reason.as_str().into()),
                ],
            ),
            TimelineKind::Error { message } => {
                ("error", vec![("message", message.as_str().into())])
            }
        };
        o.insert("event", event);
        for (k, v) in extra {
            o.insert(k, v);
        }
        o.into()
    }
}

/// One WebSocket session through the relay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Session {
    /// Tells this session's socket events from a previous socket's.
    pub id: u32,
    pub target: String,
    pub started_at: f64,
    pub timeline: Vec<TimelineEvent>,
    pub sent: usize,
    pub chunks: Vec<Chunk>,
    pub opened: bool,
}

/// Most segments one send may cut a frame into: each is a WebSocket message
/// and a transcript line, and the page stays responsive up to about this many.
pub const MAX_SEGMENTS: usize = 2000;

/// How the message goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Bytes per WebSocket message; 0 sends the frame whole.
    pub segment: usize,
    /// Pause between segments, in milliseconds.
    pub delay_ms: u32,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            segment: 0,
            delay_ms: 300,
        }
    }
}

impl SendOptions {
    /// How many segments a frame of `len` bytes goes out in.
    pub fn count(&self, len: usize) -> usize {
        match (len, self.segment) {
            (0, _) => 0,
            (_, 0) => 1,
            (len, size) => len.div_ceil(size),
        }
    }

    /// The frame cut into the segments to send.
    pub fn segments(&self, bytes: &[u8]) -> Vec<Vec<u8>> {
        if bytes.is_empty() {
            return Vec::new();
        }
        let size = if self.segment == 0 {
            bytes.len()
        } else {
            self.segment
        };
        bytes.chunks(size).map(<[u8]>::to_vec).collect()
    }
}

/// Which bytes a highlight refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Outgoing,
    Incoming,
}

/// The playground's state. Big values sit behind `Rc` so the clone each
/// action makes stays cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub composer: Composer,
    pub composed: Rc<Composed>,
    pub step: usize,
    pub playing: bool,
    /// The span under the pointer, and the span picked by click or keyboard.
    pub hover: Option<(Pane, usize)>,
    pub selected: Option<(Pane, usize)>,
    pub targets: Targets,
    pub target: String,
    pub send: SendOptions,
    pub conn: Conn,
    pub session: Rc<Session>,
    pub inbound: Rc<Inbound>,
    /// True when the inbound bytes came from "decode locally", not a server.
    pub local_decode: bool,
    /// A short note for the user (copy done, clipboard refused, ...).
    pub notice: Option<String>,
}

impl Default for State {
    fn default() -> Self {
        State::with(Composer::default(), "app".into(), SendOptions::default())
    }
}

impl State {
    pub fn with(composer: Composer, target: String, send: SendOptions) -> State {
        State {
            composed: Rc::new(compose(&composer)),
            composer,
            step: 3,
            playing: false,
            hover: None,
            selected: None,
            targets: Targets::Loading,
            target,
            send,
            conn: Conn::Idle,
            session: Rc::default(),
            inbound: Rc::default(),
            local_decode: false,
            notice: None,
        }
    }

    /// The span to highlight in `pane`: the hovered one, else the selected one.
    pub fn highlight(&self, pane: Pane) -> Option<usize> {
        self.hover
            .or(self.selected)
            .filter(|(p, _)| *p == pane)
            .map(|(_, i)| i)
    }

    pub fn steps(&self) -> Vec<EncodeStep> {
        encode_steps(&self.composed)
    }

    /// What the user should know about the session's end, if it ended.
    pub fn session_summary(&self) -> Option<String> {
        match &self.conn {
            Conn::Closed { code, reason, .. } => {
                let reply = if self.inbound.messages.is_empty() {
                    if self.inbound.bytes.is_empty() {
                        match self.composed.verdict.as_deref() {
                            Some(v) if v != "a valid frame" && self.session.sent > 0 => format!(
                                "the server closed the connection without a reply (what was sent is {v})"
                            ),
                            _ => "the server closed the connection without a reply".to_owned(),
                        }
                    } else {
                        format!(
                            "the server closed the connection: {}",
                            self.inbound.verdict(true)
                        )
                    }
                } else {
                    format!("{} reply frame(s) received", self.inbound.messages.len())
                };
                let reason = if reason.is_empty() {
                    String::new()
                } else {
                    format!(" {reason:?}")
                };
                Some(format!("{reply}; close code {code}{reason}"))
            }
            Conn::Failed(why) => Some(why.clone()),
            _ => None,
        }
    }
}

/// Everything that can happen to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Preset(&'static str),
    /// A link's message, target and send options (the URL hash changed).
    Load {
        composer: Box<Composer>,
        target: String,
        send: SendOptions,
    },
    SetMode(Mode),
    SetAction(String),
    SetValue(String),
    SetByteorder(String),
    SetContentType(String),
    SetEncoding(String),
    SetContent(String),
    SetExtraHeaders(String),
    SetHex(String),
    /// Copies the composed bytes into the hex editor, to hand-edit them.
    EditAsHex,
    Step(usize),
    StepNext,
    StepPrev,
    TogglePlay,
    Hover(Option<(Pane, usize)>),
    Select(Option<(Pane, usize)>),
    TargetsLoaded(Result<Vec<TargetInfo>, String>),
    SelectTarget(String),
    SetSegment(usize),
    SetDelay(u32),
    /// A socket to the relay is being opened.
    Connecting {
        id: u32,
        target: String,
        at: f64,
    },
    Opened {
        id: u32,
        at: f64,
    },
    Sent {
        id: u32,
        at: f64,
        len: usize,
    },
    Received {
        id: u32,
        at: f64,
        bytes: Vec<u8>,
    },
    HalfClosed {
        id: u32,
        at: f64,
    },
    /// The browser asked to close.
    Closing {
        id: u32,
        at: f64,
    },
    Closed {
        id: u32,
        at: f64,
        code: u16,
        reason: String,
        clean: bool,
    },
    /// Feeds the composed bytes to the decoder here, in the send segments.
    DecodeLocally,
    Notice(Option<String>),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut state = Rc::unwrap_or_clone(self);
        reduce(&mut state, action);
        Rc::new(state)
    }
}

/// The reducer proper, on a plain `&mut State`.
pub fn reduce(state: &mut State, action: Action) {
    let recompose = matches!(
        action,
        Action::Preset(_)
            | Action::Load { .. }
            | Action::SetMode(_)
            | Action::SetAction(_)
            | Action::SetValue(_)
            | Action::SetByteorder(_)
            | Action::SetContentType(_)
            | Action::SetEncoding(_)
            | Action::SetContent(_)
            | Action::SetExtraHeaders(_)
            | Action::SetHex(_)
            | Action::EditAsHex
    );
    let c = &mut state.composer;
    match action {
        Action::Preset(id) => {
            if let Some(preset) = presets::find(id) {
                *c = preset.composer();
            }
        }
        Action::Load {
            composer,
            target,
            send,
        } => {
            *c = *composer;
            state.target = target;
            state.send = send;
        }
        Action::SetMode(mode) => {
            if mode == Mode::Hex && c.hex.trim().is_empty() {
                c.hex = protocol::hexdump::hex_string(&state.composed.bytes);
            }
            c.mode = mode;
        }
        Action::SetAction(v) => c.action = v,
        Action::SetValue(v) => c.value = v,
        Action::SetByteorder(v) => c.byteorder = v,
        Action::SetContentType(v) => c.content_type = v,
        Action::SetEncoding(v) => c.content_encoding = v,
        Action::SetContent(v) => c.content = v,
        Action::SetExtraHeaders(v) => c.extra_headers = v,
        Action::SetHex(v) => c.hex = v,
        Action::EditAsHex => {
            c.hex = protocol::hexdump::hex_string(&state.composed.bytes);
            c.mode = Mode::Hex;
        }
        Action::Step(n) => {
            state.step = n.min(3);
            state.playing = false;
        }
        Action::StepNext => {
            if state.step >= 3 {
                state.playing = false;
            } else {
                state.step += 1;
                if state.step == 3 {
                    state.playing = false;
                }
            }
        }
        Action::StepPrev => {
            state.step = state.step.saturating_sub(1);
            state.playing = false;
        }
        Action::TogglePlay => {
            state.playing = !state.playing;
            if state.playing {
                state.step = 0;
            }
        }
        Action::Hover(h) => state.hover = h,
        Action::Select(s) => state.selected = s,
        Action::TargetsLoaded(result) => {
            state.targets = match result {
                Ok(list) => {
                    if !list.is_empty() && !list.iter().any(|t| t.name == state.target) {
                        state.target = list[0].name.clone();
                    }
                    Targets::Loaded(list)
                }
                Err(e) => Targets::Failed(e),
            }
        }
        Action::SelectTarget(t) => state.target = t,
        Action::SetSegment(n) => state.send.segment = n,
        Action::SetDelay(ms) => state.send.delay_ms = ms,
        Action::Connecting { id, target, at } => {
            state.conn = Conn::Connecting;
            state.local_decode = false;
            state.session = Rc::new(Session {
                id,
                target: target.clone(),
                started_at: at,
                timeline: vec![TimelineEvent {
                    at_ms: 0.0,
                    kind: TimelineKind::Connect { target },
                }],
                ..Session::default()
            });
            state.inbound = Rc::default();
            if matches!(state.selected, Some((Pane::Incoming, _))) {
                state.selected = None;
            }
        }
        Action::Opened { id, at } => {
            if let Some(s) = session_mut(state, id) {
                s.opened = true;
                push(s, at, TimelineKind::Open);
                state.conn = Conn::Open;
            }
        }
        Action::Sent { id, at, len } => {
            if let Some(s) = session_mut(state, id) {
                let offset = s.sent;
                s.sent += len;
                push(s, at, TimelineKind::Send { offset, len });
            }
        }
        Action::Received { id, at, bytes } => {
            if let Some(s) = session_mut(state, id) {
                let offset: usize = s.chunks.iter().map(|c| c.bytes.len()).sum();
                let len = bytes.len();
                let at_ms = at - s.started_at;
                s.chunks.push(Chunk { bytes, at_ms });
                push(s, at, TimelineKind::Receive { offset, len });
                state.inbound = Rc::new(Inbound::from_chunks(&state.session.chunks));
            }
        }
        Action::HalfClosed { id, at } => {
            if let Some(s) = session_mut(state, id) {
                push(s, at, TimelineKind::HalfClose);
            }
        }
        Action::Closing { id, at } => {
            if let Some(s) = session_mut(state, id) {
                push(
                    s,
                    at,
                    TimelineKind::Close {
                        by: Party::Browser,
                        code: 1000,
                        reason: String::new(),
                    },
                );
            }
        }
        Action::Closed {
            id,
            at,
            code,
            reason,
            clean,
        } => {
            let targets = state.targets.clone();
            if let Some(s) = session_mut(state, id) {
                let opened = s.opened;
                let target = s.target.clone();
                let by_browser = s.timeline.iter().any(|e| {
                    matches!(
                        e.kind,
                        TimelineKind::Close {
                            by: Party::Browser,
                            ..
                        }
                    )
                });
                if !by_browser || code != 1000 {
                    push(
                        s,
                        at,
                        TimelineKind::Close {
                            by: Party::Relay,
                            code,
                            reason: reason.clone(),
                        },
                    );
                }
                state.conn = if !opened {
                    Conn::Failed(unreachable_reason(&targets, &target))
                } else if code == 1011 && is_connect_failure(&reason) {
                    Conn::Failed(format!("target {target:?} unreachable: {reason}"))
                } else {
                    Conn::Closed {
                        code,
                        reason,
                        clean,
                    }
                };
            }
        }
        Action::DecodeLocally => {
            let count = state.send.count(state.composed.bytes.len());
            if count > MAX_SEGMENTS {
                state.notice = Some(format!(
                    "{count} segments is more than {MAX_SEGMENTS}: raise the segment size"
                ));
                return;
            }
            let segments = state.send.segments(&state.composed.bytes);
            let chunks: Vec<Chunk> = segments
                .into_iter()
                .enumerate()
                .map(|(i, bytes)| Chunk {
                    bytes,
                    at_ms: i as f64 * f64::from(state.send.delay_ms),
                })
                .collect();
            state.inbound = Rc::new(Inbound::from_chunks(&chunks));
            state.local_decode = true;
            if matches!(state.selected, Some((Pane::Incoming, _))) {
                state.selected = None;
            }
        }
        Action::Notice(n) => state.notice = n,
    }
    if recompose {
        if state.composer.preset.is_some_and(|p| {
            presets::find(p).is_none_or(|preset| preset.composer() != state.composer)
        }) {
            state.composer.preset = None;
        }
        state.composed = Rc::new(compose(&state.composer));
        state.step = 3;
        state.playing = false;
        if matches!(state.selected, Some((Pane::Outgoing, _))) {
            state.selected = None;
        }
        state.hover = None;
    }
}

/// The relay closes with 1011 for a failed connect and for a reset or I/O
/// error later; its connect-failure reasons name the cause first.
pub fn is_connect_failure(reason: &str) -> bool {
    [
        "connection refused",
        "connection timed out",
        "host unreachable",
        "network unreachable",
        "cannot connect",
    ]
    .iter()
    .any(|p| reason.starts_with(p))
}

/// Why a socket that never opened failed: the relay or the target, and why.
fn unreachable_reason(targets: &Targets, target: &str) -> String {
    match targets {
        Targets::Failed(e) => format!("relay unreachable: {e}"),
        Targets::Loaded(list) if !list.iter().any(|t| t.name == target) => {
            format!("the relay has no target named {target:?}")
        }
        Targets::Loaded(_) => {
            format!("the relay refused or dropped the WebSocket for {target:?} before it opened")
        }
        Targets::Loading => "relay unreachable: the WebSocket to /ws did not open".to_owned(),
    }
}

fn session_mut(state: &mut State, id: u32) -> Option<&mut Session> {
    (state.session.id == id && id != 0).then(|| Rc::make_mut(&mut state.session))
}

fn push(session: &mut Session, at: f64, kind: TimelineKind) {
    session.timeline.push(TimelineEvent {
        at_ms: at - session.started_at,
        kind,
    });
}

/// The transcript as a JSON document (for the export button).
pub fn transcript_json(session: &Session) -> String {
    let mut o = json::Object::new();
    o.insert("target", session.target.as_str());
    o.insert(
        "events",
        Json::Array(
            session
                .timeline
                .iter()
                .map(TimelineEvent::to_json)
                .collect(),
        ),
    );
    Json::from(o).to_python_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn run(state: &mut State, actions: impl IntoIterator<Item = Action>) {
        for a in actions {
            reduce(state, a);
        }
    }

    #[test]
    fn the_default_message_is_the_tutorials_morpheus_request() {
        let state = State::default();
        let bytes = &state.composed.bytes;
        assert_eq!(&bytes[..2], b"\x00d");
        assert_eq!(bytes.len(), 143);
        assert_eq!(
            protocol::python::python_bytes_repr(bytes),
            r#"b'\x00d{"byteorder": "big", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}{"action": "search", "value": "morpheus"}'"#
        );
    }

    #[test]
    fn encode_steps_count_content_header_and_prefix_bytes() {
        let steps = State::default().steps();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].range.len(), 41);
        assert!(steps[0].line.starts_with("content is 41 bytes"));
        assert!(steps[1].line.contains("header is 100 bytes"));
        assert!(steps[1]
            .line
            .contains("content-length = 41, the content's byte count"));
        assert!(steps[2].line.contains("header is 100 bytes → 0x00 0x64"));
        assert!(steps[3].line.contains("2 + 100 + 41 = 143 bytes"));
    }

    #[test]
    fn editing_a_field_recomposes_and_forgets_the_preset() {
        let mut state = State::default();
        run(&mut state, [Action::SetValue("ring".into())]);
        assert_eq!(state.composer.preset, None);
        assert_eq!(
            state
                .composed
                .message
                .as_ref()
                .unwrap()
                .header
                .content_length,
            37
        );
        run(&mut state, [Action::Preset("ring")]);
        assert_eq!(state.composer.preset, Some("ring"));
    }

    #[test]
    fn extra_headers_must_be_a_json_object() {
        let mut state = State::default();
        run(&mut state, [Action::SetExtraHeaders("[1]".into())]);
        assert!(state
            .composed
            .error
            .as_deref()
            .unwrap()
            .contains("JSON object"));
        run(
            &mut state,
            [Action::SetExtraHeaders(r#"{"x-trace": 7}"#.into())],
        );
        assert!(String::from_utf8_lossy(&state.composed.bytes).contains(r#""x-trace": 7}"#));
    }

    #[test]
    fn hand_made_bytes_get_the_decoders_verdict() {
        let mut state = State::default();
        run(&mut state, [Action::SetMode(Mode::Hex)]);
        assert_eq!(state.composed.verdict.as_deref(), Some("a valid frame"));
        run(&mut state, [Action::SetHex("00 00".into())]);
        assert!(state
            .composed
            .verdict
            .as_deref()
            .unwrap()
            .contains("zero-length"));
        run(&mut state, [Action::SetHex("00 64 7b".into())]);
        assert!(state
            .composed
            .verdict
            .as_deref()
            .unwrap()
            .starts_with("truncated"));
    }

    #[test]
    fn chunks_are_decoded_as_they_arrive() {
        let frame = State::default().composed.bytes.clone();
        let chunks: Vec<Chunk> = [&frame[..1], &frame[1..40], &frame[40..]]
            .iter()
            .map(|b| Chunk {
                bytes: b.to_vec(),
                at_ms: 0.0,
            })
            .collect();
        let inbound = Inbound::from_chunks(&chunks);
        assert_eq!(inbound.chunks[0].state, "have 1 of 2 header-length bytes");
        assert_eq!(inbound.chunks[1].state, "JSON header: 38 of 100 bytes");
        assert_eq!(
            inbound.chunks[2].completed.last().unwrap(),
            "content complete: a 143-byte message"
        );
        assert_eq!(inbound.messages.len(), 1);
        assert_eq!(inbound.verdict(true), "a valid frame");
    }

    #[test]
    fn a_session_records_its_timeline_and_ignores_stale_sockets() {
        let mut state = State::default();
        let reply = protocol::encode(&app::respond(&app::request("search", "ring")).unwrap())
            .unwrap()
            .bytes;
        run(
            &mut state,
            [
                Action::Connecting {
                    id: 1,
                    target: "app".into(),
                    at: 1000.0,
                },
                Action::Opened { id: 1, at: 1010.0 },
                Action::Sent {
                    id: 1,
                    at: 1011.0,
                    len: 139,
                },
                Action::Received {
                    id: 9,
                    at: 1012.0,
                    bytes: vec![1, 2, 3],
                },
                Action::Received {
                    id: 1,
                    at: 1020.0,
                    bytes: reply[..5].to_vec(),
                },
                Action::Received {
                    id: 1,
                    at: 1021.0,
                    bytes: reply[5..].to_vec(),
                },
                Action::Closed {
                    id: 1,
                    at: 1022.0,
                    code: 1000,
                    reason: "upstream closed".into(),
                    clean: true,
                },
            ],
        );
        assert_eq!(state.session.timeline.len(), 6);
        assert_eq!(state.session.timeline[4].at_ms, 21.0);
        assert_eq!(
            outcome_line(&state.inbound.messages[0].message),
            "Got result: In the caves beneath the Misty Mountains. 💍"
        );
        assert_eq!(
            state.session_summary().unwrap(),
            "1 reply frame(s) received; close code 1000 \"upstream closed\""
        );
        let exported = transcript_json(&state.session);
        assert!(
            exported.contains(r#"{"at_ms": 20.0, "event": "recv", "offset": 0, "len": 5}"#),
            "{exported}"
        );
    }

    #[test]
    fn an_unreachable_relay_or_target_says_which() {
        let mut state = State::default();
        run(
            &mut state,
            [
                Action::TargetsLoaded(Err("GET /targets failed: TypeError".into())),
                Action::Connecting {
                    id: 2,
                    target: "app".into(),
                    at: 0.0,
                },
                Action::Closed {
                    id: 2,
                    at: 5.0,
                    code: 1006,
                    reason: String::new(),
                    clean: false,
                },
            ],
        );
        assert_eq!(
            state.conn,
            Conn::Failed("relay unreachable: GET /targets failed: TypeError".into())
        );
        run(
            &mut state,
            [
                Action::Connecting {
                    id: 3,
                    target: "down".into(),
                    at: 0.0,
                },
                Action::Opened { id: 3, at: 1.0 },
                Action::Closed {
                    id: 3,
                    at: 5.0,
                    code: 1011,
                    reason: "connection refused: 127.0.0.1:9".into(),
                    clean: true,
                },
            ],
        );
        assert_eq!(
            state.conn.label(),
            "failed: target \"down\" unreachable: connection refused: 127.0.0.1:9"
        );
        // A reset after the request is the server hanging up, not an unreachable target.
        run(
            &mut state,
            [
                Action::Connecting {
                    id: 4,
                    target: "app".into(),
                    at: 0.0,
                },
                Action::Opened { id: 4, at: 1.0 },
                Action::Closed {
                    id: 4,
                    at: 5.0,
                    code: 1011,
                    reason: "connection reset".into(),
                    clean: true,
                },
            ],
        );
        assert_eq!(
            state.session_summary().unwrap(),
            "the server closed the connection without a reply; close code 1011 \"connection reset\""
        );
    }

    #[test]
    fn segments_cut_the_frame() {
        let opts = SendOptions {
            segment: 50,
            delay_ms: 0,
        };
        let segs = opts.segments(&[0; 143]);
        assert_eq!(segs.iter().map(Vec::len).collect::<Vec<_>>(), [50, 50, 43]);
        assert_eq!(SendOptions::default().segments(&[0; 143]).len(), 1);
    }

    #[test]
    fn targets_list_is_read_from_the_relays_json() {
        let list = parse_targets(
            r#"[{"name": "app", "description": "the app server"}, {"name": "echo"}]"#,
        )
        .unwrap();
        assert_eq!(
            list[1],
            TargetInfo {
                name: "echo".into(),
                description: String::new()
            }
        );
        assert!(parse_targets("{}").is_err());
    }
}
