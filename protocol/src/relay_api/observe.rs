//! Observation events: what happened at the TCP sockets of a session, sent
//! by the relay as text messages when the page asks with `observe=1`.
//!
//! Two sockets are observed. The relay's own socket to the target (events
//! without a prefix: `connect`, `write`, `read`, `socket`, …) is always
//! observable. For the servers the relay runs in-process (app, echo,
//! blackhole, the framing lab's four), the server's socket of that same
//! connection is too (events prefixed `server_`): each `recv()` as the
//! server made it, with its decoder's state (a framing server's cuts and
//! waits: `server_framer`), each `send()`, its log lines and its kernel queues. An
//! external target's side cannot be seen; [`Observed::Observing`] says which
//! case a session is.
//!
//! Each message is one JSON object: `kind`, `t_us` (microseconds since the
//! session started), and the fields of that kind:
//!
//! ```text
//! {"t_us":0,"kind":"observing","target":"app","server":true}
//! {"t_us":412,"kind":"connect","local":"127.0.0.1:50112","peer":"127.0.0.1:40331","connect_us":96}
//! {"t_us":530,"kind":"server_accept","local":"127.0.0.1:40331","peer":"127.0.0.1:50112"}
//! {"t_us":1910,"kind":"write","len":10,"sent":10}
//! {"t_us":1950,"kind":"server_recv","len":10,"decoder":{"state":"waiting","part":"header","have":8,"need":100}}
//! {"t_us":2002,"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":0,"rtt_us":41,"unacked":0,"retransmits":0}
//! ```
//!
//! Byte events come one per system call until they come faster than the
//! relay's observation budget; then consecutive events of one kind merge
//! into one whose `count` says how many calls it stands for and whose `len`
//! and `sent` are their totals. Nothing is dropped silently: if the browser
//! reads too slowly for even that, [`Observed::Lost`] says how many events
//! were lost.

use crate::decode::Need;
use crate::framing::Wait;

/// One observation event and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Microseconds since the relay accepted the session.
    pub t_us: u64,
    /// What happened.
    pub event: Observed,
    /// Which connection of a watched stream (`/ws?watch=NAME`) this event is
    /// about: the relay numbers the connections that arrive there from 1.
    /// Absent on a session's own events (a session is one connection).
    pub conn: Option<u64>,
}

impl Observation {
    /// An event of a session's own connection (no `conn`).
    pub fn new(t_us: u64, event: Observed) -> Observation {
        Observation {
            t_us,
            event,
            conn: None,
        }
    }
}

