//! Close frames: why the relay ended a session, as a code and a reason text
//! the page reads back into the same enum.

use std::fmt;

/// Close codes the relay sends (RFC 6455 §7.4.1).
pub mod code {
    /// The target closed its side and everything it sent was delivered.
    pub const NORMAL: u16 = 1000;
    /// The relay is shutting down.
    pub const GOING_AWAY: u16 = 1001;
    /// The browser broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// The browser sent a text message; the relay carries bytes only.
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// A relay rule was broken (idle timeout, data after half-close).
    pub const POLICY: u16 = 1008;
    /// A message above the relay's [`Limits::max_message_size`](super::Limits).
    pub const TOO_BIG: u16 = 1009;
    /// The TCP side failed: connect, reset or another I/O error.
    pub const INTERNAL_ERROR: u16 = 1011;
    /// The relay is over a budget shared by every session (IANA's "Try
    /// Again Later"): the session's own traffic broke no rule.
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// The most reason text a close frame can carry (125 bytes of control-frame
/// payload less the 2-byte code).
pub const MAX_REASON_BYTES: usize = 123;

/// Why connecting to a target failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens there (RST to our SYN).
    Refused,
    /// No answer within the relay's connect timeout.
    TimedOut,
    /// No route to the host.
    HostUnreachable,
    /// No route to the network.
    NetworkUnreachable,
    /// Anything else, as the operating system described it.
    Other(String),
}

/// How a program run by the relay (`relay --run`) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramExit {
    /// It exited with this status (`sys.exit(3)`, or 1 for an uncaught
    /// Python exception).
    Code(i32),
    /// A signal ended it (`SIGKILL` is 9, `SIGSEGV` 11).
    Signal(i32),
}

impl ProgramExit {
    /// The signal's name on Linux (`SIGTERM`), for the common ones.
    pub fn signal_name(signal: i32) -> Option<&'static str> {
        const NAMES: [&str; 15] = [
            "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
            "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
        ];
        usize::try_from(signal)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| NAMES.get(i).copied())
    }
}

