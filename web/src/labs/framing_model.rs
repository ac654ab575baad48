//! The framing lab as plain data: the payload and send options, and per
//! strategy what was sent, where the server cut, what it waits for and what
//! came back. Every sentence the lab shows is made here from those facts, so
//! the tests can check the words against the bytes.

use std::rc::Rc;

use protocol::framing::{Encoded, Framing, Strategy, Wait};
use protocol::python::python_bytes_repr;
use protocol::relay_api::{FramerStep, Observed};
use yew::Reducible;

use crate::model::{SendOptions, SessionAction};

/// The payload the lab starts with.
pub const DEFAULT_PAYLOAD: &str = "Hello, world";

/// A payload that shows one strategy's failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The button's element id and its label.
    pub id: &'static str,
    pub label: &'static str,
    pub payload: &'static str,
}

/// The presets, in the order the buttons show them.
pub const PRESETS: [Preset; 4] = [
    Preset {
        id: "preset-hello",
        label: "Hello, world",
        payload: DEFAULT_PAYLOAD,
    },
    Preset {
        id: "preset-newline",
        label: "A newline inside",
        payload: "two\nlines",
    },
    Preset {
        id: "preset-too-long",
        label: "Longer than the fixed length",
        payload: "Hello, world, and more",
    },
    Preset {
        id: "preset-no-fin",
        label: "No reply before the FIN",
        payload: "are you there?",
    },
];

/// One socket's state, as the page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conn {
    Idle,
    Connecting,
    Open,
    /// The browser sent its half-close.
    HalfClosed,
    Closed {
        code: u16,
    },
}

/// A message the server cut, from its observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub start: u64,
    pub frame_len: u64,
    pub len: u64,
}

/// One strategy's column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub strategy: Strategy,
    pub framing: Framing,
    /// The socket this column listens to.
    pub session: Option<u32>,
    pub conn: Conn,
    /// What the last send framed, or why it could not.
    pub sent: Option<Result<Encoded, String>>,
    /// Bytes handed to the WebSocket so far.
    pub written: usize,
    pub received: Vec<u8>,
    pub cuts: Vec<Cut>,
    /// What the server's framer said it waits for, last.
    pub waiting: Option<Wait>,
    pub failed: Option<String>,
    /// The server's `recv()` returned b'' (the browser's FIN reached it).
    pub server_eof: bool,
    pub server_closed: bool,
}

impl Column {
    fn new(strategy: Strategy) -> Column {
        Column {
            strategy,
            framing: Framing::default_for(strategy),
            session: None,
            conn: Conn::Idle,
            sent: None,
            written: 0,
            received: Vec::new(),
            cuts: Vec::new(),
            waiting: None,
            failed: None,
            server_eof: false,
            server_closed: false,
        }
    }

    /// The bytes sent, once the send was framed.
    pub fn sent_bytes(&self) -> &[u8] {
        match &self.sent {
            Some(Ok(encoded)) => &encoded.bytes,
            _ => &[],
        }
    }

    /// How this column cuts, in one line.
    pub fn rule(&self) -> String {
        match self.framing {
            Framing::Fixed { len } => format!("every {len} bytes is a message"),
            Framing::Delimited { byte } => {
                format!("a message ends at each {}", python_bytes_repr(&[byte]))
            }
            Framing::LengthPrefixed => "2 big-endian bytes give each message's length".into(),
            Framing::UntilEof => "the message ends at the sender's FIN".into(),
        }
    }

    /// The server's cut `cut` as the bytes of its message, taken from what
    /// was sent (the relay writes the bytes unchanged, one stream per socket).
    pub fn cut_message(&self, cut: &Cut) -> Option<&[u8]> {
        let offset = self
            .strategy
            .payload_offset(cut.frame_len as usize, cut.len as usize);
        let start = usize::try_from(cut.start).ok()? + offset;
        self.sent_bytes().get(start..start + cut.len as usize)
    }

    /// What the server waits for, in words.
    pub fn waits_for(&self) -> String {
        if let Some(error) = &self.failed {
            return error.clone();
        }
        if self.server_closed {
            return "nothing: it closed the connection".into();
        }
        match self.waiting {
            Some(wait) => wait.to_string(),
            None => "not connected yet".into(),
        }
    }

