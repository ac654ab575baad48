//! The TCP state diagram (RFC 793's states and transitions, as small SVG)
//! of one socket, with the path this connection took lit: states the relay
//! sampled filled, states passed between two samples dashed, the current one
//! outlined. The caption says the same path in words, so a screen reader
//! (and a test) reads what the picture shows.

use protocol::relay_api::TcpState;
use yew::prelude::*;

use crate::model::tcp_states::{label, path, path_words, Step, TRANSITIONS};
use crate::model::SocketRow;

#[derive(Properties, PartialEq)]
pub struct Props {
    /// `relay` or `server`: names the figure and its ids.
    pub who: AttrValue,
    pub row: SocketRow,
    /// Where this side's path starts: CLOSED for the side that connects,
    /// LISTEN for the accepted socket.
    pub start: TcpState,
}

const W: f64 = 330.0;
const H: f64 = 236.0;
const BOX_W: f64 = 98.0;
const BOX_H: f64 = 22.0;

/// Where a node sits: three columns, seven rows. CLOSED is drawn twice:
/// at the top where sockets start, at the bottom where they end.
fn place(state: TcpState, at_start: bool) -> (f64, f64) {
    use TcpState::*;
    let (col, row) = match state {
        Close if at_start => (1, 0),
        Close => (2, 6),
        Listen => (0, 1),
        SynSent => (2, 1),
        SynRecv => (0, 2),
        Established => (1, 3),
        FinWait1 => (0, 4),
        CloseWait => (2, 4),
        FinWait2 => (0, 5),
        Closing => (1, 5),
        LastAck => (2, 5),
        TimeWait => (1, 6),
    };
    (55.0 + 110.0 * col as f64, 14.0 + 34.0 * row as f64)
}

/// The point where the segment from the centre `a` towards `b` leaves a box.
fn edge_of(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let tx = if dx == 0.0 {
        f64::INFINITY
    } else {
        (BOX_W / 2.0 + 2.0) / dx.abs()
    };
    let ty = if dy == 0.0 {
        f64::INFINITY
    } else {
        (BOX_H / 2.0 + 2.0) / dy.abs()
    };
    let t = tx.min(ty);
    (a.0 + dx * t, a.1 + dy * t)
}

/// How a state or a transition shows on this path.
#[derive(Clone, Copy, PartialEq)]
enum Lit {
    Off,
    Passed,
    Seen,
}

fn class(lit: Lit) -> &'static str {
    match lit {
        Lit::Off => "",
        Lit::Passed => " passed",
        Lit::Seen => " seen",
    }
}

