//! The server's side of the connection, as the relay observed it for the
//! servers it runs itself: each `recv()` chunk as the server got it and its
//! decoder's state after it, the request it decoded, what it sent, and its
//! log lines. During a segmented send this is where the server's decoder
//! is seen waiting ("content: 20 of 41 bytes").

use std::rc::Rc;

use protocol::relay_api::LogLevel;
use yew::prelude::*;

use crate::model::calls::{call_words, pending_words};
use crate::model::clock::fixed;
use crate::model::counted;
use crate::model::observe::ServerRecv;
use crate::model::{decoder_words, Observe};

/// Rows of `recv()` calls drawn at most (the newest); the totals stay exact.
pub const RECV_ROWS: usize = 40;
/// Log lines drawn at most (the newest).
pub const LOG_ROWS: usize = 30;
/// Calls drawn at most (the newest).
pub const CALL_ROWS: usize = 30;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub observe: Rc<Observe>,
    /// The session's target, to name it when its side cannot be seen.
    pub target: AttrValue,
    /// A session opened: no observation by now means the relay sends none.
    #[prop_or_default]
    pub opened: bool,
    /// Whose calls these are (`model::calls::whose_calls`).
    #[prop_or_default]
    pub whose: AttrValue,
}

fn level_word(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Info => "info",
        LogLevel::Warning => "warning",
        LogLevel::Error => "error",
    }
}

fn ms(t_us: u64) -> String {
    format!("{} ms", fixed(t_us as f64 / 1000.0, true))
}

/// One row: which call(s), when, how many bytes, the decoder after them.
fn recv_row(first: u64, r: &ServerRecv) -> Html {
    let calls = if r.count == 1 {
        first.to_string()
    } else {
        format!("{first}–{}", first + u64::from(r.count) - 1)
    };
    let (size, state, class) = match (&r.decoder, r.len) {
        (_, 0) => (
            "b''".to_owned(),
            "the peer's FIN: nothing more will come".to_owned(),
            "fin",
        ),
        (Some(d), len) => (format!("{len} B"), decoder_words(d), "need"),
        (None, len) => (
            format!("{len} B"),
            "(this server does not decode)".into(),
            "none",
        ),
    };
    html! {
        <tr>
            <td class="num">{ calls }</td>
            <td class="num">{ ms(r.t_us) }</td>
            <td class="num">{ size }</td>
            <td class={class}>{ state }</td>
        </tr>
    }
}

