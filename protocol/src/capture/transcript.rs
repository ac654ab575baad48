//! Transcript v2: one session as JSON, with its bytes, that the relay's
//! `--record` writes, the page exports and the page replays.
//!
//! ```text
//! {"version": 2, "started_unix_us": 1795000000000000, "target": "app",
//!  "client": "127.0.0.1:50112", "server": "127.0.0.1:65432",
//!  "events": [{"t_us": 412, "kind": "connect", "connect_us": 96},
//!             {"t_us": 1910, "kind": "sent", "data": "AGR7ImJ5dGVvcmRlciI6..."},
//!             {"t_us": 2533, "kind": "received", "data": "AGV7ImJ5dGVvcmRlciI6..."},
//!             {"t_us": 2601, "kind": "eof"}, {"t_us": 2650, "kind": "close"}],
//!  "observations": [{"t_us": 0, "kind": "observing", "target": "app", "server": true}],
//!  "closed": {"t_us": 2700, "code": 1000, "reason": "target closed the connection"}}
//! ```
//!
//! `events` is the TCP leg between the relay (the client) and the target
//! (the server): each `sent` is one write of the relay, each `received`
//! one read, in the order they happened, with `t_us` counted from
//! `started_unix_us`. `observations` are the session's observation events
//! ([`Observation`]) when it was observed, as the relay sent them (timed
//! from the relay's accept, which `observed_from_us` places on the events'
//! clock); `closed` is the close frame that ended the WebSocket session.

use crate::json::{self, Json, Object};
use crate::relay_api::Observation;

/// Between two elements of the transcript's arrays, as the JSON writer
/// puts it.
pub const JSON_SEPARATOR: &str = ", ";
/// Before the first observation (after [`Transcript::json_after_events`]).
pub const OBSERVATIONS_START: &str = ", \"observations\": [";
/// After the last observation.
pub const OBSERVATIONS_END: &str = "]";

/// The version this crate writes and reads.
pub const VERSION: u32 = 2;

/// One recorded session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// When the session started, microseconds since the Unix epoch.
    pub started_unix_us: u64,
    /// The target's name.
    pub target: String,
    /// The relay's address on the TCP leg (`HOST:PORT`), when known.
    pub client: Option<String>,
    /// The target's address, when known.
    pub server: Option<String>,
    /// What happened on the TCP leg, in order.
    pub events: Vec<Event>,
    /// The observation events of an observed session, timed by the relay
    /// from its accept of the session.
    pub observations: Vec<Observation>,
    /// Where the relay's accept (observation time 0) falls on the events'
    /// clock: 0 when the relay recorded both; the time the page's socket
    /// opened in a page's export (the nearest moment the page can see).
    pub observed_from_us: u64,
    /// How the WebSocket session ended, when it did.
    pub closed: Option<Closed>,
}

/// The end of the WebSocket session: the close frame the browser got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// Microseconds since the session started.
    pub t_us: u64,
    /// The close code (`relay_api::code`).
    pub code: u16,
    /// The close reason text (`relay_api::CloseReason::text`).
    pub reason: String,
    /// The browser asked to close first.
    pub by_browser: bool,
}

/// One thing that happened on the TCP leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Microseconds since the session started.
    pub t_us: u64,
    /// What happened.
    pub kind: EventKind,
    /// For `connect`: how long the handshake took, in microseconds.
    pub connect_us: Option<u64>,
    /// For `sent` and `received`: the bytes (base64 in JSON).
    pub data: Vec<u8>,
    /// For `truncated`: why recording stopped; for `connect_failed`:
    /// [`REFUSED`], [`TIMED_OUT`] or the error.
    pub note: Option<String>,
}

/// The kinds of [`Event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// The relay's `connect()` failed: its `note` is [`REFUSED`] or
    /// [`TIMED_OUT`], `connect_us` how long it tried.
    ConnectFailed,
}

/// The note of a `connect_failed` event whose SYN was answered by a RST.
pub const REFUSED: &str = "refused";
/// The note of a `connect_failed` event whose SYN got no answer in time.
pub const TIMED_OUT: &str = "timed out";

