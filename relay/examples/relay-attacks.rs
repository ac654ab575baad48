//! The hardening figures (docs/benchmarks.md, "Hardening"): the release
//! relay, started here with its default limits, under each attack of
//! issue #13, and a checksummed integrity load.
//!
//! ```text
//! cargo build --release -p relay --bin relay --example relay-attacks
//! target/release/examples/relay-attacks            # every attack
//! target/release/examples/relay-attacks park slowloris
//! ```
//!
//! Each attack gets a fresh relay (`--relay-bin`, default
//! `target/release/relay`, on a free loopback port). Attackers come from
//! `--sources` loopback addresses (127.0.0.2, 127.0.0.3, …), so
//! `--max-sessions-per-ip` meets a crowd, not one client. Printed per
//! attack: what the relay still holds, its VmRSS (before, peak, after),
//! how long stalled connections live, whether `/healthz` answers, and for
//! `shutdown` the time from SIGTERM to exit; `integrity` sends random
//! bytes through `echo` on many sessions and counts every byte that did
//! not come back as sent.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// Attacks to run: park, slowloris, idle, headers, shutdown, integrity (default: all).
    attacks: Vec<String>,
    /// The relay binary.
    #[arg(long, default_value = "target/release/relay")]
    relay_bin: PathBuf,
    /// Loopback addresses the attackers spread over.
    #[arg(long, default_value_t = 64)]
    sources: u8,
    /// Sessions in the integrity load, and MiB each sends.
    #[arg(long, default_value_t = 200)]
    integrity_sessions: usize,
    #[arg(long, default_value_t = 1.35)]
    integrity_mib: f64,
}

const ALL: [&str; 6] = [
    "park",
    "slowloris",
    "idle",
    "headers",
    "shutdown",
    "integrity",
];

struct Relay {
    child: Child,
    addr: SocketAddr,
}

