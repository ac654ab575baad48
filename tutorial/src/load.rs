//! The load generator behind the `loadgen` binary: C clients hammer a server
//! for a while, one request per connection or many, and the report gives
//! requests/s, latency percentiles and, given the server's pid, its CPU time
//! per request (from `/proc/PID/stat`).
//!
//! Replies are checked, not just counted: in `app` mode a client's first
//! reply must decode as a whole frame and every later one must be the same
//! bytes; in `echo` mode the bytes must come back as sent.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use protocol::codec::MessageCodec;
use protocol::DecoderConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Decoder as _;

/// What the server is expected to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// An application server: each request gets one framed reply.
    App,
    /// An echo server: the request's bytes come back unchanged.
    Echo,
}

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    pub addr: SocketAddr,
    pub mode: Mode,
    /// The request frame every client sends.
    pub request: Vec<u8>,
    pub clients: usize,
    pub duration: Duration,
    /// Requests per connection; 0 keeps each connection for the whole run.
    pub per_connection: u64,
    /// Server process to charge CPU time to.
    pub server_pid: Option<u32>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies of successful requests, sorted.
    latencies: Vec<Duration>,
    /// Server CPU time (user + system) during the run.
    pub server_cpu: Option<Duration>,
}

impl Report {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`th percentile latency (0 < p ≤ 100).
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        Some(self.latencies[rank.clamp(1, self.latencies.len()) - 1])
    }

    /// Server CPU time per successful request.
    pub fn cpu_per_request(&self) -> Option<Duration> {
        let cpu = self.server_cpu?;
        (self.requests > 0).then(|| cpu / self.requests as u32)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |d: Option<Duration>| {
            d.map_or("-".into(), |d| format!("{:.0} µs", d.as_secs_f64() * 1e6))
        };
        write!(
            f,
            "{} requests in {:.2} s = {:.0} req/s; p50 {}, p99 {}; errors {}",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests_per_second(),
            us(self.percentile(50.0)),
            us(self.percentile(99.0)),
            self.errors,
        )?;
        if let (Some(cpu), Some(per)) = (self.server_cpu, self.cpu_per_request()) {
            write!(
                f,
                "; server CPU {:.0} ms = {:.1} µs/request",
                cpu.as_secs_f64() * 1e3,
                per.as_secs_f64() * 1e6
            )?;
        }
        if let Some(e) = &self.first_error {
            write!(f, " (first error: {e})")?;
        }
        Ok(())
    }
}

/// Runs the load and reports.
pub async fn run(config: LoadConfig) -> Report {
    let cpu_before = config.server_pid.and_then(process_cpu_time);
    let start = Instant::now();
    let deadline = start + config.duration;
    let clients: Vec<_> = (0..config.clients.max(1))
        .map(|_| tokio::spawn(client(config.clone(), deadline)))
        .collect();
    let mut report = Report {
        requests: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        server_cpu: None,
    };
    for c in clients {
        let tally = c.await.expect("a load client panicked");
        report.requests += tally.latencies.len() as u64;
        report.latencies.extend(tally.latencies);
        report.errors += tally.errors;
        if report.first_error.is_none() {
            report.first_error = tally.first_error;
        }
    }
    report.elapsed = start.elapsed();
    let cpu_after = config.server_pid.and_then(process_cpu_time);
    report.server_cpu = cpu_before.zip(cpu_after).map(|(a, b)| b.saturating_sub(a));
    report.latencies.sort_unstable();
    report
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, e: impl fmt::Display) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

async fn client(config: LoadConfig, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut expected: Option<Vec<u8>> = None;
    let mut buf = BytesMut::with_capacity(4096);
    while Instant::now() < deadline {
        let started = Instant::now();
        let mut stream = match TcpStream::connect(config.addr).await {
            Ok(stream) => stream,
            Err(e) => {
                tally.error(format_args!("connect: {e}"));
                // Do not spin on a server that is gone.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let mut sent = 0u64;
        let mut first = true;
        loop {
            let t0 = if first { started } else { Instant::now() };
            first = false;
            match round_trip(&mut stream, &config, &mut buf, &mut expected).await {
                Ok(()) => tally.latencies.push(t0.elapsed()),
                Err(e) => {
                    tally.error(e);
                    break;
                }
            }
            sent += 1;
            let done = config.per_connection != 0 && sent >= config.per_connection;
            if done || Instant::now() >= deadline {
                break;
            }
        }
        if config.per_connection == 1 && config.mode == Mode::App {
            // One request per connection: the server closes first, as the
            // tutorial's does; wait for its FIN so each cycle is complete.
            let mut rest = [0u8; 64];
            let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut rest)).await;
        }
    }
    tally
}

async fn round_trip(
    stream: &mut TcpStream,
    config: &LoadConfig,
    buf: &mut BytesMut,
    expected: &mut Option<Vec<u8>>,
) -> Result<(), String> {
    stream
        .write_all(&config.request)
        .await
        .map_err(|e| format!("write: {e}"))?;
    buf.clear();
    match config.mode {
        Mode::Echo => {
            while buf.len() < config.request.len() {
                read_more(stream, buf).await?;
            }
            if buf[..] != config.request[..] {
                return Err("echo differs from the request".into());
            }
        }
        Mode::App if expected.is_some() => {
            // The first reply was decoded in full; later ones must be the
            // same bytes, which is as cheap to check as an echo (the load
            // tool's own CPU should not differ between the two modes).
            let expected = expected.as_deref().unwrap_or_default();
            while buf.len() < expected.len() {
                read_more(stream, buf).await?;
            }
            if buf[..] != expected[..] {
                return Err("reply differs from the first one".into());
            }
        }
        Mode::App => {
            let mut codec = MessageCodec::new(DecoderConfig {
                layout: false,
                ..DecoderConfig::default()
            });
            let mut seen = 0;
            let mut frame = Vec::new();
            loop {
                // Keep the frame's bytes to compare; the codec consumes them.
                frame.extend_from_slice(&buf[seen..]);
                match codec.decode(buf).map_err(|e| format!("bad reply: {e}"))? {
                    Some(decoded) => {
                        frame.truncate(decoded.frame_len);
                        break;
                    }
                    None => {
                        seen = buf.len();
                        read_more(stream, buf).await?;
                    }
                }
            }
            match expected {
                Some(expected) if *expected != frame => {
                    return Err("reply differs from the first one".into())
                }
                Some(_) => {}
                None => *expected = Some(frame),
            }
        }
    }
    Ok(())
}

async fn read_more(stream: &mut TcpStream, buf: &mut BytesMut) -> Result<(), String> {
    match stream.read_buf(buf).await {
        Ok(0) => Err("server closed before the reply was complete".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// User + system CPU time of a process, all threads, from `/proc/PID/stat`.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields after it are plain.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(
        ticks as f64 / clock_ticks_per_second(),
    ))
}

/// USER_HZ: 100 on every Linux configuration that matters; `getconf` says for sure.
fn clock_ticks_per_second() -> f64 {
    static HZ: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *HZ.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
