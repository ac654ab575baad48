//! What the relay observed at the two TCP sockets of a session (`observe=1`,
//! `protocol::relay_api::observe`), folded into what the panels show: the
//! server's `recv()` chunks and its decoder after each, its requests and log
//! lines, the two sockets' kernel queues, the relay's writes (short ones
//! too), and the socket calls the sequence diagram draws.
//!
//! Observations arrive as fast as the relay's budget allows (a flood makes
//! thousands), so every list here is bounded and every total is kept
//! exactly beside it: the page may show fewer rows, never wrong numbers.

use protocol::relay_api::{
    DecoderState, LogLevel, Observation, Observed, PendingCall, SocketInfo, TcpState,
};

/// Server `recv()` rows kept (the newest); totals stay exact.
pub const RECV_KEEP: usize = 200;
/// Server log lines kept (the newest).
pub const LOG_KEEP: usize = 100;
/// Decoded requests kept (the newest).
pub const REQUEST_KEEP: usize = 20;
/// Socket calls kept for the sequence diagram. Past this, only the calls
/// that end a connection are still drawn; the rest are counted.
pub const LANE_KEEP: usize = 300;

/// Which sockets this session's observation covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observing {
    pub target: String,
    /// The server's side is observed too (a server the relay runs itself).
    pub server: bool,
}

/// One socket as `netstat -an` shows it: the addresses from its
/// `connect()`/`accept()`, the queues from its latest kernel report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SocketRow {
    pub local: Option<String>,
    pub peer: Option<String>,
    pub info: Option<SocketInfo>,
    /// The program closed this socket (its last report still shows).
    pub closed: bool,
    /// Each state the kernel reported, when it first did (`t_us`), in
    /// order: the path the TCP state diagram lights. At most
    /// [`STATES_KEEP`]; a connection passes a dozen at most.
    pub states: Vec<(u64, TcpState)>,
    /// A kernel report arrived after the program's close (the relay
    /// follows both sockets to TIME_WAIT or gone).
    pub reported_after_close: bool,
}

/// States kept per socket (more means the relay reported a state
/// machine no TCP has; the first ones are what the diagram needs).
pub const STATES_KEEP: usize = 32;

impl SocketRow {
    /// Takes one kernel report.
    fn report(&mut self, t_us: u64, info: SocketInfo) {
        self.info = Some(info);
        self.reported_after_close |= self.closed;
        if self.states.last().map(|s| s.1) != Some(info.state) && self.states.len() < STATES_KEEP {
            self.states.push((t_us, info.state));
        }
    }

    /// `tcp` or `tcp6`, from the address as netstat would print it.
    pub fn proto(&self) -> &'static str {
        match &self.local {
            Some(a) if a.starts_with('[') => "tcp6",
            _ => "tcp",
        }
    }
}

/// One server `recv()` (or several merged by the relay, `count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRecv {
    /// Microseconds since the relay accepted the session (the relay's clock).
    pub t_us: u64,
    pub len: u64,
    pub count: u32,
    pub decoder: Option<DecoderState>,
}

/// One line the server logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub t_us: u64,
    pub level: LogLevel,
    pub line: String,
}

/// A socket call the sequence diagram draws, with when the page learned
/// of it (page clock, ms since the session started) to order it among the
/// browser's own events.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneEntry {
    /// When the page received it (page clock, ms since the session started).
    pub at_ms: f64,
    /// When it happened: the relay's clock, µs since its accept (what the
    /// page shows).
    pub t_us: u64,
    pub event: Observed,
}

/// A server call still inside the kernel (`server_pending`), until the
/// call's own event comes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    pub call: PendingCall,
    pub asked: Option<u64>,
    /// When the page learned of it (page clock, ms since the session started).
    pub at_ms: f64,
}

/// Totals of the relay's `send()` calls to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Writes {
    pub calls: u64,
    pub offered: u64,
    pub sent: u64,
    /// Write events in which the kernel took less than offered.
    pub short: u64,
}

