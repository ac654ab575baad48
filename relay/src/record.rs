//! `--record DIR`: every session's TCP leg written to `DIR` as a transcript
//! (`protocol::capture::Transcript`, JSON with every byte and every
//! observation) and a pcapng made from it, named
//! `<start>-<target>-<id>.json` / `.pcapng` (start in UTC). The pcapng is
//! the session's real capture where the relay took one (`crate::capture`),
//! else reconstructed from the transcript (and says so). A session whose
//! connect failed is recorded too (a `connect_failed` event).
//!
//! A session's [`Recorder`] is fed by the bridge's pumps as bytes move, and
//! by the session's `SessionObserver` with each observation as it is pushed
//! (before the browser's queue merges or drops any: a recording is
//! lossless, whether or not the browser asked for `observe=1`). It holds the
//! transcript in memory, at most `--record-max-bytes` of payload and
//! observation JSON, and [`EVENT_BYTES`] per event or observation (past it
//! a `truncated` event ends the recording, and the pcapng's comment says
//! so; the session goes on). A socket sample equal to the last one recorded
//! of that socket says nothing new and is not recorded.
//!
//! The files are written after the session has closed, on a blocking
//! thread, so recording adds to the hot path a copy of each chunk and what
//! observing costs (a reported write per system call, a socket sample per
//! flush and per `--observe-sample`, an event serialised to count it).
//!
//! Bounds beyond one session ([`Recordings`]): what recordings hold counts
//! in the relay's held bytes (`/healthz` `buffered_bytes`), and a recording
//! stops where that total would pass `--max-buffered-bytes`; the files all
//! sessions write stop at `--record-max-total` (1 GiB), logged once.
//!
//! A disk that fails is logged once per relay (then at debug level) and
//! ends no session.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use protocol::capture::{pcapng, Closed, Event, EventKind, Transcript};
use protocol::relay_api::{Observation, Observed, SocketInfo};
use tutorial::truncate::cut;

use crate::bridge::HeldBytes;
use crate::capture::Captured;

/// What all of one relay's recordings may hold together. What a recording
/// holds in memory counts in the relay's held bytes (`/healthz`
/// `buffered_bytes`), and a recording stops where that total would pass
/// `--max-buffered-bytes`; what they write to disk over the relay's life
/// stops at `--record-max-total`.
#[derive(Debug)]
pub struct Recordings {
    held: Arc<HeldBytes>,
    max_held: usize,
    written: AtomicU64,
    max_written: u64,
    /// The disk cap was reached (logged once).
    disk_full: AtomicBool,
}

impl Recordings {
    /// Recordings counted in `held`, within `max_held` of it, writing at
    /// most `max_written` bytes of files.
    pub fn new(held: Arc<HeldBytes>, max_held: usize, max_written: u64) -> Arc<Recordings> {
        Arc::new(Recordings {
            held,
            max_held,
            written: AtomicU64::new(0),
            max_written,
            disk_full: AtomicBool::new(false),
        })
    }

    /// Counted, never cut (tests of one recording).
    pub fn unbounded() -> Arc<Recordings> {
        Recordings::new(Arc::default(), usize::MAX, u64::MAX)
    }

    /// Bytes of files written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes of the disk cap; false (and nothing taken) past it.
    fn reserve_disk(&self, n: u64) -> bool {
        let before = self.written.fetch_add(n, Ordering::Relaxed);
        if before.saturating_add(n) <= self.max_written {
            return true;
        }
        self.written.fetch_sub(n, Ordering::Relaxed);
        if !self.disk_full.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "--record-max-total {} reached: later sessions are not saved (they go on)",
                self.max_written
            );
        }
        false
    }
}

/// One session's recording.
pub struct Recorder {
    started: Instant,
    max_bytes: u64,
    all: Arc<Recordings>,
    state: Mutex<State>,
}

struct State {
    transcript: Transcript,
    bytes: u64,
    /// Past the cap, or saved: nothing more is recorded.
    full: bool,
    /// The last sample recorded of (the relay's, the server's) socket.
    samples: [Option<SocketInfo>; 2],
    /// The real capture, when the relay took one: written instead of the
    /// reconstruction.
    capture: Option<Arc<Captured>>,
}

static DISK_FAILED: AtomicBool = AtomicBool::new(false);