#[component]
pub fn ServerPanel(props: &Props) -> Html {
    let o = &props.observe;
    // A call the server is blocked in counts live, from when the page
    // learned of it: redrawn every 200 ms while it waits.
    let since = use_memo(o.pending, |_| js_sys::Date::now());
    let redraw = use_force_update();
    use_effect_with(o.pending.is_some(), move |&waiting| {
        let tick = waiting
            .then(|| gloo_timers::callback::Interval::new(200, move || redraw.force_update()));
        move || drop(tick)
    });
    if !o.active() && props.opened {
        return html! {
            <p class="hint" id="server-unobserved">{ "The relay sent no observations for this session, so only the browser's side shows." }</p>
        };
    }
    if !o.active() {
        return html! {
            <p class="hint" id="server-unobserved">{ "Nothing observed yet. Send a message: for the servers the relay runs itself (app, echo, blackhole) this panel shows each recv() the server makes and what its decoder makes of it." }</p>
        };
    }
    if !o.sees_server() {
        return html! {
            <p class="hint" id="server-external">{ format!("{} is an external server: its side of the connection cannot be observed, only the relay's socket (see the socket table).", props.target) }</p>
        };
    }
    let shown = o.recvs.len().min(RECV_ROWS);
    let skipped = &o.recvs[..o.recvs.len() - shown];
    let mut first = o.recvs_dropped() + skipped.iter().map(|r| u64::from(r.count)).sum::<u64>() + 1;
    let hidden = first - 1;
    let rows = o.recvs[o.recvs.len() - shown..].iter().map(|r| {
        let row = recv_row(first, r);
        first += u64::from(r.count);
        row
    });
    let logs_shown = o.logs.len().min(LOG_ROWS);
    let logs_hidden = o.log_count - logs_shown as u64;
    let logs = o.logs[o.logs.len() - logs_shown..].iter().map(|l| {
        html! {
            <li class={level_word(l.level)}>
                <span class="t">{ ms(l.t_us) }</span>
                <span class="lvl">{ level_word(l.level) }</span>
                <span class="line">{ &l.line }</span>
            </li>
        }
    });
    let requests_hidden = o.request_count - o.requests.len() as u64;
    // The server's calls in the order it made them, from the lane the
    // sequence diagram draws (which keeps every call that ends something).
    let calls: Vec<String> = o.lane.iter().filter_map(|e| call_words(&e.event)).collect();
    let calls_hidden = calls.len().saturating_sub(CALL_ROWS);
    html! {
        <div class="server-view">
            if !props.whose.is_empty() {
                <p id="server-whose">{ "calls of " }<strong>{ props.whose.clone() }</strong></p>
            }
            if let Some(peer) = &o.server.peer {
                <p id="server-accept">{ format!("accept() → a connection from {peer}") }</p>
            }
            <p class="hint" id="server-clock">{ "Times: the relay's clock, ms since it accepted this session's WebSocket (the server runs in the relay's process, so its calls are timed on that same clock)." }</p>
            if !calls.is_empty() || o.pending.is_some() {
                if calls_hidden > 0 || o.lane_hidden > 0 {
                    <p class="hint">{ "… earlier calls not shown" }</p>
                }
                <ul class="server-calls mono" id="server-calls">
                    { for calls[calls_hidden..].iter().map(|c| html! { <li>{ c }</li> }) }
                    if let Some(p) = o.pending {
                        <li class="pending" id="server-pending">{ pending_words(p.call, p.asked, ((js_sys::Date::now() - *since).max(0.0) * 1000.0) as u64) }</li>
                    }
                </ul>
            }
            <p class="hint" id="server-totals">{ format!("{}, {} bytes in all", counted(o.recv_calls, "recv() call", "recv() calls"), o.recv_bytes) }</p>
            if o.recv_calls > 0 {
                <table class="chunks" id="server-recvs">
                    <thead><tr><th>{ "recv()" }</th><th>{ "at (relay clock)" }</th><th>{ "got" }</th><th>{ "server's decoder after it" }</th></tr></thead>
                    <tbody>
                        if hidden > 0 {
                            <tr class="more"><td colspan="4">{ format!("… {} not shown", counted(hidden, "earlier recv() call", "earlier recv() calls")) }</td></tr>
                        }
                        { for rows }
                    </tbody>
                </table>
            }
            if requests_hidden > 0 {
                <p class="hint">{ format!("… {}", counted(requests_hidden, "earlier request", "earlier requests")) }</p>
            }
            { for o.requests.iter().map(|r| html! {
                <p class="server-request"><span class="tag">{ "request" }</span><span class="mono">{ r }</span></p>
            }) }
            if o.server_send_calls > 0 {
                <p id="server-sent">{ format!("send(): {} bytes in {}", o.server_sent, counted(o.server_send_calls, "call", "calls")) }</p>
            }
            if o.server.closed {
                <p id="server-closed">{ "The server closed its socket: close()." }</p>
            }
            if o.log_count > 0 {
                <h3>{ "the server's log" }</h3>
                if logs_hidden > 0 {
                    <p class="hint">{ format!("… {}", counted(logs_hidden, "earlier line", "earlier lines")) }</p>
                }
                <ul class="server-log" id="server-log">{ for logs }</ul>
            }
            if o.lost > 0 {
                <p class="error" id="observe-lost">{ format!("{} lost: the browser read too slowly for the relay", counted(o.lost, "observation", "observations")) }</p>
            }
            if o.unreadable > 0 {
                <p class="error" id="observe-unreadable">{ match o.unreadable {
                    1 => "1 message from the relay was not an observation this page can read".to_owned(),
                    n => format!("{n} messages from the relay were not observations this page can read"),
                } }</p>
            }
        </div>
    }
}
