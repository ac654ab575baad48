//! The session's sockets as `netstat -an` shows them, live: the relay's
//! socket to the target and, for the servers the relay runs itself, the
//! server's socket of the same connection. During a flood to a server that
//! never reads, the server's Recv-Q fills first, then the relay's Send-Q,
//! then the browser's own buffer (`WebSocket.bufferedAmount`).

use std::rc::Rc;

use yew::prelude::*;

use crate::model::{group_digits, FloodProgress, Observe, SocketRow};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub observe: Rc<Observe>,
    /// The session's target, to name it when its side cannot be seen.
    pub target: AttrValue,
    /// A session opened: no observation by now means the relay sends none.
    #[prop_or_default]
    pub opened: bool,
    /// The latest flood's progress, if the session flooded.
    pub flood: Option<FloodProgress>,
    /// Watch mode: no relay socket; this row says who the client is.
    #[prop_or_default]
    pub client: Option<AttrValue>,
}

fn row(id: &'static str, who: &'static str, s: &SocketRow) -> Html {
    let dash = || "–".to_owned();
    let (recv_q, send_q, state) = match &s.info {
        Some(i) => (
            i.recv_q.to_string(),
            i.send_q.to_string(),
            i.state.name().to_owned(),
        ),
        None => (dash(), dash(), dash()),
    };
    html! {
        <tr id={id}>
            <th scope="row">{ who }</th>
            <td>{ s.proto() }</td>
            <td class="num recv-q">{ recv_q }</td>
            <td class="num send-q">{ send_q }</td>
            <td class="mono">{ s.local.clone().unwrap_or_else(dash) }</td>
            <td class="mono">{ s.peer.clone().unwrap_or_else(dash) }</td>
            <td class="state">{ state }
                if s.closed {
                    // The kernel's state after close() is not reported: say
                    // the figure is from before it.
                    <small class="closed">{ "then close()" }</small>
                }
            </td>
        </tr>
    }
}

#[component]
pub fn SocketTable(props: &Props) -> Html {
    let o = &props.observe;
    if !o.active() && props.opened {
        return html! {
            <p class="hint" id="sockets">{ "The relay sent no observations for this session: its sockets cannot be shown." }</p>
        };
    }
    if !o.active() {
        return html! {
            <p class="hint" id="sockets">{ "Nothing observed yet. Once a session is open, its sockets show here as netstat -an shows them, with their kernel queues." }</p>
        };
    }
    // The third queue of the backpressure chain, beside the kernel's two.
    let browser = props.flood.map(|f| {
        format!(
            "browser: WebSocket.bufferedAmount {} bytes (queued in the browser, not yet sent)",
            group_digits(u64::from(f.buffered))
        )
    });
    html! {
        <div class="sockets" id="sockets">
            <div class="netstat-wrap">
            <table class="netstat" id="socket-table">
                <thead><tr>
                    <th>{ "socket" }</th><th>{ "Proto" }</th><th>{ "Recv-Q" }</th><th>{ "Send-Q" }</th>
                    <th>{ "Local Address" }</th><th>{ "Foreign Address" }</th><th>{ "State" }</th>
                </tr></thead>
                <tbody>
                    if let Some(client) = &props.client {
                        <tr id="sock-client"><th scope="row">{ "client" }</th><td colspan="6" class="hint">{ client.clone() }</td></tr>
                    } else {
                        { row("sock-relay", "relay", &o.relay) }
                    }
                    if o.sees_server() {
                        { row("sock-server", "server", &o.server) }
                    } else {
                        <tr id="sock-server"><th scope="row">{ "server" }</th>
                            <td colspan="6" class="hint">{ format!("not observable: {} is an external server, only the relay's socket can be seen", props.target) }</td></tr>
                    }
                </tbody>
            </table>
            </div>
            if let Some(line) = browser {
                <p class="mono" id="sock-browser">{ line }</p>
            }
            <p class="hint">{ "Recv-Q: bytes the kernel received that the program has not read yet. Send-Q: bytes the program wrote that the peer has not acknowledged yet." }</p>
        </div>
    }
}
