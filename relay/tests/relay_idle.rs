//! The idle timeout counts bytes, not whole messages (issue #13): a message
//! that takes longer than `--idle-timeout` to arrive, or to be written to a
//! target that reads slowly, keeps its session while its bytes move.

mod support;

use std::time::Duration;

use futures_util::StreamExt;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::MaybeTlsStream;

/// Shorter than any pause the tests make, shorter than any whole transfer.
const IDLE: Duration = Duration::from_millis(500);

/// One masked (browser → relay) frame; `fin` false leaves the message open.
fn masked_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![if fin { 0x80 | opcode } else { opcode }];
    match payload.len() {
        n @ 0..=125 => frame.push(0x80 | n as u8),
        n @ 126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Writes `bytes` on the client's socket itself, under tungstenite.
async fn write_raw(ws: &mut Ws, bytes: &[u8]) {
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => within(tcp.write_all(bytes)).await.unwrap(),
        _ => unreachable!("plain ws://"),
    }
}

/// Reads echoed binary messages until `len` bytes came back; a close frame
/// first (1008 "idle timeout") fails the test.
async fn read_echo(ws: &mut Ws, len: usize) -> Vec<u8> {
    let mut echoed = Vec::new();
    while echoed.len() < len {
        match within(ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => echoed.extend_from_slice(&bytes),
            other => panic!("expected the echo, got {other:?}"),
        }
    }
    echoed
}

async fn echo_relay() -> (TestRelay, Ws) {
    let config = relay::config::RelayConfig {
        idle_timeout: IDLE,
        ..test_config()
    };
    let relay = start(config, &[]).await;
    let ws = connect(relay.addr, "echo").await;
    (relay, ws)
}

/// After the echo: the half-close ends the session normally.
async fn finish(ws: &mut Ws) {
    send(ws, b"").await;
    let received = read_to_close(ws).await;
    assert!(received.messages.is_empty());
    assert_eq!(
        received.close_code(),
        Some(1000),
        "{}",
        received.close_reason()
    );
}

#[tokio::test]
async fn a_frame_arriving_a_few_bytes_at_a_time_for_longer_than_the_idle_timeout_is_not_idle() {
    let (_relay, mut ws) = echo_relay().await;
    let payload: Vec<u8> = (0..120u8).collect();
    let frame = masked_frame(0x2, true, &payload);
    // 16 pieces 150 ms apart: 2.4 s in all, never 500 ms without a byte.
    for piece in frame.chunks(8) {
        write_raw(&mut ws, piece).await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert_eq!(read_echo(&mut ws, payload.len()).await, payload);
    finish(&mut ws).await;
}

#[tokio::test]
async fn a_message_arriving_one_fragment_at_a_time_for_longer_than_the_idle_timeout_is_not_idle() {
    let (_relay, mut ws) = echo_relay().await;
    let payload: Vec<u8> = (0..100u8).collect();
    let pieces: Vec<&[u8]> = payload.chunks(10).collect();
    // 10 frames of one message 250 ms apart: 2.5 s in all.
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = if i == 0 { 0x2 } else { 0x0 };
        write_raw(&mut ws, &masked_frame(opcode, i == pieces.len() - 1, piece)).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(read_echo(&mut ws, payload.len()).await, payload);
    finish(&mut ws).await;
}

#[tokio::test]
async fn a_message_written_to_a_slowly_reading_target_for_longer_than_the_idle_timeout_is_not_idle()
{
    // About what the relay's send buffer and the target's small receive
    // buffer hold together, read 32 KiB every 20 ms:
    // the relay's write takes seconds (more than the idle timeout), each
    // partial write, and the send queue draining between them, moving bytes.
    const LEN: usize = 4 * 1024 * 1024;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let target = socket.local_addr().unwrap();
    let listener = socket.listen(1).unwrap();
    let upstream = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 32 * 1024];
        let mut got = 0;
        while got < LEN {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "EOF after {got} bytes");
            got += n;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stream.write_all(b"ok").await.unwrap();
        got
    });
    let config = relay::config::RelayConfig {
        idle_timeout: IDLE,
        max_message_size: 8 * 1024 * 1024,
        ..test_config()
    };
    let relay = start(config, &[("slow", target)]).await;
    let mut ws = connect(relay.addr, "slow").await;
    send(&mut ws, &vec![7u8; LEN]).await;
    match within(ws.next()).await {
        Some(Ok(Message::Binary(bytes))) => assert_eq!(&bytes[..], b"ok"),
        other => panic!("expected the target's answer, got {other:?}"),
    }
    assert_eq!(within(upstream).await.unwrap(), LEN);
}
