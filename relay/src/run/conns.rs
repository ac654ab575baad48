//! The program's connections that observed sessions claimed, by socket
//! inode, and the `server_*` events their calls become.
//!
//! A call names a descriptor; `/proc/TID/fd/N` names its socket's inode
//! (`socket:[INODE]`), which stays the same however the program dups or
//! renumbers it. At `accept()` the new socket's addresses (read from a copy
//! of the descriptor taken with `pidfd_getfd`) are offered to the hub: the
//! relay registered each observed session by its own address, which is the
//! program's peer, so the 4-tuple finds the session. A connection no
//! session claimed (another client, a session without `observe=1`) is not
//! kept, and its calls are let go without a second stop.

use std::collections::HashMap;
use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use nix::unistd::Pid;
use protocol::decode::{DecoderConfig, Event};
use protocol::relay_api::{DecoderState, Observed, ShutdownHow};
use protocol::Decoder;
use tutorial::servers::observe::{decoder_state, truncate, ConnectionSink, ServerHook};

use super::memory;
use super::syscalls::{errno_name, Buffer};

/// Largest content a connection's decoder accepts: what the relay holds
/// per traced connection at most (a frame being read).
pub const MAX_CONTENT: u64 = 1024 * 1024;

/// The sinks of the connections open now, by inode: where the program's
/// output lines go (to every one of them: a line is not per connection).
pub type Open = Mutex<HashMap<u64, Arc<dyn ConnectionSink>>>;

struct Conn {
    sink: Arc<dyn ConnectionSink>,
    decoder: Decoder,
    buf: BytesMut,
}

/// The claimed connections.
pub struct Conns {
    hook: Arc<dyn ServerHook>,
    by_inode: HashMap<u64, Conn>,
    open: Arc<Open>,
}

/// How one traced call ended, as the events need it.
pub struct Outcome {
    /// The call's result: bytes, 0, or a negative errno.
    pub result: i64,
    /// Microseconds from its entry stop to its exit stop.
    pub blocked_us: u64,
    /// The size it asked for.
    pub asked: u64,
}

/// The inode of the socket `fd` is in thread `tid`, if it is a socket.
pub fn socket_inode(tid: Pid, fd: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{tid}/fd/{fd}")).ok()?;
    let link = link.to_str()?;
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// A copy of descriptor `fd` of thread `tid`'s process (`pidfd_getfd`,
/// allowed to its tracer).
fn copy_fd(tid: Pid, fd: i32) -> io::Result<OwnedFd> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status"))?;
    let tgid: libc::pid_t = status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("no Tgid"))?;
    // SAFETY: plain system calls; each descriptor returned is owned once.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, tgid, 0);
        if pidfd < 0 {
            return Err(io::Error::last_os_error());
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as i32);
        let copy = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0);
        if copy < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(copy as i32))
    }
}

impl Conns {
    pub fn new(hook: Arc<dyn ServerHook>, open: Arc<Open>) -> Conns {
        Conns {
            hook,
            by_inode: HashMap::new(),
            open,
        }
    }

    /// Whether the socket `inode` is a claimed connection.
    pub fn claimed(&self, inode: u64) -> Option<&Arc<dyn ConnectionSink>> {
        self.by_inode.get(&inode).map(|c| &c.sink)
    }

