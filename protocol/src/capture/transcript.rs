//! Transcript v2: one session as JSON, with its bytes, that the relay's
//! `--record` writes, the page exports and the page replays.
//!
//! ```text
//! {"version":2,"started_unix_us":1795000000000000,"target":"app",
//!  "client":"127.0.0.1:50112","server":"127.0.0.1:65432",
//!  "events":[{"t_us":412,"kind":"connect","connect_us":96},
//!            {"t_us":1910,"kind":"sent","data":"AGR7ImJ5dGVvcmRlciI6..."},
//!            {"t_us":2533,"kind":"received","data":"AGV7ImJ5dGVvcmRlciI6..."},
//!            {"t_us":2601,"kind":"eof"},{"t_us":2650,"kind":"close"}],
//!  "observations":[{"t_us":0,"kind":"observing","target":"app","server":true}],
//!  "closed":{"t_us":2700,"code":1000,"reason":"target closed the connection"}}
//! ```
//!
//! `events` is the TCP leg between the relay (the client) and the target
//! (the server): each `sent` is one write of the relay, each `received`
//! one read, in the order they happened, with `t_us` counted from
//! `started_unix_us`. `observations` are the session's observation events
//! ([`Observation`]) when it was observed, as the relay sent them; `closed`
//! is the close frame that ended the WebSocket session.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::relay_api::Observation;

/// The version this crate writes and reads.
pub const VERSION: u32 = 2;

/// One recorded session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// Always [`VERSION`]; other versions are refused when read.
    pub version: u32,
    /// When the session started, microseconds since the Unix epoch.
    pub started_unix_us: u64,
    /// The target's name.
    pub target: String,
    /// The relay's address on the TCP leg (`HOST:PORT`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The target's address, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// What happened on the TCP leg, in order.
    pub events: Vec<Event>,
    /// The observation events of an observed session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observations: Vec<Observation>,
    /// How the WebSocket session ended, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
}

/// The end of the WebSocket session: the close frame the browser got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// Microseconds since the session started.
    pub t_us: u64,
    /// The close code (`relay_api::code`).
    pub code: u16,
    /// The close reason text (`relay_api::CloseReason::text`).
    #[serde(default)]
    pub reason: String,
    /// The browser asked to close first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_browser: bool,
}

/// One thing that happened on the TCP leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Microseconds since the session started.
    pub t_us: u64,
    /// What happened.
    pub kind: EventKind,
    /// For `connect`: how long the handshake took, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_us: Option<u64>,
    /// For `sent` and `received`: the bytes (base64 in JSON).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "to_base64",
        deserialize_with = "from_base64"
    )]
    pub data: Vec<u8>,
    /// For `truncated`: why recording stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The relay's `connect()` completed (the three-way handshake).
    Connect,
    /// One write of the relay to the target.
    Sent,
    /// One read of the relay from the target.
    Received,
    /// The relay shut down its sending side: a FIN to the target.
    ShutdownWrite,
    /// The target's FIN: the relay read end of stream.
    Eof,
    /// The target reset the connection.
    Reset,
    /// The relay closed its socket.
    Close,
    /// Recording stopped here (a size cap); the session went on.
    Truncated,
}

impl Event {
    /// An event without bytes.
    pub fn new(t_us: u64, kind: EventKind) -> Event {
        Event {
            t_us,
            kind,
            connect_us: None,
            data: Vec::new(),
            note: None,
        }
    }

    /// A `sent` or `received` event with its bytes.
    pub fn bytes(t_us: u64, kind: EventKind, data: &[u8]) -> Event {
        Event {
            data: data.to_vec(),
            ..Event::new(t_us, kind)
        }
    }
}

/// Why a transcript could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// Not JSON, or not a transcript's shape.
    #[error("not a wirelab transcript: {0}")]
    Shape(String),
    /// A transcript of another version.
    #[error("transcript version {0}; this wirelab reads version {VERSION}")]
    Version(u32),
}

impl Transcript {
    /// An empty transcript of a session that started at `started_unix_us`.
    pub fn new(target: &str, started_unix_us: u64) -> Transcript {
        Transcript {
            version: VERSION,
            started_unix_us,
            target: target.to_string(),
            client: None,
            server: None,
            events: Vec::new(),
            observations: Vec::new(),
            closed: None,
        }
    }

    /// Whether recording stopped before the session ended.
    pub fn truncated(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.kind == EventKind::Truncated)
    }

    /// Checks the version of a transcript read with serde; the page and
    /// the tests read JSON with their own `serde_json`, which this crate
    /// does not link.
    pub fn checked(self) -> Result<Transcript, TranscriptError> {
        if self.version == VERSION {
            Ok(self)
        } else {
            Err(TranscriptError::Version(self.version))
        }
    }

    /// The bytes one way, concatenated: `sent` (`true`) or `received`.
    pub fn stream(&self, sent: bool) -> Vec<u8> {
        let kind = if sent {
            EventKind::Sent
        } else {
            EventKind::Received
        };
        self.events
            .iter()
            .filter(|e| e.kind == kind)
            .flat_map(|e| e.data.iter().copied())
            .collect()
    }
}

fn to_base64<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&super::base64::encode(data))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    super::base64::decode(&text)
        .ok_or_else(|| serde::de::Error::custom("`data` is not padded base64"))
}
