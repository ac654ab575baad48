//! The servers' optional observation hook: what a server saw on one
//! connection, told to whoever asked (the relay, which shows it to the page
//! as the `server_*` events of `protocol::relay_api::observe`).
//!
//! A server started with a [`Hook`] asks it, at each `accept()`, whether
//! that connection is watched ([`ServerHook::accepted`]). If it is, the
//! connection's [`Watch`] reports each `recv()` (with the app decoder's state
//! after it), each `send()`, the request as logged, every log line about the
//! connection, socket samples and the close. If it is not (or there is no
//! hook) the watch is `None` inside and every call returns at once: no
//! allocation, no formatting, no system call.
//!
//! Per-connection log lines go through [`Watch::log`] (a connection's own
//! lines) and [`Watch::log_each`] (a line per message) in every case, so
//! each line is written once and the terminal and the hook cannot
//! disagree; how loud the log is, the server's [`ServerLog`] decides.

use std::fmt;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use protocol::relay_api::{DecoderState, LogLevel, Observed, Readiness, SocketInfo};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::lines::ServerLog;
use crate::sockstat::socket_info;

/// Longest text (log line, request repr) a watched connection reports, in
/// bytes: the bytes behind it come from a stranger.
pub const MAX_TEXT: usize = 480;

/// Decides, per accepted connection, whether and where it is observed.
pub trait ServerHook: Send + Sync {
    /// `local` is the server's address, `peer` the client's. `None`: not
    /// watched (the common case; it must be cheap).
    fn accepted(&self, local: SocketAddr, peer: SocketAddr) -> Option<Arc<dyn ConnectionSink>>;

    /// Whether the connection from `peer` is one the hook's owner opened
    /// for a client it bounds itself (the relay's sessions, bounded per
    /// browser address by its `--max-sessions-per-ip`): such a connection
    /// takes no part of the server's per-address share, which is for the
    /// clients that reach the port directly. Asked before
    /// [`accepted`](ServerHook::accepted); it must be cheap.
    fn is_relayed(&self, _local: SocketAddr, _peer: SocketAddr) -> bool {
        false
    }
}

/// Where one watched connection's events go.
pub trait ConnectionSink: Send + Sync {
    /// One event, in the order the server saw them.
    fn observe(&self, event: Observed);
    /// How often the server samples its socket while a queue holds bytes.
    fn sample_every(&self) -> Duration;
    /// The most bytes of one `recv()` this sink wants reported with it
    /// (`server_recv`'s `data`); 0, the default: none, only the count.
    fn data_limit(&self) -> usize {
        0
    }

    /// How long the client has sent nothing, as whoever watches sees it
    /// before the bytes reach this socket (the relay, receiving a message
    /// a byte at a time that it writes once whole); `None`: not known.
    /// A server's idle clock counts this too.
    fn client_quiet_for(&self) -> Option<Duration> {
        None
    }
}

/// A server's hook, cheap to clone into every connection task.
#[derive(Clone)]
pub struct Hook(pub Arc<dyn ServerHook>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook")
    }
}

/// One connection's observation (inert unless the hook claimed it) and
/// its log lines.
pub struct Watch {
    on: Option<On>,
    log: ServerLog,
}

struct On {
    sink: Arc<dyn ConnectionSink>,
    every: Duration,
    timer: Pin<Box<Sleep>>,
    /// The sink's [`ConnectionSink::data_limit`].
    data_limit: usize,
    /// The bytes of the `recv()` not yet reported ([`Watch::received`]).
    data: Option<Vec<u8>>,
    /// The size that `recv()` asked for.
    asked: Option<u64>,
}

impl Watch {
    /// Asks `hook` about the connection `stream` (from `peer`) and, if it is
    /// watched, reports the accept and a first socket sample. Lines are
    /// logged as `log` says.
    pub fn accepted(
        hook: Option<&Hook>,
        stream: &TcpStream,
        peer: SocketAddr,
        log: &ServerLog,
    ) -> Watch {
        let unwatched = || Watch {
            on: None,
            log: log.clone(),
        };
        let Some(hook) = hook else {
            return unwatched();
        };
        let Ok(local) = stream.local_addr() else {
            return unwatched();
        };
        let Some(sink) = hook.0.accepted(local, peer) else {
            return unwatched();
        };
        let every = sink.sample_every();
        sink.observe(Observed::ServerAccept {
            local: local.to_string(),
            peer: peer.to_string(),
        });
        let data_limit = sink.data_limit();
        let mut watch = Watch {
            on: Some(On {
                sink,
                every,
                timer: Box::pin(tokio::time::sleep(every)),
                data_limit,
                data: None,
                asked: None,
            }),
            log: log.clone(),
        };
        watch.sample(stream);
        watch
    }

