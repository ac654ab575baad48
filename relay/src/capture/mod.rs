//! The real capture of a session's TCP leg: where the relay may capture
//! packets (`CAP_NET_RAW`: root, `setcap cap_net_raw+ep` on the binary, or
//! the systemd unit's `AmbientCapabilities`), each recorded or observed
//! session's segments between the relay and the target, as the kernel
//! sent them (handshake, windows, delayed ACKs, zero-window probes, the
//! FINs or the RST), written as a pcapng by `protocol::capture::pcapng`'s
//! block writer. Where it may not, nothing runs here and the session's
//! capture is reconstructed from its transcript (`protocol::capture`),
//! which says so.
//!
//! - [`Captures`]: the relay's switch (`--no-capture`), bounds and the
//!   once-logged refusal; [`CaptureSlot`]: one session's capture, started
//!   by the bridge between `bind()` and `connect()` (so the SYN is in it)
//!   and finished after the session; [`Captured`]: the file.
//! - `packet`: the `AF_PACKET` socket and its BPF filter.
//! - `store`: finished captures kept for the page's download
//!   (`GET /capture/<id>`).
//!
//! Bounds: at most `--max-captures` sessions are captured at once, and
//! `--max-captures-per-ip` of one client's (every loopback packet runs
//! every running capture's filter: a stranger with many sessions must not
//! make every connection of the machine pay for them); a session past
//! either gets the reconstruction. A capture holds at most `--capture-max-bytes` of packets
//! (counted in the relay's held bytes, `/healthz` `buffered_bytes`, and
//! stopped where that total would pass `--max-buffered-bytes`); past
//! either it keeps counting what it no longer keeps, and the file's
//! comment says how many packets and bytes are missing. The kernel queues
//! at most [`RCVBUF`] bytes for it; what it dropped is in the comment too.

mod packet;
pub mod store;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use protocol::capture::pcapng::{header, packet_block};
use protocol::capture::tcp::flags;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::budget::HeldBytes;
use crate::clients::{ClientSlot, PerClient};
use crate::config::RelayConfig;
use packet::{between, tcp_flags, PacketSocket};
pub use store::Store;

/// The kernel buffer of one capture's packet socket.
pub const RCVBUF: usize = 256 * 1024;
/// After its session, how long a capture waits for the connection's last
/// segments (the FINs and their ACKs, or a RST) before it stops.
pub const FINISH_WAIT: Duration = Duration::from_millis(250);
/// What one kept packet costs besides its bytes (the pcapng block).
const BLOCK_BYTES: usize = 32;
/// The largest IP packet (a loopback GSO packet included).
const SCRATCH: usize = 65_536;

/// The relay's captures: whether to, within what.
#[derive(Debug)]
pub struct Captures {
    enabled: bool,
    max_bytes: usize,
    held: Arc<HeldBytes>,
    max_held: usize,
    /// `CAP_NET_RAW` is missing: logged once, never tried again.
    denied: AtomicBool,
    /// `--max-captures`: places for running captures.
    running: Arc<Semaphore>,
    /// `--max-captures-per-ip`.
    per_client: PerClient,
    /// Finished captures of observed sessions, for the page.
    pub store: Store,
}

impl Captures {
    /// `config`'s switch and bounds, counted in `held`.
    pub fn new(config: &RelayConfig, held: Arc<HeldBytes>) -> Arc<Captures> {
        Arc::new(Captures {
            enabled: !config.no_capture,
            max_bytes: config.capture_max_bytes,
            store: Store::new(config.capture_keep, held.clone(), config.max_buffered_bytes),
            held,
            max_held: config.max_buffered_bytes,
            denied: AtomicBool::new(false),
            running: Arc::new(Semaphore::new(config.max_captures)),
            per_client: PerClient::new(config.max_captures_per_ip),
        })
    }

    /// Whether sessions are captured for real (false until one tried,
    /// and after `CAP_NET_RAW` was found missing).
    pub fn denied(&self) -> bool {
        self.denied.load(Ordering::Relaxed)
    }

    /// A place for one more running capture of `client`'s, within
    /// `--max-captures` and `--max-captures-per-ip`.
    fn place(&self, client: IpAddr) -> Option<Place> {
        let Ok(running) = self.running.clone().try_acquire_owned() else {
            tracing::debug!("no capture for a session of {client}: --max-captures are running");
            return None;
        };
        let Some(client_slot) = self.per_client.try_take(client) else {
            tracing::debug!(
                "no capture for a session of {client}: it has --max-captures-per-ip running"
            );
            return None;
        };
        Some(Place {
            _running: running,
            _client: client_slot,
        })
    }

