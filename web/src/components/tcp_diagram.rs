//! The TCP state diagram (RFC 793's states and transitions, as small SVG)
//! of one socket, with the path this connection took lit: states the relay
//! sampled filled, states passed between two samples dashed, the current one
//! outlined. The caption says the same path in words, so a screen reader
//! (and a test) reads what the picture shows.

use protocol::relay_api::TcpState;
use yew::prelude::*;

use crate::model::tcp_states::{label, path, path_words, Step, TRANSITIONS};
use crate::model::SocketRow;

const W: i32 = 330;
const H: i32 = 236;
const BOX_W: i32 = 98;
const BOX_H: i32 = 22;

/// Where a node sits: three columns, seven rows. CLOSED is drawn twice:
/// at the top where sockets start, at the bottom where they end.
fn place(state: TcpState, at_start: bool) -> (i32, i32) {
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
    (55 + 110 * col, 14 + 34 * row)
}

/// Where the segment from the centre `a` towards `b` leaves a box, and the
/// unit vector along it.
fn edge_of(a: (i32, i32), b: (i32, i32)) -> (f64, f64) {
    let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
    let tx = if dx == 0.0 {
        f64::INFINITY
    } else {
        f64::from(BOX_W / 2 + 2) / dx.abs()
    };
    let ty = if dy == 0.0 {
        f64::INFINITY
    } else {
        f64::from(BOX_H / 2 + 2) / dy.abs()
    };
    let t = tx.min(ty);
    (f64::from(a.0) + dx * t, f64::from(a.1) + dy * t)
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

/// The order nodes are drawn in (DOM order; the top CLOSED first).
const NODES: [(TcpState, bool); 12] = [
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
];

/// The diagram as SVG markup. Written as one string rather than one
/// `html!` node per shape: the page's size budget (every name and number
/// in it is ours, none a stranger's).
fn svg(steps: &[Step], whose: &str) -> String {
    use std::fmt::Write;
    let now = steps.last().map(|s| s.state);
    let node_lit = |state: TcpState, at_start: bool| -> Lit {
        let mut lit = Lit::Off;
        for (i, step) in steps.iter().enumerate() {
            if step.state == state && (state != TcpState::Close || (i == 0) == at_start) {
                lit = match (lit, step.seen_at) {
                    (Lit::Seen, _) | (_, Some(_)) => Lit::Seen,
                    _ => Lit::Passed,
                };
            }
        }
        lit
    };
    // A transition is lit when the path takes it; dashed when it led to a
    // state passed rather than seen.
    let edge_lit = |from: TcpState, to: TcpState| -> Lit {
        match steps
            .windows(2)
            .find(|w| w[0].state == from && w[1].state == to)
        {
            None => Lit::Off,
            Some(w) if w[1].seen_at.is_some() => Lit::Seen,
            Some(_) => Lit::Passed,
        }
    };
    let mut out = format!(
        "<svg viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"TCP state diagram of {whose}\">"
    );
    for e in &TRANSITIONS {
        let (a, b) = (place(e.from, true), place(e.to, false));
        let (p, q) = (edge_of(a, b), edge_of(b, a));
        let (dx, dy) = (q.0 - p.0, q.1 - p.1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ux, uy) = (dx / len, dy / len);
        let r = |v: f64| v.round() as i32;
        let _ = write!(
            out,
            "<g class=\"edge{}\"><title>{} → {}: {}</title>\
             <line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
             <polygon points=\"{},{} {},{} {},{}\"/></g>",
            class(edge_lit(e.from, e.to)),
            label(e.from),
            label(e.to),
            e.cause,
            r(p.0),
            r(p.1),
            r(q.0 - 6.0 * ux),
            r(q.1 - 6.0 * uy),
            r(q.0),
            r(q.1),
            r(q.0 - 7.0 * ux + 3.5 * uy),
            r(q.1 - 7.0 * uy - 3.5 * ux),
            r(q.0 - 7.0 * ux - 3.5 * uy),
            r(q.1 - 7.0 * uy + 3.5 * ux),
        );
    }
    for (state, at_start) in NODES {
        let (x, y) = place(state, at_start);
        let current =
            now == Some(state) && (state != TcpState::Close || !at_start || steps.len() == 1);
        let name = label(state);
        let _ = write!(
            out,
            "<g class=\"node{}{}\" data-state=\"{name}\">\
             <rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\"/>\
             <text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{name}</text></g>",
            class(node_lit(state, at_start)),
            if current { " now" } else { "" },
            x - BOX_W / 2,
            y - BOX_H / 2,
            y + 4,
        );
    }
    out.push_str("</svg>");
    out
}

/// One socket's diagram and caption: `who` is `relay` (its path starts at
/// CLOSED: it connects) or `server` (at LISTEN: its socket was accepted).
fn diagram(who: &str, row: &SocketRow, start: TcpState) -> Html {
    let steps = path(start, &row.states);
    let (whose, of) = if who == "relay" {
        ("The relay's socket", "the relay's socket")
    } else {
        ("The server's socket", "the server's socket")
    };
    let ending = match steps.last().map(|s| s.state) {
        Some(TcpState::TimeWait) => {
            ". The kernel keeps it in TIME_WAIT for 60 s (2 MSL on Linux), then CLOSED."
        }
        Some(TcpState::Close) if steps.len() > 1 => ". The kernel has dropped it.",
        _ => "",
    };
    let picture = Html::from_html_unchecked(svg(&steps, of).into());
    html! {
        <figure class="tcp-diagram" id={format!("tcp-{who}")}>
            { picture }
            <figcaption>
                <strong>{ format!("{whose}: ") }</strong>
                <span class="mono tcp-path">{ path_words(&steps) }</span>
                { ending }
            </figcaption>
        </figure>
    }
}

/// Both sockets' diagrams, once the relay has reported a state of either,
/// with the legend they share. Plain functions, not components: they
/// render with the socket table, which owns the rows.
pub fn tcp_diagrams(relay: &SocketRow, server: Option<&SocketRow>) -> Html {
    if relay.states.is_empty() {
        return html! {};
    }
    html! {
        <div class="tcp-diagrams" id="tcp-diagrams">
            { diagram("relay", relay, TcpState::Close) }
            if let Some(server) = server.filter(|s| !s.states.is_empty()) {
                { diagram("server", server, TcpState::Listen) }
            }
            <p class="hint">{ "Lit: the path this connection took. Filled: states the kernel reported. \
                Dashed and starred (*): states passed between two reports (the shortest way TCP allows); \
                on loopback FIN_WAIT1 and LAST_ACK usually end within the close() that began them." }</p>
        </div>
    }
}
