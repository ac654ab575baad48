//! The Many connections lab as plain data: the browser's connections to
//! the event-loop server (`multiconn`) and the server's loop iterations,
//! merged from every connection's observation stream.
//!
//! Each connection's stream carries `server_ready` events (the loop's
//! iteration number, how many sockets were ready, what this one was ready
//! for) and, after each, what the server did with it in that iteration.
//! Iteration numbers are the server's, so merging the streams by number
//! rebuilds the loop as the server ran it; sockets other people's
//! connections made ready only show in the `ready` count.

use protocol::relay_api::{Observation, Observed, Readiness};

/// What every connection sends, in this order: the tutorial's client's
/// `messages`.
pub const MESSAGES: [&str; 2] = ["Message 1 from client.", "Message 2 from client."];
/// Fewest connections the lab opens.
pub const MIN_CONNECTIONS: usize = 2;
/// Most connections the lab opens.
pub const MAX_CONNECTIONS: usize = 8;
/// Iterations kept (the oldest go first), so a long run holds bounded memory.
pub const ITERATION_KEEP: usize = 300;

/// Where one connection is.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// The WebSocket (and the relay's TCP connection) is being opened.
    Connecting,
    /// Open; sending.
    Open,
    /// Everything sent came back; the browser sent its FIN (half-close).
    HalfClosed,
    /// The WebSocket closed with this code.
    Closed(u16),
}

/// One of the browser's connections (connection `n` is `conns[n - 1]`, the
/// tutorial client's `connid`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conn {
    /// Where it is.
    pub status: Status,
    /// Bytes the browser sent on it.
    pub sent: Vec<u8>,
    /// Bytes that came back on it.
    pub received: Vec<u8>,
    /// The iteration of its latest `server_ready`: later calls belong to it.
    current: Option<u64>,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            status: Status::Connecting,
            sent: Vec::new(),
            received: Vec::new(),
            current: None,
        }
    }

    /// Whether everything sent came back, byte for byte.
    pub fn echoed(&self) -> bool {
        !self.sent.is_empty() && self.sent == self.received
    }
}

/// One system call (or log line) of the server, inside an iteration.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    /// `accept()` returned this connection.
    Accept,
    /// `recv()` returned this many bytes (0: the client's FIN).
    Recv(u64),
    /// `send()` of `len` bytes, of which the kernel took `sent`.
    Send {
        /// Offered.
        len: u64,
        /// Taken.
        sent: u64,
    },
    /// A line the server printed.
    Log(String),
    /// The server closed the socket.
    Close,
}

/// One of the browser's connections in one iteration.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Which connection (from 1).
    pub conn: usize,
    /// What `poll()` said it was ready for.
    pub io: Readiness,
    /// What the server then did with it.
    pub calls: Vec<Call>,
}

/// One `poll()` of the server that found at least one of these connections ready.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Iteration {
    /// Sockets ready in it, others' included.
    pub ready: u32,
    /// These connections' part, in the order the server served them.
    pub entries: Vec<Entry>,
}

/// The lab: connections and the merged loop.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lab {
    /// Which run the connections belong to; events of an older run are ignored.
    pub run: u32,
    /// The connections, connection `n` at `n - 1`.
    pub conns: Vec<Conn>,
    /// Iterations, by number (ascending).
    pub iterations: Vec<(u64, Iteration)>,
}

/// What happened to one connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// The WebSocket opened.
    Opened,
    /// The browser sent these bytes.
    Sent(Vec<u8>),
    /// The browser half-closed.
    HalfClosed,
    /// Bytes came back.
    Received(Vec<u8>),
    /// The relay observed something.
    Observed(Observation),
    /// The WebSocket closed with this code.
    Closed(u16),
}

/// Everything that changes the lab.
#[derive(Debug, Clone, PartialEq)]
pub enum ManyAction {
    /// A new run of `count` connections; forgets the previous run.
    Start {
        /// The run's number.
        run: u32,
        /// How many connections.
        count: usize,
    },
    /// Connection `conn` (from 1) of run `run`.
    Conn {
        /// The run.
        run: u32,
        /// Which connection, from 1.
        conn: usize,
        /// What happened.
        event: ConnEvent,
    },
}

impl Lab {
    /// Applies one action.
    pub fn reduce(&mut self, action: ManyAction) {
        match action {
            ManyAction::Start { run, count } => {
                *self = Lab {
                    run,
                    conns: (0..count.clamp(MIN_CONNECTIONS, MAX_CONNECTIONS))
                        .map(|_| Conn::new())
                        .collect(),
                    iterations: Vec::new(),
                };
            }
            ManyAction::Conn { run, conn, event } if run == self.run => self.event(conn, event),
            ManyAction::Conn { .. } => {}
        }
    }

