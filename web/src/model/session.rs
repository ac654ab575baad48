//! One WebSocket session through the relay: the connection's state, the
//! timeline of what happened (transcript, sequence diagram, export), and the
//! socket events that write it.

use protocol::json::{self, Json};
use protocol::relay_api::CloseReason;

use protocol::relay_api::Observation;

use super::inbound::Chunk;
use super::send::{FloodEnd, FloodProgress};

/// The WebSocket's state, always on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Conn {
    Idle,
    Connecting,
    Open,
    /// Close was clicked: the relay is closing the TCP connection and
    /// reporting what the sockets do, and the close frame is on its way.
    Closing,
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
            Conn::Closing => "closing…".into(),
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
    /// A flood ended: `len` bytes in `messages` messages from `offset` on.
    Flood {
        offset: usize,
        len: usize,
        messages: usize,
        end: FloodEnd,
    },
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
            TimelineKind::Flood {
                offset,
                len,
                messages,
                end,
            } => {
                let why = match end {
                    FloodEnd::AtLimit => "stopped at the limit",
                    FloodEnd::Stopped => "stopped by you",
                    FloodEnd::SocketClosed => "the socket closed",
                    FloodEnd::Running => "still running",
                };
                format!(
                    "flooded {len} bytes in {messages} messages (bytes {offset}..{}); {why}",
                    offset + len
                )
            }
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
            TimelineKind::Flood {
                offset,
                len,
                messages,
                ..
            } => (
                "flood",
                vec![
                    ("offset", (*offset as i64).into()),
                    ("len", (*len as i64).into()),
                    ("messages", (*messages as i64).into()),
                ],
            ),
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
    /// What the browser sent, message by message (a flood's are not kept).
    pub sent_chunks: Vec<Chunk>,
    pub chunks: Vec<Chunk>,
    pub opened: bool,
    /// The latest flood's progress, if this session flooded.
    pub flood: Option<FloodProgress>,
    /// Segments of started sends not yet handed to the socket. Signed:
    /// a segment's `Sent` may be reported before its send's start is.
    pub segments_due: i64,
}

/// `Eq` (its times are never NaN) so that `Rc<Session>` compares by
/// pointer first: an unchanged session compared field by field on every
/// render is its whole timeline and every chunk (issue 20.5).
impl Eq for Session {}

impl TimelineKind {
    /// The relay's close, read back into the reason it wrote.
    pub fn close_reason(&self) -> Option<CloseReason> {
        match self {
            TimelineKind::Close {
                by: Party::Relay,
                code,
                reason,
            } => Some(CloseReason::parse(*code, reason)),
            _ => None,
        }
    }
}

impl Session {
    /// Adds an event that happened at `at` (page clock, ms).
    pub fn push(&mut self, at: f64, kind: TimelineKind) {
        self.timeline.push(TimelineEvent {
            at_ms: at - self.started_at,
            kind,
        });
    }

    /// True while a send is still going out, segment by segment: another
    /// send now would interleave its bytes with this one's on the stream.
    pub fn sending(&self) -> bool {
        self.segments_due > 0
    }

    /// Whether the browser asked to close before the socket closed.
    pub fn closed_by_browser(&self) -> bool {
        self.timeline.iter().any(|e| {
            matches!(
                e.kind,
                TimelineKind::Close {
                    by: Party::Browser,
                    ..
                }
            )
        })
    }
}

/// What the socket hook reports. Every event carries its socket's session
/// id, so a previous socket's late events are told apart and ignored.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionAction {
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
    /// One binary message went out (the bytes, for the transcript).
    Sent {
        id: u32,
        at: f64,
        bytes: Vec<u8>,
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
    /// A text message: what the relay observed at the sockets.
    Observed {
        id: u32,
        at: f64,
        observation: Observation,
    },
    /// A text message that is no observation this page can read.
    Unreadable {
        id: u32,
        error: String,
    },
    Flood {
        id: u32,
        at: f64,
        progress: FloodProgress,
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
    /// Received bytes and observations that arrived within one flush of
    /// the socket hook, in order: folded in by one reduce and drawn by one
    /// render (a 16 MiB echo is some 50,000 of them).
    Batch(Vec<SessionAction>),
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

impl SessionAction {
    /// The socket this event is about.
    pub fn id(&self) -> u32 {
        match self {
            SessionAction::Connecting { id, .. }
            | SessionAction::Opened { id, .. }
            | SessionAction::Sent { id, .. }
            | SessionAction::Received { id, .. }
            | SessionAction::HalfClosed { id, .. }
            | SessionAction::Observed { id, .. }
            | SessionAction::Unreadable { id, .. }
            | SessionAction::Flood { id, .. }
            | SessionAction::Closing { id, .. }
            | SessionAction::Closed { id, .. } => *id,
            SessionAction::Batch(actions) => actions.last().map_or(0, SessionAction::id),
        }
    }
}
