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
//!
//! Each body and message is JSON, read and written by one function pair per
//! type on the crate's own JSON (`Observation::from_json` / `to_json`,
//! `TargetInfo::list_from_json` / `list_to_json`, `Limits::from_json` /
//! `to_json`), so the page links no serde; enum names sit in one table each.

mod close;
mod names;
pub mod observe;
mod wire;

pub use close::{code, CloseReason, ConnectFailure, ProgramExit, MAX_REASON_BYTES};
pub use observe::{
    python_exception, DecoderState, FramerStep, LogLevel, Observation, Observed, PendingCall,
    Readiness, ShutdownHow, SocketInfo, TcpState,
};
pub use wire::WireError;

/// Where the relay serves WebSocket sessions: `/ws?target=NAME`.
pub const WS_PATH: &str = "/ws";
/// Where the relay lists its targets as a JSON array of [`TargetInfo`].
pub const TARGETS_PATH: &str = "/targets";
/// Where the relay tells the page its [`Limits`].
pub const LIMITS_PATH: &str = "/limits";
/// Where the relay serves a session's real capture (a pcapng) once the
/// session has ended: `/capture/<id>`, the id from [`Observed::Capture`].
/// Same-origin like [`WS_PATH`]; 404 once it is no longer kept.
pub const CAPTURE_PATH: &str = "/capture/";

/// The path of the capture `id` ([`CAPTURE_PATH`]).
pub fn capture_path(id: &str) -> String {
    format!("{CAPTURE_PATH}{id}")
}

/// The query parameter that turns observation on: `/ws?target=NAME&observe=1`.
pub const OBSERVE_PARAM: &str = "observe";
/// `capture=0` beside `observe=1`: the client will not download this
/// session's capture, so the relay does not capture it for the client (a
/// `--record`ed session still is). The default, `1`, has the relay capture
/// an observed session where it may ([`Observed::Capture`]).
pub const CAPTURE_PARAM: &str = "capture";
/// The query parameter naming a session for [`CLOSE_PATH`]: a secret the page
/// chose (`/ws?target=NAME&key=HEX`), [`KEY_HEX_DIGITS`] lowercase hex digits.
pub const KEY_PARAM: &str = "key";
/// Hex digits of a session key: 128 random bits, unguessable, so that only
/// the page that opened a session can close it.
pub const KEY_HEX_DIGITS: usize = 32;
/// `POST /ws/close?key=HEX`: the relay closes that session's TCP connection
/// now, overtaking whatever the browser still has queued ahead of a close
/// frame (a flood to a server that never reads holds megabytes there),
/// follows both sockets' states, sends them, then closes the WebSocket with
/// [`CloseReason::Requested`]. 204 if the session was open, 404 otherwise.
pub const CLOSE_PATH: &str = "/ws/close";

/// Whether `key` is a session key as [`KEY_PARAM`] carries it.
pub fn valid_key(key: &str) -> bool {
    key.len() == KEY_HEX_DIGITS && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The relay's limits that refuse a WebSocket before it opens, answered
/// with an HTTP status (429: the client's address is over its share; 503:
/// the relay is full) and a text naming the flag. A browser's WebSocket
/// shows none of it (only that the socket did not open), so the page names
/// these flags; the relay writes its refusals with the same names.
pub const UPGRADE_LIMITS: [UpgradeLimit; 5] = [
    UpgradeLimit {
        flag: "--max-http-connections-per-ip",
        status: 429,
        counts: "connections from one address not yet upgraded",
    },
    UpgradeLimit {
        flag: "--max-sessions-per-ip",
        status: 429,
        counts: "sessions from one address",
    },
    UpgradeLimit {
        flag: "--max-http-connections",
        status: 503,
        counts: "connections not yet upgraded",
    },
    UpgradeLimit {
        flag: "--max-sessions",
        status: 503,
        counts: "sessions",
    },
    UpgradeLimit {
        flag: "--max-buffered-bytes",
        status: 503,
        counts: "bytes all sessions hold",
    },
];

/// One of [`UPGRADE_LIMITS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpgradeLimit {
    /// The relay's flag, which its operator can raise.
    pub flag: &'static str,
    /// The HTTP status of the refusal.
    pub status: u16,
    /// What the flag counts.
    pub counts: &'static str,
}
/// The query parameter of a watch stream, `/ws?watch=NAME`: the observations
/// of the learner's own clients arriving at the target's `--expose`d
/// listener, each with its connection's `conn`, and no bytes to send.
pub const WATCH_PARAM: &str = "watch";

