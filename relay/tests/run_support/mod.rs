//! What the `--run` tests share: the `relay` binary started with `--run`
//! and a program from `tests/programs/`, and a WebSocket session's
//! observation events read whole.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::Stdio;

use futures_util::StreamExt;
use protocol::relay_api::{Observation, Observed};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{within, Ws};

/// A Python program of `tests/programs/`.
pub fn program(file: &str) -> String {
    format!("{}/tests/programs/{file}", env!("CARGO_MANIFEST_DIR"))
}

/// A port nothing listens on now (the program binds it next).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The relay binary with `--run mine=127.0.0.1:PORT -- PROGRAM…`.
pub struct RunRelay {
    pub child: Child,
    pub addr: SocketAddr,
    pub port: u16,
    lines: tokio::io::Lines<BufReader<ChildStdout>>,
    pub seen: Vec<String>,
}

impl RunRelay {
    /// Runs `python3 FILE 127.0.0.1 PORT` as target `mine`.
    pub async fn python(file: &str, flags: &[&str]) -> RunRelay {
        let port = free_port();
        let program = [
            "python3".to_owned(),
            program(file),
            "127.0.0.1".into(),
            port.to_string(),
        ];
        RunRelay::start(port, &program, flags, &[]).await
    }

    /// Runs `argv` as target `mine` at 127.0.0.1:`port`.
    pub async fn start(
        port: u16,
        argv: &[String],
        flags: &[&str],
        env: &[(&str, String)],
    ) -> RunRelay {
        RunRelay::start_with(port, argv, flags, env, |_| {}).await
    }

    /// [`RunRelay::start`], with the relay's command changed by `change`.
    pub async fn start_with(
        port: u16,
        argv: &[String],
        flags: &[&str],
        env: &[(&str, String)],
        change: impl FnOnce(&mut Command),
    ) -> RunRelay {
        let run = format!("mine=127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
        change(&mut command);
        let mut child = command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--dist",
                "/nonexistent-wirelab-dist",
            ])
            .args(["--no-embedded", "--run", &run])
            .args(flags)
            .arg("--")
            .args(argv)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("relay binary");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let addr = within(async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("relay exited early: {seen:#?}"));
                seen.push(line.clone());
                if let Some(rest) = line.strip_prefix("relay listening on http://") {
                    break rest.split('/').next().unwrap().parse().unwrap();
                }
            }
        })
        .await;
        RunRelay {
            child,
            addr,
            port,
            lines,
            seen,
        }
    }

    /// Reads the relay's output until a line contains `needle`.
    pub async fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        within(async {
            loop {
                let line = self
                    .lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("output ended before {needle:?}"));
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        })
        .await
    }

    /// The program's pid, as `/targets` gives it.
    pub async fn program_pid(&self) -> i32 {
        let (_, body) = crate::support::http_get(self.addr, "/targets", &[]).await;
        let targets = protocol::relay_api::TargetInfo::list_from_json(&body).unwrap();
        targets[0].program.as_ref().expect("a program").pid as i32
    }
}

/// What one observed session got: its events, bytes and close frame.
#[derive(Debug, Default)]
pub struct Seen {
    pub events: Vec<Observed>,
    pub bytes: Vec<u8>,
    pub close: Option<(u16, String)>,
}

impl Seen {
    pub fn kinds(&self) -> Vec<String> {
        self.events.iter().map(kind).collect()
    }

    /// The first event `pick` takes.
    pub fn find<T>(&self, pick: impl FnMut(&Observed) -> Option<T>) -> Option<T> {
        self.events.iter().find_map(pick)
    }

    /// Every event `pick` takes.
    pub fn all<T>(&self, pick: impl FnMut(&Observed) -> Option<T>) -> Vec<T> {
        self.events.iter().filter_map(pick).collect()
    }

    /// The relay's own address on this session's connection (its `connect`).
    pub fn relay_local(&self) -> String {
        self.find(|e| match e {
            Observed::Connect { local, .. } => Some(local.clone()),
            _ => None,
        })
        .expect("a connect event")
    }

    /// The lines the program printed, as `server_log` brought them.
    pub fn lines(&self) -> Vec<String> {
        self.all(|e| match e {
            Observed::ServerLog { line, .. } => Some(line.clone()),
            _ => None,
        })
    }
}

/// An event's `kind` as the wire names it.
pub fn kind(event: &Observed) -> String {
    let json = Observation::new(0, event.clone()).to_json_value();
    let kind = json.as_object().and_then(|o| o.get("kind"));
    kind.and_then(|k| k.as_str()).unwrap().to_owned()
}

/// Reads until `done` says so (or the close frame), keeping everything.
pub async fn read_until(ws: &mut Ws, seen: &mut Seen, mut done: impl FnMut(&Seen) -> bool) {
    within(async {
        while !done(seen) {
            let Some(message) = ws.next().await else {
                return;
            };
            match message.expect("no websocket error") {
                Message::Binary(bytes) => seen.bytes.extend_from_slice(&bytes),
                Message::Text(text) => {
                    let observation =
                        Observation::from_json(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
                    assert_eq!(observation.conn, None, "a session's own events: {text}");
                    seen.events.push(observation.event);
                }
                Message::Close(frame) => {
                    seen.close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return;
                }
                _ => {}
            }
        }
    })
    .await;
}

/// Reads to the close frame (and answers it).
pub async fn read_to_close(ws: &mut Ws, seen: &mut Seen) {
    read_until(ws, seen, |_| false).await;
    within(async { while let Some(Ok(_)) = ws.next().await {} }).await;
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
pub fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}
