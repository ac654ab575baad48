//! Transcript round trips, the TCP arithmetic and the pcapng blocks.

use super::tcp::{
    checksum_for_tests, flags, packet, segments, CLIENT_ISN, MAX_PAYLOAD, SERVER_ISN,
};
use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn session(sent: &[&[u8]], received: &[&[u8]], end: EventKind) -> Transcript {
    let mut t = Transcript::new("app", 1_795_000_000_000_000);
    t.client = Some("127.0.0.1:50112".into());
    t.server = Some("127.0.0.1:65432".into());
    t.events.push(Event {
        connect_us: Some(90),
        ..Event::new(100, EventKind::Connect)
    });
    let mut at = 200;
    for data in sent {
        t.events.push(Event::bytes(at, EventKind::Sent, data));
        at += 10;
    }
    for data in received {
        t.events.push(Event::bytes(at, EventKind::Received, data));
        at += 10;
    }
    t.events.push(Event::new(at, end));
    t.events.push(Event::new(at + 5, EventKind::Close));
    t
}

/// Reads back the blocks as (type, body) pairs, checking both lengths.
fn blocks(file: &[u8]) -> Vec<(u32, &[u8])> {
    let mut out = Vec::new();
    let mut rest = file;
    while !rest.is_empty() {
        let kind = u32::from_le_bytes(rest[..4].try_into().unwrap());
        let len = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
        assert_eq!(len % 4, 0);
        let tail = u32::from_le_bytes(rest[len - 4..len].try_into().unwrap()) as usize;
        assert_eq!(len, tail);
        out.push((kind, &rest[8..len - 4]));
        rest = &rest[len..];
    }
    out
}

