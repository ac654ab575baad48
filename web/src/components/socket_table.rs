//! The session's sockets as `netstat -an` shows them, live: the relay's
//! socket to the target and, for the servers the relay runs itself, the
//! server's socket of the same connection. During a flood to a server that
//! never reads, the server's Recv-Q fills first, then the relay's Send-Q,
//! then the browser's own buffer (`WebSocket.bufferedAmount`).

use std::rc::Rc;

use yew::prelude::*;

use crate::model::{group_digits, FloodEnd, FloodProgress, Observe, SocketRow, FLOOD_LIMIT};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub observe: Rc<Observe>,
    /// The session's target, to name it when its side cannot be seen.
    pub target: AttrValue,
    /// The latest flood's progress, if the session flooded.
    pub flood: Option<FloodProgress>,
}

fn row(id: &'static str, who: &'static str, s: &SocketRow) -> Html {
    let dash = || "–".to_owned();
    let (recv_q, send_q, state) = match &s.info {
        Some(i) => {
            let state = if s.closed {
                format!("{} (last report before close())", i.state.name())
            } else {
                i.state.name().to_owned()
            };
            (i.recv_q.to_string(), i.send_q.to_string(), state)
        }
        None if s.closed => (dash(), dash(), "closed".to_owned()),
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
            <td class="state">{ state }</td>
        </tr>
    }
}

#[component]
pub fn SocketTable(props: &Props) -> Html {
    let o = &props.observe;
    if !o.active() {
        return html! {
            <p class="hint" id="sockets-unobserved">{ "Nothing observed yet. Once a session is open, its sockets show here as netstat -an shows them, with their kernel queues." }</p>
        };
    }
    let browser = props.flood.map(|f| {
        let how = match f.end {
            FloodEnd::Running => "flooding",
            FloodEnd::AtLimit => "flood at its limit",
            FloodEnd::Stopped => "flood stopped",
            FloodEnd::SocketClosed => "the socket closed",
        };
        format!(
            "browser: WebSocket.bufferedAmount {} bytes ({how}; {} of {} bytes offered)",
            group_digits(u64::from(f.buffered)),
            group_digits(f.offered as u64),
            group_digits(FLOOD_LIMIT as u64)
        )
    });
    html! {
        <div class="sockets">
            <table class="netstat" id="socket-table">
                <thead><tr>
                    <th>{ "socket" }</th><th>{ "Proto" }</th><th>{ "Recv-Q" }</th><th>{ "Send-Q" }</th>
                    <th>{ "Local Address" }</th><th>{ "Foreign Address" }</th><th>{ "State" }</th>
                </tr></thead>
                <tbody>
                    { row("sock-relay", "relay", &o.relay) }
                    if o.sees_server() {
                        { row("sock-server", "server", &o.server) }
                    } else {
                        <tr id="sock-server"><th scope="row">{ "server" }</th>
                            <td colspan="6" class="hint">{ format!("not observable: {} is an external server, only the relay's socket can be seen", props.target) }</td></tr>
                    }
                </tbody>
            </table>
            if let Some(line) = browser {
                <p class="mono" id="sock-browser">{ line }</p>
            }
            <p class="hint">{ "Recv-Q: bytes the kernel received that the program has not read yet. Send-Q: bytes the program wrote that the peer has not acknowledged yet." }</p>
        </div>
    }
}
