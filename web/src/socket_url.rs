//! Where the page's WebSockets go: the relay on the page's own origin. The
//! playground's socket (`hooks::use_websocket`, through the root component),
//! the labs' sockets and the Watch tab's stream all take their URL from here.

use protocol::relay_api::{CAPTURE_PARAM, OBSERVE_PARAM, WATCH_PARAM, WS_PATH};

use crate::share;

/// `ws://host/ws?target=NAME&observe=1` on the page's own origin: every
/// session asks the relay for its observations.
pub fn socket_url(target: &str) -> String {
    format!(
        "{}?target={}&{OBSERVE_PARAM}=1",
        ws_base(),
        share::percent_encode(target)
    )
}

/// [`socket_url`] for a lab's session (Framing, Many connections): observed,
/// with `capture=0`, since only the Playground offers a session's capture
/// for download, and each capture the relay runs costs every loopback
/// packet of the machine a filter run.
pub fn lab_socket_url(target: &str) -> String {
    format!("{}&{CAPTURE_PARAM}=0", socket_url(target))
}

/// `ws://host/ws?watch=NAME`: the watch stream of an exposed target.
pub fn watch_url(target: &str) -> String {
    format!(
        "{}?{WATCH_PARAM}={}",
        ws_base(),
        share::percent_encode(target)
    )
}

/// `ws://host/ws` (or `wss:`) on the page's own origin.
fn ws_base() -> String {
    let location = web_sys::window().map(|w| w.location());
    let (protocol, host) = location
        .map(|l| {
            (
                l.protocol().unwrap_or_default(),
                l.host().unwrap_or_default(),
            )
        })
        .unwrap_or_default();
    let scheme = if protocol == "https:" { "wss:" } else { "ws:" };
    format!("{scheme}//{host}{WS_PATH}")
}
