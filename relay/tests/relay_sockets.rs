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