    /// What this column teaches about the bytes on screen, sentence by sentence.
    pub fn explain(&self, payload_len: usize) -> Vec<String> {
        let mut out = Vec::new();
        let Some(sent) = &self.sent else {
            return out;
        };
        let encoded = match sent {
            Ok(encoded) => encoded,
            Err(why) => {
                out.push(why.clone());
                return out;
            }
        };
        match self.framing {
            Framing::Fixed { len } => {
                if encoded.beyond > 0 {
                    let beyond = encoded.beyond;
                    out.push(format!(
                        "The payload is {payload_len} bytes, longer than the fixed {len}: the browser sent all {payload_len}. The server cuts every {len} bytes, so the last {beyond} are to it the start of a second message."
                    ));
                    // Said once the server reports it holds them.
                    if let Some(Wait::Bytes { have, need, .. }) =
                        self.waiting.filter(|_| !self.cuts.is_empty())
                    {
                        if have > 0 {
                            out.push(format!(
                                "It holds {have} of that message's {need} bytes and waits for the other {}: nothing is dropped, and nothing comes back for them until more bytes arrive.",
                                need - have
                            ));
                        }
                    }
                }
                if encoded.padding > 0 {
                    out.push(format!(
                        "The payload is {payload_len} bytes: the browser padded it with {} zero bytes to {len}. The server cannot tell padding from data.",
                        encoded.padding
                    ));
                }
            }
            Framing::Delimited { byte } => {
                let inside = encoded.delimiters_inside;
                if inside > 0 {
                    let delimiter = python_bytes_repr(&[byte]);
                    out.push(format!(
                        "The payload holds {inside} {delimiter} byte(s), sent as they are: the server cuts at each, so one payload makes {} messages. It reported {} cut(s).",
                        inside + 1,
                        self.cuts.len()
                    ));
                }
            }
            // Any payload byte is fine after a length prefix: nothing to warn about.
            Framing::LengthPrefixed => {}
            Framing::UntilEof => {
                let all = encoded.bytes.len();
                if self.server_eof {
                    out.push(
                        "The browser half-closed: the server's recv() returned b'', the message ended there; it answered, then closed.".into(),
                    );
                } else if self.waiting == Some(Wait::Eof { have: all }) {
                    out.push(format!(
                        "The server holds all {all} bytes but cannot know the message is complete: it waits for the FIN. Half-close to send it."
                    ));
                }
            }
        }
        out
    }
}

/// The lab's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Lab {
    pub payload: String,
    pub send: SendOptions,
    pub columns: Vec<Column>,
}

impl Default for Lab {
    fn default() -> Self {
        Lab {
            payload: DEFAULT_PAYLOAD.into(),
            send: SendOptions {
                segment: 4,
                delay_ms: 200,
                max_message_size: None,
            },
            columns: Strategy::ALL.into_iter().map(Column::new).collect(),
        }
    }
}

/// Everything that changes the lab.
#[derive(Debug, Clone, PartialEq)]
pub enum LabAction {
    SetPayload(String),
    SetSegment(usize),
    SetDelay(u32),
    /// A new send on `column`: forget the last one.
    Sending {
        column: usize,
        sent: Result<Encoded, String>,
    },
    /// What `column`'s socket reported.
    Session {
        column: usize,
        action: SessionAction,
    },
}

impl Reducible for Lab {
    type Action = LabAction;

    fn reduce(self: Rc<Self>, action: LabAction) -> Rc<Self> {
        let mut lab = Rc::unwrap_or_clone(self);
        lab.apply(action);
        Rc::new(lab)
    }
}

impl Lab {
    /// One action, in place.
    pub fn apply(&mut self, action: LabAction) {
        match action {
            LabAction::SetPayload(payload) => self.payload = payload,
            LabAction::SetSegment(n) => self.send.segment = n,
            LabAction::SetDelay(ms) => self.send.delay_ms = ms,
            LabAction::Sending { column, sent } => {
                if let Some(col) = self.columns.get_mut(column) {
                    *col = Column {
                        sent: Some(sent),
                        ..Column::new(col.strategy)
                    };
                }
            }
            LabAction::Session { column, action } => {
                if let Some(col) = self.columns.get_mut(column) {
                    col.apply(action);
                }
            }
        }
    }
}