/// Everything observed in the current session.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observe {
    pub observing: Option<Observing>,
    pub relay: SocketRow,
    pub server: SocketRow,
    /// The newest [`RECV_KEEP`] server `recv()` events.
    pub recvs: Vec<ServerRecv>,
    pub recv_calls: u64,
    pub recv_bytes: u64,
    /// The newest [`REQUEST_KEEP`] requests, as the server's log shows them.
    pub requests: Vec<String>,
    pub request_count: u64,
    pub server_send_calls: u64,
    pub server_sent: u64,
    /// The newest [`LOG_KEEP`] log lines.
    pub logs: Vec<LogLine>,
    pub log_count: u64,
    pub writes: Writes,
    pub lane: Vec<LaneEntry>,
    /// Socket calls observed but not kept for the diagram.
    pub lane_hidden: u64,
    /// The server's call waiting in the kernel now, if one is.
    pub pending: Option<Pending>,
    /// Events the relay could not deliver (it said so).
    pub lost: u64,
    /// Text messages that were not an observation this page understands.
    pub unreadable: u64,
    /// The observations as received, for the transcript (the first
    /// `replay::RECORD_KEEP`).
    pub recorded: Vec<Observation>,
    /// The id of the relay's real capture of this session
    /// (`relay_api::capture_path`); none: only a reconstruction exists.
    pub capture: Option<String>,
}

/// `Eq` (its only float, a lane entry's page time, is never NaN) so that
/// `Rc<Observe>` compares by pointer first: every render compares the
/// panels' props, and an unchanged `Observe` compared field by field is
/// thousands of observations each time (issue 20.5).
impl Eq for Observe {}

/// Appends to a list that keeps only its newest `keep` items.
fn push_bounded<T>(list: &mut Vec<T>, keep: usize, item: T) {
    if list.len() >= keep {
        list.drain(..=list.len() - keep);
    }
    list.push(item);
}

/// The server decoder's state after a chunk, in the protocol crate's words
/// (`Need`'s `Display`); an error is the server's own text, shown as is.
pub fn decoder_words(state: &DecoderState) -> String {
    match state {
        DecoderState::Waiting(need) => need.to_string(),
        DecoderState::Complete => "a whole request; nothing more buffered".to_owned(),
        DecoderState::CompleteWithNext { next } => format!(
            "a whole request, then {} of the next",
            super::counted(*next, "byte", "bytes")
        ),
        DecoderState::Failed { error } => format!("stopped: {error}"),
    }
}

