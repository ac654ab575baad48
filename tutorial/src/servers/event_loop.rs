//! The tutorial's multi-connection server as it wrote it: one thread, one
//! event loop, non-blocking sockets. Where the tutorial has `selectors`
//! (`sel.register`, `sel.select()` returning `(key, mask)` pairs), this has
//! mio (`Registry::register`, `Poll::poll` filling `Events`):
//!
//! - the listening socket is registered for reading; when it is ready,
//!   `accept()` takes one connection (the tutorial's `accept_wrapper`) and
//!   registers it for reading and writing;
//! - each `poll()` is one iteration; for every ready connection,
//!   `service_connection`: readable → one `recv(1024)`, appended to what is
//!   owed (0 bytes → close); writable and something owed → one `send()` of
//!   it, keeping what the kernel did not take;
//! - the same log lines: `Accepted connection from …`, `Echoing b'…' to …`,
//!   `Closing connection to …`.
//!
//! One difference matters. `select()` is level-triggered: it reports a
//! socket as long as it is ready, which is why the tutorial's loop needs no
//! bookkeeping (and also why it spins while any socket is writable). mio is
//! edge-triggered: a readiness is reported once, when it appears. So after a
//! call that moved bytes (or accepted), the loop re-registers the socket,
//! which makes the kernel report it again at the next `poll()` if it is still
//! ready: the tutorial's behaviour, one `recv()`/`send()` per socket per
//! iteration, without the spin of a socket that is writable with nothing to
//! send.
//!
//! Bounds ([`Config`]): connections served at once (over the cap, the
//! listening socket is left unarmed and connections wait in the kernel's
//! backlog), connections per client address (the accept loop's rule,
//! [`PerIp`]: over its share a connection is closed at once, logged),
//! bytes owed per connection (a connection that sends without reading its
//! echo is not read from until it reads), `poll()` events per iteration, an
//! idle timeout, and the log ([`LogLines`]).
//!
//! [`serve`] runs the loop on its own thread and stops it through a mio
//! [`Waker`] when its token is cancelled.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use protocol::python::python_bytes_repr;
use protocol::relay_api::{LogLevel, Readiness};
use tokio_util::sync::CancellationToken;

use super::accept::{
    idle_timeout, IpSlot, PerIp, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_IP,
};
use super::lines::{LogLines, ServerLog};
use super::net::PyAddr;
use super::observe::{Hook, LoopWatch};
use crate::truncate::for_log;

/// Bytes one `recv()` asks for: the tutorial's `sock.recv(1024)`.
pub const RECV_SIZE: usize = 1024;
/// Default [`Config::max_owed`].
pub const DEFAULT_MAX_OWED: usize = 64 * 1024;
/// Default [`Config::events_capacity`].
pub const DEFAULT_EVENTS_CAPACITY: usize = 1024;
/// Default [`Config::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often idle connections are looked for (and the longest one
/// `poll()` waits).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Connections get tokens from here on, never reused.
const FIRST_CONNECTION: usize = 2;

/// Limits of the event-loop server.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections one client address may have open at once; more are
    /// closed as soon as they are accepted (the accept loop's rule).
    pub max_connections_per_ip: usize,
    /// Bytes received and not yet echoed that one connection may owe; at the
    /// cap the loop stops reading it until its client reads.
    pub max_owed: usize,
    /// Ready sockets one `poll()` returns at most (mio's `Events` capacity);
    /// the rest are reported by the next one.
    pub events_capacity: usize,
    /// A connection that moved no byte for this long is closed.
    pub idle_timeout: Duration,
    /// How much the loop logs.
    pub log: LogLines,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            log: LogLines::Every,
            max_owed: DEFAULT_MAX_OWED,
            events_capacity: DEFAULT_EVENTS_CAPACITY,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// Stops a running [`EventLoop`] from another thread.
#[derive(Clone)]
pub struct Stopper {
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
}

impl Stopper {
    /// Asks the loop to close every connection and return; it does at its
    /// next wake-up, which this causes.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        if let Err(e) = self.waker.wake() {
            tracing::error!("cannot wake the event loop: {e}");
        }
    }
}

/// One accepted connection: the tutorial's `types.SimpleNamespace(addr,
/// inb, outb)`, with what the loop needs to re-arm it.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Received and not yet sent back (the tutorial's `outb`).
    owed: Vec<u8>,
    last_io: Instant,
    watch: LoopWatch,
    /// Its part of its address's share, given back when it closes (none
    /// for a relayed connection).
    slot: IpSlot,
}

