//! The contract's JSON, read and written with the crate's own JSON
//! ([`crate::json`]) rather than serde: the page links one JSON parser, not
//! two, and serde's derives for these shapes (a tagged enum behind
//! `flatten`) cost the playground's wasm tens of kilobytes.
//!
//! The relay writes compactly (no spaces), fields in declaration order,
//! optional ones only when present and a `count` only when not 1. The
//! reader takes the known keys of a flat object, ignores any others, and
//! checks that the kind's fields are there. Enum names come from
//! [`super::names`], one table each for both directions.

use super::names::{
    name_of, value_of, DecoderKind, Kind, Step, DECODER_KINDS, KINDS, LOG_LEVELS, PARTS,
    PENDING_CALLS, READINESS, SHUTDOWN_HOWS, STEPS, TCP_STATES,
};
use super::observe::{DecoderState, FramerStep, Observation, Observed, SocketInfo};
use super::{Limits, ProgramInfo, TargetInfo};
use crate::base64;
use crate::decode::Need;
use crate::framing::{FramePart, Wait};
use crate::json::{self, Json, JsonError, Object};

/// Why a relay message or body could not be read as its contract type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The text is not JSON at all.
    #[error("not JSON: {0}")]
    Json(#[from] JsonError),
    /// The value is JSON of another shape.
    #[error("{0} must be a JSON {1}")]
    Shape(&'static str, &'static str),
    /// A field the type (or this kind) needs is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field holds a value of another type or range.
    #[error("field `{0}` must be {1}")]
    Type(&'static str, &'static str),
    /// A name that is not in the enum's table.
    #[error("unknown {0} {1:?}")]
    Unknown(&'static str, String),
}

/// The known keys of one JSON object, read by type.
struct Fields<'a>(&'a Object);

impl<'a> Fields<'a> {
    fn of(value: &'a Json, what: &'static str) -> Result<Self, WireError> {
        value
            .as_object()
            .map(Fields)
            .ok_or(WireError::Shape(what, "object"))
    }

