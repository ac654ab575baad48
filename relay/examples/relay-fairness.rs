//! The fair-share figures of issue 23 (docs/benchmarks.md, "Hardening,
//! round two"): a legitimate client from a fresh address (127.0.0.10)
//! times a WebSocket handshake plus the morpheus round trip to `app`,
//! again and again, while 8 attacker addresses (127.0.0.2 … 127.0.0.9, all
//! loopback on Linux) do one attack; and the load of a class.
//!
//! ```text
//! cargo build --release -p relay --bin relay --example relay-fairness
//! target/release/examples/relay-fairness                 # every attack, then the class
//! target/release/examples/relay-fairness heads observe   # some
//! target/release/examples/relay-fairness record          # --record's memory
//! ```
//!
//! - `heads`: each address keeps `--max-http-connections-per-ip` (32)
//!   unfinished request heads open (reopened when closed);
//! - `multiconn`: each address keeps its `--max-sessions-per-ip` (16)
//!   sessions to `multiconn` open, sending a message a second;
//! - `framing`: the same to the framing servers (`lines`, `prefix`);
//! - `observe`: each address floods `echo` with 16 observed sessions
//!   (`observe=1`) of 10-byte messages, as fast as the relay takes them;
//! - `class`: 200 sessions at once, each the morpheus exchange in 10-byte
//!   segments with `observe=1`, plus 8 `multiconn` sessions; relay CPU,
//!   peak memory and the round trips' p50/p99 (each session is one);
//! - `record`: `--record` with 16 sessions sending 1-byte messages for
//!   `--seconds`: the relay's `buffered_bytes` and its VmHWM.
//!
//! Each gets a fresh release relay (`--relay-bin`) with its defaults. The
//! attackers run on one thread, so they take at most one core of two;
//! the legitimate client runs on a thread of its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use protocol::app::request;
use protocol::encode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, WebSocketStream};

#[derive(Parser)]
struct Args {
    /// heads, multiconn, framing, observe, class, record (default: all but record).
    runs: Vec<String>,
    #[arg(long, default_value = "target/release/relay")]
    relay_bin: PathBuf,
    /// How long the legitimate client measures during each attack.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Sessions in the class (all at once).
    #[arg(long, default_value_t = 200)]
    class: usize,
}

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
        let relay = Relay { child, addr };
        for _ in 0..200 {
            if std::net::TcpStream::connect(addr).is_ok() {
                return relay;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the relay did not start");
    }

    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// CPU seconds (user + system) so far.
    fn cpu(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
            f.iter().filter_map(|t| t.parse::<f64>().ok()).sum()
        });
        ticks / 100.0 // USER_HZ
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LEGIT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10));

fn attacker(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8))
}

async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

type Ws = WebSocketStream<TcpStream>;

async fn ws(from: IpAddr, relay: SocketAddr, query: &str) -> Option<Ws> {
    let tcp = connect_from(from, relay).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://{relay}/ws?{query}");
    client_async(url, tcp).await.ok().map(|(ws, _)| ws)
}

fn morpheus() -> Vec<u8> {
    encode(&request("search", "morpheus"))
        .unwrap()
        .bytes
        .to_vec()
}

/// A handshake and the morpheus round trip from `from`, in `pieces`-byte
/// messages (observations, text messages, are skipped); its time, or
/// `None` if it failed.
async fn round_trip(
    from: IpAddr,
    relay: SocketAddr,
    query: &str,
    pieces: usize,
) -> Option<Duration> {
    let start = Instant::now();
    let mut ws = ws(from, relay, query).await?;
    for piece in morpheus().chunks(pieces) {
        ws.send(Message::binary(piece.to_vec())).await.ok()?;
    }
    let mut got = 0;
    while let Some(Ok(message)) = ws.next().await {
        match message {
            Message::Binary(b) => {
                got += b.len();
                if got >= 2 {
                    break; // the reply's first bytes: the trip is done
                }
            }
            Message::Close(_) => break,
            _ => {}
        }
    }
    let took = start.elapsed();
    let _ = ws.close(None).await;
    (got > 0).then_some(took)
}