/// The selectors-style echo server, ready to [`run`](EventLoop::run).
pub struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    /// The listening socket is not re-armed while at the connection cap.
    listener_paused: bool,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    iteration: u64,
    config: Config,
    hook: Option<Hook>,
    per_ip: Arc<PerIp>,
    log: ServerLog,
    stop: Arc<AtomicBool>,
    local: SocketAddr,
}

impl EventLoop {
    /// Registers `listener` (made non-blocking here) and a waker; the
    /// [`Stopper`] ends [`run`](EventLoop::run).
    pub fn new(
        listener: std::net::TcpListener,
        config: Config,
        hook: Option<Hook>,
    ) -> io::Result<(EventLoop, Stopper)> {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = Stopper {
            waker,
            stop: stop.clone(),
        };
        let event_loop = EventLoop {
            poll,
            listener,
            listener_paused: false,
            connections: HashMap::new(),
            next_token: FIRST_CONNECTION,
            iteration: 0,
            per_ip: PerIp::new(config.max_connections_per_ip),
            log: ServerLog::new(config.log),
            config,
            hook,
            stop,
            local,
        };
        Ok((event_loop, stopper))
    }

    /// The listening socket's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Runs the loop on this thread until stopped; closes every connection
    /// before returning. An iteration is a `poll()` that returned at least
    /// one ready socket.
    pub fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(self.config.events_capacity.max(1));
        let mut buf = [0u8; RECV_SIZE];
        let mut last_sweep = Instant::now();
        loop {
            match self.poll.poll(&mut events, Some(SWEEP_EVERY)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.stop.load(Ordering::Acquire) {
                self.close_all();
                return Ok(());
            }
            let ready: Vec<(Token, bool, bool)> = events
                .iter()
                .filter(|e| e.token() != WAKER)
                .map(|e| {
                    // What select() would report: EOF and errors are readable
                    // (recv() says which), errors writable too.
                    let readable = e.is_readable() || e.is_read_closed() || e.is_error();
                    let writable = e.is_writable() || e.is_error();
                    (e.token(), readable, writable)
                })
                .collect();
            if !ready.is_empty() {
                self.iteration += 1;
                let count = u32::try_from(ready.len()).unwrap_or(u32::MAX);
                for (token, readable, writable) in ready {
                    if token == LISTENER {
                        self.accept(count)?;
                    } else if let Some(io) = Readiness::of(readable, writable) {
                        self.service(token, io, count, &mut buf);
                    }
                }
            }
            if last_sweep.elapsed() >= SWEEP_EVERY {
                last_sweep = Instant::now();
                self.close_idle();
            }
        }
    }