impl fmt::Display for ProgramExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramExit::Code(code) => write!(f, "{PROGRAM_EXITED}{code}"),
            ProgramExit::Signal(signal) => {
                write!(f, "{PROGRAM_KILLED}{signal}")?;
                match ProgramExit::signal_name(*signal) {
                    Some(name) => write!(f, " ({name})"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl ProgramExit {
    fn parse(text: &str) -> Option<ProgramExit> {
        if let Some(code) = text.strip_prefix(PROGRAM_EXITED) {
            return code.parse().ok().map(ProgramExit::Code);
        }
        let rest = text.strip_prefix(PROGRAM_KILLED)?;
        let (number, name) = match rest.split_once(' ') {
            Some((number, name)) => (number, Some(name)),
            None => (rest, None),
        };
        let signal: i32 = number.parse().ok()?;
        let expected = ProgramExit::signal_name(signal).map(|n| format!("({n})"));
        (name.map(str::to_owned) == expected).then_some(ProgramExit::Signal(signal))
    }
}

/// Why the relay closed a session: each variant is one close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseReason {
    /// The target closed its side (EOF) and all it sent was delivered.
    UpstreamClosed,
    /// The target reset the connection.
    UpstreamReset,
    /// Writing to the target failed because it had gone (EPIPE).
    UpstreamBroken,
    /// Another I/O error on the TCP side.
    UpstreamError(String),
    /// The relay could not connect to the target.
    ConnectFailed {
        /// What went wrong.
        failure: ConnectFailure,
        /// The address the relay tried, `HOST:PORT`.
        address: String,
    },
    /// The browser sent a text message.
    TextRefused,
    /// The browser sent a message above the relay's limit (the WebSocket
    /// library's own words, e.g. `Message too long: 2000000 > 1048576`).
    TooBig(String),
    /// The browser broke the WebSocket protocol.
    ProtocolError(String),
    /// The browser sent data after its half-close (an empty message).
    DataAfterHalfClose,
    /// Nothing moved either way for this long.
    IdleTimeout {
        /// The relay's `--idle-timeout`, in milliseconds.
        after_ms: u64,
    },
    /// The relay is shutting down.
    ShuttingDown,
    /// The bytes all sessions hold together (partial messages included)
    /// went over the relay's `--max-buffered-bytes`: the session that
    /// pushed them over is closed.
    RelayBusy,
    /// The browser asked (`POST /ws/close`): the relay closed the TCP
    /// connection, reported what the sockets did, then the WebSocket.
    Requested,
    /// The program behind this `--run` target ended: its connections went
    /// with it.
    ProgramExited(ProgramExit),
    /// A close this version of the contract does not know (another relay
    /// version, or another server altogether): shown as received.
    Unknown {
        /// The close code received.
        code: u16,
        /// The reason text received.
        reason: String,
    },
}

const UPSTREAM_CLOSED: &str = "upstream closed";
const UPSTREAM_RESET: &str = "connection reset";
const UPSTREAM_BROKEN: &str = "connection broken";
const UPSTREAM_ERROR: &str = "upstream error: ";
const TEXT_REFUSED: &str = "text messages are not accepted: send binary";
const PROTOCOL_ERROR: &str = "protocol error: ";
const AFTER_HALF_CLOSE: &str = "data after half-close (empty message)";
const IDLE: &str = "idle timeout: no traffic for ";
const SHUTTING_DOWN: &str = "relay shutting down";
const RELAY_BUSY: &str = "relay busy: too many bytes held by all sessions, try again later";
const CANNOT_CONNECT: &str = "cannot connect (";
const REQUESTED: &str = "closed as the browser asked";
const PROGRAM_EXITED: &str = "the program exited with code ";
const PROGRAM_KILLED: &str = "the program was killed by signal ";

impl ConnectFailure {
    fn prefix(&self) -> String {
        match self {
            ConnectFailure::Refused => "connection refused".to_owned(),
            ConnectFailure::TimedOut => "connection timed out".to_owned(),
            ConnectFailure::HostUnreachable => "host unreachable".to_owned(),
            ConnectFailure::NetworkUnreachable => "network unreachable".to_owned(),
            ConnectFailure::Other(why) => format!("{CANNOT_CONNECT}{why})"),
        }
    }

    fn parse(prefix: &str) -> Option<ConnectFailure> {
        Some(match prefix {
            "connection refused" => ConnectFailure::Refused,
            "connection timed out" => ConnectFailure::TimedOut,
            "host unreachable" => ConnectFailure::HostUnreachable,
            "network unreachable" => ConnectFailure::NetworkUnreachable,
            other => ConnectFailure::Other(
                other
                    .strip_prefix(CANNOT_CONNECT)?
                    .strip_suffix(')')?
                    .to_owned(),
            ),
        })
    }
}

impl CloseReason {
    /// The close code this reason is sent with.
    pub fn code(&self) -> u16 {
        match self {
            CloseReason::UpstreamClosed | CloseReason::Requested => code::NORMAL,
            CloseReason::UpstreamReset
            | CloseReason::UpstreamBroken
            | CloseReason::UpstreamError(_)
            | CloseReason::ConnectFailed { .. } => code::INTERNAL_ERROR,
            CloseReason::TextRefused => code::UNSUPPORTED_DATA,
            CloseReason::TooBig(_) => code::TOO_BIG,
            CloseReason::ProtocolError(_) => code::PROTOCOL_ERROR,
            CloseReason::DataAfterHalfClose | CloseReason::IdleTimeout { .. } => code::POLICY,
            // The server went away, as RFC 6455 says of 1001.
            CloseReason::ShuttingDown | CloseReason::ProgramExited(_) => code::GOING_AWAY,
            CloseReason::RelayBusy => code::TRY_AGAIN_LATER,
            CloseReason::Unknown { code, .. } => *code,
        }
    }

    /// The reason text, cut to [`MAX_REASON_BYTES`] on a character boundary.
    pub fn text(&self) -> String {
        let mut text = self.to_string();
        if text.len() > MAX_REASON_BYTES {
            let mut end = MAX_REASON_BYTES;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        text
    }

    /// Reads a received close frame back into the reason that wrote it;
    /// what no variant wrote is [`CloseReason::Unknown`].
    pub fn parse(code: u16, reason: &str) -> CloseReason {
        let unknown = || CloseReason::Unknown {
            code,
            reason: reason.to_owned(),
        };
        let parsed = match (code, reason) {
            (code::NORMAL, UPSTREAM_CLOSED) => Some(CloseReason::UpstreamClosed),
            (code::NORMAL, REQUESTED) => Some(CloseReason::Requested),
            (code::INTERNAL_ERROR, UPSTREAM_RESET) => Some(CloseReason::UpstreamReset),
            (code::INTERNAL_ERROR, UPSTREAM_BROKEN) => Some(CloseReason::UpstreamBroken),
            (code::INTERNAL_ERROR, r) => match r.strip_prefix(UPSTREAM_ERROR) {
                Some(why) => Some(CloseReason::UpstreamError(why.to_owned())),
                None => r.rsplit_once(": ").and_then(|(prefix, address)| {
                    Some(CloseReason::ConnectFailed {
                        failure: ConnectFailure::parse(prefix)?,
                        address: address.to_owned(),
                    })
                }),
            },
            (code::UNSUPPORTED_DATA, TEXT_REFUSED) => Some(CloseReason::TextRefused),
            (code::TOO_BIG, r) => Some(CloseReason::TooBig(r.to_owned())),
            (code::PROTOCOL_ERROR, r) => r
                .strip_prefix(PROTOCOL_ERROR)
                .map(|why| CloseReason::ProtocolError(why.to_owned())),
            (code::POLICY, AFTER_HALF_CLOSE) => Some(CloseReason::DataAfterHalfClose),
            (code::POLICY, r) => r
                .strip_prefix(IDLE)
                .and_then(parse_duration_ms)
                .map(|after_ms| CloseReason::IdleTimeout { after_ms }),
            (code::GOING_AWAY, SHUTTING_DOWN) => Some(CloseReason::ShuttingDown),
            (code::GOING_AWAY, r) => ProgramExit::parse(r).map(CloseReason::ProgramExited),
            (code::TRY_AGAIN_LATER, RELAY_BUSY) => Some(CloseReason::RelayBusy),
            _ => None,
        };
        parsed.unwrap_or_else(unknown)
    }
}

/// Writes the reason text in full; [`CloseReason::text`] is what fits a frame.
impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::UpstreamClosed => f.write_str(UPSTREAM_CLOSED),
            CloseReason::UpstreamReset => f.write_str(UPSTREAM_RESET),
            CloseReason::UpstreamBroken => f.write_str(UPSTREAM_BROKEN),
            CloseReason::UpstreamError(why) => write!(f, "{UPSTREAM_ERROR}{why}"),
            CloseReason::ConnectFailed { failure, address } => {
                write!(f, "{}: {address}", failure.prefix())
            }
            CloseReason::TextRefused => f.write_str(TEXT_REFUSED),
            CloseReason::TooBig(detail) => f.write_str(detail),
            CloseReason::ProtocolError(why) => write!(f, "{PROTOCOL_ERROR}{why}"),
            CloseReason::DataAfterHalfClose => f.write_str(AFTER_HALF_CLOSE),
            CloseReason::IdleTimeout { after_ms } => {
                // Whole seconds read as such ("30s"); anything else in ms.
                if after_ms % 1000 == 0 {
                    write!(f, "{IDLE}{}s", after_ms / 1000)
                } else {
                    write!(f, "{IDLE}{after_ms}ms")
                }
            }
            CloseReason::ShuttingDown => f.write_str(SHUTTING_DOWN),
            CloseReason::RelayBusy => f.write_str(RELAY_BUSY),
            CloseReason::Requested => f.write_str(REQUESTED),
            CloseReason::ProgramExited(exit) => write!(f, "{exit}"),
            CloseReason::Unknown { reason, .. } => f.write_str(reason),
        }
    }
}