    /// The value of `key`; `null` counts as absent, as it does for an
    /// optional field anywhere in the contract.
    fn get(&self, key: &str) -> Option<&'a Json> {
        self.0.get(key).filter(|v| **v != Json::Null)
    }

    fn opt_int<T: TryFrom<u64>>(&self, key: &'static str) -> Result<Option<T>, WireError> {
        self.get(key)
            .map(|v| {
                v.as_u64()
                    .and_then(|n| T::try_from(n).ok())
                    .ok_or(WireError::Type(key, "a non-negative integer in range"))
            })
            .transpose()
    }

    fn int<T: TryFrom<u64>>(&self, key: &'static str) -> Result<T, WireError> {
        self.opt_int(key)?.ok_or(WireError::Missing(key))
    }

    fn opt_string(&self, key: &'static str) -> Result<Option<String>, WireError> {
        self.get(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(WireError::Type(key, "a string"))
            })
            .transpose()
    }

    fn string(&self, key: &'static str) -> Result<String, WireError> {
        self.opt_string(key)?.ok_or(WireError::Missing(key))
    }

    fn opt_bytes(&self, key: &'static str) -> Result<Option<Vec<u8>>, WireError> {
        self.opt_string(key)?
            .map(|text| base64::decode(&text).ok_or(WireError::Type(key, "padded base64")))
            .transpose()
    }

    fn bool(&self, key: &'static str) -> Result<bool, WireError> {
        match self.get(key) {
            None => Err(WireError::Missing(key)),
            Some(Json::Bool(b)) => Ok(*b),
            Some(_) => Err(WireError::Type(key, "true or false")),
        }
    }

    fn named<T: Copy>(
        &self,
        key: &'static str,
        table: &[(T, &'static str)],
    ) -> Result<T, WireError> {
        let name = self.string(key)?;
        value_of(table, &name).ok_or(WireError::Unknown(key, name))
    }

    fn socket(&self) -> Result<SocketInfo, WireError> {
        Ok(SocketInfo {
            state: self.named("state", &TCP_STATES)?,
            recv_q: self.int("recv_q")?,
            send_q: self.int("send_q")?,
            rtt_us: self.opt_int("rtt_us")?,
            unacked: self.opt_int("unacked")?,
            retransmits: self.opt_int("retransmits")?,
        })
    }

    fn framer_step(&self) -> Result<FramerStep, WireError> {
        let bytes = |part| -> Result<FramerStep, WireError> {
            Ok(FramerStep::Waiting(Wait::Bytes {
                part,
                have: self.int("have")?,
                need: self.int("need")?,
            }))
        };
        Ok(match self.named("step", &STEPS)? {
            Step::WaitPrefix => bytes(FramePart::Prefix)?,
            Step::WaitPayload => bytes(FramePart::Payload)?,
            Step::WaitDelimiter => FramerStep::Waiting(Wait::Delimiter {
                byte: self.int("byte")?,
                have: self.int("have")?,
            }),
            Step::WaitEof => FramerStep::Waiting(Wait::Eof {
                have: self.int("have")?,
            }),
            Step::Cut => FramerStep::Cut {
                start: self.int("start")?,
                frame_len: self.int("frame_len")?,
                len: self.int("len")?,
            },
            Step::Failed => FramerStep::Failed {
                error: self.string("error")?,
            },
        })
    }

    fn decoder(&self) -> Result<DecoderState, WireError> {
        Ok(match self.named("state", &DECODER_KINDS)? {
            DecoderKind::Waiting => DecoderState::Waiting(Need {
                part: self.named("part", &PARTS)?,
                have: self.int("have")?,
                need: self.int("need")?,
            }),
            DecoderKind::Complete => match self.opt_int::<u64>("next")? {
                Some(next) if next > 0 => DecoderState::CompleteWithNext { next },
                _ => DecoderState::Complete,
            },
            DecoderKind::Failed => DecoderState::Failed {
                error: self.string("error")?,
            },
        })
    }
}

impl Observation {
    /// Reads one observation message as the relay sends it.
    pub fn from_json(text: &str) -> Result<Observation, WireError> {
        Observation::from_json_value(&json::parse(text)?)
    }

    /// Reads an observation already parsed (as a transcript holds it).
    pub fn from_json_value(value: &Json) -> Result<Observation, WireError> {
        let f = Fields::of(value, "an observation")?;
        let count = || -> Result<u32, WireError> { Ok(f.opt_int("count")?.unwrap_or(1)) };
        let event = match f.named("kind", &KINDS)? {
            Kind::Observing => Observed::Observing {
                target: f.string("target")?,
                server: f.bool("server")?,
            },
            Kind::Connect => Observed::Connect {
                local: f.string("local")?,
                peer: f.string("peer")?,
                connect_us: f.int("connect_us")?,
            },
            Kind::Write => Observed::Write {
                len: f.int("len")?,
                sent: f.int("sent")?,
                count: count()?,
            },
            Kind::Read => Observed::Read {
                len: f.int("len")?,
                count: count()?,
            },
            Kind::ShutdownWrite => Observed::ShutdownWrite,
            Kind::Eof => Observed::Eof,
            Kind::Reset => Observed::Reset,
            Kind::Close => Observed::Close,
            Kind::Socket => Observed::Socket(f.socket()?),
            Kind::ServerAccept => Observed::ServerAccept {
                local: f.string("local")?,
                peer: f.string("peer")?,
            },
            Kind::ServerRecv => Observed::ServerRecv {
                len: f.int("len")?,
                count: count()?,
                decoder: match f.get("decoder") {
                    None => None,
                    Some(d) => Some(Fields::of(d, "`decoder`")?.decoder()?),
                },
                asked: f.opt_int("asked")?,
                blocked_us: f.opt_int("blocked_us")?,
                error: f.opt_string("error")?,
                data: f.opt_bytes("data")?,
            },
            Kind::ServerRequest => Observed::ServerRequest {
                repr: f.string("repr")?,
            },
            Kind::ServerSend => Observed::ServerSend {
                len: f.int("len")?,
                sent: f.int("sent")?,
                count: count()?,
                blocked_us: f.opt_int("blocked_us")?,
                error: f.opt_string("error")?,
            },
            Kind::ServerPending => Observed::ServerPending {
                call: f.named("call", &PENDING_CALLS)?,
                asked: f.opt_int("asked")?,
            },
            Kind::ServerShutdown => Observed::ServerShutdown {
                how: f.named("how", &SHUTDOWN_HOWS)?,
            },
            Kind::ServerLog => Observed::ServerLog {
                level: f.named("level", &LOG_LEVELS)?,
                line: f.string("line")?,
            },
            Kind::ServerSocket => Observed::ServerSocket(f.socket()?),
            Kind::ServerClose => Observed::ServerClose,
            Kind::Lost => Observed::Lost {
                events: f.int("events")?,
            },
            Kind::ServerReady => Observed::ServerReady {
                iteration: f.int("iteration")?,
                ready: f.int("ready")?,
                io: f.named("io", &READINESS)?,
            },
            Kind::ServerFramer => Observed::ServerFramer(f.framer_step()?),
            Kind::Capture => Observed::Capture {
                id: f.string("id")?,
            },
        };
        Ok(Observation {
            t_us: f.int("t_us")?,
            event,
            conn: f.opt_int("conn")?,
        })
    }

    /// The message the relay sends: one compact JSON object.
    pub fn to_json(&self) -> String {
        self.to_json_value().to_compact_json()
    }

    /// The observation as a JSON value (a transcript stores it so).
    pub fn to_json_value(&self) -> Json {
        let mut o = Object::new();
        o.insert("t_us", Json::from_u64(self.t_us));
        o.insert("kind", name_of(&KINDS, self.event.kind()));
        let count = |o: &mut Object, count: u32| {
            if count != 1 {
                o.insert("count", Json::from_u64(u64::from(count)));
            }
        };
        match &self.event {
            Observed::Observing { target, server } => {
                o.insert("target", target.as_str());
                o.insert("server", *server);
            }
            Observed::Connect {
                local,
                peer,
                connect_us,
            } => {
                o.insert("local", local.as_str());
                o.insert("peer", peer.as_str());
                o.insert("connect_us", Json::from_u64(*connect_us));
            }
            Observed::Write {
                len,
                sent,
                count: n,
            } => {
                o.insert("len", Json::from_u64(*len));
                o.insert("sent", Json::from_u64(*sent));
                count(&mut o, *n);
            }
            Observed::ServerSend {
                len,
                sent,
                count: n,
                blocked_us,
                error,
            } => {
                o.insert("len", Json::from_u64(*len));
                o.insert("sent", Json::from_u64(*sent));
                count(&mut o, *n);
                call_outcome(&mut o, *blocked_us, error);
            }
            Observed::ServerPending { call, asked } => {
                o.insert("call", name_of(&PENDING_CALLS, *call));
                if let Some(asked) = asked {
                    o.insert("asked", Json::from_u64(*asked));
                }
            }
            Observed::ServerShutdown { how } => o.insert("how", name_of(&SHUTDOWN_HOWS, *how)),
            Observed::Read { len, count: n } => {
                o.insert("len", Json::from_u64(*len));
                count(&mut o, *n);
            }
            Observed::ShutdownWrite
            | Observed::Eof
            | Observed::Reset
            | Observed::Close
            | Observed::ServerClose => {}
            Observed::Socket(socket) | Observed::ServerSocket(socket) => {
                write_socket(&mut o, socket)
            }
            Observed::ServerAccept { local, peer } => {
                o.insert("local", local.as_str());
                o.insert("peer", peer.as_str());
            }
            Observed::ServerRecv {
                len,
                count: n,
                decoder,
                asked,
                blocked_us,
                error,
                data,
            } => {
                o.insert("len", Json::from_u64(*len));
                count(&mut o, *n);
                if let Some(decoder) = decoder {
                    o.insert("decoder", decoder_value(decoder));
                }
                if let Some(asked) = asked {
                    o.insert("asked", Json::from_u64(*asked));
                }
                call_outcome(&mut o, *blocked_us, error);
                if let Some(data) = data {
                    o.insert("data", base64::encode(data).as_str());
                }
            }
            Observed::ServerRequest { repr } => o.insert("repr", repr.as_str()),
            Observed::ServerLog { level, line } => {
                o.insert("level", name_of(&LOG_LEVELS, *level));
                o.insert("line", line.as_str());
            }
            Observed::Lost { events } => o.insert("events", Json::from_u64(*events)),
            Observed::ServerReady {
                iteration,
                ready,
                io,
            } => {
                o.insert("iteration", Json::from_u64(*iteration));
                o.insert("ready", Json::from_u64(u64::from(*ready)));
                o.insert("io", name_of(&READINESS, *io));
            }
            Observed::ServerFramer(step) => write_framer_step(&mut o, step),
            Observed::Capture { id } => o.insert("id", id.as_str()),
        }
        if let Some(conn) = self.conn {
            o.insert("conn", Json::from_u64(conn));
        }
        Json::Object(o)
    }
}

impl Observed {
    fn kind(&self) -> Kind {
        match self {
            Observed::Observing { .. } => Kind::Observing,
            Observed::Connect { .. } => Kind::Connect,
            Observed::Write { .. } => Kind::Write,
            Observed::Read { .. } => Kind::Read,
            Observed::ShutdownWrite => Kind::ShutdownWrite,
            Observed::Eof => Kind::Eof,
            Observed::Reset => Kind::Reset,
            Observed::Close => Kind::Close,
            Observed::Socket(_) => Kind::Socket,
            Observed::ServerAccept { .. } => Kind::ServerAccept,
            Observed::ServerRecv { .. } => Kind::ServerRecv,
            Observed::ServerRequest { .. } => Kind::ServerRequest,
            Observed::ServerSend { .. } => Kind::ServerSend,
            Observed::ServerLog { .. } => Kind::ServerLog,
            Observed::ServerSocket(_) => Kind::ServerSocket,
            Observed::ServerClose => Kind::ServerClose,
            Observed::Lost { .. } => Kind::Lost,
            Observed::ServerReady { .. } => Kind::ServerReady,
            Observed::ServerFramer(_) => Kind::ServerFramer,
            Observed::ServerPending { .. } => Kind::ServerPending,
            Observed::ServerShutdown { .. } => Kind::ServerShutdown,
            Observed::Capture { .. } => Kind::Capture,
        }
    }
}

/// A traced call's time in the kernel and its failure, where known.
fn call_outcome(o: &mut Object, blocked_us: Option<u64>, error: &Option<String>) {
    if let Some(us) = blocked_us {
        o.insert("blocked_us", Json::from_u64(us));
    }
    if let Some(error) = error {
        o.insert("error", error.as_str());
    }
}

fn write_socket(o: &mut Object, s: &SocketInfo) {
    o.insert("state", name_of(&TCP_STATES, s.state));
    o.insert("recv_q", Json::from_u64(s.recv_q));
    o.insert("send_q", Json::from_u64(s.send_q));
    for (key, value) in [
        ("rtt_us", s.rtt_us),
        ("unacked", s.unacked),
        ("retransmits", s.retransmits),
    ] {
        if let Some(n) = value {
            o.insert(key, Json::from_u64(u64::from(n)));
        }
    }
}

fn decoder_value(decoder: &DecoderState) -> Json {
    let mut o = Object::new();
    match decoder {
        DecoderState::Waiting(need) => {
            o.insert("state", name_of(&DECODER_KINDS, DecoderKind::Waiting));
            o.insert("part", name_of(&PARTS, need.part));
            o.insert("have", Json::from_u64(need.have as u64));
            o.insert("need", Json::from_u64(need.need as u64));
        }
        DecoderState::Complete => o.insert("state", name_of(&DECODER_KINDS, DecoderKind::Complete)),
        DecoderState::CompleteWithNext { next } => {
            o.insert("state", name_of(&DECODER_KINDS, DecoderKind::Complete));
            o.insert("next", Json::from_u64(*next));
        }
        DecoderState::Failed { error } => {
            o.insert("state", name_of(&DECODER_KINDS, DecoderKind::Failed));
            o.insert("error", error.as_str());
        }
    }
    Json::Object(o)
}

fn write_framer_step(o: &mut Object, step: &FramerStep) {
    let named = |o: &mut Object, step: Step| o.insert("step", name_of(&STEPS, step));
    match step {
        FramerStep::Waiting(Wait::Bytes { part, have, need }) => {
            named(
                o,
                match part {
                    FramePart::Prefix => Step::WaitPrefix,
                    FramePart::Payload => Step::WaitPayload,
                },
            );
            o.insert("have", Json::from_u64(*have as u64));
            o.insert("need", Json::from_u64(*need as u64));
        }
        FramerStep::Waiting(Wait::Delimiter { byte, have }) => {
            named(o, Step::WaitDelimiter);
            o.insert("byte", Json::from_u64(u64::from(*byte)));
            o.insert("have", Json::from_u64(*have as u64));
        }
        FramerStep::Waiting(Wait::Eof { have }) => {
            named(o, Step::WaitEof);
            o.insert("have", Json::from_u64(*have as u64));
        }
        FramerStep::Cut {
            start,
            frame_len,
            len,
        } => {
            named(o, Step::Cut);
            o.insert("start", Json::from_u64(*start));
            o.insert("frame_len", Json::from_u64(*frame_len));
            o.insert("len", Json::from_u64(*len));
        }
        FramerStep::Failed { error } => {
            named(o, Step::Failed);
            o.insert("error", error.as_str());
        }
    }
}

impl TargetInfo {
    /// Reads a `GET /targets` body: a JSON array of targets.
    pub fn list_from_json(text: &str) -> Result<Vec<TargetInfo>, WireError> {
        let Json::Array(items) = json::parse(text)? else {
            return Err(WireError::Shape("the target list", "array"));
        };
        items
            .iter()
            .map(|item| {
                let f = Fields::of(item, "a target")?;
                Ok(TargetInfo {
                    name: f.string("name")?,
                    description: f.opt_string("description")?.unwrap_or_default(),
                    address: f.opt_string("address")?,
                    program: match f.get("program") {
                        None => None,
                        Some(p) => {
                            let p = Fields::of(p, "`program`")?;
                            Some(ProgramInfo {
                                pid: p.int("pid")?,
                                command: p.string("command")?,
                            })
                        }
                    },
                    exposed: f.opt_string("exposed")?,
                })
            })
            .collect()
    }

    /// Writes a `GET /targets` body; `address` only where disclosed.
    pub fn list_to_json(targets: &[TargetInfo]) -> String {
        let items = targets.iter().map(|t| {
            let mut o = Object::new();
            o.insert("name", t.name.as_str());
            o.insert("description", t.description.as_str());
            if let Some(address) = &t.address {
                o.insert("address", address.as_str());
            }
            if let Some(program) = &t.program {
                let mut p = Object::new();
                p.insert("pid", Json::from_u64(u64::from(program.pid)));
                p.insert("command", program.command.as_str());
                o.insert("program", Json::Object(p));
            }
            if let Some(exposed) = &t.exposed {
                o.insert("exposed", exposed.as_str());
            }
            Json::Object(o)
        });
        Json::Array(items.collect()).to_compact_json()
    }
}

impl Limits {
    /// Reads a `GET /limits` body.
    pub fn from_json(text: &str) -> Result<Limits, WireError> {
        let value = json::parse(text)?;
        Ok(Limits {
            max_message_size: Fields::of(&value, "the limits")?.int("max_message_size")?,
        })
    }

    /// Writes a `GET /limits` body.
    pub fn to_json(&self) -> String {
        let mut o = Object::new();
        o.insert("max_message_size", Json::from_u64(self.max_message_size));
        Json::Object(o).to_compact_json()
    }
}
