//! The kernel's states of both sockets of a session, through sock_diag:
//! the relay's (`socket`) and the target's (`server_socket`), for a target
//! the relay does not run (a Python server written here) and for its own,
//! up to TIME_WAIT or gone after whichever side closes first.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use protocol::relay_api::{Observation, Observed, SocketInfo, TcpState};
use support::*;
use tokio_tungstenite::tungstenite::Message;

/// A Python server in the tutorial's style, on a free loopback port; killed
/// on drop.
struct Python(Child, SocketAddr);

impl Python {
    /// Runs `body` with `conn` the accepted socket (the listener is `lsock`).
    fn serve(body: &str) -> Python {
        let program = format!(
            "import socket, time, sys\n\
             lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n\
             lsock.bind(('127.0.0.1', 0))\n\
             lsock.listen()\n\
             print(lsock.getsockname()[1], flush=True)\n\
             conn, addr = lsock.accept()\n\
             {body}\n\
             time.sleep(30)\n"
        );
        let mut child = Command::new("python3")
            .args(["-c", &program])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("the server prints its port");
        Python(child, SocketAddr::from(([127, 0, 0, 1], port)))
    }
}

impl Drop for Python {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The session's events until its close frame, and that frame's code.
async fn events_to_close(ws: &mut Ws) -> (Vec<Observed>, Option<u16>) {
    let mut events = Vec::new();
    let mut close = None;
    within(async {
        while let Some(message) = ws.next().await {
            match message.expect("no websocket error") {
                Message::Text(text) => events.push(Observation::from_json(&text).unwrap().event),
                Message::Close(frame) => {
                    close = frame.map(|f| u16::from(f.code));
                    break;
                }
                _ => {}
            }
        }
    })
    .await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    (events, close)
}

fn relay_side(events: &[Observed]) -> Vec<SocketInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Observed::Socket(info) => Some(*info),
            _ => None,
        })
        .collect()
}

fn server_side(events: &[Observed]) -> Vec<SocketInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Observed::ServerSocket(info) => Some(*info),
            _ => None,
        })
        .collect()
}

/// The states in order, repeats folded.
fn path(samples: &[SocketInfo]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = samples.iter().map(|s| s.state.name()).collect();
    names.dedup();
    names
}

/// [`path`] without FIN_WAIT1 and LAST_ACK: on loopback the peer's ACK
/// ends them inside the close() that began them, so a sample catches
/// them only rarely (when the ACK is held back, see the LAST_ACK test).
fn settled_path(samples: &[SocketInfo]) -> Vec<&'static str> {
    let mut names = path(samples);
    names.retain(|n| !matches!(*n, "FIN_WAIT1" | "LAST_ACK"));
    names
}

fn config() -> relay::config::RelayConfig {
    relay::config::RelayConfig {
        idle_timeout: Duration::from_millis(600),
        observe_close_follow: Duration::from_secs(2),
        ..test_config()
    }
}

#[tokio::test]
async fn the_relay_closing_first_goes_fin_wait2_then_time_wait_and_an_external_servers_socket_close_wait_then_gone(
) {
    // Reads nothing for a while (the 5 bytes wait in its Recv-Q), then
    // reads to EOF, and closes 300 ms after the relay's FIN.
    let server = Python::serve(
        "time.sleep(0.3)\n\
         while conn.recv(4096): pass\n\
         time.sleep(0.3)\n\
         conn.close()",
    );
    let relay = start(config(), &[("lab", server.1)]).await;
    let mut ws = connect(relay.addr, "lab&observe=1").await;
    send(&mut ws, b"hello").await;
    // Nothing more: the relay's idle timeout closes first.
    let (events, close) = events_to_close(&mut ws).await;
    assert_eq!(close, Some(1008), "idle timeout");

    let server = server_side(&events);
    assert!(
        server
            .iter()
            .any(|s| s.state == TcpState::Established && s.recv_q == 5),
        "the Python server's socket, its 5 unread bytes in Recv-Q: {server:?}"
    );
    assert_eq!(
        settled_path(&server),
        ["ESTABLISHED", "CLOSE_WAIT", "CLOSE"],
        "{server:?}"
    );
    assert_eq!(
        settled_path(&relay_side(&events)),
        ["ESTABLISHED", "FIN_WAIT2", "TIME_WAIT"]
    );
    // The relay's own close comes before the states it led to.
    let close_at = events.iter().position(|e| *e == Observed::Close).unwrap();
    let time_wait = events
        .iter()
        .position(|e| matches!(e, Observed::Socket(i) if i.state == TcpState::TimeWait))
        .unwrap();
    assert!(close_at < time_wait);
}

