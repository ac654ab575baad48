//! The recordings' writer: one thread per relay writes, in order, the
//! pieces the sessions' recorders hand it, and gives back the held bytes
//! each piece was charged once it is written. It alone keeps the disk
//! budget: `--record-max-total` in [`BLOCK`]s (a file takes its length
//! rounded up to whole blocks) and `--record-max-files`, counting the
//! parts being written as well as the files saved.
//!
//! A session's parts, while it runs (in the record directory):
//! `.<stem>.json.part` (the transcript up to its last event),
//! `.<stem>.observations.part` and `.<stem>.packets.part` (the pcapng's
//! packet blocks). When it ends the transcript is finished (the
//! observations copied after the events, then `closed`) and the pcapng
//! made (its header, which names a truncation, then the packets copied),
//! each renamed to `<stem>.json` / `<stem>.pcapng` once whole; the copies
//! go file to file (`copy_file_range`), not through memory.
//!
//! A session whose next write would pass a cap is not saved: its parts are
//! removed and its recorder told to stop (logged once per relay).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use protocol::capture::{pcapng, Transcript, OBSERVATIONS_END, OBSERVATIONS_START};
use tokio::sync::oneshot;

use crate::budget::HeldBytes;
use crate::capture::Captured;

/// The unit of `--record-max-total`: what a small file takes on the
/// common file systems (ext4, xfs, tmpfs).
pub const BLOCK: u64 = 4096;

/// `len` bytes of file in whole [`BLOCK`]s.
pub fn blocks(len: u64) -> u64 {
    len.div_ceil(BLOCK) * BLOCK
}

/// The parts a recording writes as it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    /// The transcript's JSON up to its last event.
    Json = 0,
    /// The observations' JSON, joined.
    Observations = 1,
    /// The pcapng's packet blocks.
    Packets = 2,
}

const EXTENSIONS: [&str; 3] = ["json", "observations", "packets"];

/// Pieces of one session's parts not yet written, and the held bytes they
/// were charged (their buffers' capacity).
#[derive(Debug, Default)]
pub(super) struct Batch {
    pub parts: [Vec<u8>; 3],
    pub charged: usize,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.parts.iter().map(Vec::len).sum()
    }
}

/// Which session a job is for, where its files go, and whether the writer
/// gave up on it (the recorder then stops recording).
#[derive(Debug)]
pub(super) struct Files {
    pub id: u64,
    pub dir: PathBuf,
    pub stem: String,
    pub dropped: AtomicBool,
}

/// What the writer is asked to do.
pub(super) enum Job {
    /// Write these pieces.
    Append { files: Arc<Files>, batch: Batch },
    /// Write these pieces and finish the files: `end` has the target, the
    /// addresses, the start, `closed` and the truncation, if any.
    Finish {
        files: Arc<Files>,
        batch: Batch,
        end: Box<Ending>,
        done: oneshot::Sender<()>,
    },
    /// The recorder went without saving: remove what it wrote.
    Abandon { files: Arc<Files>, batch: Batch },
}

/// What finishing a session's files needs.
pub(super) struct Ending {
    /// The transcript without its events (but a `truncated` one).
    pub meta: Transcript,
    /// The session's real capture, when the relay took one: its pcapng is
    /// written instead of the reconstruction (whose packets part goes).
    pub capture: Option<Arc<Captured>>,
    /// Whether the session tried to connect: without it there is no TCP leg and
    /// nothing is saved.
    pub connected: bool,
}

/// What the writer and the recorders share: the held bytes and the disk
/// budget's counters.
#[derive(Debug)]
pub(super) struct Shared {
    pub held: Arc<HeldBytes>,
    pub max_held: usize,
    /// Bytes of disk the files take, in blocks.
    pub disk: AtomicU64,
    pub max_disk: u64,
    pub files: AtomicU64,
    pub max_files: u64,
    full_logged: AtomicBool,
    failed_logged: AtomicBool,
}

impl Shared {
    pub fn new(held: Arc<HeldBytes>, max_held: usize, max_disk: u64, max_files: u64) -> Shared {
        Shared {
            held,
            max_held,
            disk: AtomicU64::new(0),
            max_disk,
            files: AtomicU64::new(0),
            max_files,
            full_logged: AtomicBool::new(false),
            failed_logged: AtomicBool::new(false),
        }
    }

