//! `--expose` and `/ws?watch=NAME`: a learner's own client (a Python
//! program written here in the tutorial's style) connects to an exposed
//! embedded server while a WebSocket watcher reads what the server saw of
//! each connection, tagged with its `conn`.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use futures_util::StreamExt;
use protocol::relay_api::{DecoderState, LogLevel, Observation, Observed};
use relay::config::RelayConfig;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// A relay with the embedded servers, `names` also exposed on loopback
/// ports of their own; returns the relay and the exposed addresses.
async fn start_exposing(config: RelayConfig, names: &[&str]) -> (TestRelay, Vec<SocketAddr>) {
    let relay = TestRelay::start_exposing(config, &[], None, names).await;
    let exposed = relay.exposed.clone();
    (relay, exposed)
}

async fn watch(relay: SocketAddr, name: &str) -> Ws {
    let mut ws = try_connect(relay, &format!("watch={name}"), None)
        .await
        .unwrap_or_else(|(status, body)| panic!("watch refused: {status} {body}"));
    let first = next(&mut ws).await;
    assert_eq!(
        first,
        Observation {
            t_us: first.t_us,
            event: Observed::Observing {
                target: name.into(),
                server: true
            },
            conn: None,
        }
    );
    ws
}

/// The next text message, as an observation.
async fn next(ws: &mut Ws) -> Observation {
    within(async {
        loop {
            match ws
                .next()
                .await
                .expect("the stream goes on")
                .expect("no error")
            {
                Message::Text(text) => {
                    return Observation::from_json(&text).unwrap_or_else(|e| panic!("{text}: {e}"))
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("a watch stream sends text only, got {other:?}"),
            }
        }
    })
    .await
}

/// Events until `conns` connections have closed, in stream order.
async fn until_closed(ws: &mut Ws, conns: usize) -> Vec<Observation> {
    let mut events = Vec::new();
    let mut closed = 0;
    let mut last_t = 0;
    while closed < conns {
        let o = next(ws).await;
        assert!(o.t_us >= last_t, "time runs backwards: {o:?}");
        last_t = o.t_us;
        if o.event == Observed::ServerClose {
            closed += 1;
        }
        events.push(o);
    }
    events
}

/// What the Python client reported.
struct ClientRun {
    local: String,
    sent: Vec<u8>,
    received: Vec<u8>,
}

fn python_client() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/watch_client.py")
}

async fn run_client(server: SocketAddr, value: &str, pause: f64) -> ClientRun {
    let output = within(
        tokio::process::Command::new("python3")
            .arg(python_client())
            .args([
                &server.ip().to_string(),
                &server.port().to_string(),
                "search",
                value,
                &pause.to_string(),
            ])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let hex = |key: &str| hex_bytes(line[key].as_str().unwrap());
    ClientRun {
        local: line["local"].as_str().unwrap().to_owned(),
        sent: hex("sent"),
        received: hex("received"),
    }
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// One connection's events, by `conn`.
fn by_conn(events: &[Observation]) -> BTreeMap<u64, Vec<Observed>> {
    let mut map: BTreeMap<u64, Vec<Observed>> = BTreeMap::new();
    for o in events {
        let conn = o
            .conn
            .unwrap_or_else(|| panic!("a connection's event has its conn: {o:?}"));
        map.entry(conn).or_default().push(o.event.clone());
    }
    map
}

/// The bytes the server's `recv()` calls got, as the stream reports them.
fn received(events: &[Observed]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for e in events {
        if let Observed::ServerRecv {
            len, data, asked, ..
        } = e
        {
            let data = data.as_ref().expect("each recv's bytes");
            assert_eq!(data.len() as u64, *len);
            assert!(
                asked.is_some_and(|a| a >= *len),
                "recv(n) says its n: {e:?}"
            );
            bytes.extend_from_slice(data);
        }
    }
    bytes
}

fn peer(events: &[Observed]) -> String {
    match &events[0] {
        Observed::ServerAccept { peer, .. } => peer.clone(),
        other => panic!("a connection starts with its accept, not {other:?}"),
    }
}

#[tokio::test]
async fn a_python_client_arrives_with_its_address_its_bytes_and_the_decoder_states() {
    let (relay, exposed) = start_exposing(test_config(), &["app"]).await;
    let mut ws = watch(relay.addr, "app").await;
    let client = run_client(exposed[0], "morpheus", 0.2).await;
    let events = until_closed(&mut ws, 1).await;
    let conns = by_conn(&events);
    assert_eq!(conns.keys().copied().collect::<Vec<_>>(), [1]);
    let events = &conns[&1];

    assert_eq!(
        events[0],
        Observed::ServerAccept {
            local: exposed[0].to_string(),
            peer: client.local.clone(),
        }
    );
    assert_eq!(received(events), client.sent, "the bytes each recv() got");
    let decoders: Vec<&DecoderState> = events
        .iter()
        .filter_map(|e| match e {
            Observed::ServerRecv {
                len: 1.., decoder, ..
            } => decoder.as_ref(),
            _ => None,
        })
        .collect();
    // 10 bytes, a pause, the rest: waiting for the header, then whole.
    assert!(decoders.len() >= 2, "{events:#?}");
    assert!(
        matches!(decoders[0], DecoderState::Waiting(_)),
        "{decoders:?}"
    );
    assert_eq!(decoders.last(), Some(&&DecoderState::Complete));
    assert!(events.contains(&Observed::ServerRequest {
        repr: "{'action': 'search', 'value': 'morpheus'}".into()
    }));
    let port = client.local.rsplit_once(':').unwrap().1;
    let logs: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Observed::ServerLog {
                level: LogLevel::Info,
                line,
            } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        logs.first(),
        Some(&format!("Accepted connection from ('127.0.0.1', {port})").as_str())
    );
    let sent: u64 = events
        .iter()
        .map(|e| match e {
            Observed::ServerSend { sent, .. } => *sent,
            _ => 0,
        })
        .sum();
    assert_eq!(sent, client.received.len() as u64);
    let answer = "Follow the white rabbit. 🐰".as_bytes();
    assert!(
        client.received.windows(answer.len()).any(|w| w == answer),
        "the client got the tutorial's answer"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Observed::ServerSocket(_))));
    assert_eq!(events.last(), Some(&Observed::ServerClose));
}