#[test]
fn a_transcript_reads_back_as_it_was_written_with_its_bytes_in_base64() {
    let mut t = session(&[b"\x00\x02{}\xff"], &[b"hi"], EventKind::Eof);
    t.observations.push(
        crate::relay_api::Observation::from_json(
            r#"{"t_us":0,"kind":"observing","target":"app","server":true}"#,
        )
        .unwrap(),
    );
    t.closed = Some(Closed {
        t_us: 300,
        code: 1000,
        reason: "target closed the connection".into(),
        by_browser: false,
    });
    let json = t.to_json();
    assert!(
        json.contains(r#""kind": "sent", "data": "AAJ7ff8=""#),
        "{json}"
    );
    assert!(
        json.starts_with(r#"{"version": 2, "started_unix_us": 1795000000000000, "target": "app""#)
    );
    assert_eq!(Transcript::from_json(&json).unwrap(), t);
}

#[test]
fn where_the_relays_accept_falls_on_the_events_clock_is_kept_and_zero_is_left_out() {
    let mut t = session(&[b"x"], &[], EventKind::Eof);
    assert!(!t.to_json().contains("observed_from_us"));
    t.observed_from_us = 4_321;
    let json = t.to_json();
    assert!(json.contains(r#""observed_from_us": 4321"#), "{json}");
    assert_eq!(
        Transcript::from_json(&json).unwrap().observed_from_us,
        4_321
    );
}

#[test]
fn a_transcript_of_another_version_or_with_bad_base64_is_refused() {
    let v1 = r#"{"version":1,"started_unix_us":0,"target":"app","events":[]}"#;
    assert!(matches!(
        Transcript::from_json(v1),
        Err(TranscriptError::Version(1))
    ));
    let bad = r#"{"version":2,"started_unix_us":0,"target":"app","events":[{"t_us":1,"kind":"sent","data":"%%"}]}"#;
    let err = Transcript::from_json(bad).unwrap_err().to_string();
    assert!(err.contains("base64"), "{err}");
    let unknown =
        r#"{"version":2,"started_unix_us":0,"target":"app","events":[{"t_us":1,"kind":"gossip"}]}"#;
    let err = Transcript::from_json(unknown).unwrap_err().to_string();
    assert!(err.contains("unknown event kind \"gossip\""), "{err}");
    assert!(Transcript::from_json("[]").is_err());
}

#[test]
fn a_request_and_reply_make_handshake_data_acks_and_both_fins() {
    let t = session(&[b"abc"], &[b"hello"], EventKind::Eof);
    let s = segments(&t);
    let summary: Vec<(bool, u8, u32, u32, usize)> = s
        .iter()
        .map(|s| (s.from_client, s.flags, s.seq, s.ack, s.payload.len()))
        .collect();
    use flags::*;
    let (c, v) = (CLIENT_ISN, SERVER_ISN);
    assert_eq!(
        summary,
        [
            (true, SYN, c, 0, 0),
            (false, SYN | ACK, v, c + 1, 0),
            (true, ACK, c + 1, v + 1, 0),
            (true, PSH | ACK, c + 1, v + 1, 3),
            (false, ACK, v + 1, c + 4, 0),
            (false, PSH | ACK, v + 1, c + 4, 5),
            (true, ACK, c + 4, v + 6, 0),
            (false, FIN | ACK, v + 6, c + 4, 0),
            (true, ACK, c + 4, v + 7, 0),
            (true, FIN | ACK, c + 4, v + 7, 0),
            (false, ACK, v + 7, c + 5, 0),
        ]
    );
    assert_eq!(
        s[0].t_us, 10,
        "the SYN went out connect_us before connect returned"
    );
}

#[test]
fn a_reset_ends_the_segments_with_an_rst_and_nothing_after() {
    let t = session(&[b"x"], &[], EventKind::Reset);
    let s = segments(&t);
    let last = s.last().unwrap();
    assert_eq!(last.flags, flags::RST | flags::ACK);
    assert!(!last.from_client);
    assert_eq!(last.ack, CLIENT_ISN + 2);
}

#[test]
fn a_write_larger_than_one_packet_is_split_at_65495_bytes() {
    let big = vec![7u8; 2 * MAX_PAYLOAD + 10];
    let t = session(&[&big], &[], EventKind::Eof);
    let data: Vec<_> = segments(&t)
        .into_iter()
        .filter(|s| !s.payload.is_empty())
        .collect();
    let sizes: Vec<usize> = data.iter().map(|s| s.payload.len()).collect();
    assert_eq!(sizes, [MAX_PAYLOAD, MAX_PAYLOAD, 10]);
    assert_eq!(data[2].seq, CLIENT_ISN + 1 + 2 * MAX_PAYLOAD as u32);
    let ip = packet(
        &data[0],
        "127.0.0.1:1".parse().unwrap(),
        "127.0.0.1:2".parse().unwrap(),
        0,
    );
    assert_eq!(ip.len(), 65_535, "the largest IPv4 packet");
}

#[test]
fn ipv4_packets_carry_valid_ip_and_tcp_checksums() {
    let t = session(&[b"odd"], &[], EventKind::Eof);
    let s = &segments(&t)[3];
    let client = "10.0.0.1:50112".parse().unwrap();
    let server = "10.0.0.2:65432".parse().unwrap();
    let p = packet(s, client, server, 9);
    assert_eq!(p[0], 0x45);
    assert_eq!(checksum_for_tests(&[&p[..20]]), 0, "IP header sums to zero");
    let pseudo = [
        &p[12..20],
        &[0, 6],
        &((p.len() - 20) as u16).to_be_bytes()[..],
    ]
    .concat();
    assert_eq!(checksum_for_tests(&[&pseudo, &p[20..]]), 0);
    assert_eq!(&p[20..22], &50112u16.to_be_bytes());
    assert_eq!(&p[40..], b"odd");
}

#[test]
fn ipv6_addresses_make_ipv6_packets_with_a_valid_tcp_checksum() {
    let t = session(&[b"abcd"], &[], EventKind::Eof);
    let s = &segments(&t)[3];
    let p = packet(
        s,
        "[::1]:5000".parse().unwrap(),
        "[::1]:65432".parse().unwrap(),
        0,
    );
    assert_eq!(p[0] >> 4, 6);
    assert_eq!(p[6], 6, "next header: TCP");
    assert_eq!(u16::from_be_bytes([p[4], p[5]]), 24);
    let pseudo = [&p[8..40], &24u32.to_be_bytes(), &[0, 0, 0, 6]].concat();
    assert_eq!(checksum_for_tests(&[&pseudo, &p[40..]]), 0);
}

#[test]
fn the_pcapng_has_a_section_an_interface_and_one_packet_per_segment() {
    let t = session(&[b"abc"], &[b"hello"], EventKind::Eof);
    let file = pcapng(&t);
    let b = blocks(&file);
    assert_eq!(b[0].0, 0x0A0D_0D0A);
    assert_eq!(&b[0].1[..4], &0x1A2B_3C4Du32.to_le_bytes());
    assert_eq!(b[1].0, 1);
    assert_eq!(&b[1].1[..2], &101u16.to_le_bytes(), "raw IP");
    let packets: Vec<&[u8]> = b[2..]
        .iter()
        .map(|(k, body)| {
            assert_eq!(*k, 6);
            *body
        })
        .collect();
    assert_eq!(packets.len(), segments(&t).len());
    let first = packets[0];
    let ts = (u64::from(u32::from_le_bytes(first[4..8].try_into().unwrap())) << 32)
        | u64::from(u32::from_le_bytes(first[8..12].try_into().unwrap()));
    assert_eq!(ts, t.started_unix_us + 10);
    assert_eq!(pcapng(&t), file, "one transcript, one file");
}

#[test]
fn a_truncated_recording_says_so_in_the_section_comment() {
    let mut t = session(&[b"abc"], &[], EventKind::Eof);
    t.events.insert(
        2,
        Event {
            note: Some("--record-max-bytes 3".into()),
            ..Event::new(201, EventKind::Truncated)
        },
    );
    let file = pcapng(&t);
    let text = String::from_utf8_lossy(&file);
    assert!(
        text.contains("recording truncated at 201 us: --record-max-bytes 3"),
        "{text}"
    );
}

#[test]
fn a_refused_connect_is_a_syn_then_an_rst_with_no_data_and_no_fin() {
    let mut t = Transcript::new("dead", 1_795_000_000_000_000);
    t.server = Some("127.0.0.1:1".into());
    t.events.push(Event {
        connect_us: Some(40),
        note: Some(REFUSED.into()),
        ..Event::new(140, EventKind::ConnectFailed)
    });
    t.events.push(Event::new(150, EventKind::Close));
    let s = segments(&t);
    let summary: Vec<(bool, u8, u64)> =
        s.iter().map(|s| (s.from_client, s.flags, s.t_us)).collect();
    use flags::*;
    assert_eq!(summary, [(true, SYN, 100), (false, RST | ACK, 140)]);
    assert_eq!(s[1].ack, CLIENT_ISN + 1, "the RST acknowledges the SYN");
    let json = t.to_json();
    assert!(json.contains(r#""kind": "connect_failed""#), "{json}");
    assert_eq!(Transcript::from_json(&json).unwrap(), t);

    t.events[0].note = Some(TIMED_OUT.into());
    let s = segments(&t);
    assert_eq!(
        s.len(),
        1,
        "a connect that timed out is its SYN alone: {s:?}"
    );
}

#[test]
fn a_reconstructed_capture_says_so_in_its_comment_and_in_each_packets() {
    let t = session(&[b"abc"], &[b"hello"], EventKind::Eof);
    let file = pcapng(&t);
    let text = String::from_utf8_lossy(&file);
    assert!(text.contains(pcapng::RECONSTRUCTED), "{text}");
    for what in [
        tcp::what::SYN,
        tcp::what::SENT,
        tcp::what::RECEIVED,
        tcp::what::ACK,
        tcp::what::EOF,
    ] {
        assert!(text.contains(what), "{what}");
    }
    let mut unknown = t.clone();
    unknown.client = None;
    let text = String::from_utf8_lossy(&pcapng(&unknown)).into_owned();
    assert!(text.contains("relay 127.0.0.1:50000 -> target 127.0.0.1:65432 (addresses not known are drawn as these)"), "{text}");
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_byte_is_in_one_segment_and_acks_follow_the_peers_sequence(
            chunks in prop::collection::vec((any::<bool>(), 1usize..200_000), 0..6),
        ) {
            let mut t = Transcript::new("echo", 0);
            for (i, (up, len)) in chunks.iter().enumerate() {
                let kind = if *up { EventKind::Sent } else { EventKind::Received };
                t.events.push(Event::bytes(i as u64, kind, &vec![i as u8; *len]));
            }
            t.events.push(Event::new(99, EventKind::ShutdownWrite));
            let segs = segments(&t);
            let mut up = Vec::new();
            let mut down = Vec::new();
            let (mut c, mut s) = (CLIENT_ISN + 1, SERVER_ISN + 1);
            for seg in &segs[3..] {
                prop_assert!(seg.payload.len() <= MAX_PAYLOAD);
                let (mine, theirs) = if seg.from_client { (&mut c, s) } else { (&mut s, c) };
                prop_assert_eq!(seg.seq, *mine);
                prop_assert_eq!(seg.ack, theirs);
                *mine += seg.payload.len() as u32 + u32::from(seg.flags & flags::FIN != 0);
                if seg.from_client { up.extend_from_slice(seg.payload) } else { down.extend_from_slice(seg.payload) }
            }
            prop_assert_eq!(up, t.stream(true));
            prop_assert_eq!(down, t.stream(false));
        }

        #[test]
        fn base64_reads_back_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(super::super::base64::decode(&super::super::base64::encode(&bytes)), Some(bytes));
        }
    }
}
