//! What the relay integration tests share: a real relay on port 0 with the
//! real embedded servers behind it (`relay::testing`, as the browser tests
//! start it), and a tokio-tungstenite client.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use relay::config::RelayConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest any relay test waits on the network before calling it a hang.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Every network wait in a test goes through this: a hang guard, not a speed check.
pub async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("hang guard: the test waited {HANG_GUARD:?}"))
}

pub use relay::testing::TestRelay;

/// A relay with every embedded target (real servers on loopback) plus
/// `extra` targets.
pub async fn start(config: RelayConfig, extra: &[(&str, SocketAddr)]) -> TestRelay {
    let extra: Vec<_> = extra
        .iter()
        .map(|(name, addr)| (*name, *addr, "test target"))
        .collect();
    TestRelay::start(config, &extra, None).await
}

pub fn test_config() -> RelayConfig {
    RelayConfig {
        close_grace: Duration::from_secs(2),
        // Every test client is 127.0.0.1: the per-client limits have tests of their own.
        max_sessions_per_ip: 1024,
        max_http_connections_per_ip: 256,
        ..RelayConfig::default()
    }
}

pub fn ws_url(addr: SocketAddr, target: &str) -> String {
    format!("ws://{addr}/ws?target={target}")
}

pub async fn connect(addr: SocketAddr, target: &str) -> Ws {
    let (ws, _) = within(tokio_tungstenite::connect_async(ws_url(addr, target)))
        .await
        .expect("websocket connect");
    ws
}

/// Tries an upgrade with an Origin header; `Err((status, body))` if refused.
pub async fn try_connect(
    addr: SocketAddr,
    query: &str,
    origin: Option<&str>,
) -> Result<Ws, (u16, String)> {
    let mut request = format!("ws://{addr}/ws?{query}")
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match within(tokio_tungstenite::connect_async(request)).await {
        Ok((ws, _)) => Ok(ws),
        Err(Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            Err((
                response.status().as_u16(),
                String::from_utf8_lossy(&body).into_owned(),
            ))
        }
        Err(e) => panic!("unexpected connect error: {e}"),
    }
}

/// Everything the relay sends until it closes: the binary messages in order
/// and the close frame.
pub struct Received {
    pub messages: Vec<Vec<u8>>,
    pub close: Option<CloseFrame>,
}

impl Received {
    pub fn bytes(&self) -> Vec<u8> {
        self.messages.concat()
    }
    pub fn close_code(&self) -> Option<u16> {
        self.close.as_ref().map(|c| u16::from(c.code))
    }
    pub fn close_reason(&self) -> String {
        self.close
            .as_ref()
            .map(|c| c.reason.to_string())
            .unwrap_or_default()
    }
}

/// Reads until the close frame (answering it) or the end of the stream.
pub async fn read_to_close(ws: &mut Ws) -> Received {
    let mut received = Received {
        messages: Vec::new(),
        close: None,
    };
    within(async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Binary(bytes)) => received.messages.push(bytes.to_vec()),
                Ok(Message::Close(frame)) => {
                    received.close = frame;
                    break;
                }
                Ok(other) => panic!("unexpected message {other:?}"),
                Err(e) => panic!("websocket error before close: {e}"),
            }
        }
    })
    .await;
    // tungstenite queued the close reply; reading on is what sends it
    // (`close()` refuses with SendAfterClosing once the peer has closed).
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
    received
}

pub async fn send(ws: &mut Ws, bytes: &[u8]) {
    within(ws.send(Message::binary(bytes.to_vec())))
        .await
        .expect("send");
}

/// A plain HTTP/1.1 GET: (status, body).
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = http_get_full(addr, path, headers).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A plain HTTP/1.1 GET: (status, lower-cased head, raw body).
pub async fn http_get_full(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    let mut stream = within(TcpStream::connect(addr)).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    within(stream.read_to_end(&mut response)).await.unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    (status, head, response[split + 4..].to_vec())
}

