//! `--record DIR`: every session's TCP leg written to `DIR` as a transcript
//! (`protocol::capture::Transcript`, JSON with every byte and every
//! observation) and a pcapng, named
//! `<start>-<target>-<id>.json` / `.pcapng` (start in UTC, [`name`]). The
//! pcapng is the session's real capture where the relay took one
//! (`crate::capture`, [`Recorder::captured`]), else reconstructed from the
//! transcript (and says so). A session whose connect failed is recorded
//! too (a `connect_failed` event).
//!
//! A session's [`Recorder`] is fed by the bridge's pumps as bytes move, and
//! by the session's `SessionObserver` with each observation as it is pushed
//! (before the browser's queue merges or drops any: a recording is
//! lossless, whether or not the browser asked for `observe=1`). It records
//! at most `--record-max-bytes` of payload and observation JSON, and
//! [`EVENT_BYTES`] per event or observation (past it a `truncated` event
//! ends the recording, and the pcapng's comment says so; the session goes
//! on). A socket sample equal to the last one recorded of that socket says
//! nothing new and is not recorded.
//!
//! Nothing is built in memory to be written at the end: each event becomes
//! its pieces at once (its transcript JSON, the pcapng packet blocks of
//! its segments: `protocol::capture`'s [`Segmenter`] and [`Packets`]),
//! batched per session (a few KiB) and handed to the relay's one
//! [`writer`] thread, which appends them to the session's part files and
//! finishes them when the session ends; with a real capture, the
//! reconstructed packets are dropped and the real file written instead.
//!
//! Bounds beyond one session ([`Recordings`]): what recordings hold until
//! written (the batches' buffers, what waits for the writer) counts in the
//! relay's held bytes (`/healthz` `buffered_bytes`), given back once
//! written, and a recording stops where that total would pass
//! `--max-buffered-bytes`. The disk (`--record-max-total`, in 4 KiB
//! blocks) and the files (`--record-max-files`) are the writer's.
//!
//! A disk that fails is logged once per relay (then at debug level) and
//! ends no session.

mod name;
#[cfg(test)]
pub(crate) mod tests;
pub mod writer;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use protocol::capture::{Closed, Event, EventKind, Packets, Segmenter, Transcript, JSON_SEPARATOR};
use protocol::relay_api::{Observation, Observed, SocketInfo};
use tutorial::truncate::cut;

use crate::budget::HeldBytes;
use crate::capture::Captured;
use writer::{Batch, Ending, Files, Job, Part, Shared};

/// A session's pieces go to the writer once they reach this many bytes
/// (and when it ends).
pub const BATCH_BYTES: usize = 16 * 1024;

/// What all of one relay's recordings may hold and write together, and
/// the writer thread they share (started with the first recording).
#[derive(Debug)]
pub struct Recordings {
    shared: Arc<Shared>,
    writer: OnceLock<Option<Mutex<Sender<Job>>>>,
}

impl Recordings {
    /// Recordings counted in `held`, within `max_held` of it, their files
    /// taking at most `max_disk` bytes of blocks and `max_files` files.
    pub fn new(
        held: Arc<HeldBytes>,
        max_held: usize,
        max_disk: u64,
        max_files: u64,
    ) -> Arc<Recordings> {
        Arc::new(Recordings {
            shared: Arc::new(Shared::new(held, max_held, max_disk, max_files)),
            writer: OnceLock::new(),
        })
    }

    /// Counted, never cut (tests of one recording).
    pub fn unbounded() -> Arc<Recordings> {
        Recordings::new(Arc::default(), usize::MAX, u64::MAX, u64::MAX)
    }

    /// Bytes of disk the files take now, in whole blocks.
    pub fn written(&self) -> u64 {
        self.shared.disk.load(Ordering::Relaxed)
    }

    /// Files (saved and being written) now.
    pub fn files(&self) -> u64 {
        self.shared.files.load(Ordering::Relaxed)
    }