/// What happened, at which socket. Addresses are `HOST:PORT` as Rust
/// writes a `SocketAddr` (`[::1]:65432` for IPv6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The first event of a session: what can be observed.
    Observing {
        /// The target's name.
        target: String,
        /// Whether the server's side is observed too (in-process targets).
        server: bool,
    },
    /// The relay's `connect()` to the target completed.
    Connect {
        /// The relay's address (the server sees it as its peer).
        local: String,
        /// The target's address.
        peer: String,
        /// How long the three-way handshake took, in microseconds.
        connect_us: u64,
    },
    /// The relay's `send()` to the target: the kernel may take less than
    /// offered (its send buffer is full), which is why `sendall()` loops.
    Write {
        /// Bytes offered.
        len: u64,
        /// Bytes the kernel took.
        sent: u64,
        /// How many system calls this event stands for (see the module docs).
        count: u32,
    },
    /// The relay's `recv()` from the target returned bytes.
    Read {
        /// Bytes received.
        len: u64,
        /// How many system calls this event stands for.
        count: u32,
    },
    /// The relay called `shutdown(SHUT_WR)`: a FIN goes to the server.
    ShutdownWrite,
    /// The relay's `recv()` returned 0 bytes: the server closed its side.
    Eof,
    /// The server reset the connection (RST).
    Reset,
    /// The relay closed its socket to the target.
    Close,
    /// The kernel's view of the relay's socket, as `netstat -an` shows it.
    Socket(SocketInfo),
    /// The in-process server's `accept()` returned this connection.
    ServerAccept {
        /// The server's address.
        local: String,
        /// The relay's address, as the server sees it.
        peer: String,
    },
    /// The server's `recv()` returned bytes (0 bytes: the relay's FIN), or
    /// failed (`error`, with `len` 0).
    ServerRecv {
        /// Bytes received.
        len: u64,
        /// How many system calls this event stands for.
        count: u32,
        /// The app server's decoder after this chunk (other servers have
        /// none); for a program under `--run`, `protocol::Decoder` over the
        /// bytes the program read.
        decoder: Option<DecoderState>,
        /// The size the call asked for (`recv(4096)`), where known (a
        /// program under `--run`).
        asked: Option<u64>,
        /// How long the call was inside the kernel, in microseconds, where
        /// known: a blocking `recv()` waits here for the peer.
        blocked_us: Option<u64>,
        /// The call failed with this errno name (`EAGAIN`, `ECONNRESET`, …;
        /// [`python_exception`] says what Python raises for it).
        error: Option<String>,
        /// The bytes received, where a stream asks for them (the watch
        /// stream); base64 on the wire.
        data: Option<Vec<u8>>,
    },
    /// The server decoded a whole request, written as it logs it.
    ServerRequest {
        /// The request as Python's `repr` shows it (`{'action': 'search', …}`).
        repr: String,
    },
    /// The server's `send()`.
    ServerSend {
        /// Bytes offered.
        len: u64,
        /// Bytes the kernel took.
        sent: u64,
        /// How many system calls this event stands for.
        count: u32,
        /// How long the call was inside the kernel, in microseconds, where
        /// known: a full send buffer blocks a blocking `send()`.
        blocked_us: Option<u64>,
        /// The call failed with this errno name (`EPIPE`, `EAGAIN`, …), with
        /// `sent` 0.
        error: Option<String>,
    },
    /// The server's call entered the kernel and has not returned yet: sent
    /// once, when it has blocked longer than the relay's threshold, so the
    /// page can show "recv(4096) waiting for 2.4 s" while it waits. The
    /// call's own event follows when it returns.
    ServerPending {
        /// Which call.
        call: PendingCall,
        /// The size it asked for (`recv`, `send`); none for `accept`.
        asked: Option<u64>,
    },
    /// The server called `shutdown()` on this connection.
    ServerShutdown {
        /// Which direction it shut.
        how: ShutdownHow,
    },
    /// A line the server logged about this connection.
    ServerLog {
        /// How serious.
        level: LogLevel,
        /// The line, as the server's terminal shows it (cut if very long).
        line: String,
    },
    /// The kernel's view of the server's socket.
    ServerSocket(SocketInfo),
    /// The server closed its socket.
    ServerClose,
    /// Events the relay could not deliver because the browser read too
    /// slowly, even merged.
    Lost {
        /// How many.
        events: u64,
    },
    /// One iteration of the event-loop server (`multiconn`): its `poll()`
    /// returned, and this connection's socket was among the ready ones (for
    /// `accept`: the listening socket was, and `accept()` returned this
    /// connection). What the server then did follows as `server_*` events
    /// up to the next `server_ready`. Iteration numbers count the server's
    /// loop, not the session, so the streams of several sessions merge by
    /// `iteration` into the server's own order.
    ServerReady {
        /// The loop's iteration, from 1, counted over all connections.
        iteration: u64,
        /// Sockets `poll()` reported ready in this iteration, every
        /// connection's and the listening socket counted.
        ready: u32,
        /// What this connection's socket was ready for.
        io: Readiness,
    },
    /// A framing-lab server's framer, after a `recv()`: a message it cut,
    /// what it waits for next, or why it gave up. Which of the four ways it
    /// cuts is the session's target ([`Observed::Observing`]).
    ServerFramer(FramerStep),
    /// The relay captures this session's TCP leg for real (it may:
    /// `CAP_NET_RAW`): once the session has ended, the capture is at
    /// [`capture_path`](super::capture_path)`(id)` for a while. Sent right
    /// after `connect` (or the failed connect); a session without it has
    /// only a reconstructed capture.
    Capture {
        /// The capture's unguessable id.
        id: String,
    },
}

/// A call still inside the kernel ([`Observed::ServerPending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingCall {
    /// `recv()` (or `read()`) waits for bytes.
    Recv,
    /// `send()` (or `write()`) waits for room in the send buffer.
    Send,
    /// `accept()` waits for a connection.
    Accept,
}

/// `shutdown()`'s `how`, as Python's `socket` module names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownHow {
    /// `SHUT_RD`: no more receiving.
    Read,
    /// `SHUT_WR`: no more sending; a FIN goes to the peer.
    Write,
    /// `SHUT_RDWR`: both.
    Both,
}

/// The exception Python raises for a socket call that failed with `errno`
/// (an errno name as [`Observed::ServerRecv`] carries it): `EAGAIN` is
/// `BlockingIOError`, `ECONNRESET` `ConnectionResetError`; anything without
/// a subclass of its own is `OSError`.
pub fn python_exception(errno: &str) -> &'static str {
    match errno {
        "EAGAIN" | "EWOULDBLOCK" | "EINPROGRESS" | "EALREADY" => "BlockingIOError",
        "ECONNRESET" => "ConnectionResetError",
        "EPIPE" | "ESHUTDOWN" => "BrokenPipeError",
        "ECONNABORTED" => "ConnectionAbortedError",
        "ECONNREFUSED" => "ConnectionRefusedError",
        "ETIMEDOUT" => "TimeoutError",
        "EINTR" => "InterruptedError",
        _ => "OSError",
    }
}