    /// Takes `n` held bytes; false (nothing taken) past `--max-buffered-bytes`.
    pub fn take_held(&self, n: usize) -> bool {
        if self.held.add(n) > self.max_held {
            self.held.sub(n);
            return false;
        }
        true
    }

    fn take(counter: &AtomicU64, n: u64, max: u64) -> bool {
        let before = counter.load(Ordering::Relaxed);
        if before.saturating_add(n) > max {
            return false;
        }
        counter.store(before + n, Ordering::Relaxed); // the writer alone changes it
        true
    }

    fn give(counter: &AtomicU64, n: u64) {
        counter.fetch_sub(n, Ordering::Relaxed);
    }
}

/// Why a session's writing stopped.
enum Stop {
    /// A cap (its flag's name).
    Full(&'static str),
    Failed(io::Error),
}

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop::Failed(e)
    }
}

/// One part being written.
struct Open {
    file: File,
    path: PathBuf,
    len: u64,
}

/// A session's open parts.
#[derive(Default)]
struct Session {
    parts: [Option<Open>; 3],
}

/// The writer thread's loop: until every recorder and the relay's
/// [`Recordings`](super::Recordings) are gone.
pub(super) fn run(jobs: Receiver<Job>, shared: Arc<Shared>) {
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let writer = Writer { shared: &shared };
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Append { files, batch } => {
                if !files.dropped.load(Ordering::Relaxed) {
                    let session = sessions.entry(files.id).or_default();
                    if let Err(stop) = writer.append(&files, session, &batch) {
                        writer.give_up(&files, sessions.remove(&files.id), stop);
                    }
                }
                shared.held.sub(batch.charged);
            }
            Job::Finish {
                files,
                batch,
                end,
                done,
            } => {
                let mut session = sessions.remove(&files.id).unwrap_or_default();
                if !files.dropped.load(Ordering::Relaxed) {
                    let finished = match end.connected {
                        true => writer
                            .append(&files, &mut session, &batch)
                            .and_then(|()| writer.finish(&files, &mut session, &end)),
                        false => Ok(()),
                    };
                    if let Err(stop) = finished {
                        writer.give_up(&files, Some(session), stop);
                    } else {
                        writer.remove_all(session);
                    }
                }
                shared.held.sub(batch.charged);
                let _ = done.send(());
            }
            Job::Abandon { files, batch } => {
                if let Some(session) = sessions.remove(&files.id) {
                    writer.remove_all(session);
                }
                shared.held.sub(batch.charged);
            }
        }
    }
}

struct Writer<'a> {
    shared: &'a Shared,
}

