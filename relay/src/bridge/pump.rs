//! The two pumps, each one direction of one session, and the reads they
//! share.
//!
//! Each pump waits for its write before reading more, so a side that stops
//! reading stops the other side's reads (backpressure). Reads from TCP go
//! through a per-thread scratch buffer ([`read_chunk`]), so an idle session
//! holds no read buffer.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::Duration;

use axum::extract::ws::Message;
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use protocol::capture::EventKind;
use protocol::relay_api::Observed;

use super::browser::{FromBrowser, ToBrowser};
use super::close::Ending;
use super::observed::{feed_observations, write_observed, Observing, Probe};
use super::stats::{SessionStats, TapSide};
use crate::observe::TEXT_PER_FLUSH;
use crate::record::Recorder;
use crate::tap::Tap;

thread_local! {
    /// Where TCP reads land before they are copied out at their exact size.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Waits for bytes from the target and returns at most `max` of them
/// (empty at EOF).
///
/// The read goes into a per-thread scratch buffer that is borrowed only
/// during one poll (a pending read fills nothing), so an idle session holds
/// no read buffer at all: that is most of what keeps idle sessions small.
pub async fn read_chunk<R: AsyncRead + Unpin>(reader: &mut R, max: usize) -> io::Result<Bytes> {
    std::future::poll_fn(|cx| {
        SCRATCH.with_borrow_mut(|scratch| {
            if scratch.len() < max {
                scratch.resize(max, 0);
            }
            let mut buf = ReadBuf::new(&mut scratch[..max]);
            match Pin::new(&mut *reader).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(Bytes::copy_from_slice(buf.filled()))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
    })
    .await
}

/// Target → browser: one TCP read, one binary message.
///
/// Messages whose bytes are already there when the previous one is queued
/// go out in the same socket write, up to [`coalesce_limit`] bytes: the reply
/// and the target's EOF usually arrive together, and then the last message
/// and the close frame (queued by [`close_client`](super::close::close_client)) share one write and one
/// TCP segment. A read that would wait flushes first, so nothing already
/// read waits for more.
pub(super) async fn pump_down<Tx, R>(
    ws_tx: &mut Tx,
    up_rd: &mut R,
    chunk: usize,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
    observing: Option<Observing<'_>>,
    record: Option<&Recorder>,
) -> Ending
where
    Tx: ToBrowser,
    R: AsyncRead + Unpin + Send,
{
    loop {
        let first = match &observing {
            None => read_chunk(up_rd, chunk).await,
            Some(obs) => match read_or_observations(ws_tx, up_rd, chunk, obs).await {
                Ok(read) => read,
                Err(e) => return Ending::ClientGone(format!("send failed: {e}")),
            },
        };
        let mut held = stats.hold(0);
        let mut queued = 0usize;
        // Observation text fed since the last flush: bounded like the bytes.
        let mut text_budget = TEXT_PER_FLUSH;
        let mut read = Some(first);
        while let Some(result) = read.take() {
            if let Some(record) = record {
                record.read(&result);
            }
            if let Some(obs) = &observing {
                report_read(obs, &result);
                if let Err(e) = feed_observations(ws_tx, obs, &mut text_budget).await {
                    return Ending::ClientGone(format!("send failed: {e}"));
                }
            }
            let bytes = match result {
                Ok(bytes) if !bytes.is_empty() => bytes,
                // What is queued stays unflushed on purpose: the close
                // frame's write (`close_client`) takes it along.
                end => {
                    stats.to_client.fetch_add(held.n as u64, Ordering::Relaxed);
                    return match end {
                        Err(e) => Ending::upstream_io(&e),
                        Ok(_) => Ending::UpstreamClosed,
                    };
                }
            };
            let n = bytes.len();
            held.grow(n);
            stats.touch();
            tapped(tap, &bytes, stats, TapSide::Down);
            if let Err(e) = ws_tx.feed(Message::Binary(bytes)).await {
                return Ending::ClientGone(format!("send failed: {e}"));
            }
            queued += frame_len(n);
            if queued < coalesce_limit(chunk) {
                read = read_chunk(up_rd, chunk).now_or_never();
            }
        }
        // Returns once everything queued is written out, which is what
        // makes a browser that stops reading stop our TCP reads.
        if let Err(e) = ws_tx.flush().await {
            return Ending::ClientGone(format!("send failed: {e}"));
        }
        stats.to_client.fetch_add(held.n as u64, Ordering::Relaxed);
        drop(held);
        stats.touch();
        if observing.is_some() {
            tokio::task::yield_now().await; // as in pump_up
        }
    }
}

/// How long observations queued while the target is quiet wait for its
/// next read before they go out on their own. A write to the target is
/// usually answered within this: its events then share the answer's flush
/// (one socket write, one TCP segment, one sample) instead of taking one
/// of their own. Event times are stamped when they happen, so the wait
/// shows nowhere but in when the page learns of them.
pub const OBSERVE_LINGER: Duration = Duration::from_millis(2);

/// Waits for the target's next read, sending observations as they come
/// meanwhile (the target may be quiet while the server's side is not),
/// at most [`OBSERVE_LINGER`] after they were queued.
async fn read_or_observations<Tx, R>(
    ws_tx: &mut Tx,
    up_rd: &mut R,
    chunk: usize,
    obs: &Observing<'_>,
) -> Result<io::Result<Bytes>, Tx::Error>
where
    Tx: ToBrowser,
    R: AsyncRead + Unpin + Send,
{
    loop {
        tokio::select! {
            biased;
            read = read_chunk(up_rd, chunk) => return Ok(read),
            () = obs.observer.ready() => {}
        }
        // A wake-up left over from events a flush already took.
        if !obs.observer.pending() {
            continue;
        }
        // Something is queued: the read that comes first takes it along
        // (pump_down feeds what is queued before the bytes).
        tokio::select! {
            biased;
            read = read_chunk(up_rd, chunk) => return Ok(read),
            () = tokio::time::sleep(OBSERVE_LINGER) => {}
        }
        let mut budget = TEXT_PER_FLUSH;
        if feed_observations(ws_tx, obs, &mut budget).await? > 0 {
            ws_tx.flush().await?;
        }
    }
}

/// The observation events of one read from the target.
fn report_read(obs: &Observing<'_>, result: &io::Result<Bytes>) {
    match result {
        Ok(bytes) if bytes.is_empty() => obs.push(Observed::Eof),
        Ok(bytes) => obs.push(Observed::Read {
            len: bytes.len() as u64,
            count: 1,
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => obs.push(Observed::Reset),
        Err(_) => {}
    }
}

/// Bytes of queued frames after which [`pump_down`] stops reading and
/// flushes: one more read may add a full `chunk`, so what waits in the
/// WebSocket's write buffer stays under `2 * chunk` plus frame headers
/// ([`ws_write_buffer`]).
pub fn coalesce_limit(chunk: usize) -> usize {
    chunk
}

/// The WebSocket write buffer a session needs: what [`pump_down`] queues
/// before a flush, plus a close frame.
pub fn ws_write_buffer(chunk: usize) -> usize {
    coalesce_limit(chunk) + frame_len(chunk) + frame_len(125)
}

/// Size of an unmasked (server → browser) frame carrying `payload` bytes.
pub(super) fn frame_len(payload: usize) -> usize {
    let header = match payload {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    };
    header + payload
}

/// Browser → target: one binary message, one TCP write.
pub(super) async fn pump_up<Rx, W>(
    ws_rx: &mut Rx,
    up_wr: &mut W,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
    observing: Option<Observing<'_>>,
    record: Option<&Recorder>,
) -> Ending
where
    Rx: FromBrowser,
    W: AsyncWrite + Unpin + Send,
{
    let mut half_closed = false;
    loop {
        let message = match ws_rx.next().await {
            None => return Ending::ClientGone("connection closed without a close frame".into()),
            Some(Err(e)) => return Ending::client_error(e),
            Some(Ok(message)) => message,
        };
        // Its bytes stop counting as a partial message (a binary one is
        // held below until written).
        stats.message_taken(payload_len(&message));
        match message {
            // An empty message is the browser's shutdown(SHUT_WR): a zero-byte
            // TCP write means nothing, so the empty message is free to mean "done sending".
            Message::Binary(bytes) if bytes.is_empty() => {
                if !half_closed {
                    half_closed = true;
                    stats.touch();
                    if let Err(e) = up_wr.shutdown().await {
                        return Ending::upstream_io(&e);
                    }
                    if let Some(obs) = &observing {
                        obs.push(Observed::ShutdownWrite);
                    }
                    if let Some(record) = record {
                        record.event(EventKind::ShutdownWrite);
                    }
                }
            }
            Message::Binary(_) if half_closed => return Ending::DataAfterHalfClose,
            Message::Binary(bytes) => {
                let n = bytes.len();
                let held = stats.hold(n);
                stats.touch();
                tapped(tap, &bytes, stats, TapSide::Up);
                // Each partial write restarts the idle clock: a target
                // reading slowly is still traffic.
                let written = match &observing {
                    None => write_touching(up_wr, &bytes, stats).await,
                    Some(obs) => write_observed(up_wr, &bytes, obs, stats).await,
                };
                if let Some(record) = record {
                    record.sent_or_reset(&bytes, &written);
                }
                if let Err(e) = written {
                    if let (Some(obs), io::ErrorKind::ConnectionReset) = (&observing, e.kind()) {
                        obs.push(Observed::Reset);
                    }
                    return Ending::upstream_io(&e);
                }
                drop(held);
                stats.to_upstream.fetch_add(n as u64, Ordering::Relaxed);
                stats.touch();
                if observing.is_some() {
                    // An observed message costs several events and a
                    // sample: one per turn, so a flood of them cannot keep
                    // other sessions' tasks waiting behind it.
                    tokio::task::yield_now().await;
                }
            }
            Message::Text(_) => return Ending::TextRefused,
            Message::Close(frame) => {
                return Ending::ClientClosed(frame.map(|f| (f.code, f.reason.to_string())))
            }
            // tungstenite answers pings itself.
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
}

/// Feeds the tap, if any, and counts what it keeps.
fn tapped(tap: &mut Option<Tap>, bytes: &[u8], stats: &SessionStats, side: TapSide) {
    if let Some(tap) = tap {
        tap.observe(bytes);
        stats.tap_keeps(side, tap.held());
    }
}

/// Payload bytes of a message as the browser framed it.
fn payload_len(message: &Message) -> usize {
    match message {
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Text(text) => text.len(),
        Message::Close(frame) => frame.as_ref().map_or(0, |f| 2 + f.reason.len()),
    }
}

/// `write_all` that restarts the idle clock after every system call that
/// took bytes.
async fn write_touching<W: AsyncWrite + Unpin>(
    up_wr: &mut W,
    mut bytes: &[u8],
    stats: &SessionStats,
) -> io::Result<()> {
    while !bytes.is_empty() {
        let n = up_wr.write(bytes).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        stats.touch();
        bytes = &bytes[n..];
    }
    Ok(())
}

/// Resolves once nothing has moved for `timeout`.
///
/// Besides the pumps' touches, the target socket's kernel queues count
/// (`probe`, when there is a socket): a target reading a full send buffer
/// slowly moves bytes without waking the relay's write for a while, so a
/// change in either queue since the last look restarts the clock too.
pub(super) async fn idle(stats: &SessionStats, timeout: Duration, probe: Probe) {
    let mut queues = probe.queues();
    loop {
        let quiet = stats.quiet_for();
        if quiet >= timeout {
            let now = probe.queues();
            if now.is_none() || now == queues {
                return;
            }
            queues = now;
            stats.touch();
            continue;
        }
        tokio::time::sleep(timeout - quiet).await;
    }
}

/// Reads the target until EOF or error, counting what cannot be delivered.
pub(super) async fn drain<R: AsyncRead + Unpin + Send>(
    up_rd: &mut R,
    chunk: usize,
    stats: &SessionStats,
    tap: &mut Option<Tap>,
    record: Option<&Recorder>,
) {
    loop {
        let read = read_chunk(up_rd, chunk).await;
        if let Some(record) = record {
            record.read(&read);
        }
        let bytes = match read {
            Ok(bytes) if !bytes.is_empty() => bytes,
            _ => break,
        };
        tapped(tap, &bytes, stats, TapSide::Down);
        stats
            .discarded
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{duplex, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn read_chunk_takes_at_most_max_bytes_at_their_exact_size_and_is_empty_at_eof() {
        let (mut writer, mut reader) = duplex(64);
        writer.write_all(b"0123456789").await.unwrap();
        let first = read_chunk(&mut reader, 4).await.unwrap();
        assert_eq!(&first[..], b"0123");
        let rest = read_chunk(&mut reader, 4096).await.unwrap();
        assert_eq!(&rest[..], b"456789");
        drop(writer);
        assert!(read_chunk(&mut reader, 4096).await.unwrap().is_empty());
    }
}
