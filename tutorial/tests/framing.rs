//! The framing servers over real loopback sockets: byte-exact echoes per
//! mode however the stream is split, where they cut (through the observation
//! hook), the until-EOF server waiting for the half-close, and the
//! framing-client/framing-server programs together.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{read_to_close, run, write_split, Process, Split, HANG_GUARD};
use protocol::framing::{FramePart, Framing, Wait};
use protocol::relay_api::{FramerStep, Observed};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tutorial::servers::framing::Config;
use tutorial::servers::observe::{ConnectionSink, Hook, ServerHook};
use tutorial::servers::{self, net};

type Events = Arc<Mutex<Vec<Observed>>>;

/// Watches every connection, recording its events in order.
struct Recorder(Events);

impl ServerHook for Recorder {
    fn accepted(&self, _: SocketAddr, _: SocketAddr) -> Option<Arc<dyn ConnectionSink>> {
        Some(Arc::new(Sink(self.0.clone())))
    }
}

struct Sink(Events);

impl ConnectionSink for Sink {
    fn observe(&self, event: Observed) {
        self.0.lock().unwrap().push(event);
    }
    fn sample_every(&self) -> Duration {
        Duration::from_secs(3600)
    }
}

struct Server {
    addr: SocketAddr,
    events: Events,
    shutdown: CancellationToken,
}

impl Server {
    fn steps(&self) -> Vec<FramerStep> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                Observed::ServerFramer(step) => Some(step.clone()),
                _ => None,
            })
            .collect()
    }

    fn sends(&self) -> usize {
        let events = self.events.lock().unwrap();
        events
            .iter()
            .filter(|e| matches!(e, Observed::ServerSend { .. }))
            .count()
    }

    /// Waits (bounded by the hang guard) until `pred` holds for the steps.
    async fn until(&self, pred: impl Fn(&[FramerStep]) -> bool) {
        tokio::time::timeout(HANG_GUARD, async {
            while !pred(&self.steps()) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the server got there within the hang guard");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn start(config: Config) -> Server {
    let listener = net::bind("127.0.0.1:0".parse().unwrap(), net::DEFAULT_BACKLOG).unwrap();
    let addr = listener.local_addr().unwrap();
    let events = Events::default();
    let hook = Hook(Arc::new(Recorder(events.clone())));
    let shutdown = CancellationToken::new();
    tokio::spawn(servers::serve(
        listener,
        servers::Limits::default(),
        config.handler().expect("a valid framing"),
        Some(hook),
        shutdown.clone(),
    ));
    Server {
        addr,
        events,
        shutdown,
    }
}

/// Sends `bytes` split as told, half-closes, and returns all that came back.
async fn send_and_half_close(addr: SocketAddr, bytes: &[u8], split: Split) -> Vec<u8> {
    tokio::time::timeout(HANG_GUARD, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        write_split(&mut stream, bytes, split).await;
        stream.shutdown().await.unwrap();
        read_to_close(&mut stream).await
    })
    .await
    .expect("exchange within the hang guard")
}

fn framed(framing: Framing, payloads: &[&[u8]]) -> Vec<u8> {
    payloads
        .iter()
        .flat_map(|p| framing.encode(p).unwrap().bytes)
        .collect()
}

const SPLITS: [Split; 4] = [
    Split::Whole,
    Split::ByteByByte,
    Split::Random(1),
    Split::Random(14),
];

#[tokio::test]
async fn every_mode_echoes_its_messages_byte_for_byte_however_the_stream_is_split() {
    let payloads: [&[u8]; 3] = [b"Hello, world", b"", b"\x00\xffbinary bytes too"];
    for framing in [
        // Long enough for each payload: a longer one would be sent whole and
        // leave the server waiting for the rest of another message.
        Framing::Fixed { len: 20 },
        Framing::Delimited { byte: b'\n' },
        Framing::LengthPrefixed,
    ] {
        let server = start(Config::new(framing));
        let sent = framed(framing, &payloads);
        for split in SPLITS {
            let back = send_and_half_close(server.addr, &sent, split).await;
            assert_eq!(back, sent, "{framing:?} split {split:?}");
        }
    }
    let server = start(Config::new(Framing::UntilEof));
    for split in SPLITS {
        let back = send_and_half_close(server.addr, b"one message\nuntil the FIN", split).await;
        assert_eq!(
            back, b"one message\nuntil the FIN",
            "until EOF split {split:?}"
        );
    }
}

#[tokio::test]
async fn a_newline_inside_a_line_is_cut_there_and_comes_back_as_two_lines() {
    let server = start(Config::new(Framing::Delimited { byte: b'\n' }));
    let back = send_and_half_close(server.addr, b"two\nlines\n", Split::Whole).await;
    assert_eq!(back, b"two\nlines\n");
    let cuts: Vec<(u64, u64, u64)> = server
        .steps()
        .into_iter()
        .filter_map(|s| match s {
            FramerStep::Cut {
                start,
                frame_len,
                len,
            } => Some((start, frame_len, len)),
            _ => None,
        })
        .collect();
    assert_eq!(cuts, [(0, 4, 3), (4, 6, 5)]);
}

#[tokio::test]
async fn the_fixed_server_waits_for_the_rest_of_a_short_message_and_says_how_much() {
    let server = start(Config::new(Framing::Fixed { len: 8 }));
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"Hi!").await.unwrap();
    let waiting = FramerStep::Waiting(Wait::Bytes {
        part: FramePart::Payload,
        have: 3,
        need: 8,
    });
    server.until(|steps| steps.contains(&waiting)).await;
    assert_eq!(server.sends(), 0, "nothing can be echoed before 8 bytes");
    stream.write_all(b"12345").await.unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(read_to_close(&mut stream).await, b"Hi!12345");
}

