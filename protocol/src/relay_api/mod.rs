//! The contract between the relay and the page, typed once and compiled
//! into both: the paths the relay serves, the `/targets` and `/limits`
//! bodies, and the close frames it sends.
//!
//! A WebSocket close frame carries a code and at most 123 bytes of reason
//! text. The relay builds both from a [`CloseReason`]
//! ([`CloseReason::code`], [`CloseReason::text`]); the page turns what it
//! receives back into the same enum with [`CloseReason::parse`], so neither
//! side matches on the other's English. The texts are part of the contract
//! (other WebSocket tools show them), which is why writing and reading them
//! live side by side here, with a round-trip test.
//!
//! With `observe=1` the relay also sends text messages, each one
//! [`Observation`]: what its socket to the target did and, for the servers it
//! runs itself, what the server's side of that connection did ([`observe`]).

mod close;
pub mod observe;
mod wire;

pub use close::{code, CloseReason, ConnectFailure, MAX_REASON_BYTES};
pub use observe::{
    DecoderState, FramerStep, LogLevel, Observation, Observed, Readiness, SocketInfo, TcpState,
};

use serde::{Deserialize, Serialize};

/// Where the relay serves WebSocket sessions: `/ws?target=NAME`.
pub const WS_PATH: &str = "/ws";
/// Where the relay lists its targets as a JSON array of [`TargetInfo`].
pub const TARGETS_PATH: &str = "/targets";
/// Where the relay tells the page its [`Limits`].
pub const LIMITS_PATH: &str = "/limits";
/// The query parameter that turns observation on: `/ws?target=NAME&observe=1`.
pub const OBSERVE_PARAM: &str = "observe";

/// One entry of `GET /targets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// What the page puts in `/ws?target=`; the only way to name a host.
    pub name: String,
    /// One line for the picker.
    #[serde(default)]
    pub description: String,
    /// `HOST:PORT` the relay connects to, when the relay discloses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `GET /limits`: what the page must respect for a session to survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// The largest WebSocket message the relay accepts; a larger one closes
    /// the session with [`code::TOO_BIG`]. TCP keeps no message boundaries,
    /// so the page splits bigger frames into messages of at most this size.
    pub max_message_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_limits_have_the_documented_json_shape() {
        let target: TargetInfo =
            serde_json::from_str(r#"{"name": "app", "description": "the app server"}"#).unwrap();
        assert_eq!(target.address, None);
        assert_eq!(
            serde_json::to_string(&TargetInfo {
                address: Some("127.0.0.1:65432".into()),
                ..target
            })
            .unwrap(),
            r#"{"name":"app","description":"the app server","address":"127.0.0.1:65432"}"#
        );
        let limits: Limits = serde_json::from_str(r#"{"max_message_size": 1048576}"#).unwrap();
        assert_eq!(limits.max_message_size, 1 << 20);
    }
}
