//! Test doubles for the bridge: a channel-backed browser and a duplex-pipe
//! target ([`harness`]), a browser socket whose writes can be inspected
//! ([`Wire`]), and a target that sends scripted reads ([`Script`]).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_channel::mpsc;
use futures_util::{Sink, SinkExt};
use tokio::io::{duplex, AsyncRead, DuplexStream, ReadBuf, ReadHalf, WriteHalf};
use tokio_util::sync::CancellationToken;

use super::{bridge, Ending, SessionContext, SessionReport, SessionStats};
use crate::config::RelayConfig;

/// Longest any bridge test waits before calling it a hang (a guard, not a
/// speed assertion).
pub(super) const HANG_GUARD: Duration = Duration::from_secs(10);

/// The browser's ends of a channel-backed WebSocket, and the target's end of a duplex pipe.
pub(super) struct Harness {
    pub to_relay: mpsc::Sender<Result<Message, String>>,
    pub from_relay: mpsc::Receiver<Message>,
    pub target: DuplexStream,
}

pub(super) type WsTx =
    futures_util::sink::SinkMapErr<mpsc::Sender<Message>, fn(mpsc::SendError) -> String>;

pub(super) struct RelaySide {
    pub ws_tx: WsTx,
    pub ws_rx: mpsc::Receiver<Result<Message, String>>,
    pub up_rd: ReadHalf<DuplexStream>,
    pub up_wr: WriteHalf<DuplexStream>,
}

/// `capacity` bounds the browser's channel (its unread messages) and the pipe.
pub(super) fn harness(capacity: usize, pipe: usize) -> (Harness, RelaySide) {
    let (to_relay, ws_rx) = mpsc::channel(capacity);
    let (ws_tx, from_relay) = mpsc::channel(capacity);
    let (relay_end, target) = duplex(pipe);
    let (rd, wr) = tokio::io::split(relay_end);
    let to_string: fn(mpsc::SendError) -> String = |e| e.to_string();
    (
        Harness {
            to_relay,
            from_relay,
            target,
        },
        RelaySide {
            ws_tx: ws_tx.sink_map_err(to_string),
            ws_rx,
            up_rd: rd,
            up_wr: wr,
        },
    )
}

pub(super) fn config() -> RelayConfig {
    RelayConfig {
        read_chunk: 1024,
        idle_timeout: Duration::from_secs(30),
        close_grace: Duration::from_millis(500),
        ..RelayConfig::default()
    }
}

pub(super) async fn run(
    mut side: RelaySide,
    config: RelayConfig,
    stats: Arc<SessionStats>,
    shutdown: CancellationToken,
) -> SessionReport {
    bridge(
        &mut side.ws_tx,
        &mut side.ws_rx,
        &mut side.up_rd,
        &mut side.up_wr,
        SessionContext {
            config: &config,
            stats: &stats,
            shutdown: &shutdown,
            taps: None,
            observing: None,
            record: None,
            embedded: None,
            close_request: None,
            gone: None,
            capture: None,
        },
    )
    .await
}

pub(super) fn stats() -> Arc<SessionStats> {
    Arc::new(SessionStats::new(Arc::default()))
}

pub(super) async fn within<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .expect("hang guard")
}

/// A browser socket whose writes are visible: each message queued, and
/// each flush (one socket write), in order.
#[derive(Clone, Default)]
pub(super) struct Wire(Arc<std::sync::Mutex<Vec<Option<Message>>>>);

impl Wire {
    /// The messages of each write.
    pub(super) fn writes(&self) -> Vec<Vec<Message>> {
        let events = self.0.lock().unwrap();
        events
            .split(Option::is_none)
            .filter(|write| !write.is_empty())
            .map(|write| write.iter().flatten().cloned().collect())
            .collect()
    }
}

impl Sink<Message> for Wire {
    type Error = String;
    fn poll_ready(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Result<(), String>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), String> {
        self.0.lock().unwrap().push(Some(message));
        Ok(())
    }
    fn poll_flush(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Result<(), String>> {
        self.0.lock().unwrap().push(None);
        Poll::Ready(Ok(()))
    }
    fn poll_close(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Result<(), String>> {
        self.poll_flush(cx)
    }
}

/// A target that sends `pieces`, each as one read, then EOF.
pub(super) struct Script(std::collections::VecDeque<Vec<u8>>);

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(piece) = self.0.pop_front() {
            buf.put_slice(&piece);
        }
        Poll::Ready(Ok(()))
    }
}

/// Runs a session whose target sends `pieces` and closes; the browser
/// sends nothing and never answers the close.
pub(super) async fn writes_for(pieces: Vec<Vec<u8>>, config: RelayConfig) -> Vec<Vec<Message>> {
    let wire = Wire::default();
    let mut ws_tx = wire.clone();
    let mut ws_rx = futures_util::stream::pending::<Result<Message, String>>();
    let mut target = Script(pieces.into());
    let stats = stats();
    let report = within(bridge(
        &mut ws_tx,
        &mut ws_rx,
        &mut target,
        &mut tokio::io::sink(),
        SessionContext {
            config: &config,
            stats: &stats,
            shutdown: &CancellationToken::new(),
            taps: None,
            observing: None,
            record: None,
            embedded: None,
            close_request: None,
            gone: None,
            capture: None,
        },
    ))
    .await;
    assert_eq!(report.ending, Ending::UpstreamClosed);
    wire.writes()
}

pub(super) fn close_1000() -> Message {
    Message::Close(Some(CloseFrame {
        code: 1000,
        reason: "upstream closed".into(),
    }))
}

pub(super) fn quick_close() -> RelayConfig {
    RelayConfig {
        close_grace: Duration::from_millis(20),
        ..config()
    }
}
