//! The lessons' checks over sessions built from the events the relay sends,
//! passed through the page's one reducer: each check passes on the
//! phenomenon and says what is missing without it.

use protocol::relay_api::{
    CloseReason, ConnectFailure, DecoderState, Observation, Observed, SocketInfo, TcpState,
};
use protocol::{Need, Part};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::lesson_checks::*;
use super::lessons::*;
use super::*;

const ID: u32 = 7;

fn session(target: &str) -> State {
    let mut s = State::default();
    let connect = SessionAction::Connecting {
        id: ID,
        target: target.into(),
        at: 0.0,
    };
    reduce(&mut s, Action::Session(connect));
    reduce(
        &mut s,
        Action::Session(SessionAction::Opened { id: ID, at: 1.0 }),
    );
    s
}

fn event(s: &mut State, event: Observed) {
    let observation = Observation::new(0, event);
    reduce(
        s,
        Action::Session(SessionAction::Observed {
            id: ID,
            at: 2.0,
            observation,
        }),
    );
}

fn sent(s: &mut State, bytes: &[u8]) {
    let bytes = bytes.to_vec();
    reduce(
        s,
        Action::Session(SessionAction::Sent {
            id: ID,
            at: 2.0,
            bytes,
        }),
    );
}

fn received(s: &mut State, bytes: &[u8]) {
    let bytes = bytes.to_vec();
    reduce(
        s,
        Action::Session(SessionAction::Received {
            id: ID,
            at: 3.0,
            bytes,
        }),
    );
}

fn closed(s: &mut State, code: u16, reason: &str) {
    reduce(
        s,
        Action::Session(SessionAction::Closed {
            id: ID,
            at: 4.0,
            code,
            reason: reason.into(),
            clean: true,
        }),
    );
}

fn recv(s: &mut State, len: u64, decoder: Option<DecoderState>) {
    event(
        s,
        Observed::ServerRecv {
            len,
            count: 1,
            decoder,
            asked: None,
            blocked_us: None,
            error: None,
            data: None,
        },
    );
}

fn waiting(part: Part, have: usize, need: usize) -> Option<DecoderState> {
    Some(DecoderState::Waiting(Need { part, have, need }))
}

fn queues(recv_q: u64, send_q: u64) -> SocketInfo {
    SocketInfo {
        state: TcpState::Established,
        recv_q,
        send_q,
        rtt_us: None,
        unacked: None,
        retransmits: None,
    }
}

/// The morpheus request (the default message).
fn frame() -> Vec<u8> {
    State::default().composed.bytes.to_vec()
}

fn play(s: &State) -> Evidence<'_> {
    Evidence::Playground(s)
}

#[test]
fn every_lesson_names_its_section_and_sets_up_a_real_preset_and_target() {
    for (i, lesson) in LESSONS.iter().enumerate() {
        assert!(!lesson.text.is_empty() && !lesson.turn.is_empty(), "{i}");
        if let Setup::Playground { preset, .. } = lesson.setup {
            assert!(
                presets::find(preset).is_some(),
                "lesson {}: {preset}",
                i + 1
            );
        }
    }
    assert_eq!(
        source(LESSONS[0].section),
        "Socket Programming in Python (Guide): Application Protocol Header"
    );
    assert_eq!(LESSONS[8].setup.place(), Place::Framing);
    assert_eq!(LESSONS[7].setup.place(), Place::Many);
}

#[test]
fn progress_and_links_round_trip() {
    let mut p = Progress::default();
    p.pass(0, false);
    p.pass(11, true);
    p.pass(11, false);
    assert_eq!(Progress::from_text(&p.to_text()), p);
    assert!(p.done(11) && !p.done(0));
    assert_eq!(Progress::from_text("junk"), Progress::default());
    assert_eq!(lesson_from_hash("#lesson=3"), Some(2));
    assert_eq!(lesson_from_hash("#lesson=13"), None);
    assert_eq!(lesson_from_hash("#p=morpheus"), None);
}

