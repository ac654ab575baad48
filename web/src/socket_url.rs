//! Where the page's WebSockets go: the relay on the page's own origin. The
//! playground's socket (`hooks::use_websocket`, through the root component)
//! and the labs' sockets all take their URL from here.

use protocol::relay_api::{OBSERVE_PARAM, WS_PATH};

use crate::share;

/// `ws://host/ws?target=NAME&observe=1` on the page's own origin: every
/// session asks the relay for its observations.
pub fn socket_url(target: &str) -> String {
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
    format!(
        "{scheme}//{host}{WS_PATH}?target={}&{OBSERVE_PARAM}=1",
        share::percent_encode(target)
    )
}