#[tokio::test]
async fn two_clients_at_once_are_two_conns_each_with_its_own_bytes() {
    let (relay, exposed) = start_exposing(test_config(), &["app"]).await;
    let mut ws = watch(relay.addr, "app").await;
    let (a, b) = tokio::join!(
        run_client(exposed[0], "morpheus", 0.6),
        run_client(exposed[0], "ring", 0.6)
    );
    let events = until_closed(&mut ws, 2).await;
    let conns = by_conn(&events);
    assert_eq!(conns.keys().copied().collect::<Vec<_>>(), [1, 2]);
    for client in [&a, &b] {
        let (conn, events) = conns
            .iter()
            .find(|(_, e)| peer(e) == client.local)
            .unwrap_or_else(|| panic!("no conn from {}", client.local));
        assert_eq!(received(events), client.sent, "conn {conn}");
    }
    // At once: the second arrived before the first was served.
    let second_accept = events
        .iter()
        .position(|o| o.conn == Some(2) && matches!(o.event, Observed::ServerAccept { .. }))
        .unwrap();
    let first_close = events
        .iter()
        .position(|o| o.conn == Some(1) && o.event == Observed::ServerClose)
        .unwrap();
    assert!(second_accept < first_close, "{events:#?}");
}

#[tokio::test]
async fn a_watcher_that_does_not_read_is_bounded_and_does_not_slow_the_server() {
    let config = RelayConfig {
        observe_queue: 32,
        watch_data_bytes: 64 * 1024,
        ..test_config()
    };
    let (relay, exposed) = start_exposing(config, &["echo"]).await;
    // A small receive buffer, and no reads until the echo is done.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(relay.addr).await.unwrap();
    let (mut ws, _) = within(tokio_tungstenite::client_async(
        format!("ws://{}/ws?watch=echo", relay.addr),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    ))
    .await
    .expect("watch");

    // 4 MiB through the echo server and back, while nobody reads the watch.
    let payload: Vec<u8> = (0..4 << 20).map(|i| (i % 251) as u8).collect();
    let mut client = TcpStream::connect(exposed[0]).await.unwrap();
    let (mut rd, mut wr) = client.split();
    let mut back = Vec::new();
    within(async {
        let write = async {
            wr.write_all(&payload).await.unwrap();
            wr.shutdown().await.unwrap();
        };
        let read = rd.read_to_end(&mut back);
        let (_, read) = tokio::join!(write, read);
        read.unwrap();
    })
    .await;
    assert_eq!(back.len(), payload.len(), "the server echoed everything");

    // Now read: what was held is bounded; the rest is merged, stripped of
    // its bytes, or counted as lost.
    let mut lost = 0;
    let mut stripped = 0;
    let mut closed = false;
    // The queue may have lost the close too: then the stream goes quiet
    // after its `lost` count.
    while !closed {
        let quiet = lost > 0 && stripped > 0;
        let o = if quiet {
            match tokio::time::timeout(std::time::Duration::from_secs(2), next(&mut ws)).await {
                Ok(o) => o,
                Err(_) => break,
            }
        } else {
            next(&mut ws).await
        };
        match o.event {
            Observed::Lost { events } => lost += events,
            Observed::ServerRecv { data: None, .. } => stripped += 1,
            Observed::ServerRecv {
                data: Some(data), ..
            } => assert!(data.len() <= relay::observe::DATA_PER_EVENT),
            Observed::ServerClose => closed = true,
            _ => {}
        }
    }
    assert!(lost > 0, "a full queue counts what it could not hold");
    assert!(stripped > 0, "bytes beyond the budget are not held");
}

#[tokio::test]
async fn a_watch_needs_an_exposed_target_and_an_allowed_origin() {
    let (relay, _) = start_exposing(test_config(), &["app"]).await;
    let (status, body) = try_connect(relay.addr, "watch=echo", None)
        .await
        .unwrap_err();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("--expose"), "{body}");
    let (status, _) = try_connect(relay.addr, "watch=app", Some("http://evil.example"))
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    // An unwatched connection to the exposed server is served as ever.
    assert_eq!(relay.metrics.active_sessions(), 0);
}

#[tokio::test]
async fn the_binary_refuses_expose_with_a_public_origin_or_off_loopback() {
    for args in [
        &[
            "--expose",
            "app=127.0.0.1:0",
            "--public-origin",
            "https://wirelab.example.edu",
        ][..],
        &["--expose", "app=0.0.0.0:0"][..],
        &["--expose", "blackhole=127.0.0.1:0"][..],
    ] {
        let output = within(
            tokio::process::Command::new(env!("CARGO_BIN_EXE_relay"))
                .args([
                    "--listen",
                    "127.0.0.1:0",
                    "--dist",
                    "/nonexistent-wirelab-dist",
                ])
                .args(args)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains("--expose"), "{args:?}: {stderr}");
    }
}