#[test]
fn nothing_is_judged_before_a_new_session_after_set_up() {
    let s = session("app");
    let e = play(&s);
    let baseline = Some((Place::Playground, ID));
    assert_eq!(
        verdict(request_and_reply, &e, baseline),
        Err("nothing sent since Set it up".into())
    );
    let fresh = State::default();
    assert_eq!(
        request_and_reply(&play(&fresh)),
        Err("nothing sent yet".into())
    );
    assert_eq!(
        three_cut(&e),
        Err("this part is done in the Framing tab".into())
    );
}

#[test]
fn lesson_1_a_request_and_its_reply_or_a_rejected_message() {
    let mut s = session("app");
    sent(&mut s, &frame());
    recv(&mut s, frame().len() as u64, Some(DecoderState::Complete));
    event(&mut s, Observed::ServerRequest { repr: "{}".into() });
    assert_eq!(
        request_and_reply(&play(&s)),
        Err("no reply decoded yet".into())
    );
    received(&mut s, &frame());
    assert_eq!(
        request_and_reply(&play(&s)),
        Ok("the app server decoded 1 request; 1 reply decoded here".into())
    );
    assert!(server_rejected(&play(&s))
        .unwrap_err()
        .contains("accepted every byte"));
    recv(
        &mut s,
        5,
        Some(DecoderState::Failed {
            error: "JSON header is not valid JSON".into(),
        }),
    );
    assert_eq!(
        server_rejected(&play(&s)),
        Ok("the server's decoder gave up: JSON header is not valid JSON".into())
    );
}

#[test]
fn lesson_2_a_request_in_pieces_and_an_echo_in_chunks() {
    let mut s = session("app");
    sent(&mut s, &frame());
    recv(&mut s, frame().len() as u64, Some(DecoderState::Complete));
    event(&mut s, Observed::ServerRequest { repr: "{}".into() });
    assert!(request_in_pieces(&play(&s))
        .unwrap_err()
        .contains("in one call"));

    let mut s = session("app");
    for _ in 0..14 {
        recv(&mut s, 10, waiting(Part::Header, 8, 100));
    }
    recv(&mut s, 3, Some(DecoderState::Complete));
    event(&mut s, Observed::ServerRequest { repr: "{}".into() });
    assert_eq!(
        request_in_pieces(&play(&s)),
        Ok("one request, read in 15 recv() calls".into())
    );
    assert!(echo_in_chunks(&play(&s))
        .unwrap_err()
        .contains("pick the target echo"));

    let mut s = session("echo");
    received(&mut s, &frame()[..5]);
    received(&mut s, &frame()[5..10]);
    assert!(echo_in_chunks(&play(&s))
        .unwrap_err()
        .starts_with("the echo came back in 2 chunks"));
    received(&mut s, &frame()[10..]);
    assert_eq!(
        echo_in_chunks(&play(&s)),
        Ok("the echo came back in 3 chunks".into())
    );
}

#[test]
fn lesson_3_the_page_decoder_waits_and_the_header_comes_in_pieces() {
    let f = frame();
    let header = header_range(&f).unwrap();
    assert_eq!(
        header,
        2..102,
        "the morpheus request's JSON header is 100 bytes"
    );
    let mut s = session("echo");
    received(&mut s, &f);
    assert!(client_waited(&play(&s)).unwrap_err().contains("one chunk"));
    assert!(client_header_pieces(&play(&s))
        .unwrap_err()
        .contains("came in 1 chunk;"));

    let mut s = session("echo");
    for piece in f.chunks(60) {
        received(&mut s, piece);
    }
    let seen = client_waited(&play(&s)).unwrap();
    assert!(seen.starts_with("a whole message from 3 chunks"), "{seen}");
    assert_eq!(
        client_header_pieces(&play(&s)),
        Err(
            "the JSON header (bytes 2..102) came in 2 chunks; 3 or more needed: smaller segments"
                .into()
        )
    );

    let mut s = session("echo");
    for piece in f.chunks(40) {
        received(&mut s, piece);
    }
    assert_eq!(
        client_header_pieces(&play(&s)),
        Ok("the JSON header (bytes 2..102) reached the page in 3 chunks".into())
    );
}