impl Relay {
    fn start(bin: &PathBuf, extra: &[&str]) -> Relay {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new(bin)
            .arg("--listen")
            .arg(addr.to_string())
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release -p relay)", bin.display()));
        // Owned at once: dropping it kills and waits for the process.
        let relay = Relay { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return relay;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the relay did not start");
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// SIGTERM, then the time until the process is gone.
    fn terminate(&mut self) -> Duration {
        let start = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        start.elapsed()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Peak VmRSS while it runs, sampled every 50 ms.
fn watch_rss(relay: &Relay) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicU64::new(relay.rss_kib()));
    let pid = relay.child.id();
    let seen = peak.clone();
    let task = tokio::spawn(async move {
        loop {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            {
                seen.fetch_max(kib, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    (peak, task)
}

fn source(i: usize, sources: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % sources as usize) as u8))
}

async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// `/healthz` as JSON, or `None` if the relay does not answer within 2 s.
async fn healthz(relay: SocketAddr) -> Option<serde_json::Value> {
    let ask = async {
        let mut stream = TcpStream::connect(relay).await.ok()?;
        let request =
            format!("GET /healthz HTTP/1.1\r\nHost: {relay}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.ok()?;
        let text = String::from_utf8_lossy(&response);
        serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()
    };
    tokio::time::timeout(Duration::from_secs(2), ask)
        .await
        .ok()
        .flatten()
}

/// An upgrade to `echo` from `from`; the stream if it got 101.
async fn upgrade(from: IpAddr, relay: SocketAddr) -> Option<TcpStream> {
    let mut stream = connect_from(from, relay).await.ok()?;
    let request = format!(
        "GET /ws?target=echo HTTP/1.1\r\nHost: {relay}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    head.starts_with(b"HTTP/1.1 101").then_some(stream)
}

/// Reads until EOF or error; returns when the relay let go.
async fn until_dropped(mut stream: TcpStream) {
    let mut sink = [0u8; 4096];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

fn seconds(list: &mut [f64]) -> String {
    if list.is_empty() {
        return "—".into();
    }
    list.sort_by(f64::total_cmp);
    format!(
        "median {:.1} s, max {:.1} s",
        list[list.len() / 2],
        list[list.len() - 1]
    )
}

/// 1,020 sessions, each parked one byte short of a 1 MiB message.
async fn park(args: &Args) {
    let relay = Relay::start(&args.relay_bin, &[]);
    let before = relay.rss_kib();
    let (peak, sampler) = watch_rss(&relay);
    let mut attackers = JoinSet::new();
    let closed = Arc::new(AtomicUsize::new(0));
    let len = 1024 * 1024;
    let mut frame = vec![0x82, 0x80 | 127];
    frame.extend_from_slice(&(len as u64).to_be_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.resize(frame.len() + len - 1, b'x');
    let frame = Arc::new(frame);
    for i in 0..1020 {
        let (addr, closed, frame) = (relay.addr, closed.clone(), frame.clone());
        let from = source(i, args.sources);
        attackers.spawn(async move {
            let mut ws = upgrade(from, addr).await?;
            if ws.write_all(&frame).await.is_err() {
                closed.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Some(ws)
        });
    }
    let mut held = Vec::new();
    while let Some(result) = attackers.join_next().await {
        if let Ok(Some(ws)) = result {
            held.push(ws);
        }
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    let health = healthz(relay.addr).await;
    let during = relay.rss_kib();
    drop(held);
    tokio::time::sleep(Duration::from_secs(2)).await;
    sampler.abort();
    let after = relay.rss_kib();
    let field = |h: &Option<serde_json::Value>, f: &str| {
        h.as_ref().map_or("no answer".into(), |h| h[f].to_string())
    };
    println!(
        "park: 1020 sessions parked 1 byte short of 1 MiB from {} addresses: {} sessions held after 4 s, \
         buffered_bytes {}; VmRSS before {before} KiB, peak {} KiB, with them {during} KiB, after {after} KiB",
        args.sources,
        field(&health, "sessions"),
        field(&health, "buffered_bytes"),
        peak.load(Ordering::Relaxed),
    );
}

/// Connections that each do `attack` to the relay, then wait to be dropped:
/// how many the relay held at once, for how long, and whether /healthz answered.
async fn stalled<F, Fut>(args: &Args, name: &str, count: usize, attack: F)
where
    F: Fn(TcpStream) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Option<TcpStream>> + Send,
{
    let relay = Relay::start(&args.relay_bin, &[]);
    let before = relay.rss_kib();
    let (peak, sampler) = watch_rss(&relay);
    let mut attackers = JoinSet::new();
    let start = Instant::now();
    for i in 0..count {
        let (addr, attack) = (relay.addr, attack.clone());
        let from = source(i, args.sources);
        attackers.spawn(async move {
            let stream = connect_from(from, addr).await.ok()?;
            let connected = Instant::now();
            let stream = attack(stream).await?;
            until_dropped(stream).await;
            Some(connected.elapsed().as_secs_f64())
        });
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = healthz(relay.addr).await.is_some();
    let mut dropped = Vec::new();
    while let Some(result) = attackers.join_next().await {
        if let Ok(Some(after)) = result {
            dropped.push(after);
        }
    }
    let recovered = start.elapsed().as_secs_f64();
    let after_ok = healthz(relay.addr).await.is_some();
    sampler.abort();
    // Each connection's own lifetime, from its connect to its drop.
    let held_long = dropped.iter().filter(|s| **s > 1.0).count();
    println!(
        "{name}: {count} connections: {held_long} held past 1 s, the rest closed at once; dropped after {}; \
         /healthz during: {}; all gone after {recovered:.1} s, /healthz then: {}; VmRSS before {before} KiB, peak {} KiB",
        seconds(&mut dropped),
        if during { "answered" } else { "no answer" },
        if after_ok { "answered" } else { "no answer" },
        peak.load(Ordering::Relaxed),
    );
}

/// SIGTERM with hostile clients attached: half a request head, parked
/// half-messages, an idle connection.
async fn shutdown(args: &Args) {
    let mut relay = Relay::start(&args.relay_bin, &[]);
    let mut hostile = Vec::new();
    for i in 0..100 {
        let from = source(i, args.sources);
        if let Ok(mut s) = connect_from(from, relay.addr).await {
            let _ = s
                .write_all(b"GET /ws?target=echo HTTP/1.1\r\nHost: x")
                .await;
            hostile.push(s);
        }
        if let Ok(s) = connect_from(from, relay.addr).await {
            hostile.push(s);
        }
        if let Some(mut ws) = upgrade(from, relay.addr).await {
            let _ = ws
                .write_all(&[0x82, 0x80 | 126, 0xff, 0xff, 0, 0, 0, 0, 1])
                .await;
            hostile.push(ws);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let took = tokio::task::spawn_blocking(move || relay.terminate())
        .await
        .unwrap();
    println!(
        "shutdown: SIGTERM with {} hostile connections (half heads, idle, half messages): exited after {:.2} s (--close-grace 5s)",
        hostile.len(),
        took.as_secs_f64()
    );
}

/// A session's pseudo-random bytes (xorshift64 from its number): made
/// again to check the echo, so no session keeps what it sent.
struct Bytes(u64);

impl Bytes {
    fn new(seed: u64) -> Bytes {
        Bytes(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 as u8
            })
            .collect()
    }
}

/// Random bytes through echo on many sessions at once, every byte compared.
async fn integrity(args: &Args) {
    let relay = Relay::start(&args.relay_bin, &[]);
    let per_session = (args.integrity_mib * 1024.0 * 1024.0) as usize;
    let lost = Arc::new(AtomicU64::new(0));
    let moved = Arc::new(AtomicU64::new(0));
    let mut sessions = JoinSet::new();
    let start = Instant::now();
    for i in 0..args.integrity_sessions {
        let (addr, lost, moved) = (relay.addr, lost.clone(), moved.clone());
        let from = source(i, args.sources);
        sessions.spawn(async move {
            let stream = connect_from(from, addr).await.expect("connect");
            let url = format!("ws://{addr}/ws?target=echo");
            let (ws, _) = tokio_tungstenite::client_async(url, stream)
                .await
                .expect("upgrade");
            let (mut tx, mut rx) = ws.split();
            let writer = tokio::spawn(async move {
                let mut bytes = Bytes::new(i as u64);
                let mut left = per_session;
                while left > 0 {
                    let chunk = bytes.take(left.min(64 * 1024));
                    left -= chunk.len();
                    tx.send(Message::Binary(chunk.into())).await.expect("send");
                }
                tx
            });
            let mut expected = Bytes::new(i as u64);
            let mut at = 0;
            let mut wrong = 0u64;
            while at < per_session {
                match rx.next().await {
                    Some(Ok(Message::Binary(bytes))) => {
                        let want = expected.take(bytes.len().min(per_session - at));
                        wrong += want
                            .iter()
                            .zip(bytes.iter())
                            .filter(|(a, b)| a != b)
                            .count() as u64;
                        at += bytes.len();
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                }
            }
            let _tx = writer.await.expect("writer");
            lost.fetch_add(
                wrong + per_session.saturating_sub(at) as u64,
                Ordering::Relaxed,
            );
            moved.fetch_add(at as u64, Ordering::Relaxed);
        });
    }
    while sessions.join_next().await.is_some() {}
    println!(
        "integrity: {} sessions × {:.2} MiB through echo ({:.0} MiB, {:.1} s): {} bytes lost or changed",
        args.integrity_sessions,
        args.integrity_mib,
        moved.load(Ordering::Relaxed) as f64 / 1048576.0,
        start.elapsed().as_secs_f64(),
        lost.load(Ordering::Relaxed)
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let chosen: Vec<String> = if args.attacks.is_empty() {
        ALL.iter().map(|s| s.to_string()).collect()
    } else {
        args.attacks.clone()
    };
    for attack in &chosen {
        match attack.as_str() {
            "park" => park(&args).await,
            "slowloris" => {
                // A request head one byte a second, never finished.
                stalled(
                    &args,
                    "slowloris (1 header byte/s)",
                    500,
                    |mut s| async move {
                        let head = b"GET /ws?target=echo HTTP/1.1\r\nX-Slow: ";
                        for byte in head.iter().chain(std::iter::repeat(&b'a')) {
                            if s.write_all(&[*byte]).await.is_err() {
                                return Some(s);
                            }
                            let mut probe = [0u8; 1];
                            let wait = Duration::from_secs(1);
                            if tokio::time::timeout(wait, s.read(&mut probe)).await.is_ok() {
                                return Some(s);
                            }
                        }
                        Some(s)
                    },
                )
                .await
            }
            "idle" => {
                stalled(
                    &args,
                    "idle TCP (no bytes)",
                    2000,
                    |s| async move { Some(s) },
                )
                .await
            }
            "headers" => {
                stalled(&args, "unfinished 390 KB heads", 1000, |mut s| async move {
                    let mut head = b"GET / HTTP/1.1\r\nX-Big: ".to_vec();
                    head.resize(390 * 1024, b'a');
                    let _ = s.write_all(&head).await;
                    Some(s)
                })
                .await
            }
            "shutdown" => shutdown(&args).await,
            "integrity" => integrity(&args).await,
            other => eprintln!("unknown attack {other:?}: {ALL:?}"),
        }
    }
}
