//! The session's sockets as `netstat -an` shows them, live: the relay's
//! socket to the target and, for the servers the relay runs itself, the
//! server's socket of the same connection. During a flood to a server that
//! never reads, the server's Recv-Q fills first, then the relay's Send-Q,
//! then the browser's own buffer (`WebSocket.bufferedAmount`). Below the
//! table, each socket's TCP state diagram (`tcp_diagram`). A server the
//! relay does not run, on the relay's machine, has its socket row too
//! (the relay reads it through sock_diag), but not its calls.

use std::rc::Rc;

use yew::prelude::*;

use super::tcp_diagram::tcp_diagrams;
use crate::model::tcp_states::label;
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
            // A socket the kernel dropped is RFC 793's CLOSED.
            label(i.state).to_owned(),
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
                    // Reported after close() (the relay follows the socket
                    // to TIME_WAIT or gone), or the last report before it.
                    <small class="closed">{ if s.reported_after_close { "after close()" } else { "then close()" } }</small>
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
                    if o.sees_server_socket() {
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
            if o.server.info.is_some() && !o.sees_server() {
                <p class="hint" id="sock-server-diag">{ format!("The server's row is the kernel's (sock_diag, as ss reads it): {} runs on the relay's machine, but its calls are not observed.", props.target) }</p>
            }
            { tcp_diagrams(&o.relay, o.sees_server_socket().then_some(&o.server)) }
        </div>
    }
}