#[tokio::test]
async fn the_server_closing_first_leaves_the_relay_in_close_wait_then_last_ack_while_its_bytes_are_unread(
) {
    // A server that half-closes (its FIN) and never reads: the relay's
    // socket is in CLOSE_WAIT, and when the relay closes too, its FIN waits
    // behind the bytes the server does not read: LAST_ACK, with a Send-Q.
    let server = Python::serve(
        "conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)\n\
         time.sleep(0.5)\n\
         conn.shutdown(socket.SHUT_WR)",
    );
    let relay = start(config(), &[("lab", server.1)]).await;
    let mut ws = connect(relay.addr, "lab&observe=1").await;
    send(&mut ws, &vec![7u8; 512 << 10]).await;
    let (events, close) = events_to_close(&mut ws).await;
    assert_eq!(close, Some(1000), "the server closed");
    let relay = relay_side(&events);
    assert_eq!(
        path(&relay),
        ["ESTABLISHED", "CLOSE_WAIT", "LAST_ACK"],
        "{relay:?}"
    );
    let last = relay.last().unwrap();
    assert!(
        last.send_q > 0,
        "the unread bytes hold the FIN back: {last:?}"
    );
    assert_eq!(
        settled_path(&server_side(&events)),
        ["ESTABLISHED", "FIN_WAIT2"],
        "the server's FIN was acknowledged; the relay's is not sent yet"
    );
}

#[tokio::test]
async fn the_server_closing_first_goes_to_time_wait_and_the_relay_through_close_wait_to_gone() {
    // The tutorial's echo: one recv, the reply, close.
    let server = Python::serve(
        "conn.sendall(conn.recv(4096))\n\
         conn.close()",
    );
    let relay = start(config(), &[("lab", server.1)]).await;
    let mut ws = connect(relay.addr, "lab&observe=1").await;
    send(&mut ws, b"ping").await;
    let (events, close) = events_to_close(&mut ws).await;
    assert_eq!(close, Some(1000));
    assert_eq!(
        settled_path(&relay_side(&events)),
        ["ESTABLISHED", "CLOSE_WAIT", "CLOSE"]
    );
    let server = settled_path(&server_side(&events));
    assert_eq!(server.first(), Some(&"ESTABLISHED"));
    assert_eq!(server.last(), Some(&"TIME_WAIT"), "{server:?}");
}

#[tokio::test]
async fn an_embedded_servers_session_ends_with_both_sockets_states_after_the_relays_idle_close() {
    let relay = start(config(), &[]).await;
    let mut ws = connect(relay.addr, "echo&observe=1").await;
    send(&mut ws, b"hi").await;
    let (events, close) = events_to_close(&mut ws).await;
    assert_eq!(close, Some(1008), "idle timeout");
    assert_eq!(
        path(&relay_side(&events)).last(),
        Some(&"TIME_WAIT"),
        "{events:?}"
    );
    assert_eq!(path(&server_side(&events)).last(), Some(&"CLOSE"));
}

#[tokio::test]
async fn without_close_following_the_session_ends_as_before() {
    let relay = start(
        relay::config::RelayConfig {
            observe_close_follow: Duration::ZERO,
            ..config()
        },
        &[],
    )
    .await;
    let mut ws = connect(relay.addr, "echo&observe=1").await;
    send(&mut ws, b"hi").await;
    let (events, _) = events_to_close(&mut ws).await;
    assert!(relay_side(&events)
        .iter()
        .all(|s| s.state == TcpState::Established));
}

