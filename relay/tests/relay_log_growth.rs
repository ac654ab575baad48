//! What a stranger's bytes cost the log at the level the systemd unit
//! sets (info): a few lines per session, whatever it sends (issue 23: 1 MiB
//! to `lines` grew the log by 53 MB, a line per message, echo's up to
//! 12 KB). The embedded servers' per-message lines go to debug and to the
//! session's observers.

mod support;

use std::fmt;
use std::sync::{Arc, Mutex};

use protocol::relay_api::TargetInfo;
use relay::config::RelayConfig;
use std::time::{Duration, Instant};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::field::{Field, Visit};
use tracing::Subscriber;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;
use tutorial::truncate::LOG_MAX;

/// Every event's message at info and above, as formatted for a log line.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl Visit for Message<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl<S: Subscriber> Layer<S> for Lines {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = String::new();
        event.record(&mut Message(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

impl Lines {
    fn bytes(&self) -> usize {
        self.0.lock().unwrap().iter().map(|l| l.len() + 1).sum()
    }
    fn longest(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(0)
    }
}

const MIB: usize = 1024 * 1024;
/// What one session may add to the log at info: its own lines and the
/// server's accept and close, with room for their words.
const PER_SESSION: usize = 8 * 1024;

/// 1 MiB through `target`, in 64 KiB messages, all of it read back.
async fn a_mebibyte_through(relay: &TestRelay, target: &str, data: &[u8]) {
    let mut ws = connect(relay.addr, target).await;
    for chunk in data.chunks(64 * 1024) {
        send(&mut ws, chunk).await;
    }
    send(&mut ws, b"").await;
    let received = read_to_close(&mut ws).await;
    assert!(
        received.bytes().len() >= data.len(),
        "{target}: {}",
        received.bytes().len()
    );
}

/// One test in this binary: the subscriber is the test thread's (the relay
/// and its tokio servers run on it).
#[tokio::test]
async fn a_strangers_bytes_and_connections_add_a_bounded_number_of_lines_at_info() {
    let lines = Lines::default();
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(lines.clone().with_filter(LevelFilter::INFO)),
    );
    let relay = start(
        RelayConfig {
            show_addresses: true,
            refusal_log_rate: RATE,
            ..test_config()
        },
        &[],
    )
    .await;
    // Short lines: one message each for the framing server.
    let line = [b"x".repeat(63), b"\n".to_vec()].concat();
    let data = line.repeat(MIB / line.len());
    for target in ["lines", "echo"] {
        let before = lines.bytes();
        a_mebibyte_through(&relay, target, &data).await;
        // The server's closing line comes a moment after the relay's.
        eventually(|| {
            lines
                .0
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.starts_with("Closing connection to"))
        })
        .await;
        let grew = lines.bytes() - before;
        // The figure in docs/benchmarks.md ("Log lines per session").
        eprintln!("{target}: 1 MiB grew the log at info by {grew} bytes");
        let first: Vec<String> = lines.0.lock().unwrap().iter().take(20).cloned().collect();
        assert!(
            grew < PER_SESSION,
            "{target}: 1 MiB grew the log by {grew} bytes: {first:#?}"
        );
        assert!(lines.longest() <= LOG_MAX + 64, "{}", lines.longest());
        lines.0.lock().unwrap().clear();
    }
    connection_lines_beyond_the_rate_are_counted_not_logged(&relay, &lines).await;
}

/// `--refusal-log-rate` in these tests.
const RATE: u32 = 5;

/// Connections straight to the echo server's port, one after another:
/// their accept and close lines stop at the rate; a later second says how
/// many were not logged.
async fn connection_lines_beyond_the_rate_are_counted_not_logged(relay: &TestRelay, lines: &Lines) {
    const CONNECTIONS: usize = 60;
    let (_, body) = http_get(relay.addr, "/targets", &[]).await;
    let echo: std::net::SocketAddr = TargetInfo::list_from_json(&body)
        .unwrap()
        .into_iter()
        .find(|t| t.name == "echo")
        .and_then(|t| t.address)
        .unwrap()
        .parse()
        .unwrap();
    let started = Instant::now();
    for _ in 0..CONNECTIONS {
        let mut stream = within(TcpStream::connect(echo)).await.unwrap();
        stream.write_all(b"x").await.unwrap();
        let mut got = [0u8; 1];
        within(stream.read_exact(&mut got)).await.unwrap();
    }
    let seconds = started.elapsed().as_secs() + 1;
    let logged = |prefix: &str| {
        lines
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count() as u64
    };
    let accepted = logged("Accepted connection from");
    assert!(
        accepted <= u64::from(RATE) * seconds,
        "{accepted} accept lines for {CONNECTIONS} connections in {seconds} s"
    );
    // The next second's first line reports the rest.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut last = within(TcpStream::connect(echo)).await.unwrap();
    last.write_all(b"x").await.unwrap();
    let mut got = [0u8; 1];
    within(last.read_exact(&mut got)).await.unwrap();
    eventually(|| {
        lines
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("more server log lines not logged"))
    })
    .await;
}