    /// A watch that reports nothing and logs every line (the tutorial's).
    pub fn off() -> Watch {
        Watch {
            on: None,
            log: ServerLog::default(),
        }
    }

    /// How long the client has been quiet upstream of this socket, when
    /// the watcher knows ([`ConnectionSink::client_quiet_for`]).
    pub fn client_quiet_for(&self) -> Option<Duration> {
        self.on.as_ref().and_then(|on| on.sink.client_quiet_for())
    }

    /// Whether anyone is listening.
    pub fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// The bytes a `recv()` that asked for `asked` just returned, for its
    /// report ([`Watch::recv`]); copied only when the sink wants them (a
    /// watch stream).
    pub fn received(&mut self, bytes: &[u8], asked: usize) {
        if let Some(on) = &mut self.on {
            on.data = (bytes.len() <= on.data_limit).then(|| bytes.to_vec());
            on.asked = Some(asked as u64);
        }
    }

    /// A `recv()` that returned `len` bytes (those given to
    /// [`Watch::received`], if the sink wants them); `decoder` is only
    /// asked when watched (it may format an error).
    pub fn recv(
        &mut self,
        stream: &TcpStream,
        len: usize,
        decoder: impl FnOnce() -> Option<DecoderState>,
    ) {
        if let Some(on) = &mut self.on {
            let data = match on.data.take() {
                Some(data) if data.len() == len => Some(data),
                // Nothing more comes after EOF: its no bytes are all of them.
                _ if len == 0 && on.data_limit > 0 => Some(Vec::new()),
                _ => None,
            };
            on.sink.observe(Observed::ServerRecv {
                len: len as u64,
                count: 1,
                decoder: decoder(),
                asked: on.asked.take(),
                blocked_us: None,
                error: None,
                data,
            });
            self.sample(stream);
        }
    }

    /// A `send()` of `len` bytes of which the kernel took `sent`.
    pub fn send(&mut self, stream: &TcpStream, len: usize, sent: usize) {
        if let Some(on) = &self.on {
            on.sink.observe(server_send(len, sent));
            self.sample(stream);
        }
    }

    /// Any other event about this connection (a framer's step); `event` is
    /// only built when watched.
    pub fn event(&self, event: impl FnOnce() -> Observed) {
        if let Some(on) = &self.on {
            on.sink.observe(event());
        }
    }

    /// The request the server decoded, as its log line writes it.
    pub fn request(&self, repr: impl FnOnce() -> String) {
        if let Some(on) = &self.on {
            on.sink.observe(Observed::ServerRequest {
                repr: truncate(repr()),
            });
        }
    }

    /// Logs one line about this connection as a whole (accepted, an
    /// error, closing) and, when watched, reports it.
    pub fn log(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        self.log.connection(level, line);
        report_line(self.on.as_ref().map(|on| &on.sink), level, line);
    }

    /// Logs one line a message made (received, echoed, sent) and, when
    /// watched, reports it.
    pub fn log_each(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        self.log.message(level, line);
        report_line(self.on.as_ref().map(|on| &on.sink), level, line);
    }

    /// Whether a [`log_each`](Watch::log_each) line goes anywhere: its text
    /// (a repr of the bytes) is the costly part, made only then.
    pub fn wants_each(&self) -> bool {
        self.on.is_some() || self.log.message_enabled()
    }

    /// Reports the socket's kernel state now (the sink drops repeats).
    pub fn sample(&mut self, stream: &TcpStream) {
        if let Some(on) = &self.on {
            if let Some(info) = socket_info(stream) {
                on.sink.observe(Observed::ServerSocket(info));
            }
        }
    }

    /// The last sample's queues, for callers deciding whether to keep sampling.
    pub fn socket(&self, stream: &TcpStream) -> Option<SocketInfo> {
        self.on.as_ref().and_then(|_| socket_info(stream))
    }

    /// Resolves at the next sampling time; never when unwatched. Meant as a
    /// `select!` branch beside a connection's I/O, followed by [`Watch::sample`].
    pub async fn tick(&mut self) {
        match &mut self.on {
            None => std::future::pending().await,
            Some(on) => {
                on.timer.as_mut().await;
                let next = Instant::now() + on.every;
                on.timer.as_mut().reset(next);
            }
        }
    }

    /// The server is about to close its socket.
    pub fn close(self) {
        if let Some(on) = self.on {
            on.sink.observe(Observed::ServerClose);
        }
    }
}

fn report_line(sink: Option<&Arc<dyn ConnectionSink>>, level: LogLevel, line: fmt::Arguments<'_>) {
    if let Some(sink) = sink {
        sink.observe(Observed::ServerLog {
            level,
            line: truncate(line.to_string()),
        });
    }
}