#[tokio::test]
async fn after_the_browser_closes_the_recording_still_carries_the_relays_time_wait() {
    let dir = std::env::temp_dir().join(format!("wirelab-sockets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let relay = start(
        relay::config::RelayConfig {
            record: Some(dir.clone()),
            ..config()
        },
        &[],
    )
    .await;
    let mut ws = connect(relay.addr, "echo").await;
    send(&mut ws, b"hi").await;
    // The browser closes first: it can read nothing after its close frame,
    // but the relay's close (FIN, then the echo server's) still happens.
    within(futures_util::SinkExt::send(&mut ws, Message::Close(None)))
        .await
        .unwrap();
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    let json = within(async {
        loop {
            let found = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|e| e == "json"));
            if let Some(json) = found {
                return json;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let transcript =
        protocol::capture::Transcript::from_json(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let events: Vec<Observed> = transcript
        .observations
        .into_iter()
        .map(|o| o.event)
        .collect();
    assert_eq!(
        settled_path(&relay_side(&events)).last(),
        Some(&"TIME_WAIT"),
        "{events:?}"
    );
    assert_eq!(settled_path(&server_side(&events)).last(), Some(&"CLOSE"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_close_asked_for_during_a_flood_to_blackhole_overtakes_the_queued_bytes() {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt;

    const KEY: &str = "5f0e1d2c3b4a59687766554433221100";
    let relay = start(
        relay::config::RelayConfig {
            observe_close_follow: Duration::from_millis(500),
            ..test_config()
        },
        &[],
    )
    .await;
    let addr = relay.addr;
    let request = upgrade_request(
        &format!("/ws?target=blackhole&observe=1&key={KEY}"),
        &[&format!("Host: {addr}")],
    );
    let stream = within(tokio::net::TcpStream::connect(addr)).await.unwrap();
    let (status, head, stream) = raw_upgrade(stream, &request).await;
    assert_eq!(status, 101, "{head}");
    let (mut rd, mut wr) = stream.into_split();
    // The browser's flood: 64 KiB messages for as long as the relay takes
    // them. blackhole never reads, so the relay's write to it blocks, then
    // the relay stops reading, and the bytes pile up on this side, where a
    // close frame would have to wait behind them.
    let offered = Arc::new(AtomicU64::new(0));
    let flooding = {
        let offered = offered.clone();
        tokio::spawn(async move {
            let message = vec![0x42u8; 64 << 10];
            loop {
                let mut frame = frame_head(message.len());
                frame.extend_from_slice(&message);
                if wr.write_all(&frame).await.is_err() {
                    return;
                }
                offered.fetch_add(message.len() as u64, Ordering::Relaxed);
            }
        })
    };
    // Until the server's Recv-Q and the relay's Send-Q are full.
    let mut events = Vec::new();
    within(async {
        let (mut server_full, mut relay_full) = (false, false);
        while !(server_full && relay_full) {
            let (op, payload) = read_frame(&mut rd).await;
            assert_eq!(op, 1, "only observations come back from blackhole");
            let event = Observation::from_json(std::str::from_utf8(&payload).unwrap())
                .unwrap()
                .event;
            match &event {
                Observed::ServerSocket(i) => server_full |= i.recv_q > 0,
                Observed::Socket(i) => relay_full |= i.send_q > 0,
                _ => {}
            }
            events.push(event);
        }
    })
    .await;
    // Stuck: what the flood offered no longer grows.
    let stuck = within(async {
        loop {
            let before = offered.load(Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(200)).await;
            if offered.load(Ordering::Relaxed) == before {
                return before;
            }
        }
    })
    .await;

    let (status, _) = raw_request(
        addr,
        &format!("POST /ws/close?key={KEY} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 204);
    let (code, reason) = within(async {
        loop {
            let (op, payload) = read_frame(&mut rd).await;
            match op {
                1 => events.push(
                    Observation::from_json(std::str::from_utf8(&payload).unwrap())
                        .unwrap()
                        .event,
                ),
                8 => {
                    let code = u16::from_be_bytes([payload[0], payload[1]]);
                    return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
                }
                other => panic!("frame {other}"),
            }
        }
    })
    .await;
    assert_eq!(
        (code, reason.as_str()),
        (1000, "closed as the browser asked")
    );
    // The relay's FIN waits behind the bytes blackhole never read: its
    // socket is in FIN_WAIT1 with them in Send-Q, as ss shows it.
    let after_close: Vec<SocketInfo> =
        relay_side(&events[events.iter().position(|e| *e == Observed::Close).unwrap()..]);
    assert!(
        after_close
            .iter()
            .any(|i| i.state == TcpState::FinWait1 && i.send_q > 0),
        "{after_close:?}"
    );
    // The close overtook the flood's queued bytes: none of them moved since.
    assert_eq!(offered.load(Ordering::Relaxed), stuck);
    flooding.abort();
    // And a key closes nothing once its session is over (it ends a moment
    // after its close frame).
    within(async {
        loop {
            let (status, _) = raw_request(
                addr,
                &format!("POST /ws/close?key={KEY} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"),
            )
            .await;
            if status == 404 {
                return;
            }
            assert_eq!(status, 204);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}
