//! What the program tests share: servers started in-process on port 0 or as
//! real processes, and raw socket exchanges. Every network wait is bounded by
//! [`HANG_GUARD`] (a guard against hangs, not a speed assertion).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tutorial::servers::{self, app, echo, net};

/// Longest any test waits on the network before calling it a hang.
pub const HANG_GUARD: Duration = Duration::from_secs(20);

/// A server running in this test's runtime.
pub struct InProcess {
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<std::io::Result<()>>,
}

impl InProcess {
    /// Cancels and waits for `serve` to return.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(HANG_GUARD, self.task)
            .await
            .expect("server stops within the hang guard")
            .expect("server task did not panic")
            .expect("serve returns Ok");
    }
}

fn loopback_listener() -> tokio::net::TcpListener {
    net::bind("127.0.0.1:0".parse().unwrap(), net::DEFAULT_BACKLOG).expect("bind 127.0.0.1:0")
}

pub fn start_app(config: app::Config) -> InProcess {
    start_app_within(config, servers::Limits::default())
}

/// [`start_app`] with the accept loop's `limits`.
pub fn start_app_within(config: app::Config, limits: servers::Limits) -> InProcess {
    let listener = loopback_listener();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(servers::serve(
        listener,
        limits,
        config,
        None,
        shutdown.clone(),
    ));
    InProcess {
        addr,
        shutdown,
        task,
    }
}

pub fn start_echo(config: echo::Config) -> InProcess {
    let listener = loopback_listener();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(servers::serve(
        listener,
        servers::Limits::default(),
        config,
        None,
        shutdown.clone(),
    ));
    InProcess {
        addr,
        shutdown,
        task,
    }
}

/// How a request is cut into writes.
#[derive(Debug, Clone, Copy)]
pub enum Split {
    Whole,
    ByteByByte,
    /// Random cuts, from this seed.
    Random(u64),
}

/// Writes `bytes` as `split` says, then reads until the server closes.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], split: Split) -> Vec<u8> {
    tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        write_split(&mut stream, bytes, split).await;
        read_to_close(&mut stream).await
    })
    .await
    .expect("exchange finished within the hang guard")
}

/// `clients` connections at once to the echo server at `addr`, client `i`
/// sending `size(i)` pseudo-random bytes in random cuts while reading, then
/// half-closing: each must get exactly its bytes back.
pub async fn echoes_every_byte(addr: SocketAddr, clients: u64, size: fn(u64) -> usize) {
    use rand::{RngCore, SeedableRng};
    let clients: Vec<_> = (0..clients)
        .map(|i| {
            tokio::spawn(async move {
                let mut data = vec![0u8; size(i)];
                rand::rngs::StdRng::seed_from_u64(i).fill_bytes(&mut data);
                tokio::time::timeout(HANG_GUARD, async {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut read, mut write) = stream.into_split();
                    // Read while writing: the echo must not wait for the end.
                    let reader = tokio::spawn(async move {
                        let mut out = Vec::new();
                        read.read_to_end(&mut out).await.unwrap();
                        out
                    });
                    write_split(&mut write, &data, Split::Random(i)).await;
                    write.shutdown().await.unwrap();
                    (reader.await.unwrap() == data, i)
                })
                .await
                .expect("hang guard")
            })
        })
        .collect();
    for client in clients {
        let (ok, i) = client.await.unwrap();
        assert!(ok, "connection {i}: echo differs");
    }
}

pub async fn write_split<W: AsyncWrite + Unpin>(stream: &mut W, bytes: &[u8], split: Split) {
    use rand::{Rng, SeedableRng};
    match split {
        Split::Whole => stream.write_all(bytes).await.unwrap(),
        Split::ByteByByte => {
            for b in bytes {
                stream.write_all(std::slice::from_ref(b)).await.unwrap();
                // Give the server a chance to read each byte on its own.
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
        Split::Random(seed) => {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut rest = bytes;
            while !rest.is_empty() {
                let n = rng.random_range(1..=rest.len().min(40));
                stream.write_all(&rest[..n]).await.unwrap();
                rest = &rest[n..];
                tokio::time::sleep(Duration::from_micros(300)).await;
            }
        }
    }
}

/// Everything the peer sends until it closes (a reset counts as a close).
pub async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A program running as a real process, its stdout collected line by line.
pub struct Process {
    pub child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Process {
    pub fn spawn(program: &str, args: &[&str]) -> Process {
        let mut child = Command::new(program)
            .args(args)
            .env_remove("RUST_LOG")
            .env("PYTHONIOENCODING", "utf-8")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Process { child, lines }
    }

    /// Waits (bounded by the hang guard) for a stdout line matching `pred`.
    pub fn wait_for_line(&self, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_nth(0, pred)
    }

    /// Waits (bounded) for the `n`th (from 0) stdout line matching `pred`.
    pub fn wait_for_nth(&self, n: usize, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().filter(|l| pred(l)).nth(n) {
                return line.clone();
            }
            if start.elapsed() > HANG_GUARD {
                panic!(
                    "no such line within the hang guard; got: {:#?}",
                    self.lines.lock().unwrap()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The port from the `Listening on (…, PORT)` line.
    pub fn listening_port(&self) -> u16 {
        let line = self.wait_for_line(|l| l.starts_with("Listening on "));
        port_of(&line)
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Sends SIGTERM and waits for the exit status (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Sends a signal (`TERM`, `INT`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    pub fn wait(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > HANG_GUARD {
                let _ = self.child.kill();
                panic!("process did not exit within the hang guard");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in a line ending `…, PORT)`.
pub fn port_of(line: &str) -> u16 {
    let tail = line.rsplit(", ").next().expect("a tuple");
    tail.trim_end_matches(')').parse().expect("a port")
}

/// Runs a program to completion (bounded), returning (status, stdout, stderr).
pub fn run(program: &str, args: &[&str]) -> (std::process::ExitStatus, String, String) {
    let child = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    // wait_with_output drains both pipes, so a chatty program cannot block on a full pipe.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(HANG_GUARD) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{program} {args:?} did not finish within the hang guard");
        }
    };
    (
        out.status,
        String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    )
}

/// The Python interpreter, if this machine has one.
pub fn python3() -> Option<&'static str> {
    let ok = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some("python3")
}

/// Path of one of this package's examples. `cargo test` builds them beside
/// the test binaries (`target/PROFILE/examples/`), but unlike binaries they
/// get no `CARGO_BIN_EXE_*` variable.
pub fn example(name: &str) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/PROFILE/deps/TEST-HASH → target/PROFILE/examples/NAME
    let path = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("the test binary is in target/PROFILE/deps")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: `cargo test -p tutorial` builds the examples, or run `cargo build -p tutorial --example {name}`",
        path.display()
    );
    path.to_str().expect("a UTF-8 path").to_owned()
}

/// Path of a Python fixture in tests/python.
pub fn python_fixture(name: &str) -> String {
    format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"))
}
