//! Observation tests: the documented and docs/reference.md examples, every kind against
//! what serde wrote before the hand-written writer, refusals.

use super::*;
use crate::decode::Part;
use crate::framing::FramePart;
use crate::relay_api::WireError;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn round_trip(json: &str) -> Observation {
    let parsed = Observation::from_json(json).unwrap();
    assert_eq!(parsed.to_json(), json);
    parsed
}

#[test]
fn the_documented_example_session_reads_and_writes_back_unchanged() {
    let docs = include_str!("observe.rs");
    let examples: Vec<&str> = docs
        .lines()
        .filter_map(|l| l.strip_prefix("//! {"))
        .collect();
    assert_eq!(examples.len(), 6);
    for example in examples {
        round_trip(&format!("{{{example}"));
    }
}

#[test]
fn the_reference_example_session_reads_and_writes_back_unchanged() {
    let readme = include_str!("../../../docs/reference.md");
    let examples: Vec<&str> = readme
        .lines()
        .filter(|l| l.starts_with(r#"{"t_us":"#))
        .collect();
    assert!(
        examples.len() >= 20,
        "docs/reference.md shows a whole session"
    );
    for example in examples {
        round_trip(example);
    }
}

/// The wire form of `every_kind`'s events, byte for byte: what the page,
/// older pages and saved transcripts read (the first kinds are what
/// serde_json wrote before the derive went; later kinds were written by
/// hand from the start).
const WIRE_OF_EVERY_KIND: [&str; 31] = [
    r#"{"t_us":0,"kind":"observing","target":"py-app","server":false}"#,
    r#"{"t_us":1,"kind":"connect","local":"[::1]:5","peer":"[::1]:65432","connect_us":7}"#,
    r#"{"t_us":2,"kind":"write","len":65494,"sent":32768}"#,
    r#"{"t_us":3,"kind":"write","len":9,"sent":0,"count":3}"#,
    r#"{"t_us":4,"kind":"read","len":4,"count":2}"#,
    r#"{"t_us":5,"kind":"shutdown_write"}"#,
    r#"{"t_us":6,"kind":"eof"}"#,
    r#"{"t_us":7,"kind":"reset"}"#,
    r#"{"t_us":8,"kind":"close"}"#,
    r#"{"t_us":9,"kind":"socket","state":"FIN_WAIT2","recv_q":1,"send_q":2,"unacked":3}"#,
    r#"{"t_us":10,"kind":"server_accept","local":"127.0.0.1:1","peer":"127.0.0.1:2"}"#,
    r#"{"t_us":11,"kind":"server_recv","len":0}"#,
    r#"{"t_us":12,"kind":"server_recv","len":3,"decoder":{"state":"failed","error":"content is not valid JSON"}}"#,
    r#"{"t_us":13,"kind":"server_recv","len":10,"count":2,"decoder":{"state":"waiting","part":"length_prefix","have":1,"need":2}}"#,
    r#"{"t_us":14,"kind":"server_recv","len":41,"decoder":{"state":"complete"}}"#,
    r#"{"t_us":15,"kind":"server_request","repr":"b'binary\\xf0'"}"#,
    r#"{"t_us":16,"kind":"server_log","level":"info","line":"tab\there, \u0001, \"quoted\", back\\slash, 🐍 é"}"#,
    r#"{"t_us":17,"kind":"socket","state":"ESTABLISHED","recv_q":18446744073709551615,"send_q":0,"rtt_us":41,"unacked":0,"retransmits":7}"#,
    r#"{"t_us":18,"kind":"server_send","len":148,"sent":100,"count":2}"#,
    r#"{"t_us":19,"kind":"server_log","level":"warning","line":"Error for ('127.0.0.1', 5000): malformed request"}"#,
    r#"{"t_us":20,"kind":"server_socket","state":"FIN_WAIT2","recv_q":1,"send_q":2,"unacked":3}"#,
    r#"{"t_us":21,"kind":"server_close"}"#,
    r#"{"t_us":22,"kind":"lost","events":12}"#,
    r#"{"t_us":23,"kind":"server_ready","iteration":1,"ready":1,"io":"accept"}"#,
    r#"{"t_us":24,"kind":"server_ready","iteration":4000000000000,"ready":512,"io":"read_write"}"#,
    r#"{"t_us":25,"kind":"server_framer","step":"wait_prefix","have":1,"need":2}"#,
    r#"{"t_us":26,"kind":"server_framer","step":"wait_payload","have":0,"need":16}"#,
    r#"{"t_us":27,"kind":"server_framer","step":"wait_delimiter","byte":10,"have":3}"#,
    r#"{"t_us":28,"kind":"server_framer","step":"wait_eof","have":0}"#,
    r#"{"t_us":29,"kind":"server_framer","step":"cut","start":16,"frame_len":16,"len":16}"#,
    r#"{"t_us":30,"kind":"server_framer","step":"failed","error":"a message of 65535 bytes is over the limit of 1000"}"#,
];

#[test]
fn every_kind_is_written_as_serde_wrote_it_and_reads_back() {
    let socket = SocketInfo {
        state: TcpState::FinWait2,
        recv_q: 1,
        send_q: 2,
        rtt_us: None,
        unacked: Some(3),
        retransmits: None,
    };
    let every = [
        Observed::Observing {
            target: "py-app".into(),
            server: false,
        },
        Observed::Connect {
            local: "[::1]:5".into(),
            peer: "[::1]:65432".into(),
            connect_us: 7,
        },
        Observed::Write {
            len: 65494,
            sent: 32768,
            count: 1,
        },
        Observed::Write {
            len: 9,
            sent: 0,
            count: 3,
        },
        Observed::Read { len: 4, count: 2 },
        Observed::ShutdownWrite,
        Observed::Eof,
        Observed::Reset,
        Observed::Close,
        Observed::Socket(socket),
        Observed::ServerAccept {
            local: "127.0.0.1:1".into(),
            peer: "127.0.0.1:2".into(),
        },
        Observed::ServerRecv {
            len: 0,
            count: 1,
            decoder: None,
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
        Observed::ServerRecv {
            len: 3,
            count: 1,
            decoder: Some(DecoderState::Failed {
                error: "content is not valid JSON".into(),
            }),
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
        Observed::ServerRecv {
            len: 10,
            count: 2,
            decoder: Some(DecoderState::Waiting(Need {
                part: Part::LengthPrefix,
                have: 1,
                need: 2,
            })),
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
        Observed::ServerRecv {
            len: 41,
            count: 1,
            decoder: Some(DecoderState::Complete),
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
        Observed::ServerRequest {
            repr: "b'binary\\xf0'".into(),
        },
        Observed::ServerLog {
            level: LogLevel::Info,
            line: "tab\there, \u{1}, \"quoted\", back\\slash, 🐍 é".into(),
        },
        Observed::Socket(SocketInfo {
            state: TcpState::Established,
            recv_q: u64::MAX,
            send_q: 0,
            rtt_us: Some(41),
            unacked: Some(0),
            retransmits: Some(7),
        }),
        Observed::ServerSend {
            len: 148,
            sent: 100,
            count: 2,
            blocked_us: None,
            error: None,
        },
        Observed::ServerLog {
            level: LogLevel::Warning,
            line: "Error for ('127.0.0.1', 5000): malformed request".into(),
        },
        Observed::ServerSocket(socket),
        Observed::ServerClose,
        Observed::Lost { events: 12 },
        Observed::ServerReady {
            iteration: 1,
            ready: 1,
            io: Readiness::Accept,
        },
        Observed::ServerReady {
            iteration: 4_000_000_000_000,
            ready: 512,
            io: Readiness::ReadWrite,
        },
        Observed::ServerFramer(FramerStep::Waiting(Wait::Bytes {
            part: FramePart::Prefix,
            have: 1,
            need: 2,
        })),
        Observed::ServerFramer(FramerStep::Waiting(Wait::Bytes {
            part: FramePart::Payload,
            have: 0,
            need: 16,
        })),
        Observed::ServerFramer(FramerStep::Waiting(Wait::Delimiter { byte: 10, have: 3 })),
        Observed::ServerFramer(FramerStep::Waiting(Wait::Eof { have: 0 })),
        Observed::ServerFramer(FramerStep::Cut {
            start: 16,
            frame_len: 16,
            len: 16,
        }),
        Observed::ServerFramer(FramerStep::Failed {
            error: "a message of 65535 bytes is over the limit of 1000".into(),
        }),
    ];
    assert_eq!(every.len(), WIRE_OF_EVERY_KIND.len());
    for (t_us, event) in every.into_iter().enumerate() {
        let obs = Observation {
            t_us: t_us as u64,
            event,
            conn: None,
        };
        let json = obs.to_json();
        assert_eq!(json, WIRE_OF_EVERY_KIND[t_us], "event {t_us}");
        assert_eq!(Observation::from_json(&json).unwrap(), obs, "{json}");
        assert_eq!(
            Observation::from_json_value(&obs.to_json_value()).unwrap(),
            obs
        );
    }
}

#[test]
fn a_kind_without_its_fields_is_refused_by_name() {
    let err = Observation::from_json(r#"{"t_us":1,"kind":"write","len":3}"#)
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing field `sent`"), "{err}");
    let err = Observation::from_json(r#"{"t_us":1,"kind":"gossip"}"#).unwrap_err();
    assert_eq!(err.to_string(), r#"unknown kind "gossip""#);
}

#[test]
fn two_frames_in_one_recv_say_how_much_of_the_next_came_along_and_older_readers_see_complete() {
    let text =
        r#"{"t_us":5,"kind":"server_recv","len":180,"decoder":{"state":"complete","next":139}}"#;
    let obs = round_trip(text);
    assert!(
        matches!(
            obs.event,
            Observed::ServerRecv {
                decoder: Some(DecoderState::CompleteWithNext { next: 139 }),
                ..
            }
        ),
        "{obs:?}"
    );
    // Without `next` (a relay that predates it, or `next` 0): plain complete.
    for text in [
        r#"{"t_us":5,"kind":"server_recv","len":41,"decoder":{"state":"complete"}}"#,
        r#"{"t_us":5,"kind":"server_recv","len":41,"decoder":{"state":"complete","next":0}}"#,
    ] {
        let obs = Observation::from_json(text).unwrap();
        assert!(
            matches!(
                obs.event,
                Observed::ServerRecv {
                    decoder: Some(DecoderState::Complete),
                    ..
                }
            ),
            "{obs:?}"
        );
    }
}

#[test]
fn a_server_recv_carries_the_decoders_need() {
    let obs = round_trip(
        r#"{"t_us":1950,"kind":"server_recv","len":10,"decoder":{"state":"waiting","part":"content","have":20,"need":41}}"#,
    );
    let Observed::ServerRecv {
        decoder: Some(DecoderState::Waiting(need)),
        ..
    } = obs.event
    else {
        panic!("{obs:?}");
    };
    assert_eq!(
        need,
        Need {
            part: Part::Content,
            have: 20,
            need: 41
        }
    );
    assert_eq!(need.to_string(), "content: 20 of 41 bytes");
}

#[test]
fn merged_byte_events_carry_a_count_single_ones_do_not() {
    let single = Observation {
        t_us: 5,
        event: Observed::Write {
            len: 10,
            sent: 10,
            count: 1,
        },
        conn: None,
    };
    assert_eq!(
        single.to_json(),
        r#"{"t_us":5,"kind":"write","len":10,"sent":10}"#
    );
    round_trip(r#"{"t_us":5,"kind":"read","len":65536,"count":4}"#);
}

#[test]
fn a_framer_step_is_flat_on_the_wire() {
    let obs = round_trip(
        r#"{"t_us":7,"kind":"server_framer","step":"wait_delimiter","byte":10,"have":3}"#,
    );
    assert!(matches!(
        obs.event,
        Observed::ServerFramer(FramerStep::Waiting(Wait::Delimiter { byte: 10, have: 3 }))
    ));
    round_trip(
        r#"{"t_us":8,"kind":"server_framer","step":"cut","start":0,"frame_len":16,"len":16}"#,
    );
}

#[test]
fn socket_states_use_netstats_names() {
    for n in 1..=11 {
        let state = TcpState::from_linux(n).unwrap();
        let obs = Observation {
            t_us: 3,
            event: Observed::Socket(SocketInfo {
                state,
                recv_q: 0,
                send_q: 0,
                rtt_us: Some(41),
                unacked: None,
                retransmits: Some(0),
            }),
            conn: None,
        };
        let json = format!(
            r#"{{"t_us":3,"kind":"socket","state":"{}","recv_q":0,"send_q":0,"rtt_us":41,"retransmits":0}}"#,
            state.name()
        );
        assert_eq!(obs.to_json(), json);
        assert_eq!(Observation::from_json(&json).unwrap(), obs);
    }
    assert_eq!(TcpState::from_linux(4).unwrap().name(), "FIN_WAIT1");
    assert_eq!(TcpState::from_linux(0), None);
    round_trip(
        r#"{"t_us":9,"kind":"server_socket","state":"CLOSE_WAIT","recv_q":408300,"send_q":0}"#,
    );
}

#[test]
fn an_event_loop_iteration_is_one_flat_object() {
    let obs = round_trip(
        r#"{"t_us":77,"kind":"server_ready","iteration":3,"ready":2,"io":"read_write"}"#,
    );
    let Observed::ServerReady { io, .. } = obs.event else {
        panic!("{obs:?}");
    };
    assert!(io.readable() && io.writable());
    assert_eq!(Readiness::of(false, true), Some(Readiness::Write));
    assert_eq!(Readiness::of(false, false), None);
    assert!(
        Observation::from_json(r#"{"t_us":1,"kind":"server_ready","iteration":3,"ready":2}"#)
            .is_err()
    );
}

#[test]
fn a_field_of_the_wrong_type_is_refused_by_name_and_unknown_keys_are_ignored() {
    let in_range = "a non-negative integer in range";
    for (json, error) in [
        (
            r#"{"t_us":1,"kind":"read","len":"3"}"#,
            format!("field `len` must be {in_range}"),
        ),
        (
            r#"{"t_us":1,"kind":"read","len":3,"count":4294967296}"#,
            format!("field `count` must be {in_range}"),
        ),
        (
            r#"{"t_us":1,"kind":"server_framer","step":"wait_delimiter","byte":256,"have":0}"#,
            format!("field `byte` must be {in_range}"),
        ),
        (
            r#"{"t_us":1,"kind":"observing","target":"app","server":1}"#,
            "field `server` must be true or false".into(),
        ),
        (
            r#"{"t_us":1,"kind":"server_log","level":"debug","line":"x"}"#,
            r#"unknown level "debug""#.into(),
        ),
        (
            r#"{"t_us":1,"kind":"server_recv","len":3,"decoder":"complete"}"#,
            "`decoder` must be a JSON object".into(),
        ),
        ("[1]", "an observation must be a JSON object".into()),
        (r#"{"kind":"eof"}"#, "missing field `t_us`".into()),
    ] {
        assert_eq!(
            Observation::from_json(json).unwrap_err().to_string(),
            error,
            "{json}"
        );
    }
    assert!(matches!(
        Observation::from_json(r#"{"t_us":1,"#),
        Err(WireError::Json(_))
    ));
    let obs = Observation::from_json(r#"{"t_us":1,"kind":"eof","later":[1,{"x":null}]}"#).unwrap();
    assert_eq!(obs.event, Observed::Eof);
    let obs = Observation::from_json(r#"{"t_us":2,"kind":"server_recv","len":0,"decoder":null}"#)
        .unwrap();
    assert_eq!(obs.to_json(), r#"{"t_us":2,"kind":"server_recv","len":0}"#);
}

#[test]
fn a_traced_call_says_what_it_asked_how_long_it_blocked_and_how_it_failed() {
    let obs = round_trip(
        r#"{"t_us":40,"kind":"server_recv","len":10,"decoder":{"state":"waiting","part":"header","have":8,"need":100},"asked":4096,"blocked_us":48000,"conn":2}"#,
    );
    assert_eq!(obs.conn, Some(2));
    assert!(matches!(
        obs.event,
        Observed::ServerRecv {
            asked: Some(4096),
            blocked_us: Some(48000),
            error: None,
            data: None,
            ..
        }
    ));
    let failed = round_trip(
        r#"{"t_us":41,"kind":"server_recv","len":0,"asked":4096,"blocked_us":3,"error":"EAGAIN"}"#,
    );
    let Observed::ServerRecv {
        error: Some(errno), ..
    } = &failed.event
    else {
        panic!("{failed:?}");
    };
    assert_eq!(python_exception(errno), "BlockingIOError");
    assert_eq!(python_exception("ECONNRESET"), "ConnectionResetError");
    assert_eq!(python_exception("EPIPE"), "BrokenPipeError");
    assert_eq!(python_exception("EBADF"), "OSError");
    let short = round_trip(
        r#"{"t_us":42,"kind":"server_send","len":1000000,"sent":2626560,"blocked_us":7}"#,
    );
    assert!(matches!(
        short.event,
        Observed::ServerSend {
            blocked_us: Some(7),
            error: None,
            ..
        }
    ));
    round_trip(r#"{"t_us":43,"kind":"server_send","len":5,"sent":0,"error":"EPIPE"}"#);
}

#[test]
fn a_watched_recv_carries_its_bytes_in_base64() {
    let obs = Observation {
        t_us: 9,
        event: Observed::ServerRecv {
            len: 3,
            count: 1,
            decoder: None,
            asked: Some(1024),
            blocked_us: None,
            error: None,
            data: Some(vec![0, 0x7b, 0xff]),
        },
        conn: Some(1),
    };
    let json = obs.to_json();
    assert_eq!(
        json,
        r#"{"t_us":9,"kind":"server_recv","len":3,"asked":1024,"data":"AHv/","conn":1}"#
    );
    assert_eq!(Observation::from_json(&json).unwrap(), obs);
    assert_eq!(
        Observation::from_json(r#"{"t_us":9,"kind":"server_recv","len":3,"data":"AH"}"#)
            .unwrap_err()
            .to_string(),
        "field `data` must be padded base64"
    );
}

#[test]
fn a_pending_call_and_a_shutdown_use_the_c_names() {
    let obs = round_trip(r#"{"t_us":2400000,"kind":"server_pending","call":"recv","asked":4096}"#);
    assert_eq!(
        obs.event,
        Observed::ServerPending {
            call: PendingCall::Recv,
            asked: Some(4096)
        }
    );
    round_trip(r#"{"t_us":1,"kind":"server_pending","call":"accept"}"#);
    round_trip(r#"{"t_us":1,"kind":"server_pending","call":"send","asked":1000000}"#);
    for (how, name) in [
        (ShutdownHow::Read, "SHUT_RD"),
        (ShutdownHow::Write, "SHUT_WR"),
        (ShutdownHow::Both, "SHUT_RDWR"),
    ] {
        let obs = round_trip(&format!(
            r#"{{"t_us":5,"kind":"server_shutdown","how":"{name}"}}"#
        ));
        assert_eq!(obs.event, Observed::ServerShutdown { how });
        assert_eq!(how.name(), name);
    }
    assert_eq!(PendingCall::Accept.name(), "accept");
    assert!(
        Observation::from_json(r#"{"t_us":1,"kind":"server_shutdown","how":"SHUT_UP"}"#).is_err()
    );
}