#[test]
fn lesson_4_the_server_decoder_waits_and_reads_the_header_in_pieces() {
    let f = frame();
    let mut s = session("app");
    for piece in f.chunks(60) {
        sent(&mut s, piece);
    }
    recv(&mut s, 60, waiting(Part::Header, 58, 100));
    recv(&mut s, 60, waiting(Part::Content, 18, 41));
    assert!(server_waited(&play(&s)).unwrap_err().contains("no request"));
    recv(&mut s, 23, Some(DecoderState::Complete));
    event(&mut s, Observed::ServerRequest { repr: "{}".into() });
    assert_eq!(
        server_waited(&play(&s)),
        Ok("the server's decoder waited after 2 recv() calls (JSON header: 58 of 100 bytes first), then had a whole request".into())
    );
    assert!(server_header_pieces(&play(&s))
        .unwrap_err()
        .contains("came in 2 recv() calls;"));

    let mut s = session("app");
    sent(&mut s, &f);
    for piece in f.chunks(30) {
        recv(&mut s, piece.len() as u64, None);
    }
    assert_eq!(
        server_header_pieces(&play(&s)),
        Ok("the server's recv() returned the JSON header (bytes 2..102) in 4 pieces".into())
    );
}

#[test]
fn lesson_5_a_short_send_and_the_same_with_a_big_message() {
    let mut s = session("blackhole");
    let write = |len, sent| Observed::Write {
        len,
        sent,
        count: 1,
    };
    event(&mut s, write(143, 143));
    assert!(short_send(&play(&s)).is_err());
    event(&mut s, write(1 << 20, 4096));
    assert!(short_send(&play(&s))
        .unwrap()
        .contains("in one of the relay's send() calls"));
    assert_eq!(
        short_send_big(&play(&s)),
        Err("the message is 143 bytes; make it at least 1,000".into())
    );
}

#[test]
fn lessons_6_and_7_the_queues() {
    let mut s = session("blackhole");
    sent(&mut s, &frame());
    assert!(unread_in_recv_q(&play(&s)).unwrap_err().contains("empty"));
    event(&mut s, Observed::ServerSocket(queues(143, 0)));
    assert_eq!(
        unread_in_recv_q(&play(&s)),
        Ok("the server's Recv-Q holds 143 of the 143 bytes you sent, unread".into())
    );
    assert!(recv_q_thousand(&play(&s))
        .unwrap_err()
        .contains("holds 143 bytes; 1,000 needed"));
    event(&mut s, Observed::ServerSocket(queues(1144, 0)));
    assert!(recv_q_thousand(&play(&s)).is_ok());

    assert!(both_queues_full(&play(&s))
        .unwrap_err()
        .ends_with("flood blackhole"));
    event(&mut s, Observed::ServerSocket(queues(4_000_000, 0)));
    event(&mut s, Observed::Socket(queues(0, 2_500_000)));
    assert_eq!(
        both_queues_full(&play(&s)),
        Ok("the server's Recv-Q holds 4,000,000 bytes and the relay's Send-Q 2,500,000: both full, so the relay's send() waits".into())
    );

    let mut s = session("echo");
    sent(&mut s, &frame());
    assert_eq!(
        echo_drained(&play(&s)),
        Err("echo has read 0 of the 143 bytes sent".into())
    );
    recv(&mut s, 143, None);
    event(&mut s, Observed::ServerSocket(queues(143, 0)));
    assert!(echo_drained(&play(&s))
        .unwrap_err()
        .contains("Recv-Q holds 143 bytes"));
    event(&mut s, Observed::ServerSocket(queues(0, 0)));
    assert_eq!(
        echo_drained(&play(&s)),
        Ok("echo read all 143 bytes: its Recv-Q and the relay's Send-Q are at 0".into())
    );
}

