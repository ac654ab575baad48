//! How a session ends: the [`Ending`] (what happened), the close frame the
//! browser gets for it (a [`CloseReason`] from `protocol::relay_api`, whose
//! code and text the page reads back), and the [`SessionReport`] the log,
//! the metrics and the tests read.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message};
use futures_util::{SinkExt, StreamExt};
use protocol::relay_api::{CloseReason, ConnectFailure, ProgramExit};

use super::browser::{FromBrowser, ToBrowser};

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The target closed its side (EOF) after everything it sent was delivered.
    UpstreamClosed,
    /// The target reset the connection.
    UpstreamReset,
    /// Writing to the target failed because it had gone (EPIPE).
    UpstreamBroken,
    /// Connecting to the target failed.
    ConnectFailed {
        failure: ConnectFailure,
        /// What the browser is told of the address ([`shown_address`]).
        address: String,
    },
    /// Another read or write error on the TCP side (the OS's words).
    UpstreamError(String),
    /// The browser sent a close frame (its code and reason).
    ClientClosed(Option<(u16, String)>),
    /// The browser's connection ended without a close handshake.
    ClientGone(String),
    /// The browser sent a text message: refused (see docs/reference.md, "The relay").
    TextRefused,
    /// The browser sent a message above `--max-message-size`.
    TooBig(String),
    /// The browser broke the WebSocket protocol.
    ClientProtocol(String),
    /// The browser sent data after its half-close (an empty message).
    DataAfterHalfClose,
    /// Nothing moved either way for `--idle-timeout`.
    Idle(Duration),
    /// The relay is shutting down.
    Shutdown,
    /// This session's reads took the bytes all sessions hold over `--max-buffered-bytes`.
    OverBudget,
    /// The browser asked for the close out of band (`POST /ws/close`).
    Requested,
    /// The target's program (`--run`) ended.
    ProgramExited(ProgramExit),
}

/// A target's address as a close reason may name it: only with
/// `--show-addresses`, like `/targets` (the relay's network is the
/// operator's business, not a stranger's).
pub fn shown_address(address: SocketAddr, show: bool) -> String {
    if show {
        address.to_string()
    } else {
        HIDDEN_ADDRESS.to_owned()
    }
}

/// What a close reason says in place of a hidden address.
pub const HIDDEN_ADDRESS: &str = "the target (address shown with --show-addresses)";

impl Ending {
    /// The close frame the relay sends for this ending, if it sends one
    /// (none when the browser ended the session).
    pub fn close_frame(&self) -> Option<CloseReason> {
        Some(match self {
            Ending::UpstreamClosed => CloseReason::UpstreamClosed,
            Ending::UpstreamReset => CloseReason::UpstreamReset,
            Ending::UpstreamBroken => CloseReason::UpstreamBroken,
            Ending::ConnectFailed { failure, address } => CloseReason::ConnectFailed {
                failure: failure.clone(),
                address: address.clone(),
            },
            Ending::UpstreamError(why) => CloseReason::UpstreamError(why.clone()),
            Ending::TextRefused => CloseReason::TextRefused,
            Ending::TooBig(detail) => CloseReason::TooBig(detail.clone()),
            Ending::ClientProtocol(why) => CloseReason::ProtocolError(why.clone()),
            Ending::DataAfterHalfClose => CloseReason::DataAfterHalfClose,
            Ending::Idle(after) => CloseReason::IdleTimeout {
                after_ms: after.as_millis() as u64,
            },
            Ending::Shutdown => CloseReason::ShuttingDown,
            Ending::OverBudget => CloseReason::RelayBusy,
            Ending::Requested => CloseReason::Requested,
            Ending::ProgramExited(exit) => CloseReason::ProgramExited(*exit),
            Ending::ClientClosed(_) | Ending::ClientGone(_) => return None,
        })
    }

    /// One line for the session log.
    pub fn describe(&self) -> String {
        match self {
            Ending::ClientClosed(Some((code, reason))) => {
                format!("browser closed with {code} {reason:?}")
            }
            Ending::ClientClosed(None) => "browser closed".to_owned(),
            Ending::ClientGone(why) => format!("browser gone: {why}"),
            other => {
                let reason = other.close_frame().expect("relay-side ending");
                format!("closed with {} {:?}", reason.code(), reason.text())
            }
        }
    }

    /// A failed connect to the address the browser is told of as `address`.
    pub fn connect_failed(e: &io::Error, address: String) -> Ending {
        let failure = match e.kind() {
            io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            io::ErrorKind::TimedOut => ConnectFailure::TimedOut,
            io::ErrorKind::HostUnreachable => ConnectFailure::HostUnreachable,
            io::ErrorKind::NetworkUnreachable => ConnectFailure::NetworkUnreachable,
            _ => ConnectFailure::Other(e.to_string()),
        };
        Ending::ConnectFailed { failure, address }
    }