const KINDS: [(EventKind, &str); 9] = [
    (EventKind::Connect, "connect"),
    (EventKind::Sent, "sent"),
    (EventKind::Received, "received"),
    (EventKind::ShutdownWrite, "shutdown_write"),
    (EventKind::Eof, "eof"),
    (EventKind::Reset, "reset"),
    (EventKind::Close, "close"),
    (EventKind::Truncated, "truncated"),
    (EventKind::ConnectFailed, "connect_failed"),
];

impl EventKind {
    /// The kind's name in JSON.
    pub fn name(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, n)| n)
    }
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

    /// The event as JSON: one element of the transcript's `events`.
    pub fn to_json(&self) -> String {
        let mut m = Object::new();
        m.insert("t_us", uint(self.t_us));
        m.insert("kind", self.kind.name());
        if let Some(us) = self.connect_us {
            m.insert("connect_us", uint(us));
        }
        if !self.data.is_empty() {
            m.insert("data", super::base64::encode(&self.data));
        }
        if let Some(note) = &self.note {
            m.insert("note", note.as_str());
        }
        Json::from(m).to_python_json()
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
    Version(u64),
}

fn shape<T>(what: impl Into<String>) -> Result<T, TranscriptError> {
    Err(TranscriptError::Shape(what.into()))
}

fn uint(n: u64) -> Json {
    Json::from_u64(n)
}

fn get_uint(o: &Object, key: &str) -> Result<Option<u64>, TranscriptError> {
    match o.get(key) {
        None => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) => Ok(Some(n)),
            None => shape(format!("`{key}` must be a non-negative integer")),
        },
    }
}

fn need_uint(o: &Object, key: &str) -> Result<u64, TranscriptError> {
    get_uint(o, key)?.map_or_else(|| shape(format!("missing `{key}`")), Ok)
}

fn get_str(o: &Object, key: &str) -> Result<Option<String>, TranscriptError> {
    match o.get(key) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => shape(format!("`{key}` must be a string")),
    }
}

fn object<'a>(value: &'a Json, what: &str) -> Result<&'a Object, TranscriptError> {
    value
        .as_object()
        .map_or_else(|| shape(format!("{what} must be an object")), Ok)
}

fn array<'a>(o: &'a Object, key: &str) -> Result<&'a [Json], TranscriptError> {
    match o.get(key) {
        None => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => shape(format!("`{key}` must be an array")),
    }
}

impl Transcript {
    /// An empty transcript of a session that started at `started_unix_us`.
    pub fn new(target: &str, started_unix_us: u64) -> Transcript {
        Transcript {
            started_unix_us,
            target: target.to_string(),
            client: None,
            server: None,
            events: Vec::new(),
            observations: Vec::new(),
            observed_from_us: 0,
            closed: None,
        }
    }

    /// Whether recording stopped before the session ended.
    pub fn truncated(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.kind == EventKind::Truncated)
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

    /// The transcript as JSON, written by the crate's JSON writer (the
    /// page links it anyway; serde's derive for this shape cost it 10 kB).
    /// Made of the pieces a recording writes as it goes: [`json_head`],
    /// the events' [`Event::to_json`] and the observations' JSON joined by
    /// [`JSON_SEPARATOR`], [`json_after_events`], [`OBSERVATIONS_START`] …
    /// [`OBSERVATIONS_END`] when there are any, and [`json_end`].
    ///
    /// [`json_head`]: Self::json_head
    /// [`json_after_events`]: Self::json_after_events
    /// [`json_end`]: Self::json_end
    pub fn to_json(&self) -> String {
        let mut out = self.json_head();
        for (n, e) in self.events.iter().enumerate() {
            if n > 0 {
                out.push_str(JSON_SEPARATOR);
            }
            out.push_str(&e.to_json());
        }
        out.push_str(&self.json_after_events());
        if !self.observations.is_empty() {
            out.push_str(OBSERVATIONS_START);
            for (n, o) in self.observations.iter().enumerate() {
                if n > 0 {
                    out.push_str(JSON_SEPARATOR);
                }
                out.push_str(&o.to_json_value().to_python_json());
            }
            out.push_str(OBSERVATIONS_END);
        }
        out.push_str(&self.json_end());
        out
    }