impl Writer<'_> {
    fn append(&self, files: &Files, session: &mut Session, batch: &Batch) -> Result<(), Stop> {
        for (n, bytes) in batch.parts.iter().enumerate() {
            if !bytes.is_empty() {
                let open = self.part(files, session, n)?;
                self.write(open, bytes)?;
            }
        }
        Ok(())
    }

    /// The part `n` of the session, created (and counted) on first use.
    fn part<'s>(
        &self,
        files: &Files,
        session: &'s mut Session,
        n: usize,
    ) -> Result<&'s mut Open, Stop> {
        if session.parts[n].is_none() {
            let path = files
                .dir
                .join(format!(".{}.{}.part", files.stem, EXTENSIONS[n]));
            session.parts[n] = Some(self.create(path)?);
        }
        Ok(session.parts[n].as_mut().expect("just made"))
    }

    fn create(&self, path: PathBuf) -> Result<Open, Stop> {
        let s = self.shared;
        if !Shared::take(&s.files, 1, s.max_files) {
            return Err(Stop::Full("--record-max-files"));
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path);
        match file {
            Ok(file) => Ok(Open { file, path, len: 0 }),
            Err(e) => {
                Shared::give(&s.files, 1);
                Err(Stop::Failed(e))
            }
        }
    }

    /// Takes the blocks `n` more bytes of `open` add.
    fn grow(&self, open: &mut Open, n: u64) -> Result<(), Stop> {
        let s = self.shared;
        let more = blocks(open.len + n) - blocks(open.len);
        if !Shared::take(&s.disk, more, s.max_disk) {
            return Err(Stop::Full("--record-max-total"));
        }
        open.len += n;
        Ok(())
    }

    fn write(&self, open: &mut Open, bytes: &[u8]) -> Result<(), Stop> {
        self.grow(open, bytes.len() as u64)?;
        open.file.write_all(bytes)?;
        Ok(())
    }

    /// Copies the part `from` (if any) to the end of `to`, file to file.
    fn copy(&self, from: Option<&Open>, to: &mut Open) -> Result<(), Stop> {
        let Some(from) = from else { return Ok(()) };
        self.grow(to, from.len)?;
        let mut source = File::open(&from.path)?;
        io::copy(&mut source, &mut to.file)?;
        Ok(())
    }

    /// The transcript finished from its parts, then the pcapng (the real
    /// capture if there is one, else the reconstruction's header and
    /// packets), each renamed into place once whole.
    fn finish(&self, files: &Files, session: &mut Session, end: &Ending) -> Result<(), Stop> {
        let meta = &end.meta;
        let [json, observations, packets] = &mut session.parts;
        let json = match json {
            Some(json) => json,
            None => return Ok(()), // never connected
        };
        self.write(json, meta.json_after_events().as_bytes())?;
        if observations.is_some() {
            self.write(json, OBSERVATIONS_START.as_bytes())?;
            self.copy(observations.as_ref(), json)?;
            self.write(json, OBSERVATIONS_END.as_bytes())?;
        }
        self.write(json, meta.json_end().as_bytes())?;

        let pcap_part = files.dir.join(format!(".{}.pcapng.part", files.stem));
        let mut pcap = self.create(pcap_part)?;
        let done = match &end.capture {
            Some(real) => self.write(&mut pcap, &real.bytes),
            None => self
                .write(&mut pcap, &pcapng::reconstructed_header(meta))
                .and_then(|()| self.copy(packets.as_ref(), &mut pcap)),
        }
        .and_then(|()| Ok(pcap.file.flush()?));
        let final_path = |ext: &str| files.dir.join(format!("{}.{ext}", files.stem));
        let renamed = done.and_then(|()| {
            fs::rename(&pcap.path, final_path("pcapng"))?;
            json.file.flush()?;
            fs::rename(&json.path, final_path("json"))?;
            Ok(())
        });
        if let Err(stop) = renamed {
            self.remove(pcap);
            return Err(stop);
        }
        // Both renamed: they stay counted as the saved files; only the
        // other parts go.
        session.parts[0] = None;
        Ok(())
    }

    /// Removes a part and gives back its blocks and its file.
    fn remove(&self, open: Open) {
        let _ = fs::remove_file(&open.path);
        Shared::give(&self.shared.disk, blocks(open.len));
        Shared::give(&self.shared.files, 1);
    }

    fn remove_all(&self, session: Session) {
        for open in session.parts.into_iter().flatten() {
            self.remove(open);
        }
    }

    /// Stops writing a session: its parts go, its recorder stops.
    fn give_up(&self, files: &Files, session: Option<Session>, stop: Stop) {
        files.dropped.store(true, Ordering::Relaxed);
        if let Some(session) = session {
            self.remove_all(session);
        }
        let id = files.id;
        let s = self.shared;
        match stop {
            Stop::Full(flag) => {
                let cap = match flag {
                    "--record-max-files" => s.max_files,
                    _ => s.max_disk,
                };
                if !s.full_logged.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "{flag} {cap} reached: session {id} and any other that would pass it are not saved (they go on)"
                    );
                } else {
                    tracing::debug!("{flag} {cap}: session {id} not saved");
                }
            }
            Stop::Failed(error) => {
                if s.failed_logged.swap(true, Ordering::Relaxed) {
                    tracing::debug!("--record: session {id} not saved: {error}");
                } else {
                    tracing::warn!(
                        "--record: session {id} not saved: {error} (sessions go on; later failures are logged at debug level)"
                    );
                }
            }
        }
    }
}
