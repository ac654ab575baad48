//! The page's side of the relay↔page contract (`protocol::relay_api`): the
//! target list, and what a failed or closed socket means. Everything the
//! relay says is read through the contract's types; the page never matches
//! on text the relay wrote, it only shows it.

use protocol::relay_api::{
    CloseReason, TargetInfo, WireError, TARGETS_PATH, UPGRADE_LIMITS, WS_PATH,
};

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

/// How the page's words begin when the relay could not be reached at all
/// (as opposed to a relay that answered with a refusal).
pub const UNREACHABLE: &str = "relay unreachable";

/// Whether `why` (a [`Targets::Failed`] text) says the relay is down, so
/// that starting it is the advice.
pub fn relay_is_down(why: &str) -> bool {
    why.starts_with(UNREACHABLE) || !why.contains(" answered ")
}

/// Why `GET path` did not answer 200, in words a user can act on.
///
/// A relay answers `421` to a `Host` that is not one of its own names (which
/// is what stops DNS rebinding): behind a proxy, or at a name it was not
/// told about, the page itself still loads (static files are served to any
/// `Host`) but nothing in it works, so the page says which flag is missing
/// for the address it was loaded from (`page_origin`). `403` is an `Origin`
/// the relay does not allow, `429` and `503` its limits.
pub fn refused_words(path: &str, status: u16, status_text: &str, page_origin: &str) -> String {
    let answered = format!("GET {path} answered {status} {status_text}");
    match status {
        421 => format!(
            "{answered}: the relay does not answer to this page's address ({page_origin}). \
             It answers only to its own names, which stops DNS rebinding; whoever runs it \
             adds --public-origin {page_origin} to its command line (deploy/README.md)."
        ),
        403 => format!(
            "{answered}: the relay does not allow pages from {page_origin}; \
             whoever runs it adds --allow-origin {page_origin} (or --public-origin)."
        ),
        429 => format!(
            "{answered}: too many connections from your address at once; close other \
             tabs, or whoever runs the relay raises its per-address limits."
        ),
        503 => format!("{answered}: the relay is at its limits; try again in a moment."),
        _ => answered,
    }
}

/// Whether `name` is one of the framing lab's targets (`fixed`, `lines`,
/// `prefix`, `close`): the Framing tab sends to them, the Playground's
/// picker does not offer them.
pub fn framing_lab_target(name: &str) -> bool {
    protocol::framing::Strategy::ALL
        .iter()
        .any(|s| s.name() == name)
}

/// The targets the Playground's picker offers: the framing lab's are left
/// out, unless one is the target already chosen (a link may name it).
pub fn playground_targets<'a>(list: &'a [TargetInfo], chosen: &str) -> Vec<&'a TargetInfo> {
    list.iter()
        .filter(|t| !framing_lab_target(&t.name) || t.name == chosen)
        .collect()
}

/// Whether a close is the relay saying it could not connect to the target,
/// as opposed to the target hanging up (reset, I/O error) once connected.
pub fn is_connect_failure(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::ConnectFailed { .. })
}

/// Why a socket that never opened failed: the relay or the target, and why.
pub fn unreachable_reason(targets: &Targets, target: &str) -> String {
    match targets {
        Targets::Failed(e) if e.starts_with(UNREACHABLE) || !relay_is_down(e) => e.clone(),
        Targets::Failed(e) => format!("{UNREACHABLE}: {e}"),
        Targets::Loaded(list) if !list.iter().any(|t| t.name == target) => {
            format!("the relay has no target named {target:?}")
        }
        Targets::Loaded(_) => {
            // The browser hides the relay's answer: name what it can be.
            let flags: Vec<String> = UPGRADE_LIMITS
                .iter()
                .map(|l| format!("{} ({}, {})", l.flag, l.counts, l.status))
                .collect();
            format!(
                "the relay refused or dropped the WebSocket for {target:?} before it opened; \
                 the browser does not show why, the relay's log does. If it was a limit, \
                 the relay's operator can raise it: {}",
                flags.join(", ")
            )
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
    fn a_421_names_the_flag_for_the_address_the_page_was_loaded_from() {
        let words = refused_words(
            "/targets",
            421,
            "Misdirected Request",
            "https://wirelab.example.edu:8443",
        );
        assert!(
            words.starts_with("GET /targets answered 421 Misdirected Request: "),
            "{words}"
        );
        assert!(
            words.contains("--public-origin https://wirelab.example.edu:8443"),
            "{words}"
        );
        assert!(words.contains("DNS rebinding"), "{words}");
    }

    #[test]
    fn other_refusals_say_what_refused_and_an_unknown_status_is_only_named() {
        assert!(
            refused_words("/targets", 403, "Forbidden", "http://a.example")
                .contains("--allow-origin http://a.example")
        );
        assert!(refused_words("/targets", 429, "Too Many Requests", "x").contains("per-address"));
        assert_eq!(
            refused_words("/limits", 500, "Internal Server Error", "x"),
            "GET /limits answered 500 Internal Server Error"
        );
    }

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

    /// Issue 23: a refused upgrade (a class behind one address past
    /// `--max-http-connections-per-ip`) said nothing of why.
    #[test]
    fn a_refused_websocket_names_the_limits_an_operator_can_raise() {
        let targets = Targets::Loaded(parse_targets(r#"[{"name": "app"}]"#).unwrap());
        let text = unreachable_reason(&targets, "app");
        for flag in [
            "--max-http-connections-per-ip",
            "--max-sessions-per-ip",
            "--max-sessions",
        ] {
            assert!(text.contains(flag), "{text}");
        }
        assert!(text.contains("raise"), "{text}");
    }

    #[test]
    fn the_playground_offers_no_framing_lab_target_unless_chosen() {
        let list = parse_targets(
            r#"[{"name": "app"}, {"name": "close"}, {"name": "fixed"}, {"name": "reset"}]"#,
        )
        .unwrap();
        let names = |chosen| -> Vec<String> {
            playground_targets(&list, chosen)
                .iter()
                .map(|t| t.name.clone())
                .collect()
        };
        assert_eq!(names("app"), ["app", "reset"]);
        assert_eq!(names("fixed"), ["app", "fixed", "reset"]);
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