    /// Starts capturing the segments between `local` (bound, its port
    /// known) and `peer` for `client`'s session; `None` where the relay may
    /// not (logged once) or has no place for it.
    fn start(
        self: &Arc<Self>,
        client: IpAddr,
        local: SocketAddr,
        peer: SocketAddr,
    ) -> Option<Capture> {
        if !self.enabled || self.denied() {
            return None;
        }
        let place = self.place(client)?;
        let socket = match PacketSocket::open(local.port(), peer, RCVBUF) {
            Ok(socket) => socket,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if !self.denied.swap(true, Ordering::Relaxed) {
                    tracing::info!(
                        "packet capture not permitted ({e}; it needs CAP_NET_RAW): every .pcapng is reconstructed from the relay's system calls and says so (docs/capture.md)"
                    );
                }
                return None;
            }
            Err(e) => {
                tracing::debug!("no capture of {local} -> {peer}: {e}");
                return None;
            }
        };
        // SAFETY: the PacketSocket owns its descriptor (an OwnedFd) and
        // returns that same one for its whole life.
        let fd = match unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) } {
            Ok(fd) => fd,
            Err(e) => {
                tracing::debug!("no capture of {local} -> {peer}: {e}");
                return None;
            }
        };
        let stop = CancellationToken::new();
        let kept = Kept {
            all: self.clone(),
            local,
            peer,
            blocks: Vec::new(),
            held: 0,
            packets: 0,
            cut: None,
            missed: (0, 0),
            drops: 0,
            ends: Ends::default(),
        };
        let task = tokio::spawn(run(fd, stop.clone(), kept));
        Some(Capture {
            stop,
            task,
            _place: place,
        })
    }
}

/// What a running capture holds under the bounds, given back when it ends.
struct Place {
    _running: OwnedSemaphorePermit,
    _client: ClientSlot,
}

/// One running capture.
struct Capture {
    stop: CancellationToken,
    task: JoinHandle<Kept>,
    _place: Place,
}

/// A session's capture, if it has one: started by the bridge, finished
/// by the session.
pub struct CaptureSlot {
    captures: Arc<Captures>,
    /// Whose session it is, for `--max-captures-per-ip`.
    client: IpAddr,
    running: Mutex<Option<(String, Capture)>>,
}

impl CaptureSlot {
    /// A slot of `captures` for a session of `client`.
    pub fn new(captures: Arc<Captures>, client: IpAddr) -> CaptureSlot {
        CaptureSlot {
            captures,
            client,
            running: Mutex::new(None),
        }
    }

    /// Whether the relay may capture (a socket must then be bound before
    /// `connect()`, so its port is known to the filter).
    pub fn wanted(&self) -> bool {
        self.captures.enabled && !self.captures.denied()
    }

    /// Starts the capture of `local` (bound) ↔ `peer`; its id (for
    /// [`Store`]) if it runs.
    pub fn start(&self, local: SocketAddr, peer: SocketAddr) -> Option<String> {
        let capture = self.captures.start(self.client, local, peer)?;
        let id = Store::new_id();
        self.captures.store.expect(&id);
        *self.running.lock().expect("no panics under the lock") = Some((id.clone(), capture));
        Some(id)
    }

    /// The running capture's id.
    pub fn id(&self) -> Option<String> {
        let running = self.running.lock().expect("no panics under the lock");
        running.as_ref().map(|(id, _)| id.clone())
    }

    /// Stops the capture once the connection's last segments are in (at
    /// most [`FINISH_WAIT`]) and returns its id and the pcapng, whose
    /// comment names `target`; `None` if none ran.
    pub async fn finish(&self, target: &str) -> Option<(String, Captured)> {
        let (id, capture) = self
            .running
            .lock()
            .expect("no panics under the lock")
            .take()?;
        capture.stop.cancel();
        let waited = std::time::Instant::now();
        let kept = capture.task.await.ok()?;
        tracing::debug!(
            "capture of {} packets finished {:?} after its session (end seen: {})",
            kept.packets,
            waited.elapsed(),
            kept.ends.done
        );
        Some((id, kept.into_file(target)))
    }
}

/// How far the connection got: its end is in the capture once both FINs
/// and the ACK after them, or a RST, are.
#[derive(Debug, Default)]
struct Ends {
    fin_local: bool,
    fin_peer: bool,
    done: bool,
}

impl Ends {
    fn saw(&mut self, from_local: bool, tcp: u8) {
        let reset = tcp & flags::RST != 0;
        // Both FINs are in: the segment after them is the last ACK.
        let last_ack = self.fin_local && self.fin_peer && tcp & flags::FIN == 0;
        if reset || last_ack {
            self.done = true;
        }
        if tcp & flags::FIN != 0 {
            if from_local {
                self.fin_local = true;
            } else {
                self.fin_peer = true;
            }
        }
    }
}

/// What a capture has kept so far.
struct Kept {
    all: Arc<Captures>,
    local: SocketAddr,
    peer: SocketAddr,
    /// The enhanced packet blocks, in order.
    blocks: Vec<u8>,
    /// Bytes counted in the relay's held bytes.
    held: usize,
    packets: u64,
    /// Why packets stopped being kept.
    cut: Option<String>,
    /// Packets (and their bytes) seen after the cut.
    missed: (u64, u64),
    /// Packets the kernel dropped (its buffer was full).
    drops: u64,
    ends: Ends,
}