/// What a socket was ready for in one event-loop iteration, as the
/// tutorial's `mask` says it (`EVENT_READ`, `EVENT_WRITE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The listening socket was readable: a connection waited to be accepted.
    Accept,
    /// Readable: `recv()` will not block (0 bytes means the peer closed).
    Read,
    /// Writable: `send()` will not block.
    Write,
    /// Both.
    ReadWrite,
}

impl Readiness {
    /// The readiness of a connection's socket; `None` when neither.
    pub fn of(readable: bool, writable: bool) -> Option<Readiness> {
        match (readable, writable) {
            (true, true) => Some(Readiness::ReadWrite),
            (true, false) => Some(Readiness::Read),
            (false, true) => Some(Readiness::Write),
            (false, false) => None,
        }
    }

    /// Whether `recv()` (or, for [`Readiness::Accept`], `accept()`) was due.
    pub fn readable(self) -> bool {
        !matches!(self, Readiness::Write)
    }

    /// Whether `send()` was due.
    pub fn writable(self) -> bool {
        matches!(self, Readiness::Write | Readiness::ReadWrite)
    }
}

/// What a framing server's framer did with the bytes so far. On the wire
/// it is flat: `step` names the case (`cut`, `failed`, `wait_prefix`,
/// `wait_payload`, `wait_delimiter`, `wait_eof`) and the case's fields sit
/// beside it, so the page reads it with one enum and no nesting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramerStep {
    /// It waits for this; nothing more can be cut yet.
    Waiting(Wait),
    /// It cut a message: `frame_len` bytes from stream offset `start`, of
    /// which `len` are the message (prefix and delimiter excluded).
    Cut {
        /// Stream offset of the frame's first byte.
        start: u64,
        /// Bytes of the stream the frame took.
        frame_len: u64,
        /// Bytes of message.
        len: u64,
    },
    /// The bytes cannot be framed; the server will close.
    Failed {
        /// The framer's error, as the server logs it.
        error: String,
    },
}

/// The decoder's state after a chunk, typed so the page says it in the
/// protocol crate's words ([`Need`]'s `Display`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecoderState {
    /// Part of a frame is in; this much of this part.
    Waiting(Need),
    /// The chunk completed a message and nothing more is buffered.
    Complete,
    /// The chunk completed a message and went on: `next` bytes of the next
    /// message came in the same `recv()` and wait in the buffer (two frames
    /// in one chunk). On the wire: `complete` with an optional `next`, so a
    /// reader that predates it still reads `complete`.
    CompleteWithNext {
        /// Bytes of the next message already buffered.
        next: u64,
    },
    /// The bytes are not a valid frame; the server will close.
    Failed {
        /// The decoder's error, as the server logs it.
        error: String,
    },
}

/// In the words the page and the servers' logs use.
impl std::fmt::Display for FramerStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramerStep::Waiting(wait) => write!(f, "waits for {wait}"),
            FramerStep::Cut {
                start,
                frame_len,
                len,
            } => write!(
                f,
                "cut a message of {len} bytes from bytes {start}..{}",
                start + frame_len
            ),
            FramerStep::Failed { error } => write!(f, "gave up: {error}"),
        }
    }
}

/// How serious a server's log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// What the tutorial's programs print as they work.
    Info,
    /// Something went wrong for this connection only.
    Warning,
    /// The server itself failed.
    Error,
}

/// A socket's kernel state, as `netstat -an` and `ss -ti` show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketInfo {
    /// The TCP state.
    pub state: TcpState,
    /// Bytes received by the kernel and not yet read by the program (SIOCINQ).
    pub recv_q: u64,
    /// Bytes written by the program and not yet acknowledged by the peer (SIOCOUTQ).
    pub send_q: u64,
    /// Smoothed round-trip time, microseconds (TCP_INFO).
    pub rtt_us: Option<u32>,
    /// Segments sent and not yet acknowledged (TCP_INFO).
    pub unacked: Option<u32>,
    /// Retransmissions over the connection's life (TCP_INFO).
    pub retransmits: Option<u32>,
}

/// TCP states, named as `netstat` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // RFC 793's names; netstat's spelling
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
}

impl TcpState {
    /// The state from Linux's `tcpi_state` (`include/net/tcp_states.h`).
    pub fn from_linux(state: u8) -> Option<TcpState> {
        use TcpState::*;
        Some(match state {
            1 => Established,
            2 => SynSent,
            3 => SynRecv,
            4 => FinWait1,
            5 => FinWait2,
            6 => TimeWait,
            7 => Close,
            8 => CloseWait,
            9 => LastAck,
            10 => Listen,
            11 => Closing,
            _ => return None,
        })
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