/// `12,345,678`: long byte counts, readable.
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Whether the diagram draws this event (kernel reports and log lines live
/// in their panels). Every kind is named: a new one must be placed here.
fn drawn(event: &Observed) -> bool {
    match event {
        Observed::Observing { .. }
        | Observed::Socket(_)
        | Observed::ServerSocket(_)
        | Observed::ServerLog { .. }
        | Observed::ServerReady { .. }
        // A call still blocked is shown live in the Server panel.
        | Observed::ServerPending { .. }
        | Observed::Capture { .. } => false,
        Observed::Connect { .. }
        | Observed::ServerShutdown { .. }
        | Observed::Write { .. }
        | Observed::Read { .. }
        | Observed::ShutdownWrite
        | Observed::Eof
        | Observed::Reset
        | Observed::Close
        | Observed::ServerAccept { .. }
        | Observed::ServerRecv { .. }
        | Observed::ServerRequest { .. }
        | Observed::ServerSend { .. }
        | Observed::ServerClose
        | Observed::Lost { .. }
        | Observed::ServerFramer(_) => true,
    }
}

/// Calls that end a connection: drawn even past [`LANE_KEEP`], so the
/// diagram always shows how it ended. Every kind is named, as in [`drawn`].
fn ends_something(event: &Observed) -> bool {
    match event {
        Observed::ShutdownWrite
        | Observed::Eof
        | Observed::Reset
        | Observed::Close
        | Observed::ServerClose
        | Observed::ServerShutdown { .. }
        | Observed::Lost { .. } => true,
        // The server's `recv()` returning b'': the peer's FIN.
        Observed::ServerRecv { len, .. } => *len == 0,
        Observed::Observing { .. }
        | Observed::Connect { .. }
        | Observed::Write { .. }
        | Observed::Read { .. }
        | Observed::Socket(_)
        | Observed::ServerAccept { .. }
        | Observed::ServerRequest { .. }
        | Observed::ServerSend { .. }
        | Observed::ServerLog { .. }
        | Observed::ServerSocket(_)
        | Observed::ServerReady { .. }
        | Observed::ServerPending { .. }
        | Observed::ServerFramer(_)
        | Observed::Capture { .. } => false,
    }
}

impl Observe {
    /// Whether the relay is observing this session at all (it says so first).
    pub fn active(&self) -> bool {
        self.observing.is_some()
    }

    /// Whether the server's side is observed (an in-process target).
    pub fn sees_server(&self) -> bool {
        self.observing.as_ref().is_some_and(|o| o.server)
    }

    /// Whether the server's socket is known, its calls or not: a server the
    /// relay does not run, on the relay's machine, has its socket reported
    /// (sock_diag) though its calls are not.
    pub fn sees_server_socket(&self) -> bool {
        self.sees_server() || self.server.info.is_some()
    }

    /// Recv rows dropped from the front of [`Observe::recvs`].
    pub fn recvs_dropped(&self) -> u64 {
        let kept: u64 = self.recvs.iter().map(|r| u64::from(r.count)).sum();
        self.recv_calls - kept
    }

    /// Folds one observation in; `at_ms` is when the page received it.
    pub fn take(&mut self, at_ms: f64, observation: Observation) {
        let Observation { t_us, event, .. } = observation;
        if drawn(&event) {
            if self.lane.len() < LANE_KEEP || ends_something(&event) {
                let mut event = event.clone();
                // The diagram draws calls, not bytes: a watch stream's
                // received bytes are kept once, by whoever shows them.
                if let Observed::ServerRecv { data, .. } = &mut event {
                    *data = None;
                }
                self.lane.push(LaneEntry { at_ms, t_us, event });
            } else {
                self.lane_hidden += 1;
            }
        }
        if matches!(
            event,
            Observed::ServerRecv { .. }
                | Observed::ServerSend { .. }
                | Observed::ServerShutdown { .. }
                | Observed::ServerClose
        ) {
            self.pending = None;
        }
        match event {
            Observed::Observing { target, server } => {
                self.observing = Some(Observing { target, server })
            }
            Observed::Connect { local, peer, .. } => {
                self.relay.local = Some(local);
                self.relay.peer = Some(peer);
            }
            Observed::Write { len, sent, count } => {
                let w = &mut self.writes;
                w.calls += u64::from(count);
                w.offered += len;
                w.sent += sent;
                if sent < len {
                    w.short += 1;
                }
            }
            Observed::Close => self.relay.closed = true,
            Observed::Socket(info) => self.relay.report(t_us, info),
            Observed::ServerAccept { local, peer } => {
                self.server.local = Some(local);
                self.server.peer = Some(peer);
            }
            Observed::ServerRecv {
                len,
                count,
                decoder,
                ..
            } => {
                self.recv_calls += u64::from(count);
                self.recv_bytes += len;
                push_bounded(
                    &mut self.recvs,
                    RECV_KEEP,
                    ServerRecv {
                        t_us,
                        len,
                        count,
                        decoder,
                    },
                );
            }
            Observed::ServerRequest { repr } => {
                self.request_count += 1;
                push_bounded(&mut self.requests, REQUEST_KEEP, repr);
            }
            Observed::ServerSend { sent, count, .. } => {
                self.server_send_calls += u64::from(count);
                self.server_sent += sent;
            }
            Observed::ServerLog { level, line } => {
                self.log_count += 1;
                push_bounded(&mut self.logs, LOG_KEEP, LogLine { t_us, level, line });
            }
            Observed::ServerSocket(info) => {
                // A server the relay does not run is found by sock_diag by
                // the relay's connection reversed: its addresses are those.
                if self.server.local.is_none() && !self.sees_server() {
                    self.server.local = self.relay.peer.clone();
                    self.server.peer = self.relay.local.clone();
                }
                self.server.report(t_us, info)
            }
            Observed::ServerClose => self.server.closed = true,
            Observed::Lost { events } => self.lost += events,
            Observed::Capture { id } => self.capture = Some(id),
            // One session's view of the event loop; the Many connections lab merges them.
            Observed::Read { .. }
            | Observed::ShutdownWrite
            | Observed::Eof
            | Observed::Reset
            | Observed::ServerReady { .. }
            | Observed::ServerFramer { .. }
            // A traced program's calls (`relay --run`): drawn by the Server panel.
            | Observed::ServerShutdown { .. } => {}
            Observed::ServerPending { call, asked } => {
                self.pending = Some(Pending { call, asked, at_ms })
            }
        }
    }
}

#[cfg(test)]
#[path = "observe_tests.rs"]
mod tests;