impl Kept {
    fn push(&mut self, data: &[u8], orig_len: usize, ts_unix_us: u64) {
        if !between(data, self.local, self.peer) {
            return;
        }
        let from_local = data_from(data, self.local);
        self.ends.saw(from_local, tcp_flags(data));
        if self.cut.is_some() {
            self.missed.0 += 1;
            self.missed.1 += orig_len as u64;
            return;
        }
        let cost = BLOCK_BYTES + data.len().next_multiple_of(4);
        if self.held + cost > self.all.max_bytes {
            self.cut = Some(format!("--capture-max-bytes {}", self.all.max_bytes));
        } else if self.all.held.add(cost) > self.all.max_held {
            self.all.held.sub(cost);
            self.cut = Some(format!("--max-buffered-bytes {}", self.all.max_held));
        } else {
            self.held += cost;
            self.packets += 1;
            packet_block(&mut self.blocks, ts_unix_us, orig_len as u32, data, None);
            return;
        }
        self.missed = (1, orig_len as u64);
    }

    /// The pcapng: a section whose comment says what this is and what is
    /// missing, the interface, the packets.
    fn into_file(mut self, target: &str) -> Captured {
        let mut comment = format!(
            "CAPTURED by the wirelab relay (AF_PACKET, {}): the kernel's real segments of the session to {target}: relay {} <-> target {}; {} packets",
            if self.peer.ip().is_loopback() { "on lo" } else { "on every interface" },
            self.local,
            self.peer,
            self.packets,
        );
        if let Some(why) = &self.cut {
            comment.push_str(&format!(
                "; capture cut at {why}: {} more packets ({} bytes) were seen and not kept",
                self.missed.0, self.missed.1
            ));
        }
        if self.drops > 0 {
            comment.push_str(&format!(
                "; the kernel dropped {} packets (the capture's buffer was full): they are missing",
                self.drops
            ));
        }
        let if_name = if self.peer.ip().is_loopback() {
            "lo"
        } else {
            "any"
        };
        let head = header(&comment, if_name);
        let extra = head.len();
        // Small, and owed to packets already kept: counted, never refused.
        self.all.held.add(extra);
        self.held += extra;
        let mut bytes = std::mem::take(&mut self.blocks);
        bytes.splice(0..0, head);
        Captured {
            bytes,
            packets: self.packets,
            held: std::mem::take(&mut self.held),
            all: self.all.clone(),
        }
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        self.all.held.sub(self.held);
    }
}

/// Whether `data` was sent by `local` (its source port is local's).
fn data_from(data: &[u8], local: SocketAddr) -> bool {
    let tcp = match data.first().map(|b| b >> 4) {
        Some(4) => usize::from(data[0] & 0x0f) * 4,
        _ => 40,
    };
    data.get(tcp..tcp + 2)
        .is_some_and(|p| u16::from_be_bytes([p[0], p[1]]) == local.port())
}

thread_local! {
    /// Where packets land before they are copied into their block.
    static BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads packets until stopped and the connection's end is in (or
/// [`FINISH_WAIT`] after the stop).
async fn run(fd: AsyncFd<PacketSocket>, stop: CancellationToken, mut kept: Kept) -> Kept {
    let mut deadline = None;
    loop {
        let readable = async {
            match &deadline {
                None => {
                    tokio::select! {
                        guard = fd.readable() => Some(guard),
                        () = stop.cancelled() => None,
                    }
                }
                Some(at) => tokio::time::timeout_at(*at, fd.readable()).await.ok(),
            }
        };
        match readable.await {
            Some(Ok(mut guard)) => {
                let ended = BUF.with_borrow_mut(|buf| {
                    buf.resize(SCRATCH, 0);
                    loop {
                        match guard.try_io(|fd| fd.get_ref().recv(buf)) {
                            Ok(Ok(Some(p))) => kept.push(&buf[..p.len], p.orig_len, p.ts_unix_us),
                            Ok(Ok(None)) => {}
                            Ok(Err(e)) => {
                                tracing::debug!("capture stopped: {e}");
                                return true;
                            }
                            Err(_would_block) => return false,
                        }
                    }
                });
                if ended {
                    break;
                }
            }
            Some(Err(e)) => {
                tracing::debug!("capture stopped: {e}");
                break;
            }
            None if deadline.is_none() => {
                deadline = Some(tokio::time::Instant::now() + FINISH_WAIT);
            }
            None => break,
        }
        if deadline.is_some() && kept.ends.done {
            break;
        }
    }
    kept.drops = u64::from(fd.get_ref().drops());
    // Closing a packet socket waits for an RCU grace period in the kernel
    // (packet_release → synchronize_net, milliseconds): never on a worker.
    let socket = fd.into_inner();
    tokio::task::spawn_blocking(move || drop(socket));
    kept
}

/// A finished capture: a whole pcapng, counted in the relay's held bytes
/// until dropped.
pub struct Captured {
    /// The file.
    pub bytes: Vec<u8>,
    /// Packets in it.
    pub packets: u64,
    held: usize,
    all: Arc<Captures>,
}

impl std::fmt::Debug for Captured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Captured({} packets, {} bytes)",
            self.packets,
            self.bytes.len()
        )
    }
}

impl Drop for Captured {
    fn drop(&mut self) {
        self.all.held.sub(self.held);
    }
}