/// The legitimate client, on a thread and runtime of its own so the
/// attackers' tasks in this process do not delay it: a trip every 100 ms
/// for `seconds`.
async fn legit(relay: SocketAddr, seconds: u64) -> (Vec<Duration>, usize) {
    let thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(legit_here(relay, seconds))
    });
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap()
}

async fn legit_here(relay: SocketAddr, seconds: u64) -> (Vec<Duration>, usize) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut times, mut failed) = (Vec::new(), 0);
    while Instant::now() < deadline {
        let trip = tokio::time::timeout(
            Duration::from_secs(10),
            round_trip(LEGIT, relay, "target=app", 1 << 20),
        );
        match trip.await {
            Ok(Some(t)) => times.push(t),
            _ => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (times, failed)
}

fn percentiles(times: &mut [Duration]) -> String {
    if times.is_empty() {
        return "no trip succeeded".into();
    }
    times.sort();
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} trips)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        times.len()
    )
}

/// Keeps `per_address` unfinished heads open from each attacker.
async fn heads(relay: SocketAddr, per_address: usize, stop: Arc<AtomicBool>) {
    let mut tasks = Vec::new();
    for i in 0..8 * per_address {
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(mut s) = connect_from(attacker(i), relay).await {
                    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
                    let mut sink = [0u8; 512];
                    while let Ok(n) = s.read(&mut sink).await {
                        if n == 0 || stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Keeps `per_address` sessions from each attacker to `targets` open,
/// each sending `message` every `every` (zero: as fast as taken).
async fn sessions(
    relay: SocketAddr,
    per_address: usize,
    targets: &'static [&'static str],
    message: Vec<u8>,
    every: Duration,
    stop: Arc<AtomicBool>,
) {
    let mut tasks = Vec::new();
    for i in 0..8 * per_address {
        let stop = stop.clone();
        let message = message.clone();
        let target = targets[i % targets.len()];
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Some(ws) = ws(attacker(i), relay, target).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let (mut tx, mut rx) = ws.split();
                let reader =
                    tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
                while !stop.load(Ordering::Relaxed) {
                    if tx.send(Message::binary(message.clone())).await.is_err() {
                        break;
                    }
                    if every.is_zero() {
                        tokio::task::yield_now().await;
                    } else {
                        tokio::time::sleep(every).await;
                    }
                }
                reader.abort();
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn attack(args: &Args, name: &str) {
    let relay = Relay::start(&args.relay_bin, &[]);
    let addr = relay.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let attackers = match name {
        "heads" => tokio::spawn(heads(addr, 32, s)),
        "multiconn" => tokio::spawn(sessions(
            addr,
            16,
            &["target=multiconn"],
            b"hello\n".to_vec(),
            Duration::from_secs(1),
            s,
        )),
        "framing" => tokio::spawn(sessions(
            addr,
            16,
            &["target=lines", "target=prefix"],
            b"\x00\x05hello\n".to_vec(),
            Duration::from_secs(1),
            s,
        )),
        "observe" => tokio::spawn(sessions(
            addr,
            16,
            &["target=echo&observe=1"],
            vec![b'x'; 10],
            Duration::ZERO,
            s,
        )),
        "none" => tokio::spawn(async {}),
        other => panic!("unknown attack {other}"),
    };
    tokio::time::sleep(Duration::from_secs(2)).await; // the attack in place
    let cpu = relay.cpu();
    let (mut times, failed) = legit(addr, args.seconds).await;
    let cpu = relay.cpu() - cpu;
    stop.store(true, Ordering::Relaxed);
    attackers.abort();
    println!(
        "{name}: legitimate handshake + morpheus: {}; {failed} failed; relay CPU {:.0}% of one core, VmHWM {} KiB",
        percentiles(&mut times),
        100.0 * cpu / args.seconds as f64,
        relay.status("VmHWM:")
    );
}

/// 200 observed sessions of the morpheus exchange in 10-byte segments,
/// all at once, plus 8 multiconn sessions.
async fn class(args: &Args) {
    let relay = Relay::start(
        &args.relay_bin,
        &[
            "--max-sessions-per-ip",
            "2048",
            "--max-http-connections-per-ip",
            "2048",
            "--max-http-connections",
            "2048",
        ],
    );
    let addr = relay.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let multi = tokio::spawn(sessions(
        addr,
        1,
        &["target=multiconn"],
        b"hello\n".to_vec(),
        Duration::from_millis(100),
        stop.clone(),
    ));
    let cpu = relay.cpu();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..args.class {
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + (i % 250) as u8));
        tasks.push(tokio::spawn(async move {
            tokio::time::timeout(
                Duration::from_secs(30),
                round_trip(from, addr, "target=app&observe=1", 10),
            )
            .await
            .ok()
            .flatten()
        }));
    }
    let mut times = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.ok().flatten() {
            Some(t) => times.push(t),
            None => failed += 1,
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = relay.cpu() - cpu;
    stop.store(true, Ordering::Relaxed);
    multi.abort();
    println!(
        "class: {} observed morpheus sessions in 10-byte segments + 8 multiconn: {}; {failed} failed; all done in {wall:.2} s; relay CPU {cpu:.2} s ({:.0}% of one core over that time), VmHWM {} KiB",
        args.class,
        percentiles(&mut times),
        100.0 * cpu / wall,
        relay.status("VmHWM:")
    );
}

/// `--record` with 16 sessions of 1-byte messages: what the relay counts
/// and what it holds.
async fn record(args: &Args) {
    let dir = std::env::temp_dir().join(format!("wirelab-fairness-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let relay = Relay::start(&args.relay_bin, &["--record", dir.to_str().unwrap()]);
    let addr = relay.addr;
    let rss_before = relay.status("VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let counted = Arc::new(AtomicU64::new(0));
    let watch = {
        let stop = stop.clone();
        let counted = counted.clone();
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                if let Some(n) = buffered(addr).await {
                    counted.fetch_max(n, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    let sent = Arc::new(AtomicU64::new(0));
    for i in 0..16 {
        let sent = sent.clone();
        let deadline = Instant::now() + Duration::from_secs(args.seconds);
        tasks.push(tokio::spawn(async move {
            let ws = ws(attacker(i), addr, "target=echo")
                .await
                .expect("a session");
            let (mut tx, mut rx) = ws.split();
            let reader = tokio::spawn(async move { while let Some(Ok(_)) = rx.next().await {} });
            while Instant::now() < deadline {
                if tx.send(Message::binary(vec![b'x'])).await.is_err() {
                    break;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
            let _ = tx.send(Message::Close(None)).await;
            let _ = tokio::time::timeout(Duration::from_secs(30), reader).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    // The files are finished once the sessions have ended.
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let names = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        if names >= 32 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = watch.await;
    let disk: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .sum();
    println!(
        "record: 16 sessions x {} s of 1-byte messages ({} sent): buffered_bytes peak {} KiB; VmRSS before {} KiB, VmHWM {} KiB, after {} KiB; {} KiB on disk",
        args.seconds,
        sent.load(Ordering::Relaxed),
        counted.load(Ordering::Relaxed) / 1024,
        rss_before,
        relay.status("VmHWM:"),
        relay.status("VmRSS:"),
        disk / 1024,
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/healthz`'s `buffered_bytes`.
async fn buffered(relay: SocketAddr) -> Option<u64> {
    let mut stream = TcpStream::connect(relay).await.ok()?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {relay}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let text = String::from_utf8_lossy(&response);
    let body: serde_json::Value = serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()?;
    body["buffered_bytes"].as_u64()
}

/// The attackers share one thread (at most one core of the two); the
/// legitimate client has a thread of its own.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    let runs: Vec<String> = if args.runs.is_empty() {
        ["heads", "multiconn", "framing", "observe", "class"]
            .map(String::from)
            .to_vec()
    } else {
        args.runs.clone()
    };
    for run in &runs {
        match run.as_str() {
            "class" => class(&args).await,
            "record" => record(&args).await,
            attack_name => attack(&args, attack_name).await,
        }
    }
}