    /// The tutorial's `accept_wrapper`: one `accept()` per readiness.
    fn accept(&mut self, ready: u32) -> io::Result<()> {
        if self.connections.len() >= self.config.max_connections {
            self.listener_paused = true;
            return Ok(());
        }
        let (mut stream, peer) = match self.listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => {
                // The connection is gone (ECONNABORTED) or we are out of
                // descriptors: this one is lost, the loop goes on.
                tracing::warn!("accept() failed: {e}");
                return self.rearm_listener();
            }
        };
        let token = Token(self.next_token);
        self.next_token += 1;
        let local = stream.local_addr().unwrap_or(self.local);
        let slot = self.per_ip.take_for(self.hook.as_ref(), Some(local), peer);
        let watch = LoopWatch::accepted(
            self.hook.as_ref(),
            &stream,
            (local, peer),
            self.iteration,
            ready,
            &self.log,
        );
        let Some(slot) = slot else {
            watch.log(
                LogLevel::Warning,
                format_args!(
                    "Refusing connection from {}: {} connections from its address already (--max-connections-per-ip)",
                    PyAddr(peer),
                    self.per_ip.limit()
                ),
            );
            watch.close();
            drop(stream);
            return self.rearm_listener();
        };
        watch.log(
            LogLevel::Info,
            format_args!("Accepted connection from {}", PyAddr(peer)),
        );
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            token,
            Interest::READABLE | Interest::WRITABLE,
        ) {
            watch.log(
                LogLevel::Warning,
                format_args!("Error for {}: {e}", PyAddr(peer)),
            );
            watch.close();
        } else {
            self.connections.insert(
                token,
                Connection {
                    stream,
                    peer,
                    owed: Vec::new(),
                    last_io: Instant::now(),
                    watch,
                    slot,
                },
            );
        }
        self.rearm_listener()
    }

    fn rearm_listener(&mut self) -> io::Result<()> {
        self.listener_paused = false;
        self.poll
            .registry()
            .reregister(&mut self.listener, LISTENER, Interest::READABLE)
    }

    /// The tutorial's `service_connection(key, mask)`.
    fn service(&mut self, token: Token, io: Readiness, ready: u32, buf: &mut [u8]) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return;
        };
        conn.watch.ready(self.iteration, ready, io);
        let mut moved = false;
        if io.readable() && conn.owed.len() < self.config.max_owed {
            let room = buf.len().min(self.config.max_owed - conn.owed.len());
            match conn.stream.read(&mut buf[..room]) {
                Ok(0) => {
                    // The client's FIN: the b'' that makes the loop close.
                    conn.watch.recv(&conn.stream, &[], room);
                    return self.close(token, None);
                }
                Ok(n) => {
                    conn.watch.recv(&conn.stream, &buf[..n], room);
                    conn.owed.extend_from_slice(&buf[..n]);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                Err(e) => return self.close(token, Some(e)),
            }
        }
        if io.writable() && !conn.owed.is_empty() {
            // The repr is the costly part of the line: only when someone reads it.
            if conn.watch.wants_each() {
                let repr = python_bytes_repr(&conn.owed);
                conn.watch.log_each(
                    LogLevel::Info,
                    format_args!("Echoing {} to {}", for_log(&repr), PyAddr(conn.peer)),
                );
            }
            match conn.stream.write(&conn.owed) {
                Ok(sent) => {
                    conn.watch.send(&conn.stream, conn.owed.len(), sent);
                    conn.owed.drain(..sent);
                    moved = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => moved = true,
                Err(e) => return self.close(token, Some(e)),
            }
        }
        if moved {
            conn.last_io = Instant::now();
            // Edge-triggered: ask the kernel to report it again if it is
            // still ready (see the module docs).
            if let Err(e) = self.poll.registry().reregister(
                &mut conn.stream,
                token,
                Interest::READABLE | Interest::WRITABLE,
            ) {
                self.close(token, Some(e));
            }
        }
    }

    /// Unregisters and closes one connection, with the tutorial's line.
    fn close(&mut self, token: Token, error: Option<io::Error>) {
        let Some(mut conn) = self.connections.remove(&token) else {
            return;
        };
        if let Some(e) = error {
            conn.watch.log(
                LogLevel::Warning,
                format_args!("Error for {}: {e}", PyAddr(conn.peer)),
            );
        }
        conn.watch.log(
            LogLevel::Info,
            format_args!("Closing connection to {}", PyAddr(conn.peer)),
        );
        let _ = self.poll.registry().deregister(&mut conn.stream);
        conn.watch.close();
        drop(conn.stream);
        if self.listener_paused && self.connections.len() < self.config.max_connections {
            // Connections may wait in the backlog: re-arming reports them.
            if let Err(e) = self.rearm_listener() {
                tracing::error!("cannot re-arm the listening socket: {e}");
            }
        }
    }

    fn close_idle(&mut self) {
        let own = self.config.idle_timeout;
        let idle: Vec<(Token, Duration)> = self
            .connections
            .iter()
            .map(|(t, c)| (*t, idle_timeout(c.slot.is_relayed(), own)))
            .filter(|(t, limit)| self.connections[t].last_io.elapsed() >= *limit)
            .collect();
        for (token, limit) in idle {
            let error = io::Error::new(io::ErrorKind::TimedOut, format!("idle for {limit:?}"));
            self.close(token, Some(error));
        }
    }

    fn close_all(&mut self) {
        let all: Vec<Token> = self.connections.keys().copied().collect();
        for token in all {
            self.close(token, None);
        }
    }
}

/// Runs the event loop on `listener` on a thread of its own (named
/// `event-loop`) until `shutdown` is cancelled; then it closes every
/// connection and this returns.
pub async fn serve(
    listener: std::net::TcpListener,
    config: Config,
    hook: Option<Hook>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let (event_loop, stopper) = EventLoop::new(listener, config, hook)?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("event-loop".into())
        .spawn(move || {
            let _ = done_tx.send(event_loop.run());
        })?;
    let mut done = done_rx;
    tokio::select! {
        result = &mut done => return result.unwrap_or_else(|_| Err(io::Error::other("the event loop panicked"))),
        () = shutdown.cancelled() => stopper.stop(),
    }
    done.await
        .unwrap_or_else(|_| Err(io::Error::other("the event loop panicked")))
}