fn parse_duration_ms(text: &str) -> Option<u64> {
    if let Some(ms) = text.strip_suffix("ms") {
        ms.parse().ok()
    } else {
        text.strip_suffix('s')?
            .parse::<u64>()
            .ok()?
            .checked_mul(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_reason() -> Vec<CloseReason> {
        let failures = [
            ConnectFailure::Refused,
            ConnectFailure::TimedOut,
            ConnectFailure::HostUnreachable,
            ConnectFailure::NetworkUnreachable,
            ConnectFailure::Other("Permission denied (os error 13)".into()),
        ];
        let mut all: Vec<CloseReason> = failures
            .into_iter()
            .flat_map(|failure| {
                ["127.0.0.1:65432", "[::1]:9"].map(|address| CloseReason::ConnectFailed {
                    failure: failure.clone(),
                    address: address.into(),
                })
            })
            .collect();
        all.extend([
            CloseReason::UpstreamClosed,
            CloseReason::UpstreamReset,
            CloseReason::UpstreamBroken,
            CloseReason::UpstreamError("Broken pipe (os error 32)".into()),
            CloseReason::TextRefused,
            CloseReason::TooBig("Message too long: 2000000 > 1048576".into()),
            CloseReason::ProtocolError("Reserved bits are non-zero".into()),
            CloseReason::DataAfterHalfClose,
            CloseReason::IdleTimeout { after_ms: 30_000 },
            CloseReason::IdleTimeout { after_ms: 1_500 },
            CloseReason::ShuttingDown,
            CloseReason::RelayBusy,
            CloseReason::Requested,
            CloseReason::ProgramExited(ProgramExit::Code(0)),
            CloseReason::ProgramExited(ProgramExit::Code(3)),
            CloseReason::ProgramExited(ProgramExit::Signal(9)),
            CloseReason::ProgramExited(ProgramExit::Signal(64)),
            CloseReason::Unknown {
                code: 4000,
                reason: "a server of its own".into(),
            },
        ]);
        all
    }

    #[test]
    fn every_reason_reads_back_as_itself() {
        for reason in every_reason() {
            assert_eq!(
                CloseReason::parse(reason.code(), &reason.text()),
                reason,
                "{reason}"
            );
        }
    }

    #[test]
    fn texts_are_the_ones_the_relay_has_always_sent() {
        let refused = CloseReason::ConnectFailed {
            failure: ConnectFailure::Refused,
            address: "127.0.0.1:65432".into(),
        };
        assert_eq!(
            (refused.code(), refused.text()),
            (1011, "connection refused: 127.0.0.1:65432".to_owned())
        );
        let idle = CloseReason::IdleTimeout { after_ms: 1500 };
        assert_eq!(
            (idle.code(), idle.text()),
            (1008, "idle timeout: no traffic for 1500ms".to_owned())
        );
        assert_eq!(
            CloseReason::UpstreamClosed.text(),
            "upstream closed".to_owned()
        );
    }

    #[test]
    fn a_program_exit_says_how_it_ended() {
        let killed = CloseReason::ProgramExited(ProgramExit::Signal(15));
        assert_eq!(
            (killed.code(), killed.text()),
            (
                1001,
                "the program was killed by signal 15 (SIGTERM)".to_owned()
            )
        );
        assert_eq!(
            CloseReason::ProgramExited(ProgramExit::Code(1)).text(),
            "the program exited with code 1"
        );
        assert_eq!(
            CloseReason::ProgramExited(ProgramExit::Signal(40)).text(),
            "the program was killed by signal 40"
        );
        for text in [
            "the program was killed by signal 15 (SIGKILL)",
            "the program exited with code x",
        ] {
            assert!(matches!(
                CloseReason::parse(1001, text),
                CloseReason::Unknown { .. }
            ));
        }
    }

    #[test]
    fn a_known_text_under_another_code_is_unknown() {
        assert_eq!(
            CloseReason::parse(1011, "upstream closed"),
            CloseReason::Unknown {
                code: 1011,
                reason: "upstream closed".into()
            }
        );
    }

    #[test]
    fn reasons_fit_a_control_frame_and_cut_on_a_char_boundary() {
        let long = CloseReason::UpstreamError("é".repeat(100));
        let text = long.text();
        assert!(text.len() <= MAX_REASON_BYTES);
        assert!(text.len() >= MAX_REASON_BYTES - 1);
        assert!(text.starts_with(UPSTREAM_ERROR));
    }
}