/// [`Watch`] for a server without an async runtime (the event loop): the
/// same events, plus each loop iteration that found the connection ready
/// ([`Observed::ServerReady`]). Sockets are sampled after each call that
/// moved bytes, not on a timer: the loop has no timers.
pub struct LoopWatch {
    sink: Option<Arc<dyn ConnectionSink>>,
    log: ServerLog,
}

impl LoopWatch {
    /// Asks `hook` about a connection `accept()` returned in `iteration`
    /// and, if it is watched, reports that iteration, the accept and a
    /// first sample. Lines are logged as `log` says.
    pub fn accepted<S: AsRawFd>(
        hook: Option<&Hook>,
        socket: &S,
        (local, peer): (SocketAddr, SocketAddr),
        iteration: u64,
        ready: u32,
        log: &ServerLog,
    ) -> LoopWatch {
        let sink = hook.and_then(|hook| hook.0.accepted(local, peer));
        let watch = LoopWatch {
            sink,
            log: log.clone(),
        };
        if let Some(sink) = &watch.sink {
            sink.observe(Observed::ServerReady {
                iteration,
                ready,
                io: Readiness::Accept,
            });
            sink.observe(Observed::ServerAccept {
                local: local.to_string(),
                peer: peer.to_string(),
            });
            watch.sample(socket);
        }
        watch
    }

    /// Whether anyone is listening.
    pub fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// An iteration found the socket ready for `io`.
    pub fn ready(&self, iteration: u64, ready: u32, io: Readiness) {
        if let Some(sink) = &self.sink {
            sink.observe(Observed::ServerReady {
                iteration,
                ready,
                io,
            });
        }
    }

    /// A `recv()` that asked for `asked` bytes and returned `bytes`.
    pub fn recv<S: AsRawFd>(&self, socket: &S, bytes: &[u8], asked: usize) {
        if let Some(sink) = &self.sink {
            let limit = sink.data_limit();
            let data = (limit > 0 && bytes.len() <= limit).then(|| bytes.to_vec());
            sink.observe(Observed::ServerRecv {
                len: bytes.len() as u64,
                count: 1,
                decoder: None,
                asked: Some(asked as u64),
                blocked_us: None,
                error: None,
                data,
            });
            self.sample(socket);
        }
    }

    /// A `send()` of `len` bytes of which the kernel took `sent`.
    pub fn send<S: AsRawFd>(&self, socket: &S, len: usize, sent: usize) {
        if let Some(sink) = &self.sink {
            sink.observe(server_send(len, sent));
            self.sample(socket);
        }
    }

    /// Logs one line about this connection as a whole and, when watched,
    /// reports it.
    pub fn log(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        self.log.connection(level, line);
        report_line(self.sink.as_ref(), level, line);
    }

    /// Logs one line a message made and, when watched, reports it.
    pub fn log_each(&self, level: LogLevel, line: fmt::Arguments<'_>) {
        self.log.message(level, line);
        report_line(self.sink.as_ref(), level, line);
    }

    /// Whether a [`log_each`](LoopWatch::log_each) line goes anywhere.
    pub fn wants_each(&self) -> bool {
        self.sink.is_some() || self.log.message_enabled()
    }

    fn sample<S: AsRawFd>(&self, socket: &S) {
        if let Some(sink) = &self.sink {
            if let Some(info) = crate::sockstat::socket_info(socket) {
                sink.observe(Observed::ServerSocket(info));
            }
        }
    }

    /// The server is about to close its socket.
    pub fn close(self) {
        if let Some(sink) = self.sink {
            sink.observe(Observed::ServerClose);
        }
    }
}

/// An embedded server's `send()`: it never blocks (the sockets are
/// non-blocking) and its failures end the connection with a log line.
fn server_send(len: usize, sent: usize) -> Observed {
    Observed::ServerSend {
        len: len as u64,
        sent: sent as u64,
        count: 1,
        blocked_us: None,
        error: None,
    }
}

/// Cuts `text` to at most [`MAX_TEXT`] bytes on a character boundary, with
/// `… (N bytes)` saying so ([`crate::truncate::cut`]).
pub fn truncate(text: String) -> String {
    crate::truncate::cut_owned(text, MAX_TEXT)
}

/// The app decoder's state after a chunk, in the contract's terms.
pub fn decoder_state(decoder: &protocol::Decoder, buffered: usize) -> DecoderState {
    if let Some(e) = decoder.error() {
        return DecoderState::Failed {
            error: truncate(e.to_string()),
        };
    }
    match decoder.need_with(buffered) {
        _ if decoder.is_idle_with(buffered) => DecoderState::Complete,
        Some(need) => DecoderState::Waiting(need),
        None => DecoderState::Complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        let cut = truncate("é".repeat(MAX_TEXT));
        assert!(cut.len() <= MAX_TEXT + 32);
        assert!(cut.ends_with("… (960 bytes)"));
        assert_eq!(truncate("short".into()), "short");
    }
}
