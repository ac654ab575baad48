//! `--record DIR`: each tutorial exchange through a real relay, its pcapng
//! read back by the real tshark (the exact bytes both ways, no warnings) and
//! dissected by tools/wireshark/wirelab.lua.
//!
//! tshark missing: the tests that run it fail when `CI=true` and skip with
//! a message otherwise; the tests that read only the relay's own files run
//! always. tshark run as root prints one warning line about it on stderr;
//! that line, and only that line, is allowed.

mod support;
mod wireshark_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use protocol::app::request;
use protocol::app::search_answer;
use protocol::capture::{EventKind, Transcript};
use protocol::relay_api::{DecoderState, Observation, Observed};
use protocol::{encode, encode_raw, Json};
use relay::config::RelayConfig;
use support::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use wireshark_support::{follow, fresh_dir, read_observed_to_close, run};

const DISSECTOR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tools/wireshark/wirelab.lua"
);

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
    record_session(config, target, false, extra, messages)
        .await
        .0
}

/// [`record_with`], with `observe=1` if `observe`: then also the
/// observations the browser got, in order.
async fn record_session(
    config: RelayConfig,
    target: &str,
    observe: bool,
    extra: &[(&str, std::net::SocketAddr)],
    messages: &[&[u8]],
) -> (Recorded, Vec<Observation>) {
    let dir = fresh_dir("record");
    // These are the reconstruction's tests (checksums and all); the real
    // capture, where the relay may take one, is relay_capture.rs's.
    let config = RelayConfig {
        record: Some(dir.clone()),
        no_capture: true,
        ..config
    };
    let relay = start(config, extra).await;
    let query = if observe {
        format!("{target}&observe=1")
    } else {
        target.to_owned()
    };
    let mut ws = connect(relay.addr, &query).await;
    for message in messages {
        send(&mut ws, message).await;
    }
    // Without observe=1, `read_to_close` fails on any text message.
    let (received, observed) = if observe {
        read_observed_to_close(&mut ws).await
    } else {
        (read_to_close(&mut ws).await, Vec::new())
    };
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
    let transcript =
        Transcript::from_json(&std::fs::read_to_string(&json).unwrap()).expect("a transcript");
    let recorded = Recorded {
        pcapng,
        transcript,
        received,
    };
    (recorded, observed)
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
    let closed = rec
        .transcript
        .closed
        .as_ref()
        .expect("the close is recorded");
    assert_eq!(Some(closed.code), rec.received.close_code());
    assert_eq!(closed.reason, rec.received.close_reason());
    assert!(!closed.by_browser);
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

/// What a transcript's recording counted against `--record-max-bytes`.
fn charged(t: &Transcript) -> u64 {
    let events: u64 = t
        .events
        .iter()
        .filter(|e| e.kind != EventKind::Truncated)
        .map(|e| relay::record::EVENT_BYTES + e.data.len() as u64)
        .sum();
    let observations: u64 = t
        .observations
        .iter()
        .map(|o| relay::record::EVENT_BYTES + o.to_json().len() as u64)
        .sum();
    events + observations
}

#[tokio::test]
async fn a_session_past_record_max_bytes_is_cut_there_and_the_capture_says_so() {
    if !have_tshark() {
        return;
    }
    // The bytes alone (5 events: connect, sent, received, eof, close) fit;
    // with the observations they do not.
    let cap = 600;
    let config = RelayConfig {
        record_max_bytes: cap,
        ..test_config()
    };
    let frame = morpheus();
    let rec = record_with(config, "app", &[], &[&frame]).await;
    assert_eq!(rec.received.close_code(), Some(1000), "the session went on");
    let bytes_only = frame.len() + rec.received.bytes().len();
    assert!(bytes_only as u64 + 5 * relay::record::EVENT_BYTES <= cap);
    assert!(rec.transcript.truncated().is_some());
    assert!(!rec.transcript.observations.is_empty());
    assert!(
        charged(&rec.transcript) <= cap,
        "the cap counts observations too"
    );
    let up = rec.transcript.stream(true);
    assert!(
        frame.starts_with(&up),
        "what is recorded is where it was cut"
    );
    let (pcap_up, _) = follow(&rec.pcapng);
    assert_eq!(pcap_up, up);
    let info = run("capinfos", &[rec.pcapng.to_str().unwrap()]);
    assert!(info.contains("recording truncated at"), "{info}");
    assert!(
        info.contains(&format!("--record-max-bytes {cap}")),
        "{info}"
    );
}

#[tokio::test]
async fn a_recorded_session_without_observe_has_the_servers_and_the_relays_observations() {
    // No Wireshark tool: this runs wherever the relay does.
    let frame = morpheus();
    // `record` reads with `read_to_close`, which fails on a text message:
    // the browser that did not ask for observations gets none.
    let rec = record("app", &[], &[&frame]).await;
    assert_eq!(rec.received.close_code(), Some(1000));
    let obs = &rec.transcript.observations;
    assert_eq!(
        obs.first().map(|o| &o.event),
        Some(&Observed::Observing {
            target: "app".into(),
            server: true
        })
    );
    assert!(
        obs.windows(2).all(|w| w[0].t_us <= w[1].t_us),
        "in time order"
    );
    let kinds: Vec<String> = obs
        .iter()
        .map(|o| {
            let json = o.to_json_value();
            let kind = json.as_object().and_then(|o| o.get("kind"));
            kind.and_then(|k| k.as_str()).unwrap().to_owned()
        })
        .collect();
    for expected in [
        "connect",
        "write",
        "socket",
        "read",
        "eof",
        "close",
        "server_accept",
        "server_recv",
        "server_request",
        "server_send",
        "server_socket",
        "server_close",
    ] {
        assert!(kinds.iter().any(|k| k == expected), "{expected}: {kinds:?}");
    }
    let states: Vec<&DecoderState> = obs
        .iter()
        .filter_map(|o| match &o.event {
            Observed::ServerRecv { len, decoder, .. } if *len > 0 => decoder.as_ref(),
            _ => None,
        })
        .collect();
    assert_eq!(states.last(), Some(&&DecoderState::Complete), "{states:?}");
    let sent: u64 = obs
        .iter()
        .filter_map(|o| match &o.event {
            Observed::Write { sent, .. } => Some(*sent),
            _ => None,
        })
        .sum();
    assert_eq!(sent, frame.len() as u64);
    assert!(obs.iter().any(|o| matches!(
        &o.event,
        Observed::ServerRequest { repr } if repr == "{'action': 'search', 'value': 'morpheus'}"
    )));
}

/// The byte events' kind, for matching merged events to what was pushed.
fn byte_kind(event: &Observed) -> Option<usize> {
    match event {
        Observed::Write { .. } => Some(0),
        Observed::Read { .. } => Some(1),
        Observed::ServerRecv { .. } => Some(2),
        Observed::ServerSend { .. } => Some(3),
        _ => None,
    }
}

/// (count, len, sent) of a byte event.
fn byte_sums(event: &Observed) -> (u32, u64, u64) {
    match event {
        Observed::Write { len, sent, count }
        | Observed::ServerSend {
            len, sent, count, ..
        } => (*count, *len, *sent),
        Observed::Read { len, count } | Observed::ServerRecv { len, count, .. } => {
            (*count, *len, 0)
        }
        _ => (0, 0, 0),
    }
}

#[tokio::test]
async fn an_observed_recorded_session_records_each_event_it_sent_before_any_merge() {
    // No Wireshark tool: this runs wherever the relay does.
    let config = RelayConfig {
        // One byte event per 10 ms goes out alone: the rest merge.
        observe_burst: 1,
        ..test_config()
    };
    let frame = morpheus();
    // One byte a message: many byte events share a 10 ms window.
    let pieces: Vec<&[u8]> = frame.chunks(1).collect();
    let (rec, sent) = record_session(config, "app", true, &[], &pieces).await;
    assert_eq!(rec.received.close_code(), Some(1000));
    let recorded = &rec.transcript.observations;
    assert!(
        recorded.iter().all(|o| byte_sums(&o.event).0 <= 1),
        "the recording takes each event as pushed"
    );
    assert!(
        sent.iter().any(|o| byte_sums(&o.event).0 > 1),
        "the browser got merged events"
    );
    // Byte events: each one sent stands for `count` recorded ones of its
    // kind, in order, starting at its time, adding up to it.
    for kind in 0..4 {
        let mut mine = recorded
            .iter()
            .filter(|o| byte_kind(&o.event) == Some(kind));
        for s in sent.iter().filter(|o| byte_kind(&o.event) == Some(kind)) {
            let (count, len, bytes) = byte_sums(&s.event);
            let group: Vec<&Observation> = mine.by_ref().take(count as usize).collect();
            assert_eq!(group.len(), count as usize, "{s:?}");
            assert_eq!(group[0].t_us, s.t_us, "{s:?}");
            let sums = group.iter().fold((0, 0), |(l, b), o| {
                let (_, len, sent) = byte_sums(&o.event);
                (l + len, b + sent)
            });
            assert_eq!(sums, (len, bytes), "{s:?}");
            if let Observed::ServerRecv { decoder, .. } = &s.event {
                let last = &group[group.len() - 1].event;
                assert!(
                    matches!(last, Observed::ServerRecv { decoder: d, .. } if d == decoder),
                    "a merged recv has the last one's state"
                );
            }
        }
    }
    // Other events (samples aside, which the queue replaces in place) are
    // sent as recorded, in the same order, but for those the browser's
    // queue counted as lost (log lines past the burst); the recording
    // loses none.
    let plain = |o: &&Observation| {
        byte_kind(&o.event).is_none()
            && !matches!(
                o.event,
                Observed::Socket(_) | Observed::ServerSocket(_) | Observed::Lost { .. }
            )
    };
    let lost: u64 = sent
        .iter()
        .filter_map(|o| match o.event {
            Observed::Lost { events } => Some(events),
            _ => None,
        })
        .sum();
    assert!(!recorded
        .iter()
        .any(|o| matches!(o.event, Observed::Lost { .. })));
    let sent_plain: Vec<&Observation> = sent.iter().filter(plain).collect();
    let mut recorded_plain = recorded.iter().filter(plain);
    let mut missing = 0u64;
    for s in &sent_plain {
        loop {
            let r = recorded_plain
                .next()
                .unwrap_or_else(|| panic!("{s:?} sent but not recorded"));
            if r == *s {
                break;
            }
            missing += 1;
        }
    }
    assert!(
        missing <= lost,
        "{missing} recorded events not sent, {lost} lost"
    );
    assert!(sent_plain.iter().any(|o| o.event == Observed::Close));
    // Every sample sent was recorded.
    for s in &sent {
        if let Observed::Socket(_) | Observed::ServerSocket(_) = &s.event {
            assert!(
                recorded.iter().any(|r| r.event == s.event),
                "{s:?} not recorded"
            );
        }
    }
}

/// `tshark -X lua_script:wirelab.lua -r FILE -Y wirelab -T fields -e …`:
/// one line of tab-separated fields per frame with a wirelab message.
/// A Lua error anywhere in the dissection fails the test.
fn dissect(file: &Path, fields: &[&str]) -> Vec<Vec<String>> {
    dissect_with(file, &[], fields)
}

/// [`dissect`] with more tshark options (`-o wirelab.port:N`).
fn dissect_with(file: &Path, options: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let file = file.to_str().unwrap();
    let script = format!("lua_script:{DISSECTOR}");
    let mut verbose = vec!["-X", &script, "-r", file, "-V"];
    verbose.extend(options);
    let verbose = run("tshark", &verbose);
    assert!(!verbose.contains("Lua Error"), "{verbose}");
    let mut args = vec!["-X", &script, "-r", file, "-Y", "wirelab", "-T", "fields"];
    args.extend(options);
    for field in fields {
        args.extend(["-e", field]);
    }
    run("tshark", &args)
        .lines()
        .map(|l| l.split('\t').map(String::from).collect())
        .collect()
}

#[tokio::test]
async fn the_dissector_shows_the_morpheus_requests_action_and_value_and_the_replys_result() {
    if !have_tshark() {
        return;
    }
    let rec = record("app", &[], &[&morpheus()]).await;
    let rows = dissect(
        &rec.pcapng,
        &[
            "wirelab.action",
            "wirelab.value",
            "wirelab.result",
            "wirelab.malformed",
        ],
    );
    let answer = search_answer(&Json::from("morpheus")).unwrap();
    assert_eq!(
        rows,
        [
            vec![
                "search".to_owned(),
                "morpheus".into(),
                String::new(),
                String::new()
            ],
            vec![String::new(), String::new(), answer, String::new()],
        ]
    );
}

#[tokio::test]
async fn a_request_sent_in_10_byte_segments_dissects_as_one_message() {
    if !have_tshark() {
        return;
    }
    let frame = morpheus();
    let pieces: Vec<&[u8]> = frame.chunks(10).collect();
    let rec = record("app", &[], &pieces).await;
    let sent = rec
        .transcript
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Sent)
        .count();
    assert_eq!(sent, pieces.len(), "one write per 10-byte message");
    let requests: Vec<Vec<String>> = dissect(
        &rec.pcapng,
        &[
            "tcp.srcport",
            "wirelab.action",
            "wirelab.value",
            "wirelab.header.content_length",
        ],
    )
    .into_iter()
    .filter(|row| !row[1].is_empty())
    .collect();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0][1..], ["search", "morpheus", "41"]);
}

