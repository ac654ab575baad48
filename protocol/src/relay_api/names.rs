//! The names enums have on the wire, one table per enum: the relay writes
//! and the page reads through the same table, so the two cannot drift.
//! This module uses `observe`'s enums, never the reverse (`TcpState::name`
//! is written here, beside its table).

use super::observe::{LogLevel, PendingCall, Readiness, ShutdownHow, TcpState};
use crate::decode::Part;

/// An observation's `kind`: which [`Observed`](super::Observed) variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
    ServerPending,
    ServerShutdown,
    Capture,
}

pub(super) const KINDS: [(Kind, &str); 22] = [
    (Kind::Observing, "observing"),
    (Kind::Connect, "connect"),
    (Kind::Write, "write"),
    (Kind::Read, "read"),
    (Kind::ShutdownWrite, "shutdown_write"),
    (Kind::Eof, "eof"),
    (Kind::Reset, "reset"),
    (Kind::Close, "close"),
    (Kind::Socket, "socket"),
    (Kind::ServerAccept, "server_accept"),
    (Kind::ServerRecv, "server_recv"),
    (Kind::ServerRequest, "server_request"),
    (Kind::ServerSend, "server_send"),
    (Kind::ServerLog, "server_log"),
    (Kind::ServerSocket, "server_socket"),
    (Kind::ServerClose, "server_close"),
    (Kind::Lost, "lost"),
    (Kind::ServerReady, "server_ready"),
    (Kind::ServerFramer, "server_framer"),
    (Kind::ServerPending, "server_pending"),
    (Kind::ServerShutdown, "server_shutdown"),
    (Kind::Capture, "capture"),
];

pub(super) const PENDING_CALLS: [(PendingCall, &str); 3] = [
    (PendingCall::Recv, "recv"),
    (PendingCall::Send, "send"),
    (PendingCall::Accept, "accept"),
];

/// Python's (and C's) names.
pub(super) const SHUTDOWN_HOWS: [(ShutdownHow, &str); 3] = [
    (ShutdownHow::Read, "SHUT_RD"),
    (ShutdownHow::Write, "SHUT_WR"),
    (ShutdownHow::Both, "SHUT_RDWR"),
];

/// A framer step's `step`: which case of
/// [`FramerStep`](super::FramerStep), a waiting one split by what it waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Cut,
    Failed,
    WaitPrefix,
    WaitPayload,
    WaitDelimiter,
    WaitEof,
}

pub(super) const STEPS: [(Step, &str); 6] = [
    (Step::Cut, "cut"),
    (Step::Failed, "failed"),
    (Step::WaitPrefix, "wait_prefix"),
    (Step::WaitPayload, "wait_payload"),
    (Step::WaitDelimiter, "wait_delimiter"),
    (Step::WaitEof, "wait_eof"),
];

/// A decoder state's `state`: which case of [`DecoderState`](super::DecoderState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DecoderKind {
    Waiting,
    Complete,
    Failed,
}

pub(super) const DECODER_KINDS: [(DecoderKind, &str); 3] = [
    (DecoderKind::Waiting, "waiting"),
    (DecoderKind::Complete, "complete"),
    (DecoderKind::Failed, "failed"),
];

pub(super) const PARTS: [(Part, &str); 3] = [
    (Part::LengthPrefix, "length_prefix"),
    (Part::Header, "header"),
    (Part::Content, "content"),
];

pub(super) const LOG_LEVELS: [(LogLevel, &str); 3] = [
    (LogLevel::Info, "info"),
    (LogLevel::Warning, "warning"),
    (LogLevel::Error, "error"),
];

pub(super) const READINESS: [(Readiness, &str); 4] = [
    (Readiness::Accept, "accept"),
    (Readiness::Read, "read"),
    (Readiness::Write, "write"),
    (Readiness::ReadWrite, "read_write"),
];

/// Netstat's spelling.
pub(super) const TCP_STATES: [(TcpState, &str); 11] = [
    (TcpState::Established, "ESTABLISHED"),
    (TcpState::SynSent, "SYN_SENT"),
    (TcpState::SynRecv, "SYN_RECV"),
    (TcpState::FinWait1, "FIN_WAIT1"),
    (TcpState::FinWait2, "FIN_WAIT2"),
    (TcpState::TimeWait, "TIME_WAIT"),
    (TcpState::Close, "CLOSE"),
    (TcpState::CloseWait, "CLOSE_WAIT"),
    (TcpState::LastAck, "LAST_ACK"),
    (TcpState::Listen, "LISTEN"),
    (TcpState::Closing, "CLOSING"),
];

impl TcpState {
    /// The name `netstat` prints.
    pub fn name(self) -> &'static str {
        name_of(&TCP_STATES, self)
    }
}

/// `value`'s name in `table`.
pub(super) fn name_of<T: Copy + PartialEq>(table: &[(T, &'static str)], value: T) -> &'static str {
    table
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, name)| *name)
        .expect("every value of the enum is in its table")
}

/// The value `name` names in `table`.
pub(super) fn value_of<T: Copy>(table: &[(T, &'static str)], name: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

impl ShutdownHow {
    /// The constant's name (`SHUT_WR`).
    pub fn name(self) -> &'static str {
        name_of(&SHUTDOWN_HOWS, self)
    }
}

impl PendingCall {
    /// The call's name (`recv`).
    pub fn name(self) -> &'static str {
        name_of(&PENDING_CALLS, self)
    }
}
