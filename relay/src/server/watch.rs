//! `GET /ws?watch=NAME`: a watch stream. Admitted like a session (Host,
//! Origin, `--max-sessions`, `--max-sessions-per-ip`, the buffered-bytes
//! budget), it carries no bytes: only text messages, one
//! `protocol::relay_api::Observation` each, for every connection that
//! arrives at target NAME's `--expose`d listener while it is open, each
//! event with its connection's `conn`.
//!
//! The stream drains one [`SessionObserver`] (the bounded queue of
//! `observe=1`: merges, `lost`) in flushes of at most
//! [`TEXT_PER_FLUSH`] bytes of text. A browser that stops reading stalls
//! only its own flushes; one stalled for `--idle-timeout` is closed.
//! Whatever the browser sends is read and dropped: it only has to close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use protocol::relay_api::Observed;

use super::{Admitted, Inner};
use crate::bridge::{close_client, Ending, SessionReport};
use crate::observe::watch::Exposed;
use crate::observe::{SessionObserver, TEXT_PER_FLUSH};

/// Streams `exposed`'s connections to the browser until it closes, it
/// stops reading for `--idle-timeout`, or the relay shuts down.
pub(super) async fn run_watch(
    inner: Arc<Inner>,
    socket: WebSocket,
    exposed: Arc<Exposed>,
    peer: SocketAddr,
    admitted: Admitted,
) {
    let id = inner.metrics.session_started();
    let name = &exposed.name;
    let config = &inner.config;
    tracing::info!(
        "session {id}: {peer} watches {name}'s own clients at {}",
        exposed.address
    );
    let started = Instant::now();
    let observer = SessionObserver::new(started, config);
    observer.push(Observed::Observing {
        target: name.clone(),
        server: true,
    });
    exposed.watch(&observer);
    let (mut tx, mut rx) = socket.split();
    let mut sent_text = 0u64;
    let ending = loop {
        let mut budget = TEXT_PER_FLUSH;
        let texts = observer.drain(&mut budget);
        if !texts.is_empty() {
            let flush = async {
                for text in texts {
                    sent_text += text.len() as u64;
                    tx.feed(Message::Text(text.into())).await?;
                }
                tx.flush().await
            };
            tokio::select! {
                flushed = tokio::time::timeout(config.idle_timeout, flush) => match flushed {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => break Ending::ClientGone(e.to_string()),
                    Err(_) => break Ending::Idle(config.idle_timeout),
                },
                () = inner.shutdown.cancelled() => break Ending::Shutdown,
            }
        }
        tokio::select! {
            () = observer.ready() => {}
            message = rx.next() => match message {
                None => break Ending::ClientGone("connection closed".into()),
                Some(Err(e)) => break Ending::ClientGone(e.to_string()),
                Some(Ok(Message::Close(frame))) => {
                    break Ending::ClientClosed(frame.map(|f| (f.code, f.reason.to_string())))
                }
                Some(Ok(_)) => {}
            },
            () = inner.shutdown.cancelled() => break Ending::Shutdown,
        }
    };
    observer.end();
    let close = ending.close_frame();
    let close_sent = close_client(&mut tx, &mut rx, &ending, config.close_grace).await;
    let report = SessionReport {
        ending,
        close,
        close_sent,
        to_upstream: 0,
        to_client: sent_text,
        peak_buffered: 0,
        discarded: 0,
        duration: started.elapsed(),
    };
    tracing::info!(
        "session {id} (watching {name}) ended after {:.3}s: {sent_text} bytes of observations, {}",
        report.duration.as_secs_f64(),
        report.ending.describe(),
    );
    inner.metrics.session_ended(id, name, &report);
    drop(admitted);
}