    pub(super) fn upstream_io(e: &io::Error) -> Ending {
        match e.kind() {
            io::ErrorKind::ConnectionReset => Ending::UpstreamReset,
            io::ErrorKind::BrokenPipe => Ending::UpstreamBroken,
            _ => Ending::UpstreamError(e.to_string()),
        }
    }

    pub(super) fn client_error(e: impl fmt::Display) -> Ending {
        let text = e.to_string();
        // axum hides tungstenite's error type; its capacity error reads
        // "Space limit exceeded: Message too long: 2000000 > 1048576".
        if text.contains("Message too long") || text.contains("Space limit exceeded") {
            Ending::TooBig(text.replace("Space limit exceeded: ", ""))
        } else if text.contains("Connection reset") || text.contains("closing handshake") {
            Ending::ClientGone(text)
        } else {
            Ending::ClientProtocol(text)
        }
    }
}

/// How a session went, for the session log, the metrics and tests.
#[derive(Debug, Clone)]
pub struct SessionReport {
    pub ending: Ending,
    /// The close frame the relay chose for the browser, if any.
    pub close: Option<CloseReason>,
    /// Whether that close frame was written out (a browser that stopped
    /// reading never gets it: the connection is dropped after the grace period).
    pub close_sent: bool,
    pub to_upstream: u64,
    pub to_client: u64,
    pub peak_buffered: usize,
    pub discarded: u64,
    pub duration: Duration,
}

/// Sends the close frame for `ending`, then waits (up to `grace`) for the
/// browser's reply (not over budget). True if the frame was written out.
pub(crate) async fn close_client<Tx, Rx>(
    ws_tx: &mut Tx,
    ws_rx: &mut Rx,
    ending: &Ending,
    grace: Duration,
) -> bool
where
    Tx: ToBrowser,
    Rx: FromBrowser,
{
    let Some(reason) = ending.close_frame() else {
        return false;
    };
    let frame = CloseFrame {
        code: reason.code(),
        reason: reason.text().into(),
    };
    let sent = tokio::time::timeout(grace, ws_tx.send(Message::Close(Some(frame)))).await;
    if !matches!(sent, Ok(Ok(()))) {
        return false;
    }
    // Over budget, the session's partial message is what must go, and it
    // goes only with the connection: no waiting (and reading on) for a reply.
    // Closed on request, the browser's reply waits behind the bytes it had
    // queued (the reason it asked out of band): no waiting either.
    if matches!(ending, Ending::OverBudget | Ending::Requested) {
        return true;
    }
    // Wait for the close reply so the browser sees a clean close, not a reset.
    let _ = tokio::time::timeout(grace, async {
        while let Some(Ok(message)) = ws_rx.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    true
}

#[cfg(test)]
mod tests {
    use protocol::relay_api::code;

    use super::*;

    fn frame(ending: Ending) -> (u16, String) {
        let reason = ending.close_frame().expect("a relay-side ending");
        (reason.code(), reason.text())
    }

    #[test]
    fn close_reasons_fit_a_control_frame() {
        let (_, reason) = frame(Ending::UpstreamError("é".repeat(100)));
        assert!(reason.len() <= 123);
        assert_eq!(
            frame(Ending::Idle(Duration::from_millis(1500))),
            (1008, "idle timeout: no traffic for 1500ms".to_owned())
        );
    }

    #[test]
    fn a_capacity_error_is_a_1009() {
        let ending =
            Ending::client_error("Space limit exceeded: Message too long: 2000000 > 1048576");
        assert_eq!(
            frame(ending),
            (1009, "Message too long: 2000000 > 1048576".to_owned())
        );
    }

    #[test]
    fn io_errors_keep_the_texts_the_relay_has_always_sent() {
        let address: SocketAddr = "127.0.0.1:65432".parse().unwrap();
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            frame(Ending::connect_failed(&refused, address.to_string())),
            (
                code::INTERNAL_ERROR,
                "connection refused: 127.0.0.1:65432".to_owned()
            )
        );
        let broken = io::Error::from(io::ErrorKind::BrokenPipe);
        assert_eq!(
            frame(Ending::upstream_io(&broken)),
            (code::INTERNAL_ERROR, "connection broken".to_owned())
        );
        let other = io::Error::other("disk on fire");
        assert_eq!(
            frame(Ending::upstream_io(&other)),
            (
                code::INTERNAL_ERROR,
                "upstream error: disk on fire".to_owned()
            )
        );
        assert_eq!(
            frame(Ending::client_error("Reserved bits are non-zero")),
            (
                code::PROTOCOL_ERROR,
                "protocol error: Reserved bits are non-zero".to_owned()
            )
        );
    }
}
