//! Load tool for the relay (an example, because its WebSocket client,
//! tokio-tungstenite, is a dev-dependency of the relay package):
//!
//! ```text
//! cargo run --release -p relay --example relay-bench -- --relay 127.0.0.1:8780 ws
//! cargo run --release -p relay --example relay-bench -- --relay 127.0.0.1:8780 tcp
//! cargo run --release -p relay --example relay-bench -- --relay 127.0.0.1:8780 idle --pid PID
//! cargo run --release -p relay --example relay-bench -- --relay 127.0.0.1:8780 flood --pid PID --mib 8
//! ```
//!
//! Every session comes from 127.0.0.1: run the relay with
//! `--max-sessions-per-ip 1024 --max-http-connections-per-ip 256` (its
//! defaults, 16 and 32, are for strangers, not for one load generator).
//!
//! Workloads (docs/benchmarks.md has the figures):
//! - `echo64`: 64-byte round trips over 16 persistent sessions to echo;
//! - `bulk`: 64 KiB round trips over 4 persistent sessions to echo;
//! - `app`: one search request per session against the app server, 16 clients.
//!
//! `ws` sends them through WebSockets (the relay, or any WebSocket-to-TCP
//! bridge given with `--echo-url`/`--app-url`); `tcp` sends the same bytes
//! straight to the TCP servers (the floor the relay adds to; their
//! addresses come from `--echo-addr`/`--app-addr`, or from `/targets` of a
//! relay run with `--show-addresses`). `idle` opens
//! `--sessions` WebSocket sessions, makes one round trip on each, and reads
//! the bridge's resident memory from /proc/PID/status before and after.
//! `flood` sends `--mib` MiB to the relay's `blackhole` target with
//! observation on, reading the events, and reports VmRSS before, at the
//! fullest and after. `--observe` adds `&observe=1` to the relay's default
//! URLs (events are read and discarded), for the cost of observation.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use protocol::app::request;
use protocol::encode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// The relay (for /targets and the default WebSocket URLs).
    #[arg(long, default_value = relay::config::DEFAULT_LISTEN)]
    relay: SocketAddr,
    /// WebSocket URL reaching the echo server (default: the relay's target `echo`).
    #[arg(long)]
    echo_url: Option<String>,
    /// WebSocket URL reaching the app server (default: the relay's target `app`).
    #[arg(long)]
    app_url: Option<String>,
    /// TCP address of the echo server (default: from the relay's /targets, which
    /// lists addresses only when the relay runs with --show-addresses).
    #[arg(long)]
    echo_addr: Option<SocketAddr>,
    /// TCP address of the app server (default: from the relay's /targets, with --show-addresses).
    #[arg(long)]
    app_addr: Option<SocketAddr>,
    /// How long each workload runs.
    #[arg(long, default_value = "10s", value_parser = tutorial::cli::parse_duration)]
    duration: Duration,
    /// Only this workload (echo64, bulk, app).
    #[arg(long)]
    only: Option<String>,
    /// Ask the relay for observation events (`observe=1`) on every session.
    #[arg(long)]
    observe: bool,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Through WebSockets.
    Ws,
    /// Straight to the TCP servers.
    Tcp,
    /// Resident memory per idle WebSocket session.
    Idle {
        /// The bridge process whose VmRSS is read.
        #[arg(long)]
        pid: u32,
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
    },
    /// Resident memory while an observed session floods `blackhole`.
    Flood {
        /// The relay process whose VmRSS is read.
        #[arg(long)]
        pid: u32,
        /// MiB sent, in 1 MiB messages.
        #[arg(long, default_value_t = 8)]
        mib: usize,
        /// How long to keep sending and reading events.
        #[arg(long, default_value = "3s", value_parser = tutorial::cli::parse_duration)]
        hold: Duration,
    },
}

#[derive(Clone)]
enum Endpoint {
    Ws(String),
    Tcp(SocketAddr),
}

/// One side of a persistent session.
enum Conn {
    Ws(Box<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>>),
    Tcp(TcpStream),
}

