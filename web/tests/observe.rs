//! The observed panels (server lane, Server panel, socket table, flood)
//! rendered from observation sequences like the relay sends: JSON text
//! messages, parsed and folded by the reducer, then mounted in headless
//! Chromium. The assertions are on the words and numbers a learner reads.
#![cfg(target_arch = "wasm32")]

use protocol::encode;
use protocol::relay_api::Observation;
use wasm_bindgen_test::*;
use web::components;
use web::model::{reduce, Action, Conn, FloodEnd, FloodProgress, SessionAction, State, Targets};

mod support;

use support::*;

wasm_bindgen_test_configure!(run_in_browser);

const RELAY: &str = "127.0.0.1:50112";
const SERVER: &str = "127.0.0.1:65432";

/// A session driven through the reducer the way the socket hook drives it:
/// each event at a page time, observations as the relay's JSON text.
struct Run {
    state: State,
    at: f64,
}

impl Run {
    fn new(target: &str) -> Run {
        let mut run = Run {
            state: State::default(),
            at: 1000.0,
        };
        run.session(SessionAction::Connecting {
            id: 1,
            target: target.into(),
            at: 1000.0,
        });
        run.session(SessionAction::Opened { id: 1, at: 1003.0 });
        run
    }

    fn session(&mut self, action: SessionAction) {
        reduce(&mut self.state, Action::Session(action));
    }

