//! The event-loop server (`multiconn-server --event-loop`,
//! `servers::event_loop`) over real loopback sockets: against a Python
//! selectors client, under 200 connections at once, and what its
//! observation says about each iteration.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{echoes_every_byte, python3, python_fixture, read_to_close, run, Process, HANG_GUARD};
use protocol::relay_api::{Observed, Readiness};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tutorial::servers::event_loop::{self, Config};
use tutorial::servers::observe::{ConnectionSink, Hook, ServerHook};

/// The event loop on its own thread, stopped through its waker.
struct Running {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn start(config: Config, hook: Option<Hook>) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(event_loop::serve(listener, config, hook, shutdown.clone()));
    Running {
        addr,
        shutdown,
        task,
    }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(HANG_GUARD, self.task)
            .await
            .expect("the loop stops within the hang guard")
            .unwrap()
            .expect("serve returns Ok");
    }
}

/// Every connection watched; each one's events kept in order, by the
/// client's address.
#[derive(Default)]
struct Recorder {
    connections: Mutex<BTreeMap<SocketAddr, Arc<Events>>>,
}

#[derive(Default)]
struct Events(Mutex<Vec<Observed>>);

impl ConnectionSink for Events {
    fn observe(&self, event: Observed) {
        self.0.lock().unwrap().push(event);
    }
    fn sample_every(&self) -> Duration {
        Duration::from_secs(3600)
    }
}

impl ServerHook for Recorder {
    fn accepted(&self, _local: SocketAddr, peer: SocketAddr) -> Option<Arc<dyn ConnectionSink>> {
        let events = Arc::new(Events::default());
        self.connections
            .lock()
            .unwrap()
            .insert(peer, events.clone());
        Some(events)
    }
}

const TUTORIAL_ECHO: &str = "Message 1 from client.Message 2 from client.";

/// What each connection received, from a multiconn client's
/// `Received b'…' from connection N` lines, in order.
fn received_by_connection(stdout: &str) -> BTreeMap<u32, String> {
    let mut received: BTreeMap<u32, String> = BTreeMap::new();
    for line in stdout.lines() {
        if let Some(rest) = line.strip_prefix("Received b'") {
            let (bytes, connid) = rest.rsplit_once("' from connection ").expect("client line");
            received
                .entry(connid.parse().unwrap())
                .or_default()
                .push_str(bytes);
        }
    }
    received
}

#[test]
fn the_python_selectors_client_gets_both_messages_back_on_every_connection() {
    let Some(python) = python3() else {
        eprintln!(
            "\n!!! SKIPPED: python3 is not installed; the Python interop is NOT tested !!!\n"
        );
        return;
    };
    let server = Process::spawn(
        env!("CARGO_BIN_EXE_multiconn-server"),
        &["127.0.0.1", "0", "--event-loop"],
    );
    let port = server.listening_port().to_string();
    let fixture = python_fixture("multiconn_client.py");
    let (status, stdout, stderr) = run(python, &[&fixture, "127.0.0.1", &port, "5"]);
    assert!(status.success(), "{stderr}");
    let received = received_by_connection(&stdout);
    assert_eq!(received.len(), 5, "{stdout}");
    for (connid, bytes) in &received {
        assert_eq!(bytes, TUTORIAL_ECHO, "connection {connid}");
        assert!(stdout.contains(&format!("Closing connection {connid}\n")));
    }
    server.wait_for_nth(4, |l| l.starts_with("Closing connection to"));
    let lines = server.lines();
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("Accepted connection from ('127.0.0.1', "), 5);
    assert_eq!(count("Closing connection to ('127.0.0.1', "), 5);
    assert!(count("Echoing b'Message 1 from client.") >= 5, "{lines:#?}");
}

