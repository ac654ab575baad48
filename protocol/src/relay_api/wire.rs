//! How the page reads an observation: one flat struct of every field any
//! kind has, then a check that the kind's fields are there.
//!
//! serde's derive for the same JSON (an internally tagged enum behind
//! `flatten`) buffers each object into an intermediate tree and compiles
//! every field's parser twice, once for JSON and once for that tree; in the
//! playground's wasm that was about 20 KB of 220. Writing stays the derive
//! (the relay's side, where size does not matter); the two are held
//! together by round-trip tests of every kind.

use serde::Deserialize;

use super::observe::{
    DecoderState, FramerStep, LogLevel, Observation, Observed, Readiness, SocketInfo, TcpState,
};
use crate::decode::{Need, Part};
use crate::framing::{FramePart, Wait};

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Observing,
    Connect,
    Write,
    Read,
    ShutdownWrite,
    Eof,
    Reset,
    Close,
    Socket,
    ServerAccept,
    ServerRecv,
    ServerRequest,
    ServerSend,
    ServerLog,
    ServerSocket,
    ServerClose,
    Lost,
    ServerReady,
    ServerFramer,
}

/// Every field of every kind; which ones a kind needs is [`Observation`]'s
/// `TryFrom`.
#[derive(Deserialize)]
pub(super) struct ObservationWire {
    t_us: u64,
    kind: Kind,
    target: Option<String>,
    server: Option<bool>,
    local: Option<String>,
    peer: Option<String>,
    connect_us: Option<u64>,
    len: Option<u64>,
    sent: Option<u64>,
    count: Option<u32>,
    decoder: Option<DecoderWire>,
    repr: Option<String>,
    level: Option<LogLevel>,
    line: Option<String>,
    state: Option<TcpState>,
    recv_q: Option<u64>,
    send_q: Option<u64>,
    rtt_us: Option<u32>,
    unacked: Option<u32>,
    retransmits: Option<u32>,
    events: Option<u64>,
    iteration: Option<u64>,
    ready: Option<u32>,
    io: Option<Readiness>,
    step: Option<StepKind>,
    have: Option<usize>,
    need: Option<usize>,
    byte: Option<u8>,
    start: Option<u64>,
    frame_len: Option<u64>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum StepKind {
    Cut,
    Failed,
    WaitPrefix,
    WaitPayload,
    WaitDelimiter,
    WaitEof,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DecoderKind {
    Waiting,
    Complete,
    Failed,
}

#[derive(Deserialize)]
pub(super) struct DecoderWire {
    state: DecoderKind,
    part: Option<Part>,
    have: Option<usize>,
    need: Option<usize>,
    error: Option<String>,
}

fn field<T>(value: Option<T>, name: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing field `{name}`"))
}

impl TryFrom<DecoderWire> for DecoderState {
    type Error = String;

    fn try_from(w: DecoderWire) -> Result<Self, String> {
        Ok(match w.state {
            DecoderKind::Waiting => DecoderState::Waiting(Need {
                part: field(w.part, "part")?,
                have: field(w.have, "have")?,
                need: field(w.need, "need")?,
            }),
            DecoderKind::Complete => DecoderState::Complete,
            DecoderKind::Failed => DecoderState::Failed {
                error: field(w.error, "error")?,
            },
        })
    }
}

impl ObservationWire {
    fn socket(&mut self) -> Result<SocketInfo, String> {
        Ok(SocketInfo {
            state: field(self.state, "state")?,
            recv_q: field(self.recv_q, "recv_q")?,
            send_q: field(self.send_q, "send_q")?,
            rtt_us: self.rtt_us,
            unacked: self.unacked,
            retransmits: self.retransmits,
        })
    }
}

impl ObservationWire {
    fn framer_step(&mut self) -> Result<FramerStep, String> {
        let bytes = |part| -> Result<FramerStep, String> {
            Ok(FramerStep::Waiting(Wait::Bytes {
                part,
                have: field(self.have, "have")?,
                need: field(self.need, "need")?,
            }))
        };
        Ok(match field(self.step.take(), "step")? {
            StepKind::WaitPrefix => bytes(FramePart::Prefix)?,
            StepKind::WaitPayload => bytes(FramePart::Payload)?,
            StepKind::WaitDelimiter => FramerStep::Waiting(Wait::Delimiter {
                byte: field(self.byte, "byte")?,
                have: field(self.have, "have")?,
            }),
            StepKind::WaitEof => FramerStep::Waiting(Wait::Eof {
                have: field(self.have, "have")?,
            }),
            StepKind::Cut => FramerStep::Cut {
                start: field(self.start, "start")?,
                frame_len: field(self.frame_len, "frame_len")?,
                len: field(self.len, "len")?,
            },
            StepKind::Failed => FramerStep::Failed {
                error: field(self.error.take(), "error")?,
            },
        })
    }
}

impl TryFrom<ObservationWire> for Observation {
    type Error = String;

    fn try_from(mut w: ObservationWire) -> Result<Self, String> {
        let count = w.count.unwrap_or(1);
        let event = match w.kind {
            Kind::Observing => Observed::Observing {
                target: field(w.target, "target")?,
                server: field(w.server, "server")?,
            },
            Kind::Connect => Observed::Connect {
                local: field(w.local, "local")?,
                peer: field(w.peer, "peer")?,
                connect_us: field(w.connect_us, "connect_us")?,
            },
            Kind::Write => Observed::Write {
                len: field(w.len, "len")?,
                sent: field(w.sent, "sent")?,
                count,
            },
            Kind::Read => Observed::Read {
                len: field(w.len, "len")?,
                count,
            },
            Kind::ShutdownWrite => Observed::ShutdownWrite,
            Kind::Eof => Observed::Eof,
            Kind::Reset => Observed::Reset,
            Kind::Close => Observed::Close,
            Kind::Socket => Observed::Socket(w.socket()?),
            Kind::ServerAccept => Observed::ServerAccept {
                local: field(w.local, "local")?,
                peer: field(w.peer, "peer")?,
            },
            Kind::ServerRecv => Observed::ServerRecv {
                len: field(w.len, "len")?,
                count,
                decoder: w.decoder.map(DecoderState::try_from).transpose()?,
            },
            Kind::ServerRequest => Observed::ServerRequest {
                repr: field(w.repr, "repr")?,
            },
            Kind::ServerSend => Observed::ServerSend {
                len: field(w.len, "len")?,
                sent: field(w.sent, "sent")?,
                count,
            },
            Kind::ServerLog => Observed::ServerLog {
                level: field(w.level, "level")?,
                line: field(w.line, "line")?,
            },
            Kind::ServerSocket => Observed::ServerSocket(w.socket()?),
            Kind::ServerClose => Observed::ServerClose,
            Kind::Lost => Observed::Lost {
                events: field(w.events, "events")?,
            },
            Kind::ServerReady => Observed::ServerReady {
                iteration: field(w.iteration, "iteration")?,
                ready: field(w.ready, "ready")?,
                io: field(w.io, "io")?,
            },
            Kind::ServerFramer => Observed::ServerFramer(w.framer_step()?),
        };
        Ok(Observation {
            t_us: w.t_us,
            event,
        })
    }
}