#[tokio::test]
async fn the_until_eof_server_cannot_answer_until_the_client_half_closes() {
    let server = start(Config::new(Framing::UntilEof));
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(b"are you there?").await.unwrap();
    let waiting = FramerStep::Waiting(Wait::Eof { have: 14 });
    server.until(|steps| steps.contains(&waiting)).await;
    assert_eq!(server.sends(), 0, "no reply before the FIN");
    stream.shutdown().await.unwrap();
    assert_eq!(read_to_close(&mut stream).await, b"are you there?");
    server
        .until(|steps| {
            steps.contains(&FramerStep::Cut {
                start: 0,
                frame_len: 14,
                len: 14,
            })
        })
        .await;
}

#[tokio::test]
async fn a_length_prefix_over_the_limit_closes_the_connection_without_an_answer() {
    let server = start(Config {
        max_payload: 100,
        ..Config::new(Framing::LengthPrefixed)
    });
    let back = send_and_half_close(server.addr, &[0xff, 0xff, b'x'], Split::Whole).await;
    assert!(back.is_empty());
    server
        .until(|steps| matches!(steps.last(), Some(FramerStep::Failed { .. })))
        .await;
    let Some(FramerStep::Failed { error }) = server.steps().pop() else {
        unreachable!()
    };
    assert_eq!(error, "a message of 65535 bytes is over the limit of 100");
}

#[test]
fn framing_client_and_server_processes_agree_in_every_mode() {
    for (mode, extra, expected) in [
        ("fixed", vec!["--len", "4"], vec!["Received b'Hell'"]),
        (
            "lines",
            vec![],
            vec!["Received b'two'", "Received b'lines'"],
        ),
        ("prefix", vec![], vec!["Received b'two\\nlines'"]),
        ("close", vec![], vec!["Received b'two\\nlines'"]),
    ] {
        let mut args = vec!["127.0.0.1", "0", "--mode", mode];
        args.extend(&extra);
        let mut server = Process::spawn(env!("CARGO_BIN_EXE_framing-server"), &args);
        let port = server.listening_port().to_string();
        let message = if mode == "fixed" {
            "Hello"
        } else {
            "two\nlines"
        };
        let mut client_args = vec!["127.0.0.1", &port, "--mode", mode, "--message", message];
        client_args.extend(&extra);
        let (status, stdout, stderr) = run(env!("CARGO_BIN_EXE_framing-client"), &client_args);
        assert!(status.success(), "{mode}: {stdout}{stderr}");
        let received: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("Received"))
            .collect();
        assert_eq!(received, expected, "{mode}");
        if mode == "fixed" {
            assert!(stdout.contains("1 bytes go past the fixed length"));
        }
        if mode == "close" {
            assert!(stdout.contains("Shutting down the sending side (SHUT_WR)"));
        }
        server.terminate();
    }
}
