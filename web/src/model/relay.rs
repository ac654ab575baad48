//! The page's side of the relay↔page contract (`protocol::relay_api`): the
//! target list, and what a failed or closed socket means. Everything the
//! relay says is read through the contract's types; the page never matches
//! on text the relay wrote, it only shows it.

use protocol::relay_api::{CloseReason, TargetInfo, WireError, TARGETS_PATH, WS_PATH};

/// Whether the relay's target list is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    Loading,
    Loaded(Vec<TargetInfo>),
    Failed(String),
}

/// Parses the relay's `GET /targets` body, a JSON array of [`TargetInfo`].
pub fn parse_targets(body: &str) -> Result<Vec<TargetInfo>, String> {
    TargetInfo::list_from_json(body).map_err(|e| match e {
        WireError::Json(e) => format!("{TARGETS_PATH} is not JSON: {e}"),
        e => format!("{TARGETS_PATH} is not a JSON list of targets: {e}"),
    })
}

/// Whether a close is the relay saying it could not connect to the target,
/// as opposed to the target hanging up (reset, I/O error) once connected.
pub fn is_connect_failure(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::ConnectFailed { .. })
}

/// Why a socket that never opened failed: the relay or the target, and why.
pub fn unreachable_reason(targets: &Targets, target: &str) -> String {
    match targets {
        Targets::Failed(e) => format!("relay unreachable: {e}"),
        Targets::Loaded(list) if !list.iter().any(|t| t.name == target) => {
            format!("the relay has no target named {target:?}")
        }
        Targets::Loaded(_) => {
            format!("the relay refused or dropped the WebSocket for {target:?} before it opened")
        }
        Targets::Loading => {
            format!("relay unreachable: the WebSocket to {WS_PATH} did not open")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn targets_list_is_read_from_the_relays_json() {
        let list = parse_targets(
            r#"[{"name": "app", "description": "the app server"}, {"name": "echo"}]"#,
        )
        .unwrap();
        assert_eq!(
            list[1],
            TargetInfo {
                name: "echo".into(),
                description: String::new(),
                address: None,
                program: None,
                exposed: None,
            }
        );
        assert!(parse_targets("{}").is_err());
        assert!(parse_targets("[{]").unwrap_err().contains("is not JSON"));
    }

    #[test]
    fn only_a_failed_connect_is_a_connect_failure() {
        let parse = |code, reason| is_connect_failure(&CloseReason::parse(code, reason));
        assert!(parse(1011, "connection refused: 127.0.0.1:9"));
        assert!(parse(1011, "cannot connect (Permission denied): [::1]:9"));
        assert!(!parse(1011, "connection reset"));
        assert!(!parse(1000, "connection refused: 127.0.0.1:9"));
    }
}