    /// Hands `job` to the writer; false if there is none (the job's held
    /// bytes are given back).
    fn send(&self, job: Job) -> bool {
        let writer = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            let shared = self.shared.clone();
            let spawned = std::thread::Builder::new()
                .name("record-writer".into())
                .spawn(move || writer::run(rx, shared));
            match spawned {
                Ok(_) => Some(Mutex::new(tx)),
                Err(e) => {
                    tracing::warn!("--record: no writer thread ({e}): sessions are not saved");
                    None
                }
            }
        });
        let sent = writer.as_ref().map(|tx| {
            tx.lock()
                .expect("no panics under the lock")
                .send(job)
                .map_err(|e| e.0)
        });
        match sent {
            Some(Ok(())) => true,
            Some(Err(job)) => {
                self.give_back(&job);
                false
            }
            None => false,
        }
    }

    fn give_back(&self, job: &Job) {
        let (Job::Append { batch, .. } | Job::Finish { batch, .. } | Job::Abandon { batch, .. }) =
            job;
        self.shared.held.sub(batch.charged);
    }
}

/// One session's recording.
pub struct Recorder {
    started: Instant,
    max_bytes: u64,
    all: Arc<Recordings>,
    files: Arc<Files>,
    state: Mutex<State>,
}

struct State {
    /// The transcript without its events (but a `truncated` one): its
    /// target, start, addresses and `closed`.
    meta: Transcript,
    /// What counts against `--record-max-bytes`.
    bytes: u64,
    /// Past a cap, or saved: nothing more is recorded.
    full: bool,
    /// The last sample recorded of (the relay's, the server's) socket.
    samples: [Option<SocketInfo>; 2],
    events: u64,
    observations: u64,
    segmenter: Segmenter,
    packets: Option<Packets>,
    batch: Batch,
    /// The real capture, when the relay took one: written instead of the
    /// reconstruction.
    capture: Option<Arc<Captured>>,
}

/// What each recorded event or observation counts against
/// `--record-max-bytes` besides its payload or JSON.
pub const EVENT_BYTES: u64 = 32;