#[component]
pub fn TcpDiagram(props: &Props) -> Html {
    let steps = path(props.start, &props.row.states);
    let now = steps.last().map(|s| s.state);
    // Whether a node (state, drawn at the top?) is on the path, and how.
    let node_lit = |state: TcpState, at_start: bool| -> Lit {
        let mut lit = Lit::Off;
        for (i, step) in steps.iter().enumerate() {
            let is_start_node = i == 0;
            if step.state == state && (state != TcpState::Close || is_start_node == at_start) {
                lit = match (lit, step.seen_at) {
                    (Lit::Seen, _) | (_, Some(_)) => Lit::Seen,
                    _ => Lit::Passed,
                };
            }
        }
        lit
    };
    // A transition is lit when the path takes it; dashed if either end was
    // passed rather than seen.
    let edge_lit = |from: TcpState, to: TcpState| -> Lit {
        let taken = steps
            .windows(2)
            .find(|w| w[0].state == from && w[1].state == to);
        match taken {
            None => Lit::Off,
            Some(
                [_, Step {
                    seen_at: Some(_), ..
                }],
            ) => Lit::Seen,
            Some(_) => Lit::Passed,
        }
    };
    let edges = TRANSITIONS.iter().map(|e| {
        let a = place(e.from, true);
        let b = place(e.to, false);
        let (p, q) = (edge_of(a, b), edge_of(b, a));
        // An arrow head at q, pointing along p→q.
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let head = format!(
            "{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}",
            q.0,
            q.1,
            q.0 - 7.0 * ux + 3.5 * uy,
            q.1 - 7.0 * uy - 3.5 * ux,
            q.0 - 7.0 * ux - 3.5 * uy,
            q.1 - 7.0 * uy + 3.5 * ux
        );
        let lit = edge_lit(e.from, e.to);
        html! {
            <g class={format!("edge{}", class(lit))}>
                <title>{ format!("{} → {}: {}", label(e.from), label(e.to), e.cause) }</title>
                <line x1={format!("{:.1}", p.0)} y1={format!("{:.1}", p.1)}
                      x2={format!("{:.1}", q.0 - 6.0 * ux)} y2={format!("{:.1}", q.1 - 6.0 * uy)} />
                <polygon points={head} />
            </g>
        }
    });
    let nodes = [
        (TcpState::Close, true),
        (TcpState::Listen, false),
        (TcpState::SynSent, false),
        (TcpState::SynRecv, false),
        (TcpState::Established, false),
        (TcpState::FinWait1, false),
        (TcpState::CloseWait, false),
        (TcpState::FinWait2, false),
        (TcpState::Closing, false),
        (TcpState::LastAck, false),
        (TcpState::TimeWait, false),
        (TcpState::Close, false),
    ]
    .into_iter()
    .map(|(state, at_start)| {
        let (x, y) = place(state, at_start);
        let lit = node_lit(state, at_start);
        let current = now == Some(state) && (state != TcpState::Close || !at_start || steps.len() == 1);
        let name = label(state);
        html! {
            <g class={format!("node{}{}", class(lit), if current { " now" } else { "" })}
               data-state={name}>
                <rect x={format!("{:.1}", x - BOX_W / 2.0)} y={format!("{:.1}", y - BOX_H / 2.0)}
                      width={BOX_W.to_string()} height={BOX_H.to_string()} rx="4" />
                <text x={format!("{x:.1}")} y={format!("{:.1}", y + 4.0)} text-anchor="middle">{ name }</text>
            </g>
        }
    });
    let whose = if props.who == "relay" {
        "The relay's socket"
    } else {
        "The server's socket"
    };
    let ending = match now {
        Some(TcpState::TimeWait) => {
            " The kernel keeps it in TIME_WAIT for 60 s (2 MSL on Linux), then CLOSED."
        }
        Some(TcpState::Close) if steps.len() > 1 => " The kernel has dropped it.",
        _ => "",
    };
    html! {
        <figure class="tcp-diagram" id={format!("tcp-{}", props.who)}>
            <svg viewBox={format!("0 0 {W} {H}")} role="img"
                 aria-label={format!("TCP state diagram of {}", whose.to_lowercase())}>
                { for edges }
                { for nodes }
            </svg>
            <figcaption>
                <strong>{ format!("{whose}: ") }</strong>
                <span class="mono tcp-path">{ path_words(&steps) }</span>
                { ending }
            </figcaption>
        </figure>
    }
}

/// Both sockets' diagrams, once the relay has reported a state of either,
/// with the legend they share.
#[derive(Properties, PartialEq)]
pub struct PairProps {
    pub relay: SocketRow,
    pub server: Option<SocketRow>,
}

#[component]
pub fn TcpDiagrams(props: &PairProps) -> Html {
    if props.relay.states.is_empty() {
        return html! {};
    }
    html! {
        <div class="tcp-diagrams" id="tcp-diagrams">
            <TcpDiagram who="relay" row={props.relay.clone()} start={TcpState::Close} />
            if let Some(server) = props.server.clone().filter(|s| !s.states.is_empty()) {
                <TcpDiagram who="server" row={server} start={TcpState::Listen} />
            }
            <p class="hint">{ "Lit: the path this connection took. Filled: states the kernel reported. \
                Dashed and starred (*): states passed between two reports (the shortest way TCP allows); \
                on loopback FIN_WAIT1 and LAST_ACK usually end within the close() that began them." }</p>
        </div>
    }
}