    /// One text message from the relay, `ms` after the previous event.
    fn observe(&mut self, ms: f64, json: &str) {
        self.at += ms;
        let observation = Observation::from_json(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        self.session(SessionAction::Observed {
            id: 1,
            at: self.at,
            observation,
        });
    }

    fn sent(&mut self, ms: f64, len: usize) {
        self.at += ms;
        self.session(SessionAction::Sent {
            id: 1,
            at: self.at,
            bytes: vec![0; len],
        });
    }

    fn t_us(&self) -> u64 {
        ((self.at - 1000.0) * 1000.0) as u64
    }
}

/// What the server's decoder waits for once `offset` bytes of the morpheus
/// request (2 + 100 + 41 bytes) are in, as the relay reports it.
fn decoder_json(offset: usize) -> String {
    let (part, have, need) = match offset {
        0..2 => ("length_prefix", offset, 2),
        2..102 => ("header", offset - 2, 100),
        102..143 => ("content", offset - 102, 41),
        _ => return r#"{"state":"complete"}"#.into(),
    };
    format!(r#"{{"state":"waiting","part":"{part}","have":{have},"need":{need}}}"#)
}

/// The morpheus request sent in 10-byte segments to the app server: each
/// segment written by the relay and received by the server, the request
/// decoded, the reply sent and read, the server closing.
/// The app server's reply to the morpheus request, as it sends it.
fn reply() -> Vec<u8> {
    let request = protocol::app::request("search", "morpheus");
    encode(&protocol::app::respond(&request).unwrap())
        .unwrap()
        .bytes
}

fn segmented_to_app() -> State {
    let reply = reply();
    let mut run = Run::new("app");
    run.observe(
        1.0,
        r#"{"t_us":0,"kind":"observing","target":"app","server":true}"#,
    );
    run.observe(
        1.0,
        &format!(
            r#"{{"t_us":412,"kind":"connect","local":"{RELAY}","peer":"{SERVER}","connect_us":96}}"#
        ),
    );
    run.observe(
        1.0,
        &format!(r#"{{"t_us":530,"kind":"server_accept","local":"{SERVER}","peer":"{RELAY}"}}"#),
    );
    let mut offset = 0;
    while offset < 143 {
        let len = 10.min(143 - offset);
        offset += len;
        run.sent(50.0, len);
        let t = run.t_us();
        run.observe(
            1.0,
            &format!(r#"{{"t_us":{t},"kind":"write","len":{len},"sent":{len}}}"#),
        );
        run.observe(
            0.2,
            &format!(
                r#"{{"t_us":{t},"kind":"server_recv","len":{len},"decoder":{}}}"#,
                decoder_json(offset)
            ),
        );
        run.observe(
            0.2,
            &format!(
                r#"{{"t_us":{t},"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":0,"rtt_us":41,"unacked":0,"retransmits":0}}"#
            ),
        );
    }
    let t = run.t_us();
    let r = reply.len();
    for json in [
        format!(
            r#"{{"t_us":{t},"kind":"server_request","repr":"{{'action': 'search', 'value': 'morpheus'}}"}}"#
        ),
        format!(
            r#"{{"t_us":{t},"kind":"server_log","level":"info","line":"Received request {{'action': 'search', 'value': 'morpheus'}} from ('127.0.0.1', 50112)"}}"#
        ),
        format!(r#"{{"t_us":{t},"kind":"server_send","len":{r},"sent":{r}}}"#),
        format!(
            r#"{{"t_us":{t},"kind":"server_socket","state":"ESTABLISHED","recv_q":0,"send_q":{r}}}"#
        ),
        format!(r#"{{"t_us":{t},"kind":"read","len":{r}}}"#),
        format!(r#"{{"t_us":{t},"kind":"server_close"}}"#),
        format!(r#"{{"t_us":{t},"kind":"eof"}}"#),
        format!(r#"{{"t_us":{t},"kind":"close"}}"#),
    ] {
        run.observe(1.0, &json);
    }
    run.at += 1.0;
    run.session(SessionAction::Received {
        id: 1,
        at: run.at,
        bytes: reply,
    });
    run.state
}

#[wasm_bindgen_test]
async fn the_server_panel_shows_each_recv_and_the_servers_decoder_waiting() {
    let state = segmented_to_app();
    let div = mount::<components::ServerPanel>(components::server_panel::Props {
        observe: state.observe.clone(),
        target: "app".into(),
        opened: true,
        whose: Default::default(),
    })
    .await;
    assert_eq!(
        text(&div, "#server-accept"),
        format!("accept() → a connection from {RELAY}")
    );
    assert_eq!(
        text(&div, "#server-totals"),
        "15 recv() calls, 143 bytes in all"
    );
    let rows = texts(&div, "#server-recvs tbody tr");
    assert_eq!(rows.len(), 15, "{rows:?}");
    let states = texts(&div, "#server-recvs tbody td:last-child");
    assert_eq!(states[0], "JSON header: 8 of 100 bytes");
    assert_eq!(states[9], "JSON header: 98 of 100 bytes");
    assert_eq!(states[10], "content: 8 of 41 bytes");
    assert_eq!(states[13], "content: 38 of 41 bytes");
    assert_eq!(states[14], "a whole request; nothing more buffered");
    let sizes = texts(&div, "#server-recvs tbody td:nth-child(3)");
    assert_eq!(sizes[0], "10 B");
    assert_eq!(sizes[14], "3 B");
    assert_eq!(
        texts(&div, ".server-request .mono"),
        ["{'action': 'search', 'value': 'morpheus'}"]
    );
    assert!(text(&div, "#server-sent").starts_with("send(): "));
    assert!(text(&div, "#server-sent").ends_with("bytes in 1 call"));
    assert!(text(&div, "#server-log").contains("Received request"));
    assert!(text(&div, "#server-closed").contains("close()"));
}

#[wasm_bindgen_test]
async fn the_sequence_diagram_draws_the_server_lane_from_the_observed_calls() {
    let state = segmented_to_app();
    let svg = mount::<components::SequenceDiagram>(components::sequence_diagram::Props {
        session: state.session.clone(),
        observe: state.observe.clone(),
    })
    .await;
    let arrows = texts(&svg, ".arrow .label");
    // The relay's 15 writes, each once: no inferred copy beside the observed one.
    assert_eq!(
        arrows.iter().filter(|l| *l == "send() 10 B").count(),
        14,
        "{arrows:?}"
    );
    assert!(arrows.contains(&"send() 3 B".to_owned()), "{arrows:?}");
    assert!(arrows.contains(&"connect(): handshake 96 µs".to_owned()));
    assert!(
        arrows.contains(&"FIN: recv() → b''".to_owned()),
        "{arrows:?}"
    );
    assert!(arrows.contains(&"close()".to_owned()), "{arrows:?}");
    assert_eq!(
        arrows
            .iter()
            .filter(|l| *l == "binary message, 10 B")
            .count(),
        14
    );
    let notes = texts(&svg, ".note .label");
    assert_eq!(notes[0], "accept()");
    assert_eq!(notes.iter().filter(|l| *l == "recv() → 10 B").count(), 14);
    let details = texts(&svg, ".note .detail");
    assert!(details.contains(&"content: 18 of 41 bytes".to_owned()));
    assert!(details.contains(&"a whole request; nothing more buffered".to_owned()));
    assert!(details.contains(&"{'action': 'search', 'value': 'morpheus'}".to_owned()));
    assert!(notes.contains(&"close()".to_owned()), "{notes:?}");
    // The browser's own events still come first, in time order.
    assert_eq!(arrows[0], "WebSocket /ws?target=app");
    assert!(svg.query_selector("#short-write").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn the_socket_table_shows_both_sockets_with_their_own_addresses() {
    let state = segmented_to_app();
    let div = mount::<components::SocketTable>(components::socket_table::Props {
        observe: state.observe.clone(),
        target: "app".into(),
        flood: None,
        opened: true,
        client: None,
    })
    .await;
    let relay = texts(&div, "#sock-relay td");
    assert_eq!(
        relay,
        ["tcp", "0", "0", RELAY, SERVER, "ESTABLISHEDthen close()"]
    );
    let server = texts(&div, "#sock-server td");
    assert_eq!(server[3], SERVER);
    assert_eq!(server[4], RELAY);
    // The reply the server wrote, not yet acknowledged at its last report.
    assert_eq!(server[2], reply().len().to_string());
    assert_eq!(server[5], "ESTABLISHEDthen close()");
    assert!(div.query_selector("#sock-browser").unwrap().is_none());
}

/// A flood of the morpheus request to blackhole: 64 KiB messages the relay
/// writes; the server never reads, so its Recv-Q fills, then the relay's
/// Send-Q, and one write is short.
fn flood_to_blackhole() -> State {
    let mut run = Run::new("blackhole");
    let events = [
        r#"{"t_us":0,"kind":"observing","target":"blackhole","server":true}"#.to_owned(),
        format!(
            r#"{{"t_us":400,"kind":"connect","local":"{RELAY}","peer":"127.0.0.1:40777","connect_us":80}}"#
        ),
        format!(
            r#"{{"t_us":500,"kind":"server_accept","local":"127.0.0.1:40777","peer":"{RELAY}"}}"#
        ),
        r#"{"t_us":9000,"kind":"write","len":65494,"sent":65494}"#.into(),
        r#"{"t_us":9100,"kind":"server_socket","state":"ESTABLISHED","recv_q":65494,"send_q":0}"#
            .into(),
        r#"{"t_us":90000,"kind":"write","len":1047904,"sent":1047904,"count":16}"#.into(),
        r#"{"t_us":95000,"kind":"server_socket","state":"ESTABLISHED","recv_q":408300,"send_q":0}"#
            .into(),
        r#"{"t_us":400000,"kind":"server_socket","state":"ESTABLISHED","recv_q":3145728,"send_q":0}"#
            .into(),
        r#"{"t_us":410000,"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":269868,"rtt_us":30}"#
            .into(),
        r#"{"t_us":420000,"kind":"write","len":65494,"sent":32768}"#.into(),
        r#"{"t_us":900000,"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":2621440}"#
            .into(),
        r#"{"t_us":950000,"kind":"write","len":54866,"sent":0}"#.into(),
    ];
    run.session(SessionAction::Flood {
        id: 1,
        at: run.at,
        progress: FloodProgress {
            offered: 0,
            messages: 0,
            buffered: 0,
            end: FloodEnd::Running,
        },
    });
    for json in &events {
        run.observe(20.0, json);
    }
    run.session(SessionAction::Flood {
        id: 1,
        at: run.at,
        progress: FloodProgress {
            offered: 8 * 65494,
            messages: 8,
            buffered: 1_048_576,
            end: FloodEnd::Running,
        },
    });
    run.state
}

#[wasm_bindgen_test]
async fn a_flood_to_blackhole_fills_the_servers_recv_q_then_the_relays_send_q() {
    let state = flood_to_blackhole();
    let div = mount::<components::SocketTable>(components::socket_table::Props {
        observe: state.observe.clone(),
        target: "blackhole".into(),
        flood: state.session.flood,
        opened: true,
        client: None,
    })
    .await;
    assert_eq!(text(&div, "#sock-server .recv-q"), "3145728");
    assert_eq!(text(&div, "#sock-server .send-q"), "0");
    assert_eq!(text(&div, "#sock-relay .send-q"), "2621440");
    assert_eq!(
        text(&div, "#sock-server td:nth-child(5)"),
        "127.0.0.1:40777"
    );
    assert_eq!(
        text(&div, "#sock-browser"),
        "browser: WebSocket.bufferedAmount 1,048,576 bytes (queued in the browser, not yet sent)"
    );

    // The short write, with its numbers, and why sendall() loops.
    let svg = mount::<components::SequenceDiagram>(components::sequence_diagram::Props {
        session: state.session.clone(),
        observe: state.observe.clone(),
    })
    .await;
    let arrows = texts(&svg, ".arrow .label");
    assert!(
        arrows.contains(&"send(): kernel took 32768 of 65494 B".to_owned()),
        "{arrows:?}"
    );
    assert!(
        arrows.contains(&"16 send() calls, 1047904 B".to_owned()),
        "{arrows:?}"
    );
    // A non-blocking send() the kernel took nothing of would block: Python
    // raises BlockingIOError rather than return 0.
    assert!(
        arrows.contains(&"send() would block (Python raises BlockingIOError)".to_owned()),
        "{arrows:?}"
    );
    assert!(
        !arrows.iter().any(|a| a.contains("took 0 of")),
        "{arrows:?}"
    );
    assert!(text(&svg, "#short-write").contains("2 times the kernel took fewer bytes"));
    assert!(text(&svg, "#short-write").contains("BlockingIOError"));
    assert!(text(&svg, "#short-write").contains("sendall() loops"));

    // The server never called recv().
    let panel = mount::<components::ServerPanel>(components::server_panel::Props {
        observe: state.observe.clone(),
        target: "blackhole".into(),
        opened: true,
        whose: Default::default(),
    })
    .await;
    assert_eq!(
        text(&panel, "#server-totals"),
        "0 recv() calls, 0 bytes in all"
    );
    assert!(panel.query_selector("#server-recvs").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn flood_and_stop_in_the_send_area_show_what_was_offered() {
    let state = flood_to_blackhole();
    let div = mount::<components::TargetPicker>(components::target_picker::Props {
        targets: Targets::Loading,
        conn: Conn::Open,
        flood: state.session.flood,
        ..picker_props(&[], "blackhole")
    })
    .await;
    let disabled = |id: &str| {
        let button = div.query_selector(id).unwrap().unwrap();
        button.has_attribute("disabled")
    };
    assert!(disabled("#flood"));
    assert!(!disabled("#stop-flood"));
    assert_eq!(
        text(&div, "#flood-status"),
        "flooding: 523,952 of 16,777,216 bytes offered in 8 messages; WebSocket.bufferedAmount 1,048,576 bytes"
    );
}

#[wasm_bindgen_test]
async fn a_stopped_flood_is_one_line_of_the_transcript() {
    let mut state = flood_to_blackhole();
    reduce(
        &mut state,
        Action::Session(SessionAction::Flood {
            id: 1,
            at: 5000.0,
            progress: FloodProgress {
                offered: 10 * 65494,
                messages: 10,
                buffered: 2_000_000,
                end: FloodEnd::Stopped,
            },
        }),
    );
    let div = mount::<components::Transcript>(components::transcript::Props {
        session: state.session.clone(),
        observe: state.observe.clone(),
        replaying: false,
    })
    .await;
    assert!(text(&div, "#transcript")
        .contains("flooded 654940 bytes in 10 messages (bytes 0..654940); stopped by you"));
}

#[wasm_bindgen_test]
async fn an_external_target_says_only_the_relays_socket_is_seen() {
    let mut run = Run::new("pi");
    run.observe(
        1.0,
        r#"{"t_us":0,"kind":"observing","target":"pi","server":false}"#,
    );
    run.observe(
        1.0,
        r#"{"t_us":300,"kind":"connect","local":"[::1]:50200","peer":"[::1]:65432","connect_us":120}"#,
    );
    run.observe(
        1.0,
        r#"{"t_us":400,"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":0}"#,
    );
    let table = mount::<components::SocketTable>(components::socket_table::Props {
        observe: run.state.observe.clone(),
        target: "pi".into(),
        flood: None,
        opened: true,
        client: None,
    })
    .await;
    assert_eq!(text(&table, "#sock-relay td"), "tcp6");
    assert!(text(&table, "#sock-server").contains("not observable: pi is an external server"));
    let panel = mount::<components::ServerPanel>(components::server_panel::Props {
        observe: run.state.observe.clone(),
        target: "pi".into(),
        opened: true,
        whose: Default::default(),
    })
    .await;
    assert!(
        text(&panel, "#server-external").contains("its side of the connection cannot be observed")
    );
}

#[wasm_bindgen_test]
async fn many_recvs_render_a_bounded_table_with_exact_totals() {
    let mut run = Run::new("echo");
    run.observe(
        1.0,
        r#"{"t_us":0,"kind":"observing","target":"echo","server":true}"#,
    );
    for i in 0..100 {
        run.observe(
            0.1,
            &format!(r#"{{"t_us":{i},"kind":"server_recv","len":1024,"count":2}}"#),
        );
    }
    let div = mount::<components::ServerPanel>(components::server_panel::Props {
        observe: run.state.observe.clone(),
        target: "echo".into(),
        opened: true,
        whose: Default::default(),
    })
    .await;
    let max = components::server_panel::RECV_ROWS;
    assert_eq!(all(&div, "#server-recvs tbody tr:not(.more)").len(), max);
    assert_eq!(
        text(&div, "#server-recvs tr.more"),
        format!("… {} earlier recv() calls not shown", 2 * (100 - max))
    );
    assert_eq!(
        text(&div, "#server-totals"),
        "200 recv() calls, 102400 bytes in all"
    );
    // Rows say which calls they stand for: the last merges calls 199 and 200.
    let last = texts(&div, "#server-recvs tbody tr:last-child td");
    assert_eq!(last[0], "199–200");
    assert_eq!(last[3], "(this server does not decode)");
}

#[wasm_bindgen_test]
async fn a_relay_that_sends_no_observations_is_named_as_such() {
    let state = State::default();
    let panel = mount::<components::ServerPanel>(components::server_panel::Props {
        observe: state.observe.clone(),
        target: "app".into(),
        opened: true,
        whose: Default::default(),
    })
    .await;
    assert_eq!(
        text(&panel, "#server-unobserved"),
        "The relay sent no observations for this session, so only the browser's side shows."
    );
}

/// The states of a session whose relay closed first, to a Python server on
/// the relay's machine: both sockets followed through sock_diag.
fn closed_by_the_relay_to_a_local_server() -> State {
    let mut run = Run::new("lab");
    for (ms, json) in [
        (
            1.0,
            r#"{"t_us":0,"kind":"observing","target":"lab","server":false}"#,
        ),
        (
            1.0,
            r#"{"t_us":300,"kind":"connect","local":"127.0.0.1:50112","peer":"127.0.0.1:65432","connect_us":120}"#,
        ),
        (
            1.0,
            r#"{"t_us":400,"kind":"socket","state":"ESTABLISHED","recv_q":0,"send_q":0}"#,
        ),
        (
            1.0,
            r#"{"t_us":410,"kind":"server_socket","state":"ESTABLISHED","recv_q":5,"send_q":0}"#,
        ),
        (600.0, r#"{"t_us":600000,"kind":"close"}"#),
        (
            1.0,
            r#"{"t_us":600100,"kind":"socket","state":"FIN_WAIT2","recv_q":0,"send_q":0}"#,
        ),
        (
            1.0,
            r#"{"t_us":600120,"kind":"server_socket","state":"CLOSE_WAIT","recv_q":0,"send_q":0}"#,
        ),
        (
            300.0,
            r#"{"t_us":900300,"kind":"socket","state":"TIME_WAIT","recv_q":0,"send_q":0}"#,
        ),
        (
            1.0,
            r#"{"t_us":900320,"kind":"server_socket","state":"CLOSE","recv_q":0,"send_q":0}"#,
        ),
    ] {
        run.observe(ms, json);
    }
    run.state
}

fn states_of(root: &web_sys::Element, selector: &str) -> Vec<String> {
    all(root, selector)
        .iter()
        .map(|e| e.get_attribute("data-state").unwrap_or_default())
        .collect()
}

#[wasm_bindgen_test]
async fn the_tcp_state_diagrams_light_the_path_each_socket_took_from_the_events() {
    let state = closed_by_the_relay_to_a_local_server();
    let div = mount::<components::SocketTable>(components::socket_table::Props {
        observe: state.observe.clone(),
        target: "lab".into(),
        flood: None,
        opened: true,
        client: None,
    })
    .await;
    // The table: the relay's socket in TIME_WAIT after its close, the
    // server's (sock_diag) gone, at the relay's addresses reversed.
    let relay = texts(&div, "#sock-relay td");
    assert_eq!(relay[5], "TIME_WAITafter close()");
    let server = texts(&div, "#sock-server td");
    assert_eq!(server[3], SERVER);
    assert_eq!(server[4], RELAY);
    assert_eq!(server[5], "CLOSED");
    assert!(text(&div, "#sock-server-diag").contains("lab runs on the relay's machine"));

    let relay = element::<web_sys::Element>(&div, "#tcp-relay");
    assert_eq!(
        text(&relay, ".tcp-path"),
        "CLOSED → SYN_SENT* → ESTABLISHED → FIN_WAIT1* → FIN_WAIT2 → TIME_WAIT"
    );
    assert_eq!(
        states_of(&relay, ".node.seen"),
        ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"]
    );
    assert_eq!(
        states_of(&relay, ".node.passed"),
        ["CLOSED", "SYN_SENT", "FIN_WAIT1"]
    );
    assert_eq!(states_of(&relay, ".node.now"), ["TIME_WAIT"]);
    // The path's five transitions are lit, and no other.
    assert_eq!(
        all(&relay, ".edge.seen").len() + all(&relay, ".edge.passed").len(),
        5
    );
    assert!(text(&relay, "figcaption").contains("TIME_WAIT for 60 s"));

    let server = element::<web_sys::Element>(&div, "#tcp-server");
    assert_eq!(
        text(&server, ".tcp-path"),
        "LISTEN → SYN_RECV* → ESTABLISHED → CLOSE_WAIT → LAST_ACK* → CLOSED"
    );
    // The bottom CLOSED (where sockets end) is now, not the top one.
    assert_eq!(states_of(&server, ".node.now"), ["CLOSED"]);
    assert_eq!(
        states_of(&server, ".node.seen"),
        ["ESTABLISHED", "CLOSE_WAIT", "CLOSED"]
    );
    assert!(states_of(&server, ".node.seen, .node.passed")
        .iter()
        .all(|s| !s.starts_with("FIN_WAIT") && s != "TIME_WAIT"));
    assert!(text(&server, "figcaption").contains("The kernel has dropped it."));
}

#[wasm_bindgen_test]
async fn the_pcapng_download_says_whether_it_is_the_relays_capture_or_a_reconstruction() {
    let reconstructed = segmented_to_app();
    let mount_with = |state: &State, replaying: bool| {
        mount::<components::Transcript>(components::transcript::Props {
            session: state.session.clone(),
            observe: state.observe.clone(),
            replaying,
        })
    };
    let div = mount_with(&reconstructed, false).await;
    assert_eq!(
        text(&div, "#download-pcapng"),
        "Download .pcapng (reconstructed)"
    );
    assert!(text(&div, "#pcapng-kind").starts_with("Reconstructed, not captured"));

    let mut captured = segmented_to_app();
    let mut observe = (*captured.observe).clone();
    observe.capture = Some("0123456789abcdef0123456789abcdef".into());
    captured.observe = std::rc::Rc::new(observe);
    let div = mount_with(&captured, false).await;
    assert_eq!(
        text(&div, "#download-pcapng"),
        "Download .pcapng (reconstructed so far)",
        "the capture is ready once the session has ended"
    );
    let session = std::rc::Rc::make_mut(&mut captured.session);
    let at = session.started_at + 500.0;
    session.push(
        at,
        web::model::TimelineKind::Close {
            by: web::model::Party::Relay,
            code: 1000,
            reason: "target closed the connection".into(),
        },
    );
    let div = mount_with(&captured, false).await;
    assert_eq!(
        text(&div, "#download-pcapng"),
        "Download .pcapng (captured)"
    );
    assert!(text(&div, "#pcapng-kind").contains("The capture is real"));
    // The transcript table's times are the relay's: the first send at its write.
    assert!(text(&div, "#transcript thead").contains("relay clock"));

    let div = mount_with(&captured, true).await;
    assert!(text(&div, "#pcapng-kind").starts_with("Reconstructed from this transcript"));
}