impl Conn {
    async fn open(endpoint: &Endpoint) -> Conn {
        match endpoint {
            Endpoint::Ws(url) => {
                let (ws, _) =
                    tokio_tungstenite::connect_async_with_config(url.as_str(), None, true)
                        .await
                        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
                Conn::Ws(Box::new(ws))
            }
            Endpoint::Tcp(addr) => {
                let stream = TcpStream::connect(addr).await.expect("tcp connect");
                stream.set_nodelay(true).unwrap();
                Conn::Tcp(stream)
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        match self {
            Conn::Ws(ws) => ws
                .send(Message::binary(bytes.to_vec()))
                .await
                .expect("ws send"),
            Conn::Tcp(stream) => stream.write_all(bytes).await.expect("tcp write"),
        }
    }

    /// Reads exactly `n` bytes (over however many messages they come in).
    async fn recv_exact(&mut self, n: usize, buf: &mut Vec<u8>) {
        buf.clear();
        match self {
            Conn::Ws(ws) => {
                while buf.len() < n {
                    match ws.next().await {
                        Some(Ok(Message::Binary(b))) => buf.extend_from_slice(&b),
                        // Observation events (--observe): read, not kept.
                        Some(Ok(Message::Text(_))) => {}
                        other => panic!("expected binary, got {other:?}"),
                    }
                }
            }
            Conn::Tcp(stream) => {
                buf.resize(n, 0);
                stream.read_exact(buf).await.expect("tcp read");
            }
        }
    }

    /// Reads until the other side closes; returns the byte count.
    async fn recv_to_end(&mut self) -> usize {
        match self {
            Conn::Ws(ws) => {
                let mut n = 0;
                while let Some(message) = ws.next().await {
                    match message {
                        Ok(Message::Binary(b)) => n += b.len(),
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                // Drive tungstenite's close reply out.
                while let Some(Ok(_)) = ws.next().await {}
                n
            }
            Conn::Tcp(stream) => {
                let mut buf = Vec::new();
                stream.read_to_end(&mut buf).await.expect("tcp read");
                buf.len()
            }
        }
    }
}

struct Outcome {
    ops: u64,
    bytes: u64,
    latencies_us: Vec<u32>,
    elapsed: Duration,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

fn report(name: &str, mode: &str, mut outcome: Outcome) {
    outcome.latencies_us.sort_unstable();
    let secs = outcome.elapsed.as_secs_f64();
    println!(
        "| {name} | {mode} | {:.0} | {:.1} | {:.3} | {:.3} |",
        outcome.ops as f64 / secs,
        outcome.bytes as f64 / secs / 1e6,
        percentile(&outcome.latencies_us, 0.50),
        percentile(&outcome.latencies_us, 0.99),
    );
}

/// `clients` persistent sessions making `size`-byte round trips for `duration`.
async fn round_trips(
    endpoint: Endpoint,
    clients: usize,
    size: usize,
    duration: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let endpoint = endpoint.clone();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&endpoint).await;
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut buf = Vec::with_capacity(size);
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                conn.send(&payload).await;
                conn.recv_exact(size, &mut buf).await;
                latencies.push(t.elapsed().as_micros() as u32);
                assert_eq!(buf, payload, "echo differs");
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await.unwrap());
    }
    let ops = latencies_us.len() as u64;
    Outcome {
        ops,
        // Bytes moved both ways.
        bytes: ops * size as u64 * 2,
        latencies_us,
        elapsed: start.elapsed(),
    }
}

/// `clients` loops of: open a session, send one search request, read the reply to the close.
async fn one_request_per_session(
    endpoint: Endpoint,
    clients: usize,
    duration: Duration,
) -> Outcome {
    let frame = encode(&request("search", "morpheus")).unwrap().bytes;
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let endpoint = endpoint.clone();
        let frame = frame.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0u64;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut conn = Conn::open(&endpoint).await;
                conn.send(&frame).await;
                let n = conn.recv_to_end().await;
                assert!(n > 0, "no reply");
                bytes += (frame.len() + n) as u64;
                latencies.push(t.elapsed().as_micros() as u32);
            }
            (latencies, bytes)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut bytes = 0;
    for task in tasks {
        let (l, b) = task.await.unwrap();
        latencies_us.extend(l);
        bytes += b;
    }
    Outcome {
        ops: latencies_us.len() as u64,
        bytes,
        latencies_us,
        elapsed: start.elapsed(),
    }
}

/// Addresses of `app` and `echo` from the relay's /targets.
async fn relay_targets(relay: SocketAddr) -> (Option<SocketAddr>, Option<SocketAddr>) {
    let Ok(mut stream) = TcpStream::connect(relay).await else {
        return (None, None);
    };
    let request = format!("GET /targets HTTP/1.1\r\nHost: {relay}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let targets: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let find = |name: &str| {
        targets.as_array()?.iter().find(|t| t["name"] == name)?["address"]
            .as_str()?
            .parse()
            .ok()
    };
    (find("app"), find("echo"))
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let observe = if args.observe { "&observe=1" } else { "" };
    let echo_url = args
        .echo_url
        .clone()
        .unwrap_or_else(|| format!("ws://{}/ws?target=echo{observe}", args.relay));
    let app_url = args
        .app_url
        .clone()
        .unwrap_or_else(|| format!("ws://{}/ws?target=app{observe}", args.relay));
    let run = |name: &str| args.only.as_deref().is_none_or(|only| only == name);

    match args.mode {
        Mode::Idle { pid, sessions } => {
            let before = rss_kib(pid);
            let mut open = Vec::with_capacity(sessions);
            let mut buf = Vec::new();
            for _ in 0..sessions {
                let mut conn = Conn::open(&Endpoint::Ws(echo_url.clone())).await;
                conn.send(&[7u8; 64]).await;
                conn.recv_exact(64, &mut buf).await;
                open.push(conn);
            }
            // Let the bridge settle (freed buffers returned, tasks parked).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = rss_kib(pid);
            println!(
                "VmRSS before {before} KiB, with {sessions} idle sessions {after} KiB: {:.1} KiB per session",
                (after.saturating_sub(before)) as f64 / sessions as f64
            );
            drop(open);
        }
        Mode::Flood { pid, mib, hold } => flood(args.relay, pid, mib, hold).await,
        Mode::Ws | Mode::Tcp => {
            let ws = matches!(args.mode, Mode::Ws);
            let (app_addr, echo_addr) = if ws {
                (None, None)
            } else {
                let (app, echo) = relay_targets(args.relay).await;
                (args.app_addr.or(app), args.echo_addr.or(echo))
            };
            let (echo, app, mode) = if ws {
                (Endpoint::Ws(echo_url), Endpoint::Ws(app_url), "WebSocket")
            } else {
                (
                    Endpoint::Tcp(
                        echo_addr
                            .expect("--echo-addr, or a relay with `echo` and --show-addresses"),
                    ),
                    Endpoint::Tcp(
                        app_addr.expect("--app-addr, or a relay with `app` and --show-addresses"),
                    ),
                    "TCP direct",
                )
            };
            println!("| workload | path | ops/s | MB/s | p50 ms | p99 ms |");
            println!("|---|---|---|---|---|---|");
            if run("echo64") {
                let outcome = round_trips(echo.clone(), 16, 64, args.duration).await;
                report("64 B echo, 16 sessions", mode, outcome);
            }
            if run("bulk") {
                let outcome = round_trips(echo.clone(), 4, 64 * 1024, args.duration).await;
                report("64 KiB echo, 4 sessions", mode, outcome);
            }
            if run("app") {
                let outcome = one_request_per_session(app, 16, args.duration).await;
                report("1 request/session, 16 clients", mode, outcome);
            }
        }
    }
}

/// Floods the relay's `blackhole` with observation on; prints VmRSS before,
/// the highest seen while the queues were full, and after the session.
async fn flood(relay: SocketAddr, pid: u32, mib: usize, hold: Duration) {
    let before = rss_kib(pid);
    let url = format!("ws://{relay}/ws?target=blackhole&observe=1");
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    let (mut tx, mut rx) = ws.split();
    let sender = tokio::spawn(async move {
        for i in 0..mib {
            if tx
                .send(Message::binary(vec![i as u8; 1 << 20]))
                .await
                .is_err()
            {
                break;
            }
        }
        tx
    });
    let deadline = Instant::now() + hold;
    let (mut events, mut peak, mut recv_q, mut send_q) = (0u64, before, 0u64, 0u64);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline.into(), rx.next()).await {
        if let Message::Text(text) = message {
            events += 1;
            let event: serde_json::Value = serde_json::from_str(&text).unwrap();
            match event["kind"].as_str() {
                Some("server_socket") => recv_q = recv_q.max(event["recv_q"].as_u64().unwrap()),
                Some("socket") => send_q = send_q.max(event["send_q"].as_u64().unwrap()),
                _ => {}
            }
            peak = peak.max(rss_kib(pid));
        }
    }
    peak = peak.max(rss_kib(pid));
    sender.abort();
    drop(rx);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(pid);
    println!(
        "{mib} MiB flood: VmRSS before {before} KiB, peak {peak} KiB, after {after} KiB; \
         {events} events, server recv_q up to {recv_q}, relay send_q up to {send_q}"
    );
}