    /// `accept()` returned `fd` in `tid`: offers its 4-tuple to the hub.
    pub fn accepted(&mut self, tid: Pid, fd: i32) {
        let Ok(copy) = copy_fd(tid, fd) else { return };
        let Ok(inode) = nix::sys::stat::fstat(copy.as_fd()).map(|s| s.st_ino) else {
            return;
        };
        let stream = TcpStream::from(copy);
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            return;
        };
        let Some(sink) = self.hook.accepted(local, peer) else {
            return;
        };
        sink.observe(Observed::ServerAccept {
            local: local.to_string(),
            peer: peer.to_string(),
        });
        sample(&stream, &sink);
        self.lock_open().insert(inode, sink.clone());
        let decoder = Decoder::new(DecoderConfig {
            max_content_length: MAX_CONTENT,
            layout: false,
        });
        self.by_inode.insert(
            inode,
            Conn {
                sink,
                decoder,
                buf: BytesMut::new(),
            },
        );
    }

    /// A `recv()` on `inode` ended; its bytes are read from `buffer`.
    pub fn recv(&mut self, tid: Pid, fd: i32, inode: u64, buffer: Buffer, out: Outcome) {
        let Some(conn) = self.by_inode.get_mut(&inode) else {
            return;
        };
        let asked = Some(out.asked);
        let blocked_us = Some(out.blocked_us);
        if out.result < 0 {
            conn.sink.observe(Observed::ServerRecv {
                len: 0,
                count: 1,
                decoder: None,
                asked,
                blocked_us,
                error: Some(errno_name(-out.result as i32)),
                data: None,
            });
            return;
        }
        let len = out.result as usize;
        let mut requests = Vec::new();
        let decoder = if conn.decoder.error().is_some() {
            Some(not_this_protocol(&conn.decoder))
        } else if len == 0 {
            Some(match conn.decoder.finish_with(conn.buf.len()) {
                Ok(()) => decoder_state(&conn.decoder, conn.buf.len()),
                Err(e) => DecoderState::Failed {
                    error: truncate(format!("not this protocol: {e}")),
                },
            })
        } else {
            match read_buffer(tid, buffer, len) {
                Ok(bytes) => {
                    conn.buf.extend_from_slice(&bytes);
                    loop {
                        match conn.decoder.decode_from(&mut conn.buf) {
                            Ok(Some(Event::Message(decoded))) => requests.push(truncate(
                                protocol::python::content_repr(&decoded.message.content),
                            )),
                            Ok(Some(_)) => {}
                            Ok(None) => break,
                            Err(_) => {
                                conn.buf = BytesMut::new();
                                break;
                            }
                        }
                    }
                    Some(if conn.decoder.error().is_some() {
                        not_this_protocol(&conn.decoder)
                    } else {
                        decoder_state(&conn.decoder, conn.buf.len())
                    })
                }
                Err(e) => {
                    tracing::debug!("cannot read the program's buffer: {e}");
                    None
                }
            }
        };
        conn.sink.observe(Observed::ServerRecv {
            len: len as u64,
            count: 1,
            decoder,
            asked,
            blocked_us,
            error: None,
            data: None,
        });
        for repr in requests {
            conn.sink.observe(Observed::ServerRequest { repr });
        }
        sample_fd(tid, fd, &conn.sink);
    }

    /// A `send()` on `inode` ended.
    pub fn send(&mut self, tid: Pid, fd: i32, inode: u64, out: Outcome) {
        let Some(conn) = self.by_inode.get(&inode) else {
            return;
        };
        let failed = out.result < 0;
        conn.sink.observe(Observed::ServerSend {
            len: out.asked,
            sent: if failed { 0 } else { out.result as u64 },
            count: 1,
            blocked_us: Some(out.blocked_us),
            error: failed.then(|| errno_name(-out.result as i32)),
        });
        sample_fd(tid, fd, &conn.sink);
    }

    /// A `shutdown()` on `inode` ended.
    pub fn shutdown(&mut self, tid: Pid, fd: i32, inode: u64, how: u64, result: i64) {
        let Some(conn) = self.by_inode.get(&inode) else {
            return;
        };
        let how = match how as i32 {
            libc::SHUT_RD => ShutdownHow::Read,
            libc::SHUT_WR => ShutdownHow::Write,
            _ => ShutdownHow::Both,
        };
        if result == 0 {
            conn.sink.observe(Observed::ServerShutdown { how });
            sample_fd(tid, fd, &conn.sink);
        }
    }

    /// `close()` on `inode` succeeded: the connection is over for us.
    pub fn closed(&mut self, inode: u64) {
        if let Some(conn) = self.by_inode.remove(&inode) {
            self.lock_open().remove(&inode);
            conn.sink.observe(Observed::ServerClose);
        }
    }

    /// The program ended: the kernel closed what it still held.
    pub fn all_closed(&mut self) {
        let inodes: Vec<u64> = self.by_inode.keys().copied().collect();
        for inode in inodes {
            self.closed(inode);
        }
    }

    fn lock_open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<dyn ConnectionSink>>> {
        self.open.lock().expect("no panics under the lock")
    }
}

/// What the bytes are, once the decoder refused them: not the tutorial's
/// protocol (an echo server's, a learner's own).
fn not_this_protocol(decoder: &Decoder) -> DecoderState {
    let why = decoder.error().map(ToString::to_string).unwrap_or_default();
    DecoderState::Failed {
        error: truncate(format!("not this protocol: {why}")),
    }
}

/// The first `len` bytes of a call's buffer.
fn read_buffer(tid: Pid, buffer: Buffer, len: usize) -> io::Result<Vec<u8>> {
    match buffer {
        Buffer::Plain(addr, _) => memory::read(tid, addr, len),
        Buffer::Vector(addr, count) => memory::gather(tid, &memory::iovecs(tid, addr, count)?, len),
        Buffer::Message(msghdr) => {
            let (addr, count) = memory::msghdr_iov(tid, msghdr)?;
            memory::gather(tid, &memory::iovecs(tid, addr, count)?, len)
        }
    }
}

/// The size a call asked for (read at its entry).
pub fn asked(tid: Pid, buffer: Buffer) -> u64 {
    let total = |pieces: io::Result<Vec<(u64, u64)>>| {
        pieces
            .map(|p| p.iter().map(|(_, len)| len).sum())
            .unwrap_or(0)
    };
    match buffer {
        Buffer::Plain(_, len) => len,
        Buffer::Vector(addr, count) => total(memory::iovecs(tid, addr, count)),
        Buffer::Message(msghdr) => {
            total(memory::msghdr_iov(tid, msghdr).and_then(|(a, c)| memory::iovecs(tid, a, c)))
        }
    }
}

fn sample(stream: &TcpStream, sink: &Arc<dyn ConnectionSink>) {
    if let Some(info) = tutorial::sockstat::sample_fd(stream.as_raw_fd()) {
        sink.observe(Observed::ServerSocket(info));
    }
}

/// The program's socket's kernel queues now, from a copy of its descriptor.
fn sample_fd(tid: Pid, fd: i32, sink: &Arc<dyn ConnectionSink>) {
    if let Ok(copy) = copy_fd(tid, fd) {
        sample(&TcpStream::from(copy), sink);
    }
}