#[test]
fn the_rust_multiconn_client_and_the_event_loop_server_processes_interoperate() {
    let mut server = Process::spawn(
        env!("CARGO_BIN_EXE_multiconn-server"),
        &["127.0.0.1", "0", "--event-loop"],
    );
    let port = server.listening_port().to_string();
    let (status, stdout, stderr) = run(
        env!("CARGO_BIN_EXE_multiconn-client"),
        &["127.0.0.1", &port, "3"],
    );
    assert!(status.success(), "{stderr}");
    // The echo may come back in one recv() or two: one per message the
    // server read.
    let received = received_by_connection(&stdout);
    assert_eq!(received.len(), 3, "{stdout}");
    for (connid, bytes) in &received {
        assert_eq!(bytes, TUTORIAL_ECHO, "connection {connid}");
    }
    assert!(server.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_connections_get_every_byte_back() {
    // All from 127.0.0.1: over the default per-address share (64).
    let server = start(
        Config {
            max_connections_per_ip: 256,
            ..Config::default()
        },
        None,
    );
    echoes_every_byte(server.addr, 200, |i| 3_000 + i as usize * 211).await;
    server.stop().await;
}

#[tokio::test]
async fn a_connection_is_never_owed_more_than_the_cap_and_every_byte_still_comes_back() {
    let recorder = Arc::new(Recorder::default());
    let server = start(
        Config {
            max_owed: 100,
            ..Config::default()
        },
        Some(Hook(recorder.clone())),
    );
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let sent = data.clone();
    // Write everything before reading anything: the loop must stop reading
    // at the cap rather than buffer it all, and resume as the echo drains.
    let writer = tokio::spawn(async move {
        write.write_all(&sent).await.unwrap();
        write.shutdown().await.unwrap();
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut back = Vec::new();
    tokio::time::timeout(HANG_GUARD, read.read_to_end(&mut back))
        .await
        .expect("hang guard")
        .unwrap();
    writer.await.unwrap();
    assert!(
        back == data,
        "echo differs ({} of {} bytes)",
        back.len(),
        data.len()
    );
    server.stop().await;
    // What the server held for this client, after each of its calls.
    let connections = recorder.connections.lock().unwrap();
    let events = connections.values().next().unwrap().0.lock().unwrap();
    let mut owed = 0u64;
    let mut most = 0;
    for event in events.iter() {
        match event {
            Observed::ServerRecv { len, .. } => owed += len,
            Observed::ServerSend { sent, .. } => owed -= sent,
            _ => {}
        }
        most = most.max(owed);
    }
    assert_eq!(most, 100, "the cap is reached and never passed");
}

#[tokio::test]
async fn connections_over_the_cap_wait_in_the_backlog_and_are_served_when_one_closes() {
    let server = start(
        Config {
            max_connections: 1,
            ..Config::default()
        },
        None,
    );
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first.write_all(b"one").await.unwrap();
    let mut got = [0u8; 3];
    first.read_exact(&mut got).await.unwrap();
    // The second completes its handshake (the kernel's backlog) but is not
    // served while the first holds the only slot.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second.write_all(b"two").await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), second.read(&mut got)).await;
    assert!(waited.is_err(), "served over the cap: {waited:?}");
    drop(first);
    tokio::time::timeout(HANG_GUARD, second.read_exact(&mut got))
        .await
        .expect("served once the slot is free")
        .unwrap();
    assert_eq!(&got, b"two");
    server.stop().await;
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let server = start(
        Config {
            idle_timeout: Duration::from_millis(200),
            ..Config::default()
        },
        None,
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let got = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
        .await
        .expect("closed within the hang guard");
    assert_eq!(got, b"ping");
    server.stop().await;
}

#[tokio::test]
async fn stopping_closes_open_connections() {
    let server = start(Config::default(), None);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    stream.read_exact(&mut one).await.unwrap();
    server.stop().await;
    let rest = tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
        .await
        .expect("closed by the stop");
    assert!(rest.is_empty());
}

/// One connection's events, checked against the loop's rules; returns the
/// iterations it was ready in.
fn check_iterations(peer: SocketAddr, events: &[Observed]) -> Vec<u64> {
    let mut current: Option<(u64, Readiness)> = None;
    let mut iterations = Vec::new();
    let mut accepted = false;
    for event in events {
        match event {
            Observed::ServerReady {
                iteration,
                ready,
                io,
            } => {
                assert!(*ready >= 1, "{peer}: {event:?}");
                if let Some((last, _)) = current {
                    assert!(
                        *iteration > last,
                        "{peer}: iterations go forward: {events:#?}"
                    );
                }
                assert_eq!(
                    *io == Readiness::Accept,
                    current.is_none(),
                    "{peer}: the first iteration, and only it, is the accept: {events:#?}"
                );
                current = Some((*iteration, *io));
                iterations.push(*iteration);
            }
            Observed::ServerAccept { .. } => {
                assert!(matches!(current, Some((_, Readiness::Accept))), "{peer}");
                accepted = true;
            }
            Observed::ServerRecv { .. } => {
                let (_, io) = current.expect("a recv inside an iteration");
                assert!(accepted, "{peer}: read before accepted");
                assert!(
                    matches!(io, Readiness::Read | Readiness::ReadWrite),
                    "{peer}: recv() in an iteration that found it {io:?}: {events:#?}"
                );
            }
            Observed::ServerSend { .. } => {
                let (_, io) = current.expect("a send inside an iteration");
                assert!(io.writable(), "{peer}: send() while not writable");
            }
            _ => {}
        }
    }
    assert!(
        matches!(events.last(), Some(Observed::ServerClose)),
        "{peer}: {events:#?}"
    );
    iterations
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_socket_is_reported_ready_before_it_is_read() {
    let recorder = Arc::new(Recorder::default());
    let server = start(Config::default(), Some(Hook(recorder.clone())));
    let clients: Vec<_> = (0..20)
        .map(|_| {
            let addr = server.addr;
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                for message in ["Message 1 from client.", "Message 2 from client."] {
                    stream.write_all(message.as_bytes()).await.unwrap();
                    tokio::task::yield_now().await;
                }
                stream.shutdown().await.unwrap();
                tokio::time::timeout(HANG_GUARD, read_to_close(&mut stream))
                    .await
                    .expect("hang guard")
            })
        })
        .collect();
    for client in clients {
        assert_eq!(client.await.unwrap(), TUTORIAL_ECHO.as_bytes());
    }
    server.stop().await;
    let connections = recorder.connections.lock().unwrap();
    assert_eq!(connections.len(), 20);
    // Iteration numbers are the loop's own: merged over every connection, no
    // two accepts share one (one accept() per readiness, as the tutorial).
    let mut accepts = Vec::new();
    for (peer, events) in connections.iter() {
        let events = events.0.lock().unwrap();
        let iterations = check_iterations(*peer, &events);
        accepts.push(iterations[0]);
        let received: u64 = events
            .iter()
            .filter_map(|e| match e {
                Observed::ServerRecv { len, .. } => Some(*len),
                _ => None,
            })
            .sum();
        assert_eq!(received, TUTORIAL_ECHO.len() as u64, "{peer}");
        // The client's FIN closes the connection: its recv() → b'' is shown.
        let last_recv = events
            .iter()
            .rev()
            .find(|e| matches!(e, Observed::ServerRecv { .. }));
        assert!(
            matches!(last_recv, Some(Observed::ServerRecv { len: 0, .. })),
            "{peer}: the close's recv() → b'' is missing: {events:#?}"
        );
        assert!(events.iter().any(|e| matches!(
            e,
            Observed::ServerLog { line, .. } if line.starts_with("Echoing b'Message 1 from client.")
        )));
    }
    accepts.sort_unstable();
    accepts.dedup();
    assert_eq!(accepts.len(), 20, "one accept per iteration: {accepts:?}");
}
