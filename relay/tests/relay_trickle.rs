//! A slow upload is not idle (issue 21, item 8), through the real `relay`
//! binary as `make play` runs it: its embedded echo server takes the
//! relay's `--idle-timeout`. A message the page sends arrives a byte a
//! second for 10 s under a 3 s `--idle-timeout`; the relay writes it to
//! TCP once whole, so the echo server sees nothing for 10 s, yet its idle
//! clock sees the bytes arrive at the relay (the session's, shared through
//! the observation every page session asks for), and the echo comes back.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use support::{within, Ws};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// The relay binary, killed when dropped.
struct RelayProcess(Child);

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `relay --listen 127.0.0.1:0 ARGS` and reads its address from
/// the line it logs.
fn relay(args: &[&str]) -> (RelayProcess, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["--listen", "127.0.0.1:0", "--dist", "/nonexistent"])
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the relay binary");
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for stream in [
        Box::new(out) as Box<dyn std::io::Read + Send>,
        Box::new(err),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("relay listening on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap().to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
    }
    let addr = rx
        .recv_timeout(support::HANG_GUARD)
        .expect("the relay logs its address");
    (RelayProcess(child), addr.parse().unwrap())
}

/// One masked (browser → relay) binary frame's head, for `len` bytes.
fn frame_head(len: u8, mask: [u8; 4]) -> Vec<u8> {
    assert!(len <= 125);
    let mut head = vec![0x82, 0x80 | len];
    head.extend_from_slice(&mask);
    head
}

async fn write_raw(ws: &mut Ws, bytes: &[u8]) {
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => within(tcp.write_all(bytes)).await.unwrap(),
        _ => unreachable!("plain ws://"),
    }
}

#[tokio::test]
async fn a_message_arriving_a_byte_a_second_for_10_s_is_echoed_under_a_3_s_idle_timeout() {
    let (_relay, addr) = relay(&["--idle-timeout", "3s"]);
    let url = format!("ws://{addr}/ws?target=echo&observe=1");
    let (mut ws, _) = within(tokio_tungstenite::connect_async(url))
        .await
        .expect("websocket connect");
    let payload = b"slow bytes";
    let mask = [0x11, 0x22, 0x33, 0x44];
    write_raw(&mut ws, &frame_head(payload.len() as u8, mask)).await;
    for (i, byte) in payload.iter().enumerate() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        write_raw(&mut ws, &[byte ^ mask[i % 4]]).await;
    }
    let mut echoed = Vec::new();
    let mut closed = None;
    within(async {
        while echoed.len() < payload.len() {
            match ws.next().await {
                Some(Ok(Message::Binary(bytes))) => echoed.extend_from_slice(&bytes),
                Some(Ok(Message::Text(_))) => {} // observations
                Some(Ok(Message::Close(frame))) => {
                    closed = frame;
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(closed, None, "closed before the echo");
    assert_eq!(echoed, payload);
}