impl Column {
    fn apply(&mut self, action: SessionAction) {
        if let SessionAction::Batch(actions) = action {
            actions.into_iter().for_each(|a| self.apply(a));
            return;
        }
        if let SessionAction::Connecting { id, .. } = action {
            self.session = Some(id);
            self.conn = Conn::Connecting;
            return;
        }
        if self.session != Some(action.id()) {
            return;
        }
        match action {
            SessionAction::Opened { .. } => self.conn = Conn::Open,
            SessionAction::Sent { bytes, .. } => self.written += bytes.len(),
            SessionAction::Received { bytes, .. } => self.received.extend_from_slice(&bytes),
            SessionAction::HalfClosed { .. } => self.conn = Conn::HalfClosed,
            SessionAction::Closed { code, .. } => self.conn = Conn::Closed { code },
            SessionAction::Observed { observation, .. } => match observation.event {
                Observed::ServerFramer(step) => match step {
                    FramerStep::Cut {
                        start,
                        frame_len,
                        len,
                    } => self.cuts.push(Cut {
                        start,
                        frame_len,
                        len,
                    }),
                    FramerStep::Waiting(wait) => self.waiting = Some(wait),
                    FramerStep::Failed { error } => self.failed = Some(error),
                },
                Observed::ServerRecv { len, .. } => self.server_eof |= len == 0,
                Observed::ServerClose => self.server_closed = true,
                // The lab shows the framer's cuts and how the server's side
                // ended; every other kind is named so a new one is placed.
                Observed::Observing { .. }
                | Observed::Connect { .. }
                | Observed::Write { .. }
                | Observed::Read { .. }
                | Observed::ShutdownWrite
                | Observed::Eof
                | Observed::Reset
                | Observed::Close
                | Observed::ServerPending { .. }
                | Observed::ServerShutdown { .. }
                | Observed::Socket(_)
                | Observed::ServerAccept { .. }
                | Observed::ServerRequest { .. }
                | Observed::ServerSend { .. }
                | Observed::ServerLog { .. }
                | Observed::ServerSocket(_)
                | Observed::Lost { .. }
                | Observed::ServerReady { .. }
                | Observed::Capture { .. } => {}
            },
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::relay_api::Observation;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn observed(column: usize, event: Observed) -> LabAction {
        LabAction::Session {
            column,
            action: SessionAction::Observed {
                id: 1,
                at: 0.0,
                observation: Observation::new(0, event),
            },
        }
    }

    fn sent(lab: &mut Lab, column: usize, payload: &[u8]) {
        let framing = lab.columns[column].framing;
        lab.apply(LabAction::Sending {
            column,
            sent: framing.encode(payload).map_err(|e| e.to_string()),
        });
        lab.apply(LabAction::Session {
            column,
            action: SessionAction::Connecting {
                id: 1,
                target: framing.strategy().name().into(),
                at: 0.0,
            },
        });
    }

    fn cut(column: usize, start: u64, frame_len: u64, len: u64) -> LabAction {
        observed(
            column,
            Observed::ServerFramer(FramerStep::Cut {
                start,
                frame_len,
                len,
            }),
        )
    }

    #[test]
    fn a_newline_inside_is_explained_by_the_cuts_the_server_reported() {
        let mut lab = Lab::default();
        sent(&mut lab, 1, b"two\nlines");
        let col = &lab.columns[1];
        assert_eq!(
            col.explain(9),
            ["The payload holds 1 b'\\n' byte(s), sent as they are: the server cuts at each, so one payload makes 2 messages. It reported 0 cut(s)."]
        );
        lab.apply(cut(1, 0, 4, 3));
        lab.apply(cut(1, 4, 6, 5));
        let col = &lab.columns[1];
        assert_eq!(
            col.explain(9),
            ["The payload holds 1 b'\\n' byte(s), sent as they are: the server cuts at each, so one payload makes 2 messages. It reported 2 cut(s)."]
        );
        let messages: Vec<&[u8]> = col.cuts.iter().filter_map(|c| col.cut_message(c)).collect();
        assert_eq!(messages, [&b"two"[..], b"lines"]);
    }

    #[test]
    fn a_long_payload_is_sent_whole_and_the_server_waits_for_the_rest_of_its_second_message() {
        let mut lab = Lab::default();
        sent(&mut lab, 0, b"Hello, world, and more");
        assert_eq!(lab.columns[0].sent_bytes(), b"Hello, world, and more");
        assert_eq!(
            lab.columns[0].explain(22),
            ["The payload is 22 bytes, longer than the fixed 16: the browser sent all 22. The server cuts every 16 bytes, so the last 6 are to it the start of a second message."]
        );
        lab.apply(cut(0, 0, 16, 16));
        lab.apply(observed(
            0,
            Observed::ServerFramer(FramerStep::Waiting(Wait::Bytes {
                part: protocol::framing::FramePart::Payload,
                have: 6,
                need: 16,
            })),
        ));
        let col = &lab.columns[0];
        assert_eq!(
            col.explain(22)[1],
            "It holds 6 of that message's 16 bytes and waits for the other 10: nothing is dropped, and nothing comes back for them until more bytes arrive."
        );
        assert_eq!(col.waits_for(), "message: 6 of 16 bytes");
    }

    #[test]
    fn the_until_eof_column_says_it_waits_for_the_fin_only_once_the_server_holds_everything() {
        let mut lab = Lab::default();
        sent(&mut lab, 3, b"are you there?");
        let waiting = |have| {
            observed(
                3,
                Observed::ServerFramer(FramerStep::Waiting(Wait::Eof { have })),
            )
        };
        lab.apply(waiting(8));
        assert!(lab.columns[3].explain(14).is_empty());
        lab.apply(waiting(14));
        assert_eq!(
            lab.columns[3].explain(14),
            ["The server holds all 14 bytes but cannot know the message is complete: it waits for the FIN. Half-close to send it."]
        );
        assert_eq!(
            lab.columns[3].waits_for(),
            "the sender's FIN (shutdown SHUT_WR): 14 bytes so far"
        );
        lab.apply(observed(
            3,
            Observed::ServerRecv {
                len: 0,
                count: 1,
                decoder: None,
                asked: None,
                blocked_us: None,
                error: None,
                data: None,
            },
        ));
        assert!(lab.columns[3].explain(14)[0].starts_with("The browser half-closed"));
    }

    #[test]
    fn a_previous_sockets_late_events_are_ignored() {
        let mut lab = Lab::default();
        sent(&mut lab, 2, b"x");
        lab.apply(LabAction::Session {
            column: 2,
            action: SessionAction::Received {
                id: 7,
                at: 0.0,
                bytes: b"old".to_vec(),
            },
        });
        assert!(lab.columns[2].received.is_empty());
    }
}