    /// The JSON up to the first event: `{"version": 2, …, "events": [`
    /// (of this transcript, only its version, start, target and addresses).
    pub fn json_head(&self) -> String {
        let mut o = Object::new();
        o.insert("version", uint(u64::from(VERSION)));
        o.insert("started_unix_us", uint(self.started_unix_us));
        o.insert("target", self.target.as_str());
        for (key, value) in [("client", &self.client), ("server", &self.server)] {
            if let Some(v) = value {
                o.insert(key, v.as_str());
            }
        }
        o.insert("events", Json::Array(Vec::new()));
        let mut text = Json::from(o).to_python_json();
        text.truncate(text.len() - "]}".len());
        text
    }

    /// What follows the last event: the array's end and `observed_from_us`.
    pub fn json_after_events(&self) -> String {
        let mut out = String::from("]");
        if self.observed_from_us != 0 {
            out.push_str(JSON_SEPARATOR);
            out.push_str(&Json::from("observed_from_us").to_python_json());
            out.push_str(": ");
            out.push_str(&uint(self.observed_from_us).to_python_json());
        }
        out
    }

    /// The end of the JSON: `closed`, if the session closed, and `}`.
    pub fn json_end(&self) -> String {
        let Some(c) = &self.closed else {
            return "}".into();
        };
        let mut m = Object::new();
        m.insert("t_us", uint(c.t_us));
        m.insert("code", uint(u64::from(c.code)));
        m.insert("reason", c.reason.as_str());
        if c.by_browser {
            m.insert("by_browser", true);
        }
        let mut o = Object::new();
        o.insert("closed", m);
        // `{"closed": {…}}` less its `{`, after the members before it.
        let text = Json::from(o).to_python_json();
        format!("{JSON_SEPARATOR}{}", &text[1..])
    }

    /// Reads a transcript written by [`to_json`](Self::to_json) (or by hand).
    pub fn from_json(text: &str) -> Result<Transcript, TranscriptError> {
        let value = json::parse(text).map_err(|e| TranscriptError::Shape(e.to_string()))?;
        let o = object(&value, "a transcript")?;
        let version = need_uint(o, "version")?;
        if version != u64::from(VERSION) {
            return Err(TranscriptError::Version(version));
        }
        let mut t = Transcript::new(
            &get_str(o, "target")?.map_or_else(|| shape("missing `target`"), Ok)?,
            need_uint(o, "started_unix_us")?,
        );
        t.client = get_str(o, "client")?;
        t.server = get_str(o, "server")?;
        for e in array(o, "events")? {
            let e = object(e, "an event")?;
            let name = get_str(e, "kind")?.unwrap_or_default();
            let Some((kind, _)) = KINDS.iter().find(|(_, n)| *n == name) else {
                return shape(format!("unknown event kind {name:?}"));
            };
            let data = match get_str(e, "data")? {
                None => Vec::new(),
                Some(b) => super::base64::decode(&b)
                    .map_or_else(|| shape("`data` is not padded base64"), Ok)?,
            };
            t.events.push(Event {
                t_us: need_uint(e, "t_us")?,
                kind: *kind,
                connect_us: get_uint(e, "connect_us")?,
                data,
                note: get_str(e, "note")?,
            });
        }
        t.observed_from_us = get_uint(o, "observed_from_us")?.unwrap_or(0);
        for obs in array(o, "observations")? {
            let obs = Observation::from_json_value(obs)
                .map_err(|e| TranscriptError::Shape(format!("an observation: {e}")))?;
            t.observations.push(obs);
        }
        if let Some(c) = o.get("closed") {
            let c = object(c, "`closed`")?;
            t.closed = Some(Closed {
                t_us: need_uint(c, "t_us")?,
                code: u16::try_from(need_uint(c, "code")?)
                    .map_or_else(|_| shape("`code` must fit 16 bits"), Ok)?,
                reason: get_str(c, "reason")?.unwrap_or_default(),
                by_browser: matches!(c.get("by_browser"), Some(Json::Bool(true))),
            });
        }
        Ok(t)
    }
}