/// What each recorded event or observation counts against
/// `--record-max-bytes` besides its payload or JSON (about what it takes
/// in memory).
pub const EVENT_BYTES: u64 = 32;

impl Recorder {
    /// A recording of a session to `target` that started at `started`,
    /// one of `all`.
    pub fn new(target: &str, started: Instant, max_bytes: u64, all: Arc<Recordings>) -> Recorder {
        let unix_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0)
            .saturating_sub(started.elapsed().as_micros() as u64);
        Recorder {
            started,
            max_bytes,
            all,
            state: Mutex::new(State {
                transcript: Transcript::new(target, unix_us),
                bytes: 0,
                full: false,
                samples: [None; 2],
                capture: None,
            }),
        }
    }

    fn push(&self, kind: EventKind, data: &[u8], connect_us: Option<u64>) {
        let t_us = self.started.elapsed().as_micros() as u64;
        let mut state = self.state.lock().expect("no panics under the lock");
        if state.full {
            return;
        }
        // Each event is charged its bookkeeping too, so a stream of tiny
        // writes is bounded like a large one.
        let overhead = state.bytes + EVENT_BYTES;
        let room = self.max_bytes.saturating_sub(overhead);
        let kept = &data[..data.len().min(room as usize)];
        let fits = overhead <= self.max_bytes;
        if fits && (!kept.is_empty() || data.is_empty()) {
            if !self.hold(&mut state, EVENT_BYTES + kept.len() as u64, t_us) {
                return;
            }
            state.transcript.events.push(Event {
                connect_us,
                ..Event::bytes(t_us, kind, kept)
            });
        }
        if !fits || kept.len() < data.len() {
            let note = format!("--record-max-bytes {}", self.max_bytes);
            self.cut(&mut state, t_us, note);
        }
    }

    /// Counts `n` more bytes held, in this recording and in the relay's
    /// total; past the relay's budget the recording is cut instead.
    fn hold(&self, state: &mut State, n: u64, t_us: u64) -> bool {
        let total = self.all.held.add(n as usize);
        if total > self.all.max_held {
            self.all.held.sub(n as usize);
            let note = format!("--max-buffered-bytes {}", self.all.max_held);
            self.cut(state, t_us, note);
            return false;
        }
        state.bytes += n;
        true
    }

    /// Past a cap (`why` names it): the `truncated` event, then nothing more.
    fn cut(&self, state: &mut State, t_us: u64, why: String) {
        state.full = true;
        state.transcript.events.push(Event {
            note: Some(format!("{why}: the session went on unrecorded")),
            ..Event::new(t_us, EventKind::Truncated)
        });
    }

    /// One observation, as pushed (stamped, before any merge); whole or
    /// not at all, charged [`EVENT_BYTES`] plus its JSON's length.
    pub fn observed(&self, observation: &Observation) {
        let mut state = self.state.lock().expect("no panics under the lock");
        if state.full {
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
        let n = EVENT_BYTES + observation_bytes(observation);
        if state.bytes + n > self.max_bytes {
            let note = format!("--record-max-bytes {}", self.max_bytes);
            self.cut(&mut state, observation.t_us, note);
            return;
        }
        if !self.hold(&mut state, n, observation.t_us) {
            return;
        }
        if let Some((which, info)) = socket {
            state.samples[which] = Some(info);
        }
        state.transcript.observations.push(observation.clone());
    }

    /// The relay's `connect()` to `peer` from `local` completed.
    pub fn connected(&self, local: Option<SocketAddr>, peer: SocketAddr, connect_us: u64) {
        {
            let mut state = self.state.lock().expect("no panics under the lock");
            state.transcript.client = local.map(|a| a.to_string());
            state.transcript.server = Some(peer.to_string());
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
        let mut state = self.state.lock().expect("no panics under the lock");
        state.transcript.client = local.map(|a| a.to_string());
        state.transcript.server = Some(peer.to_string());
        state.transcript.events.push(Event {
            connect_us: Some(took_us),
            note: Some(cut(&note, 200).into_owned()),
            ..Event::new(t_us, EventKind::ConnectFailed)
        });
    }

    /// The session's real capture: the file written instead of the
    /// reconstruction.
    pub fn captured(&self, capture: Arc<Captured>) {
        self.state.lock().expect("no panics under the lock").capture = Some(capture);
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
        let mut state = self.state.lock().expect("no panics under the lock");
        state.transcript.closed = Some(Closed {
            t_us,
            code,
            reason,
            by_browser,
        });
    }

    /// The transcript so far.
    pub fn transcript(&self) -> Transcript {
        self.state
            .lock()
            .expect("no panics under the lock")
            .transcript
            .clone()
    }

    /// Writes the session's two files into `dir` on a blocking thread and
    /// waits for them; failures are logged, never returned. Whatever comes
    /// later (a server still holding its connection) is not recorded.
    pub async fn save(&self, dir: PathBuf, id: u64) {
        let (transcript, capture) = {
            let mut state = self.state.lock().expect("no panics under the lock");
            state.full = true;
            self.all.held.sub(std::mem::take(&mut state.bytes) as usize);
            let capture = state.capture.take();
            let transcript = std::mem::replace(&mut state.transcript, Transcript::new("", 0));
            (transcript, capture)
        };
        if transcript.events.is_empty() {
            return; // never connected: there is no TCP leg to show
        }
        let stem = file_stem(&transcript, id);
        let all = self.all.clone();
        let written = tokio::task::spawn_blocking(move || {
            let json = transcript.to_json().into_bytes();
            let pcap = match &capture {
                Some(real) => std::borrow::Cow::Borrowed(&real.bytes[..]),
                None => std::borrow::Cow::Owned(pcapng(&transcript)),
            };
            if !all.reserve_disk((json.len() + pcap.len()) as u64) {
                return Ok(());
            }
            write_files(&dir, &stem, [("pcapng", &pcap), ("json", &json)])
        })
        .await;
        let error = match written {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        if DISK_FAILED.swap(true, Ordering::Relaxed) {
            tracing::debug!("--record: session {id} not saved: {error}");
        } else {
            tracing::warn!(
                "--record: session {id} not saved: {error} (sessions go on; later failures are logged at debug level)"
            );
        }
    }
}

impl Drop for Recorder {
    /// A recording never saved (its session setup failed) gives back what
    /// it held.
    fn drop(&mut self) {
        if let Ok(state) = self.state.get_mut() {
            self.all.held.sub(state.bytes as usize);
        }
    }
}

/// What an observation counts against `--record-max-bytes` besides
/// [`EVENT_BYTES`]: the length of its JSON, as the relay sends it.
pub fn observation_bytes(observation: &Observation) -> u64 {
    observation.to_json().len() as u64
}

/// Writes `<stem>.json` and `<stem>.pcapng`, each under a temporary name
/// first so a reader never sees half a file.
fn write_files(dir: &Path, stem: &str, files: [(&str, &[u8]); 2]) -> io::Result<()> {
    for (ext, bytes) in files {
        let path = dir.join(format!("{stem}.{ext}"));
        let part = dir.join(format!(".{stem}.{ext}.part"));
        std::fs::write(&part, bytes)?;
        std::fs::rename(&part, &path)?;
    }
    Ok(())
}

/// `20261127T152312.123456Z-app-7`: sorts by time; the target's name keeps
/// only characters safe in a file name.
fn file_stem(transcript: &Transcript, id: u64) -> String {
    let us = transcript.started_unix_us;
    let secs = us / 1_000_000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    let target: String = cut(&transcript.target, 40)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:06}Z-{target}-{id}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        us % 1_000_000
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (the
/// era-based method of Howard Hinnant's `chrono`-compatible date algorithms).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_are_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_784), (2026, 11, 27));
    }

    #[test]
    fn file_names_sort_by_time_and_keep_only_safe_characters() {
        // `date -u -d @1795000000`: Wed Nov 18 11:06:40 UTC 2026
        let mut t = Transcript::new("../a b", 1_795_000_000_123_456);
        t.events.push(Event::new(0, EventKind::Close));
        assert_eq!(file_stem(&t, 7), "20261118T110640.123456Z-___a_b-7");
    }

    #[test]
    fn bytes_past_the_cap_are_cut_and_the_recording_says_where() {
        let r = Recorder::new(
            "echo",
            Instant::now(),
            2 * EVENT_BYTES + 5,
            Recordings::unbounded(),
        );
        r.sent(b"abc");
        r.read(&Ok::<_, io::Error>(b"defg".to_vec()));
        r.sent(b"h");
        r.event(EventKind::Close);
        let t = r.transcript();
        assert_eq!(t.stream(true), b"abc");
        assert_eq!(t.stream(false), b"de");
        let kinds: Vec<EventKind> = t.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Sent, EventKind::Received, EventKind::Truncated]
        );
    }

    fn sample(recv_q: u64) -> Observed {
        Observed::Socket(SocketInfo {
            state: protocol::relay_api::TcpState::Established,
            recv_q,
            send_q: 0,
            rtt_us: None,
            unacked: None,
            retransmits: None,
        })
    }

    #[test]
    fn observations_are_recorded_whole_until_the_cap_and_an_unchanged_sample_is_not() {
        let at = |t_us, event| Observation { t_us, event };
        let eof = at(1, Observed::Eof);
        let first = at(2, sample(0));
        let changed = at(4, sample(5));
        let cap = 3 * EVENT_BYTES
            + observation_bytes(&eof)
            + observation_bytes(&first)
            + observation_bytes(&changed);
        let r = Recorder::new("echo", Instant::now(), cap, Recordings::unbounded());
        r.observed(&eof);
        r.observed(&first);
        r.observed(&at(3, sample(0)));
        r.observed(&changed);
        r.observed(&at(5, Observed::Close));
        r.observed(&at(6, Observed::ServerClose));
        let t = r.transcript();
        assert_eq!(t.observations, [eof, first, changed]);
        let cut = t.truncated().expect("the cap was reached");
        assert_eq!(cut.t_us, 5, "where the first observation did not fit");
        assert_eq!(t.events.len(), 1, "nothing after the cut");
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wirelab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn files_in(dir: &Path) -> Vec<std::fs::Metadata> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap())
            .collect()
    }

    #[tokio::test]
    async fn a_recording_is_counted_in_the_relays_held_bytes_until_it_is_saved_or_dropped() {
        let held = Arc::new(HeldBytes::default());
        let all = Recordings::new(held.clone(), usize::MAX, u64::MAX);
        let saved = Recorder::new("echo", Instant::now(), 1 << 20, all.clone());
        saved.sent(&[7; 100]);
        assert_eq!(held.get() as u64, EVENT_BYTES + 100);
        let dropped = Recorder::new("echo", Instant::now(), 1 << 20, all.clone());
        dropped.sent(&[7; 10]);
        assert_eq!(held.get() as u64, 2 * EVENT_BYTES + 110);
        drop(dropped);
        assert_eq!(held.get() as u64, EVENT_BYTES + 100);
        let dir = scratch_dir("record-held");
        saved.save(dir.clone(), 1).await;
        assert_eq!(held.get(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_recording_stops_where_the_relay_would_hold_more_than_its_budget() {
        let held = Arc::new(HeldBytes::default());
        held.add(90); // other sessions' bytes
        let all = Recordings::new(held.clone(), 90 + EVENT_BYTES as usize + 20, u64::MAX);
        let r = Recorder::new("echo", Instant::now(), 1 << 20, all);
        r.sent(&[1; 20]);
        r.sent(&[2; 1]);
        r.sent(&[3; 1]);
        let t = r.transcript();
        assert_eq!(t.stream(true), [1; 20]);
        let cut = t.truncated().expect("the relay's budget was reached");
        assert!(
            cut.note
                .as_deref()
                .unwrap()
                .starts_with(&format!("--max-buffered-bytes {}", 90 + EVENT_BYTES + 20)),
            "{cut:?}"
        );
        assert_eq!(
            held.get() as u64,
            90 + EVENT_BYTES + 20,
            "the cut took nothing"
        );
    }

    #[tokio::test]
    async fn past_record_max_total_later_sessions_are_not_saved() {
        let dir = scratch_dir("record-total");
        let one = |all: &Arc<Recordings>| {
            let r = Recorder::new("echo", Instant::now(), 1 << 20, all.clone());
            r.sent(b"hello");
            r
        };
        let roomy = Recordings::unbounded();
        one(&roomy).save(dir.clone(), 1).await;
        let sizes: u64 = files_in(&dir).iter().map(|m| m.len()).sum();
        assert_eq!(files_in(&dir).len(), 2);
        assert_eq!(roomy.written(), sizes);

        let all = Recordings::new(Arc::default(), usize::MAX, sizes + sizes / 2);
        one(&all).save(dir.clone(), 2).await;
        one(&all).save(dir.clone(), 3).await;
        assert_eq!(files_in(&dir).len(), 4, "the third session is over the cap");
        assert_eq!(all.written(), sizes);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