/// One entry of `GET /targets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// What the page puts in `/ws?target=`; the only way to name a host.
    pub name: String,
    /// One line for the picker.
    pub description: String,
    /// `HOST:PORT` the relay connects to, when the relay discloses it.
    pub address: Option<String>,
    /// The program the relay runs for this target (`relay --run`), whose
    /// socket calls a session with `observe=1` sees.
    pub program: Option<ProgramInfo>,
    /// `HOST:PORT` where the target's server also listens for the
    /// learner's own clients (`relay --expose`), watched at
    /// `/ws?watch=NAME`.
    pub exposed: Option<String>,
}

/// The program behind a `--run` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    /// Its process id.
    pub pid: u32,
    /// Its command line, as `ps` shows it (arguments joined by spaces).
    pub command: String,
}

/// `GET /limits`: what the page must respect for a session to survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest WebSocket message the relay accepts; a larger one closes
    /// the session with [`code::TOO_BIG`]. TCP keeps no message boundaries,
    /// so the page splits bigger frames into messages of at most this size.
    pub max_message_size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn targets_and_limits_have_the_documented_json_shape() {
        let targets = TargetInfo::list_from_json(
            r#"[{"name": "app", "description": "the app server"}, {"name": "echo"}]"#,
        )
        .unwrap();
        assert_eq!(targets[0].address, None);
        assert_eq!(targets[1].description, "");
        let written = r#"[{"name":"app","description":"the app server","address":"127.0.0.1:65432"},{"name":"echo","description":""}]"#;
        let listed = [
            TargetInfo {
                address: Some("127.0.0.1:65432".into()),
                ..targets[0].clone()
            },
            targets[1].clone(),
        ];
        assert_eq!(TargetInfo::list_to_json(&listed), written);
        assert_eq!(TargetInfo::list_from_json(written).unwrap(), listed);
        assert_eq!(TargetInfo::list_to_json(&[]), "[]");
        let limits = Limits::from_json(r#"{"max_message_size": 1048576}"#).unwrap();
        assert_eq!(limits.max_message_size, 1 << 20);
        assert_eq!(limits.to_json(), r#"{"max_message_size":1048576}"#);
        let most = Limits {
            max_message_size: u64::MAX,
        };
        assert_eq!(Limits::from_json(&most.to_json()).unwrap(), most);
    }

    #[test]
    fn an_exposed_target_says_where() {
        let written = r#"[{"name":"app","description":"","exposed":"127.0.0.1:65432"}]"#;
        let list = TargetInfo::list_from_json(written).unwrap();
        assert_eq!(list[0].exposed.as_deref(), Some("127.0.0.1:65432"));
        assert_eq!(TargetInfo::list_to_json(&list), written);
    }

    #[test]
    fn a_run_target_names_its_program() {
        let written = r#"[{"name":"mine","description":"your program","address":"127.0.0.1:65432","program":{"pid":4242,"command":"python3 app-server.py 127.0.0.1 65432"}}]"#;
        let list = TargetInfo::list_from_json(written).unwrap();
        assert_eq!(
            list[0].program,
            Some(ProgramInfo {
                pid: 4242,
                command: "python3 app-server.py 127.0.0.1 65432".into()
            })
        );
        assert_eq!(TargetInfo::list_to_json(&list), written);
        assert!(TargetInfo::list_from_json(r#"[{"name":"x","program":{"pid":1}}]"#).is_err());
    }

    #[test]
    fn a_body_of_another_shape_is_refused_by_what_is_wrong() {
        let not_json = TargetInfo::list_from_json("<html>").unwrap_err();
        assert!(matches!(not_json, WireError::Json(_)), "{not_json}");
        assert_eq!(
            TargetInfo::list_from_json(r#"{"name":"app"}"#)
                .unwrap_err()
                .to_string(),
            "the target list must be a JSON array"
        );
        assert_eq!(
            TargetInfo::list_from_json(r#"[{"description":"x"}]"#)
                .unwrap_err()
                .to_string(),
            "missing field `name`"
        );
        assert_eq!(
            Limits::from_json(r#"{"max_message_size":-1}"#)
                .unwrap_err()
                .to_string(),
            "field `max_message_size` must be a non-negative integer in range"
        );
    }
}
