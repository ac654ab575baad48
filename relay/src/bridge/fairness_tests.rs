//! Issue 23: 1,000 observed sessions flooding kept a legitimate session
//! waiting seconds. An observed message costs events and a sample; the
//! pump lets other tasks run after each one instead of taking a whole run
//! of ready messages in one turn. Counted in turns, not timed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Message;
use bytes::Bytes;

use super::doubles::{config, stats};
use super::observed::{Observing, Probe};
use super::pump::pump_up;
use crate::observe::SessionObserver;

#[tokio::test(flavor = "current_thread")]
async fn an_observed_flood_lets_other_tasks_run_between_its_messages() {
    const MESSAGES: usize = 100;
    let turns = Arc::new(AtomicUsize::new(0));
    let other = {
        let turns = turns.clone();
        tokio::spawn(async move {
            loop {
                turns.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    let messages: Vec<Result<Message, axum::Error>> = (0..MESSAGES)
        .map(|_| Ok(Message::Binary(Bytes::from_static(b"0123456789"))))
        .chain([Ok(Message::Close(None))])
        .collect();
    let mut ws_rx = futures_util::stream::iter(messages);
    let (mut up_wr, _target) = tokio::io::duplex(1 << 20);
    let observer = SessionObserver::new(Instant::now(), &config());
    let observing = Observing {
        observer: &observer,
        hub: None,
        probe: Probe::default(),
    };
    let stats = stats();
    let before = turns.load(Ordering::Relaxed);
    pump_up(
        &mut ws_rx,
        &mut up_wr,
        &stats,
        &mut None,
        Some(observing),
        None,
    )
    .await;
    let others = turns.load(Ordering::Relaxed) - before;
    other.abort();
    assert!(
        others >= MESSAGES - 1,
        "the other task ran {others} times during {MESSAGES} observed messages"
    );
}