#[test]
fn lessons_8_and_9_read_their_labs() {
    let facts = |connections, echoed| {
        Evidence::Many(ManyFacts {
            connections,
            echoed,
            iterations: 9,
            key: 1,
        })
    };
    assert_eq!(
        all_echoed(&facts(2, 2)),
        Ok("2 connections, every one echoed whole by one thread in 9 loop iterations".into())
    );
    assert_eq!(
        all_echoed(&facts(2, 1)),
        Err("1 of 2 connections echoed whole so far".into())
    );
    assert_eq!(
        six_echoed(&facts(4, 4)),
        Err("4 connections ran; 6 or more needed".into())
    );
    assert!(six_echoed(&facts(6, 6)).is_ok());

    let cuts = |cuts| Evidence::Framing(FramingFacts { cuts, key: 4 });
    assert_eq!(
        three_cut(&cuts([1, 0, 1, 0])),
        Err("no message cut yet by lines".into())
    );
    assert!(three_cut(&cuts([1, 1, 1, 0])).is_ok());
    assert!(lines_cut_twice(&cuts([1, 1, 1, 0])).is_err());
    assert_eq!(
        lines_cut_twice(&cuts([1, 2, 1, 0])),
        Ok("lines cut one payload into 2 messages".into())
    );
    assert!(close_column_cut(&cuts([1, 1, 1, 0]))
        .unwrap_err()
        .contains("Half-close"));
    assert!(close_column_cut(&cuts([1, 1, 1, 1])).is_ok());
}

#[test]
fn lessons_10_to_12_fin_rst_half_close_and_refused() {
    let connect = Observed::Connect {
        local: "127.0.0.1:50000".into(),
        peer: "127.0.0.1:40000".into(),
        connect_us: 96,
    };
    let mut s = session("app");
    event(&mut s, connect.clone());
    assert!(handshake_and_fin(&play(&s)).unwrap_err().contains("no FIN"));
    event(&mut s, Observed::Eof);
    assert!(handshake_and_fin(&play(&s))
        .unwrap()
        .starts_with("connect() finished the handshake in 96 µs"));
    assert!(reset_seen(&play(&s))
        .unwrap_err()
        .contains("pick the target reset"));

    let mut s = session("reset");
    event(&mut s, connect);
    sent(&mut s, &frame());
    assert!(reset_seen(&play(&s)).is_err());
    closed(&mut s, 1011, &CloseReason::UpstreamReset.to_string());
    assert!(reset_seen(&play(&s)).is_ok());

    let mut s = session("echo");
    sent(&mut s, &frame());
    assert!(half_close_echo(&play(&s))
        .unwrap_err()
        .contains("press Half-close"));
    event(&mut s, Observed::ShutdownWrite);
    recv(&mut s, 143, None);
    recv(&mut s, 0, None);
    received(&mut s, &frame()[..100]);
    assert_eq!(
        half_close_echo(&play(&s)),
        Err("100 of the 143 bytes sent came back so far".into())
    );
    received(&mut s, &frame()[100..]);
    assert!(half_close_echo(&play(&s)).is_ok());

    let mut s = session("refused");
    assert!(refused(&play(&s)).is_err());
    let reason = CloseReason::ConnectFailed {
        failure: ConnectFailure::Refused,
        address: "127.0.0.1:9".into(),
    };
    closed(&mut s, reason.code(), &reason.to_string());
    assert_eq!(
        refused(&play(&s)),
        Ok("the relay's connect() to 127.0.0.1:9 failed: connection refused (ECONNREFUSED)".into())
    );
}