impl Recorder {
    /// A recording of session `id` to `target` that started at `started`,
    /// one of `all`, its files in `dir`.
    pub fn new(
        target: &str,
        started: Instant,
        max_bytes: u64,
        all: Arc<Recordings>,
        dir: &Path,
        id: u64,
    ) -> Recorder {
        let unix_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
            .saturating_sub(started.elapsed().as_micros() as u64);
        Recorder {
            started,
            max_bytes,
            all,
            files: Arc::new(Files {
                id,
                dir: dir.to_path_buf(),
                stem: name::file_stem(unix_us, target, id),
                dropped: AtomicBool::new(false),
            }),
            state: Mutex::new(State {
                meta: Transcript::new(target, unix_us),
                bytes: 0,
                full: false,
                samples: [None; 2],
                events: 0,
                observations: 0,
                segmenter: Segmenter::default(),
                packets: None,
                batch: Batch::default(),
                capture: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("no panics under the lock")
    }

    /// Whether nothing more is recorded (a cap, saved, or the writer gave up).
    fn stopped(&self, state: &State) -> bool {
        state.full || self.files.dropped.load(Ordering::Relaxed)
    }

    fn push(&self, kind: EventKind, data: &[u8], connect_us: Option<u64>) {
        let t_us = self.started.elapsed().as_micros() as u64;
        let mut state = self.lock();
        if self.stopped(&state) {
            return;
        }
        // Each event is charged its bookkeeping too, so a stream of tiny
        // writes is bounded like a large one.
        let overhead = state.bytes + EVENT_BYTES;
        let room = self.max_bytes.saturating_sub(overhead);
        let kept = &data[..data.len().min(room as usize)];
        let fits = overhead <= self.max_bytes;
        if fits && (!kept.is_empty() || data.is_empty()) {
            let event = Event {
                connect_us,
                ..Event::bytes(t_us, kind, kept)
            };
            if !self.record_event(&mut state, &event, false) {
                let note = format!("--max-buffered-bytes {}", self.all.shared.max_held);
                self.cut(&mut state, t_us, note);
                return;
            }
            state.bytes += EVENT_BYTES + kept.len() as u64;
        }
        if !fits || kept.len() < data.len() {
            let note = format!("--record-max-bytes {}", self.max_bytes);
            self.cut(&mut state, t_us, note);
        }
    }

    /// The event's pieces: its JSON (after the transcript's head, for the
    /// first) and its segments' packet blocks. False (nothing recorded)
    /// where the relay's held bytes would pass their budget, unless
    /// `always` (the small `truncated` event).
    fn record_event(&self, state: &mut State, event: &Event, always: bool) -> bool {
        let mut json = String::new();
        if state.events == 0 {
            json.push_str(&state.meta.json_head());
            state.packets = Some(Packets::new(&state.meta));
        } else {
            json.push_str(JSON_SEPARATOR);
        }
        json.push_str(&event.to_json());
        let mut packets = Vec::new();
        let mut segments = Vec::new();
        state.segmenter.feed(event, &mut segments);
        let writer = state.packets.as_mut().expect("made with the first event");
        for segment in &segments {
            writer.write(segment, &mut packets);
        }
        let pieces = [(Part::Json, json.as_bytes()), (Part::Packets, &packets[..])];
        if !self.append(state, &pieces, always) {
            return false;
        }
        state.events += 1;
        true
    }

    /// Appends `pieces` to the session's batch, charging the relay's held
    /// bytes what its buffers grow by; a full batch goes to the writer.
    fn append(&self, state: &mut State, pieces: &[(Part, &[u8])], always: bool) -> bool {
        let batch = &mut state.batch;
        let grow = |buf: &Vec<u8>, n: usize| {
            let need = buf.len() + n;
            (need > buf.capacity()).then(|| need.max(2 * buf.capacity()).max(256))
        };
        let more: usize = pieces
            .iter()
            .filter_map(|(part, piece)| {
                let buf = &batch.parts[*part as usize];
                grow(buf, piece.len()).map(|cap| cap - buf.capacity())
            })
            .sum();
        if always {
            self.all.shared.held.add(more);
        } else if !self.all.shared.take_held(more) {
            return false;
        }
        for (part, piece) in pieces {
            let buf = &mut batch.parts[*part as usize];
            if let Some(cap) = grow(buf, piece.len()) {
                let before = buf.capacity();
                buf.reserve_exact(cap - buf.len());
                // The allocator may round up: the charge is what it gave.
                let extra = buf.capacity() - before;
                if extra > cap - before {
                    self.all.shared.held.add(extra - (cap - before));
                }
                batch.charged += extra;
            }
            buf.extend_from_slice(piece);
        }
        if batch.len() >= BATCH_BYTES {
            let batch = std::mem::take(&mut state.batch);
            self.all.send(Job::Append {
                files: self.files.clone(),
                batch,
            });
        }
        true
    }

    /// Past a cap (`why` names it): the `truncated` event, then nothing more.
    fn cut(&self, state: &mut State, t_us: u64, why: String) {
        state.full = true;
        let event = Event {
            note: Some(format!("{why}: the session went on unrecorded")),
            ..Event::new(t_us, EventKind::Truncated)
        };
        self.record_event(state, &event, true);
        state.meta.events.push(event); // for the pcapng's comment
    }

    /// One observation, as pushed (stamped, before any merge); whole or
    /// not at all, charged [`EVENT_BYTES`] plus its JSON's length.
    pub fn observed(&self, observation: &Observation) {
        let mut state = self.lock();
        if self.stopped(&state) {
            return;
        }
        let socket = match &observation.event {
            Observed::Socket(info) => Some((0, *info)),
            Observed::ServerSocket(info) => Some((1, *info)),
            _ => None,
        };
        if let Some((which, info)) = socket {
            if state.samples[which] == Some(info) {
                return;
            }
        }
        let json = observation.to_json_value().to_python_json();
        let n = EVENT_BYTES + json.len() as u64;
        if state.bytes + n > self.max_bytes {
            let note = format!("--record-max-bytes {}", self.max_bytes);
            self.cut(&mut state, observation.t_us, note);
            return;
        }
        let separator = if state.observations > 0 {
            JSON_SEPARATOR
        } else {
            ""
        };
        let piece = [separator.as_bytes(), json.as_bytes()].concat();
        if !self.append(&mut state, &[(Part::Observations, &piece)], false) {
            let note = format!("--max-buffered-bytes {}", self.all.shared.max_held);
            self.cut(&mut state, observation.t_us, note);
            return;
        }
        state.bytes += n;
        state.observations += 1;
        if let Some((which, info)) = socket {
            state.samples[which] = Some(info);
        }
    }

    /// The relay's `connect()` to `peer` from `local` completed.
    pub fn connected(&self, local: Option<SocketAddr>, peer: SocketAddr, connect_us: u64) {
        {
            let mut state = self.lock();
            state.meta.client = local.map(|a| a.to_string());
            state.meta.server = Some(peer.to_string());
        }
        self.push(EventKind::Connect, &[], Some(connect_us));
    }

    /// The relay's `connect()` to `peer` (from `local`, if it was bound)
    /// failed after `took_us`: `note` says how (`protocol::capture::REFUSED`, …).
    pub fn connect_failed(
        &self,
        local: Option<SocketAddr>,
        peer: SocketAddr,
        took_us: u64,
        note: String,
    ) {
        let t_us = self.started.elapsed().as_micros() as u64;
        let mut state = self.lock();
        if self.stopped(&state) {
            return;
        }
        state.meta.client = local.map(|a| a.to_string());
        state.meta.server = Some(peer.to_string());
        let note = cut(&note, 200).into_owned();
        let n = EVENT_BYTES + note.len() as u64;
        let event = Event {
            connect_us: Some(took_us),
            note: Some(note),
            ..Event::new(t_us, EventKind::ConnectFailed)
        };
        // Small and the session's last: recorded whatever the budgets.
        self.record_event(&mut state, &event, true);
        state.bytes += n;
    }

    /// The session's real capture: the pcapng written instead of the
    /// reconstruction.
    pub fn captured(&self, capture: Arc<Captured>) {
        self.lock().capture = Some(capture);
    }

    /// The relay wrote `bytes` to the target.
    pub fn sent(&self, bytes: &[u8]) {
        self.push(EventKind::Sent, bytes, None);
    }

    /// One write of `bytes` to the target, which took them all or failed
    /// (a reset is recorded; other errors end the session without a segment).
    pub fn sent_or_reset(&self, bytes: &[u8], written: &io::Result<()>) {
        match written {
            Ok(()) => self.sent(bytes),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => self.event(EventKind::Reset),
            Err(_) => {}
        }
    }

    /// One read from the target: bytes, end of stream, or an error.
    pub fn read(&self, result: &io::Result<impl AsRef<[u8]>>) {
        match result {
            Ok(bytes) if bytes.as_ref().is_empty() => self.event(EventKind::Eof),
            Ok(bytes) => self.push(EventKind::Received, bytes.as_ref(), None),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => self.event(EventKind::Reset),
            Err(_) => {}
        }
    }

    /// Something without bytes happened (a shutdown, a reset, the close).
    pub fn event(&self, kind: EventKind) {
        self.push(kind, &[], None);
    }

    /// The WebSocket session ended with this close frame.
    pub fn closed(&self, code: u16, reason: String, by_browser: bool) {
        let t_us = self.started.elapsed().as_micros() as u64;
        self.lock().meta.closed = Some(Closed {
            t_us,
            code,
            reason,
            by_browser,
        });
    }

    /// Finishes the session's two files (on the writer thread) and waits
    /// for them; failures are logged, never returned. Whatever comes later
    /// (a server still holding its connection) is not recorded.
    pub async fn save(&self) {
        let (done, finished) = tokio::sync::oneshot::channel();
        let job = {
            let mut state = self.lock();
            if state.full && state.meta.started_unix_us == 0 {
                return; // saved already
            }
            state.full = true;
            let connected = state.events > 0;
            let meta = std::mem::replace(&mut state.meta, Transcript::new("", 0));
            let capture = state.capture.take();
            Job::Finish {
                files: self.files.clone(),
                batch: std::mem::take(&mut state.batch),
                end: Box::new(Ending {
                    meta,
                    capture,
                    connected,
                }),
                done,
            }
        };
        if self.all.send(job) {
            let _ = finished.await;
        }
    }
}

impl Drop for Recorder {
    /// A recording never saved (its session setup failed) gives back what
    /// it held, and the writer removes what it wrote.
    fn drop(&mut self) {
        if let Ok(state) = self.state.get_mut() {
            if state.meta.started_unix_us != 0 || state.batch.charged > 0 {
                let batch = std::mem::take(&mut state.batch);
                self.all.send(Job::Abandon {
                    files: self.files.clone(),
                    batch,
                });
            }
        }
    }
}

/// What an observation counts against `--record-max-bytes` besides
/// [`EVENT_BYTES`]: the length of its JSON, as the transcript holds it.
pub fn observation_bytes(observation: &Observation) -> u64 {
    observation.to_json_value().to_python_json().len() as u64
}