    fn event(&mut self, n: usize, event: ConnEvent) {
        let Some(conn) = n.checked_sub(1).and_then(|i| self.conns.get_mut(i)) else {
            return;
        };
        match event {
            ConnEvent::Opened => conn.status = Status::Open,
            ConnEvent::Sent(bytes) => conn.sent.extend_from_slice(&bytes),
            ConnEvent::HalfClosed => conn.status = Status::HalfClosed,
            ConnEvent::Received(bytes) => conn.received.extend_from_slice(&bytes),
            ConnEvent::Closed(code) => conn.status = Status::Closed(code),
            ConnEvent::Observed(observation) => self.observed(n, observation.event),
        }
    }

    fn observed(&mut self, n: usize, event: Observed) {
        let call = match event {
            Observed::ServerReady {
                iteration,
                ready,
                io,
            } => {
                self.conns[n - 1].current = Some(iteration);
                // Streams arrive one after another: an iteration is most
                // often the last one or a recent one.
                let at = match self
                    .iterations
                    .binary_search_by_key(&iteration, |(n, _)| *n)
                {
                    Ok(at) => at,
                    Err(at) => {
                        self.iterations
                            .insert(at, (iteration, Iteration::default()));
                        at
                    }
                };
                let it = &mut self.iterations[at].1;
                it.ready = ready;
                it.entries.push(Entry {
                    conn: n,
                    io,
                    calls: Vec::new(),
                });
                if self.iterations.len() > ITERATION_KEEP {
                    self.iterations.remove(0);
                }
                return;
            }
            Observed::ServerAccept { .. } => Call::Accept,
            Observed::ServerRecv { len, .. } => Call::Recv(len),
            Observed::ServerSend { len, sent, .. } => Call::Send { len, sent },
            Observed::ServerLog { line, .. } => Call::Log(line),
            Observed::ServerClose => Call::Close,
            // The lab draws the server's calls in the loop's iterations;
            // the relay's own socket, samples and framing are the
            // playground's to show. Every kind is named: a new one must be
            // placed here.
            Observed::Observing { .. }
            | Observed::Connect { .. }
            | Observed::Write { .. }
            | Observed::Read { .. }
            | Observed::ShutdownWrite
            | Observed::Eof
            | Observed::Reset
            | Observed::Close
            | Observed::Socket(_)
            | Observed::ServerRequest { .. }
            | Observed::ServerSocket(_)
            | Observed::Lost { .. }
            | Observed::ServerFramer(_)
            // The event loop's calls never block, and it never half-closes.
            | Observed::ServerPending { .. }
            | Observed::ServerShutdown { .. }
            | Observed::Capture { .. } => return,
        };
        let Some(current) = self.conns[n - 1].current else {
            return;
        };
        let entry = self
            .iterations
            .iter_mut()
            .rev()
            .find(|(number, _)| *number == current)
            .and_then(|(_, it)| it.entries.iter_mut().rev().find(|e| e.conn == n));
        if let Some(entry) = entry {
            entry.calls.push(call);
        }
    }
}

/// What a socket was ready for, in the tutorial's terms.
pub fn ready_words(io: Readiness) -> &'static str {
    match io {
        Readiness::Accept => "listening socket: readable",
        Readiness::Read => "readable",
        Readiness::Write => "writable",
        Readiness::ReadWrite => "readable + writable",
    }
}

/// One call as the lab's table says it; `conn` is the connection it was on.
pub fn call_words(call: &Call, conn: usize) -> String {
    match call {
        Call::Accept => format!("accept() → connection {conn}"),
        Call::Recv(0) => "recv() → b'' (the client is done)".into(),
        Call::Recv(len) => format!("recv(1024) → {len} bytes"),
        Call::Send { len, sent } if len == sent => format!("send() → all {sent} bytes"),
        Call::Send { len, sent } => format!("send() → {sent} of {len} bytes"),
        Call::Log(line) => line.clone(),
        Call::Close => "close()".into(),
    }
}

/// What an entry with no calls means.
pub fn idle_words(io: Readiness) -> &'static str {
    if io == Readiness::Write {
        "writable, nothing to send"
    } else {
        "nothing to do"
    }
}

/// The short form for a connection's lane: its calls, without the log lines.
pub fn lane_words(entry: &Entry) -> String {
    let mut words = String::new();
    for call in &entry.calls {
        let word = match call {
            Call::Accept => "accept",
            Call::Recv(0) => "recv b''",
            Call::Recv(_) => "recv",
            Call::Send { .. } => "send",
            Call::Close => "close",
            Call::Log(_) => continue,
        };
        if !words.is_empty() {
            words.push_str(" · ");
        }
        words.push_str(word);
        if let Call::Recv(n @ 1..) | Call::Send { sent: n, .. } = call {
            words.push_str(&format!(" {n} B"));
        }
    }
    if words.is_empty() {
        idle_words(entry.io).to_owned()
    } else {
        words
    }
}

#[cfg(test)]
#[path = "many_tests.rs"]
mod tests;