/// Sends `request` (a whole HTTP/1.1 head, `\r\n\r\n` included) as is:
/// (status, head and body as text). A `101` returns after its head.
pub async fn raw_request(addr: SocketAddr, request: &str) -> (u16, String) {
    let mut stream = within(TcpStream::connect(addr)).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut chunk = [0; 4096];
    within(async {
        while !response.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the relay closed before a response head");
            response.extend_from_slice(&chunk[..n]);
        }
    })
    .await;
    let status: u16 = String::from_utf8_lossy(&response[9..12]).parse().unwrap();
    if status != 101 {
        // Keep-alive: the body is as long as its content-length says.
        let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
        let head = text.find("\r\n\r\n").unwrap() + 4;
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        within(async {
            while response.len() < head + length {
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the relay closed inside a body");
                response.extend_from_slice(&chunk[..n]);
            }
        })
        .await;
    }
    (status, String::from_utf8_lossy(&response).into_owned())
}

/// An upgrade request for `path` with these header lines (each `Name: value`).
pub fn upgrade_request(path: &str, headers: &[&str]) -> String {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    );
    for line in headers {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

/// Polls `condition` every 10 ms, at most [`HANG_GUARD`].
pub async fn eventually(mut condition: impl FnMut() -> bool) {
    within(async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// A WebSocket opened by hand, so a test can stop mid-frame.
pub async fn raw_session(addr: SocketAddr, headers: &[&str]) -> TcpStream {
    let host = format!("Host: {addr}");
    let mut lines = vec![host.as_str()];
    lines.extend_from_slice(headers);
    let request = upgrade_request("/ws?target=echo", &lines);
    let stream = within(TcpStream::connect(addr)).await.unwrap();
    let (status, head, stream) = raw_upgrade(stream, &request).await;
    assert_eq!(status, 101, "{head}");
    stream
}

/// Sends an upgrade `request` on `stream`: (status, response head, the
/// stream: a WebSocket if the status is 101; a refusal's body unread).
pub async fn raw_upgrade(mut stream: TcpStream, request: &str) -> (u16, String, TcpStream) {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    within(async {
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(
                stream.read(&mut byte).await.unwrap(),
                1,
                "closed in the head"
            );
            head.push(byte[0]);
        }
    })
    .await;
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head[9..12].parse().unwrap();
    (status, head, stream)
}

/// The head of a masked binary frame (mask of zeros: the payload goes as is).
pub fn frame_head(len: usize) -> Vec<u8> {
    let mut head = vec![0x82];
    match len {
        0..=125 => head.push(0x80 | len as u8),
        126..=65535 => {
            head.push(0x80 | 126);
            head.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            head.push(0x80 | 127);
            head.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    head.extend_from_slice(&[0; 4]);
    head
}

/// One frame the relay sent, read off the raw stream: (opcode, payload).
pub async fn read_frame<R: tokio::io::AsyncRead + Unpin>(stream: &mut R) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head).await.unwrap();
    let len = match head[1] & 0x7f {
        126 => stream.read_u16().await.unwrap() as usize,
        127 => stream.read_u64().await.unwrap() as usize,
        n => n as usize,
    };
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload).await.unwrap();
    (head[0] & 0x0f, payload)
}

/// The close frame the relay sends (code, reason), skipping data frames.
pub async fn read_close(stream: &mut TcpStream) -> (u16, String) {
    within(async {
        loop {
            let (opcode, payload) = read_frame(stream).await;
            if opcode == 0x8 {
                let code = u16::from_be_bytes([payload[0], payload[1]]);
                return (code, String::from_utf8_lossy(&payload[2..]).into_owned());
            }
        }
    })
    .await
}

/// A connection from `source` (another loopback address is another client).
pub async fn connect_from(source: std::net::IpAddr, to: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    within(socket.connect(to)).await.unwrap()
}
