use std::path::PathBuf;

use super::*;

/// A directory of its own for one test.
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    use std::sync::atomic::AtomicU32;
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wirelab-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A recorder of session 1 to `echo` in a directory of its own.
pub(crate) fn recorder(max_bytes: u64, all: Arc<Recordings>) -> (Recorder, PathBuf) {
    let dir = scratch_dir("record");
    let r = Recorder::new("echo", Instant::now(), max_bytes, all, &dir, 1);
    (r, dir)
}

/// Saves `r` and reads back its transcript (and removes its directory).
pub(crate) async fn saved(r: &Recorder, dir: &Path) -> Transcript {
    r.save().await;
    let json = files_in(dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a transcript");
    let text = std::fs::read_to_string(json).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    Transcript::from_json(&text).expect("a transcript v2")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn bytes_past_the_cap_are_cut_and_the_recording_says_where() {
    let (r, dir) = recorder(2 * EVENT_BYTES + 5, Recordings::unbounded());
    r.sent(b"abc");
    r.read(&Ok::<_, io::Error>(b"defg".to_vec()));
    r.sent(b"h");
    r.event(EventKind::Close);
    let t = saved(&r, &dir).await;
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

#[tokio::test]
async fn observations_are_recorded_whole_until_the_cap_and_an_unchanged_sample_is_not() {
    let at = |t_us, event| Observation::new(t_us, event);
    let eof = at(1, Observed::Eof);
    let first = at(2, sample(0));
    let changed = at(4, sample(5));
    let cap = 4 * EVENT_BYTES // the connect too
        + observation_bytes(&eof)
        + observation_bytes(&first)
        + observation_bytes(&changed);
    let (r, dir) = recorder(cap, Recordings::unbounded());
    r.connected(None, "127.0.0.1:9".parse().unwrap(), 1);
    r.observed(&eof);
    r.observed(&first);
    r.observed(&at(3, sample(0)));
    r.observed(&changed);
    r.observed(&at(5, Observed::Close));
    r.observed(&at(6, Observed::ServerClose));
    let t = saved(&r, &dir).await;
    assert_eq!(t.observations, [eof, first, changed]);
    let cut = t.truncated().expect("the cap was reached");
    assert_eq!(cut.t_us, 5, "where the first observation did not fit");
    assert_eq!(t.events.len(), 2, "the connect, then nothing after the cut");
}

#[tokio::test]
async fn a_recording_is_counted_in_the_relays_held_bytes_until_it_is_written_or_dropped() {
    let held = Arc::new(HeldBytes::default());
    let all = Recordings::new(held.clone(), usize::MAX, u64::MAX, u64::MAX);
    let (saved_one, dir) = recorder(1 << 20, all.clone());
    saved_one.sent(&[7; 100]);
    let one = held.get();
    assert!(one >= 100 + 40, "the JSON and the packets: {one}");
    let (dropped, dropped_dir) = recorder(1 << 20, all.clone());
    dropped.sent(&[7; 10]);
    assert!(held.get() > one);
    drop(dropped);
    let _ = std::fs::remove_dir_all(dropped_dir);
    saved(&saved_one, &dir).await;
    // The writer gives back the dropped one's bytes on its own time.
    for _ in 0..100 {
        if held.get() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(held.get(), 0);
}

#[tokio::test]
async fn a_recording_stops_where_the_relay_would_hold_more_than_its_budget() {
    let held = Arc::new(HeldBytes::default());
    held.add(90); // other sessions' bytes
                  // Room for the first write's JSON and packets (each packet block with
                  // its comment), not for the second's.
    let budget = 90 + 4096;
    let all = Recordings::new(held.clone(), budget, u64::MAX, u64::MAX);
    let (r, dir) = recorder(1 << 20, all);
    r.sent(&[1; 20]);
    r.sent(&[2; 8000]);
    r.sent(&[3; 1]);
    assert!(held.get() <= budget + 256, "the cut's own event only");
    let t = saved(&r, &dir).await;
    assert_eq!(t.stream(true), [1; 20]);
    let cut = t.truncated().expect("the relay's budget was reached");
    assert!(
        cut.note
            .as_deref()
            .unwrap()
            .starts_with(&format!("--max-buffered-bytes {budget}")),
        "{cut:?}"
    );
    assert_eq!(held.get(), 90, "given back once written");
}

/// Disk use as the file system counts it: blocks.
fn disk_use(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    files_in(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().blocks() * 512)
        .sum()
}

#[tokio::test]
async fn record_max_total_counts_blocks_so_many_small_sessions_stay_within_it() {
    let dir = scratch_dir("record-total");
    let cap = 64 * 1024;
    let all = Recordings::new(Arc::default(), usize::MAX, cap, u64::MAX);
    for id in 0..40 {
        let r = Recorder::new("echo", Instant::now(), 1 << 20, all.clone(), &dir, id);
        r.connected(None, "127.0.0.1:9".parse().unwrap(), 1);
        r.sent(b"hello");
        r.save().await;
    }
    let files = files_in(&dir);
    assert!(files.len() >= 2, "some were saved");
    assert!(files.len() < 80, "not all: {}", files.len());
    assert!(
        files
            .iter()
            .all(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.')),
        "the parts of the ones not saved are gone: {files:?}"
    );
    let used = disk_use(&dir);
    assert!(used <= cap, "{used} bytes of blocks on disk, cap {cap}");
    assert_eq!(all.written(), files.len() as u64 * writer::BLOCK);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn record_max_files_caps_the_files_kept() {
    let dir = scratch_dir("record-files");
    let all = Recordings::new(Arc::default(), usize::MAX, u64::MAX, 7);
    for id in 0..10 {
        let r = Recorder::new("echo", Instant::now(), 1 << 20, all.clone(), &dir, id);
        r.connected(None, "127.0.0.1:9".parse().unwrap(), 1);
        r.observed(&Observation::new(1, Observed::Eof));
        r.sent(b"hello");
        r.save().await;
    }
    // Each session writes three parts, then a fourth to finish: 2 saved
    // sessions (4 files) leave 3, too few for a third.
    assert_eq!(files_in(&dir).len(), 4, "{:?}", files_in(&dir));
    assert_eq!(all.files(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_streamed_files_are_the_bytes_of_the_whole_transcript_and_its_pcapng() {
    let (r, dir) = recorder(1 << 20, Recordings::unbounded());
    r.observed(&Observation::new(0, Observed::Eof));
    r.connected(
        Some("127.0.0.1:40000".parse().unwrap()),
        "127.0.0.1:9".parse().unwrap(),
        5,
    );
    for n in 0..3000u32 {
        r.sent(&n.to_be_bytes()); // past a batch, so written in pieces
    }
    r.read(&Ok::<_, io::Error>(vec![9; 70_000])); // past a segment
    r.event(EventKind::Eof);
    r.closed(1000, "upstream closed".into(), false);
    r.save().await;
    let files = files_in(&dir);
    assert_eq!(files.len(), 2, "{files:?}");
    let json = std::fs::read_to_string(&files[0]).unwrap();
    let t = Transcript::from_json(&json).unwrap();
    assert_eq!(t.events.len(), 3003);
    assert_eq!(json, t.to_json(), "the same bytes as written whole");
    let pcap = std::fs::read(&files[1]).unwrap();
    assert_eq!(pcap, protocol::capture::pcapng(&t));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 23: 16 sessions of 1-byte messages held far more than they were
/// counted, and more again while saving: now a session's memory is its
/// batch, whatever it has recorded, and the rest is on disk already.
#[tokio::test]
async fn a_long_session_of_tiny_messages_is_on_disk_as_it_goes_and_holds_only_its_batch() {
    let held = Arc::new(HeldBytes::default());
    let all = Recordings::new(held.clone(), usize::MAX, u64::MAX, u64::MAX);
    let (r, dir) = recorder(1 << 30, all);
    r.connected(None, "127.0.0.1:9".parse().unwrap(), 1);
    for _ in 0..20_000 {
        r.sent(b"x");
        r.read(&Ok::<_, io::Error>(b"x".to_vec()));
        // Its batch, and what waits for the writer (a fraction of the
        // 8 MB it records).
        assert!(held.get() <= 2 << 20, "held {}", held.get());
    }
    let mut on_disk = 0;
    for _ in 0..200 {
        on_disk = files_in(&dir)
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .sum::<u64>();
        if on_disk > 1 << 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(on_disk > 1 << 20, "written as it went: {on_disk} bytes");
    let t = saved(&r, &dir).await;
    assert_eq!(t.events.len(), 40_001);
    assert_eq!(held.get(), 0);
}
