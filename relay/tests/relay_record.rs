//! `--record DIR`: each tutorial exchange through a real relay, its pcapng
//! read back by the real tshark (the exact bytes both ways, no warnings) and
//! dissected by tools/wireshark/wirelab.lua.
//!
//! tshark missing: these tests fail when `CI=true` and skip with a message
//! otherwise. tshark run as root prints one warning line about it on stderr;
//! that line, and only that line, is allowed.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use protocol::app::request;
use protocol::capture::{EventKind, Transcript};
use protocol::encode;
use relay::config::RelayConfig;
use support::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

/// Whether tshark can run here; `false` (with a message) only outside CI.
fn have_tshark() -> bool {
    let found = Command::new("tshark").arg("-v").output().is_ok();
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "tshark is not installed (apt-get install -y tshark): CI must run these tests"
        );
        eprintln!("skipped: tshark is not installed (apt-get install -y tshark)");
    }
    found
}

/// Runs a Wireshark tool; returns stdout, failing on an exit status or on
/// any stderr line but the warning about running as root.
fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().expect(tool);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let unexpected: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| !l.starts_with("Running as user \"root\""))
        .collect();
    assert!(
        out.status.success() && unexpected.is_empty(),
        "{tool} {args:?}: {}\n{stderr}",
        out.status
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn fresh_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "wirelab-record-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One recorded session's files.
struct Recorded {
    pcapng: PathBuf,
    transcript: Transcript,
    received: Received,
}

/// Sends `messages` to `target` through a recording relay (an empty
/// message is the browser's shutdown), reads to the close, and waits for
/// the session's two files.
async fn record(
    target: &str,
    extra: &[(&str, std::net::SocketAddr)],
    messages: &[&[u8]],
) -> Recorded {
    record_with(test_config(), target, extra, messages).await
}

async fn record_with(
    config: RelayConfig,
    target: &str,
    extra: &[(&str, std::net::SocketAddr)],
    messages: &[&[u8]],
) -> Recorded {
    let dir = fresh_dir();
    let config = RelayConfig {
        record: Some(dir.clone()),
        ..config
    };
    let relay = start(config, extra).await;
    let mut ws = connect(relay.addr, target).await;
    for message in messages {
        send(&mut ws, message).await;
    }
    let received = read_to_close(&mut ws).await;
    let (pcapng, json) = within(async {
        loop {
            let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .collect();
            names.sort();
            if let [json, pcapng] = &names[..] {
                return (pcapng.clone(), json.clone());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let name = pcapng.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.ends_with(&format!("-{target}-1.pcapng")), "{name}");
    assert_eq!(json.with_extension("pcapng"), pcapng);
    let transcript: Transcript =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).expect("a transcript");
    Recorded {
        pcapng,
        transcript: transcript.checked().unwrap(),
        received,
    }
}

/// `tshark -z follow,tcp,raw,0`: the bytes (relay → target, target → relay).
fn follow(file: &Path) -> (Vec<u8>, Vec<u8>) {
    let out = run(
        "tshark",
        &["-r", file.to_str().unwrap(), "-q", "-z", "follow,tcp,raw,0"],
    );
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let mut inside = false;
    for line in out.lines() {
        if line.starts_with("Node 1:") {
            inside = true;
            continue;
        }
        if !inside || line.starts_with("====") || line.is_empty() {
            continue;
        }
        let (to, hex) = match line.strip_prefix('\t') {
            Some(hex) => (&mut down, hex),
            None => (&mut up, line),
        };
        for i in (0..hex.len()).step_by(2) {
            to.push(u8::from_str_radix(&hex[i..i + 2], 16).expect(line));
        }
    }
    (up, down)
}

/// capinfos and a tshark pass with both checksums checked: no warnings,
/// and no expert finding at warning level or above.
fn reads_cleanly(file: &Path) {
    let file = file.to_str().unwrap();
    run("capinfos", &[file]);
    let flagged = run(
        "tshark",
        &[
            "-r",
            file,
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "tcp.check_checksum:TRUE",
            "-Y",
            "_ws.expert.severity >= 0x00600000 || ip.checksum.status == 0 || tcp.checksum.status == 0",
        ],
    );
    assert_eq!(flagged, "", "{file}");
}

fn morpheus() -> Vec<u8> {
    encode(&request("search", "morpheus")).unwrap().bytes
}

#[tokio::test]
async fn a_recorded_morpheus_search_follows_in_tshark_as_the_exact_bytes_both_ways() {
    if !have_tshark() {
        return;
    }
    let frame = morpheus();
    let rec = record("app", &[], &[&frame]).await;
    reads_cleanly(&rec.pcapng);
    let (up, down) = follow(&rec.pcapng);
    assert_eq!(up, frame);
    assert_eq!(down, rec.received.bytes());
    assert_eq!(rec.transcript.stream(true), frame);
    assert_eq!(rec.transcript.target, "app");
    let kinds: Vec<EventKind> = rec.transcript.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&EventKind::Connect));
    assert!(
        kinds.ends_with(&[EventKind::Eof, EventKind::Close]),
        "{kinds:?}"
    );
}

#[tokio::test]
async fn a_recorded_echo_with_a_shutdown_shows_both_fins_and_the_echoed_bytes() {
    if !have_tshark() {
        return;
    }
    let rec = record("echo", &[], &[b"Hello, world", b""]).await;
    reads_cleanly(&rec.pcapng);
    let (up, down) = follow(&rec.pcapng);
    assert_eq!(up, b"Hello, world");
    assert_eq!(down, b"Hello, world");
    let fins = run(
        "tshark",
        &[
            "-r",
            rec.pcapng.to_str().unwrap(),
            "-Y",
            "tcp.flags.fin == 1",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
        ],
    );
    let client_port = rec
        .transcript
        .client
        .as_deref()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let mut fin_from: Vec<&str> = fins.lines().collect();
    fin_from.sort();
    let mut expected = vec![
        client_port.as_str(),
        rec.transcript
            .server
            .as_deref()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap(),
    ];
    expected.sort();
    assert_eq!(fin_from, expected, "one FIN from each side");
}

#[tokio::test]
async fn a_recorded_binary_reply_follows_as_its_exact_bytes() {
    if !have_tshark() {
        return;
    }
    let frame = encode(&request("binary", "😃")).unwrap().bytes;
    let rec = record("app", &[], &[&frame]).await;
    reads_cleanly(&rec.pcapng);
    let (up, down) = follow(&rec.pcapng);
    assert_eq!(up, frame);
    assert_eq!(down, rec.received.bytes());
    assert!(down.windows(4).any(|w| w == "😃".as_bytes()));
}

#[tokio::test]
async fn a_recorded_reset_ends_the_capture_with_an_rst_from_the_target() {
    if !have_tshark() {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 5];
        stream.read_exact(&mut request).await.unwrap();
        // Linger 0: dropping sends RST instead of FIN.
        let stream = stream.into_std().unwrap();
        socket2::SockRef::from(&stream)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(stream);
    });
    let rec = record("flaky", &[("flaky", target)], &[b"hello"]).await;
    assert_eq!(rec.received.close_code(), Some(1011));
    run("capinfos", &[rec.pcapng.to_str().unwrap()]);
    let (up, _) = follow(&rec.pcapng);
    assert_eq!(up, b"hello");
    let rst = run(
        "tshark",
        &[
            "-r",
            rec.pcapng.to_str().unwrap(),
            "-Y",
            "tcp.flags.reset == 1",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
        ],
    );
    assert_eq!(rst.trim(), target.port().to_string());
}

#[tokio::test]
async fn a_session_past_record_max_bytes_is_cut_there_and_the_capture_says_so() {
    if !have_tshark() {
        return;
    }
    let config = RelayConfig {
        record_max_bytes: 100,
        ..test_config()
    };
    let frame = morpheus();
    let rec = record_with(config, "app", &[], &[&frame]).await;
    assert_eq!(rec.received.close_code(), Some(1000), "the session went on");
    assert_eq!(rec.transcript.stream(true), frame[..100]);
    assert!(rec.transcript.truncated().is_some());
    let (up, down) = follow(&rec.pcapng);
    assert_eq!((up.as_slice(), down.len()), (&frame[..100], 0));
    let info = run("capinfos", &[rec.pcapng.to_str().unwrap()]);
    assert!(info.contains("recording truncated at"), "{info}");
    assert!(info.contains("--record-max-bytes 100"), "{info}");
}