/// The page's malformed presets (web/src/model/presets.rs), made the same
/// way: (name, bytes, whether the server waits for more).
fn malformed_presets() -> Vec<(&'static str, Vec<u8>, bool)> {
    let content: &[u8] = br#"{"action": "search", "value": "morpheus"}"#;
    let header = |fields: &[(&str, Json)]| -> Vec<(String, Json)> {
        fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let required = |length: i64| {
        header(&[
            ("byteorder", "big".into()),
            ("content-type", "text/json".into()),
            ("content-encoding", "utf-8".into()),
            ("content-length", length.into()),
        ])
    };
    let morpheus = encode(&request("search", "morpheus").with_byteorder("big"))
        .unwrap()
        .bytes;
    let mut not_json = morpheus.clone();
    not_json[3] = b'\'';
    let mut zero = morpheus.clone();
    zero[..2].copy_from_slice(&[0, 0]);
    let missing = header(&[
        ("byteorder", "big".into()),
        ("content-encoding", "utf-8".into()),
        ("content-length", 41.into()),
    ]);
    vec![
        (
            "missing-header",
            encode_raw(&missing, content).unwrap().bytes,
            false,
        ),
        (
            "length-small",
            encode_raw(&required(20), content).unwrap().bytes,
            false,
        ),
        (
            "length-large",
            encode_raw(&required(99), content).unwrap().bytes,
            true,
        ),
        ("not-json", not_json, false),
        ("truncated", morpheus[..60].to_vec(), true),
        ("zero-header", zero, false),
    ]
}

#[tokio::test]
async fn each_malformed_preset_dissects_as_malformed_or_incomplete_without_a_lua_error() {
    if !have_tshark() {
        return;
    }
    for (name, bytes, waits) in malformed_presets() {
        // A server left waiting gets the browser's shutdown, as the page sends it.
        let messages: Vec<&[u8]> = if waits {
            vec![&bytes, b""]
        } else {
            vec![&bytes]
        };
        let rec = record("app", &[], &messages).await;
        let (up, _) = follow(&rec.pcapng);
        assert_eq!(up, bytes, "{name}");
        let rows = dissect(
            &rec.pcapng,
            &["wirelab.malformed", "wirelab.incomplete", "wirelab.action"],
        );
        let expert = if waits { 1 } else { 0 };
        assert!(
            rows.iter().any(|row| !row[expert].is_empty()),
            "{name}: {rows:?}"
        );
        assert!(
            rows.iter().all(|row| row[2].is_empty()),
            "{name}: no message read as whole: {rows:?}"
        );
    }
}

#[tokio::test]
async fn a_session_over_ipv6_is_captured_as_ipv6_with_valid_checksums() {
    if !have_tshark() {
        return;
    }
    let Ok(listener) = TcpListener::bind("[::1]:0").await else {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    };
    let target = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 5];
        stream.read_exact(&mut request).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, &request)
            .await
            .unwrap();
    });
    let rec = record("six", &[("six", target)], &[b"hello"]).await;
    reads_cleanly(&rec.pcapng);
    let (up, down) = follow(&rec.pcapng);
    assert_eq!(
        (up.as_slice(), down.as_slice()),
        (&b"hello"[..], &b"hello"[..])
    );
    let sources = run(
        "tshark",
        &[
            "-r",
            rec.pcapng.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "ipv6.src",
        ],
    );
    assert!(sources.lines().all(|l| l == "::1"), "{sources}");
}
