//! Send: the target picker (fed by the relay's `/targets`), segment size and
//! delay, connect / send / half-close / close, flood / stop, and the
//! connection state.

use yew::prelude::*;

use super::event_value;
use crate::model::relay::{playground_targets, relay_is_down};
use crate::model::{
    group_digits, Conn, FloodEnd, FloodProgress, SendOptions, Targets, FLOOD_LIMIT,
};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub targets: Targets,
    pub target: AttrValue,
    pub send: SendOptions,
    pub conn: Conn,
    /// Bytes of the composed frame (0 disables Send).
    pub frame_len: usize,
    /// A send is still going out segment by segment (Send waits for it).
    #[prop_or_default]
    pub sending: bool,
    /// The target picked or typed.
    pub on_target: Callback<String>,
    /// Segment size in bytes (0: whole frame), delay in ms.
    pub on_segment: Callback<usize>,
    pub on_delay: Callback<u32>,
    pub on_connect: Callback<()>,
    pub on_send: Callback<()>,
    pub on_half_close: Callback<()>,
    pub on_close: Callback<()>,
    /// The current session's flood, if it flooded.
    pub flood: Option<FloodProgress>,
    pub on_flood: Callback<()>,
    pub on_stop_flood: Callback<()>,
    /// A transcript is being replayed ("replay, step k of n"): nothing
    /// here may act on it, and the state shown is the replay's.
    #[prop_or_default]
    pub replay: Option<AttrValue>,
}

/// The title of a control a replay disables.
const IN_REPLAY: &str = "a replay is shown: Leave replay (above) to send to the relay";

/// What the flood did so far, in numbers.
fn flood_line(f: &FloodProgress) -> String {
    let how = match f.end {
        FloodEnd::Running => "flooding",
        FloodEnd::AtLimit => "stopped at the limit",
        FloodEnd::Stopped => "stopped",
        FloodEnd::SocketClosed => "the socket closed",
    };
    format!(
        "{how}: {} of {} bytes offered in {} messages; WebSocket.bufferedAmount {} bytes",
        group_digits(f.offered as u64),
        group_digits(FLOOD_LIMIT as u64),
        f.messages,
        group_digits(u64::from(f.buffered)),
    )
}

#[component]
pub fn TargetPicker(props: &Props) -> Html {
    let on_pick = props.on_target.reform(|e: Event| event_value(&e));
    // The socket goes to one target for its whole life: the picker waits
    // for Close rather than show a target the bytes do not go to.
    let live = props.conn.is_live() && props.replay.is_none();
    let locked = live.then(|| {
        html! {
            <p class="hint" id="target-locked">
                { format!("Connected to {}: Close (below) to pick another target.", props.target) }
            </p>
        }
    });
    let picker = match &props.targets {
        Targets::Loaded(list) if !list.is_empty() => {
            let picked = list.iter().find(|t| t.name == props.target.as_str());
            let description = picked.map(|t| t.description.clone()).unwrap_or_default();
            let program = picked.and_then(|t| t.program.as_ref()).map(|p| {
                html! { <p class="hint" id="target-program">{ crate::model::calls::program_words(p) }</p> }
            });
            html! {
                <>
                <label>{ "target" }
                    <select id="target" onchange={on_pick} disabled={live}>
                        { for playground_targets(list, &props.target).into_iter().map(|t| html! {
                            <option value={t.name.clone()} selected={t.name == props.target.as_str()}>{ &t.name }</option>
                        }) }
                    </select>
                </label>
                <p class="hint" id="target-description">{ description }</p>
                { for program }
                { locked.clone() }
                </>
            }
        }
        other => {
            let note = match other {
                Targets::Loading => "asking the relay for its targets…".to_owned(),
                Targets::Failed(e) if relay_is_down(e) => format!(
                    "{e}. Composing and decoding work without it; to send, start the relay \
                     (cargo run -p relay --bin relay) and reload."
                ),
                // The relay is up and refused: its words say what to change.
                Targets::Failed(e) => format!("{e} Composing and decoding work without it."),
                Targets::Loaded(_) => "the relay offers no targets".to_owned(),
            };
            let on_type = props.on_target.reform(|e: InputEvent| event_value(&e));
            html! {
                <>
                <label>{ "target" }
                    <input id="target" value={props.target.clone()}
                        oninput={on_type} disabled={live} />
                </label>
                { locked }
                <p class={if matches!(other, Targets::Failed(_)) { "error" } else { "hint" }} id="targets-status" role="status">{ note }</p>
                </>
            }
        }
    };
    let on_segment = props
        .on_segment
        .reform(|e: InputEvent| event_value(&e).trim().parse().unwrap_or(0));
    let on_delay = props
        .on_delay
        .reform(|e: InputEvent| event_value(&e).trim().parse().unwrap_or(0));
    let emit = |cb: &Callback<()>| {
        let cb = cb.clone();
        move |_: MouseEvent| cb.emit(())
    };
    let flooding = props.flood.is_some_and(|f| f.running());
    let replaying = props.replay.is_some();
    let title = |live: Option<&'static str>| if replaying { Some(IN_REPLAY) } else { live };
    let state_class = match &props.conn {
        _ if replaying => "replay",
        Conn::Open => "open",
        Conn::Closing => "closing",
        Conn::Connecting => "connecting",
        Conn::Failed(_) => "failed",
        Conn::Closed { .. } => "closed",
        Conn::Idle => "idle",
    };
    html! {
        <div class="target-picker">
            { picker }
            <div class="row2">
                <label>{ "segment size (bytes, 0 = whole frame)" }
                    <input id="segment" type="number" min="0" value={props.send.segment.to_string()} oninput={on_segment} />
                </label>
                <label>{ "delay between segments (ms)" }
                    <input id="delay" type="number" min="0" step="50" value={props.send.delay_ms.to_string()} oninput={on_delay} />
                </label>
            </div>
            <p class="hint" id="segments-hint">{ props.send.describe(props.frame_len) }</p>
            <div class="buttons">
                <button type="button" id="connect" onclick={emit(&props.on_connect)} disabled={live || replaying}
                    title={title(None)}>{ "Connect" }</button>
                // Send sits in a bar across the bottom of the window: in reach
                // wherever the reader is, and the page's content ends above
                // the bar instead of running under a floating button.
                <span class="send-bar">
                <button type="button" id="send" class="primary" onclick={emit(&props.on_send)} disabled={props.frame_len == 0 || props.sending || replaying}
                    title={title(props.sending.then_some("wait: the previous send is still going out, and a second one would interleave with it"))}>
                    { if props.sending { "Sending…" } else { "Send" } }</button>
                </span>
                <button type="button" id="half-close" onclick={emit(&props.on_half_close)} disabled={!matches!(props.conn, Conn::Open) || replaying}
                    title={title(Some("shutdown(SHUT_WR): tell the server nothing more is coming"))}>{ "Half-close" }</button>
                <button type="button" id="close" onclick={emit(&props.on_close)} disabled={!live}
                    title={title(None)}>{ "Close" }</button>
            </div>
            <p class="hint" id="connect-vs-send">{ crate::model::explain::CONNECT_VS_SEND }</p>
            if replaying {
                <p class="hint" id="replay-note">{ "A replay is shown: Send, Half-close and Flood act on the relay, not on the replay, so they wait until you Leave replay." }</p>
            }
            <div class="buttons flood">
                <button type="button" id="flood" onclick={emit(&props.on_flood)} disabled={props.frame_len == 0 || flooding || replaying}
                    title={title(Some("send the composed message again and again"))}>{ "Flood" }</button>
                <button type="button" id="stop-flood" onclick={emit(&props.on_stop_flood)} disabled={!flooding}>{ "Stop" }</button>
                <span class="hint">{ format!("the message again and again, up to {} MiB: meant for blackhole, a server that accepts and never calls recv()", FLOOD_LIMIT >> 20) }</span>
            </div>
            if let Some(f) = &props.flood {
                <p class="mono" id="flood-status" role="status">{ flood_line(f) }</p>
            }
            <p class={classes!("conn", state_class)} id="conn-state" role="status" aria-live="polite">
                <span class="dot" aria-hidden="true"></span>
                { props.replay.as_ref().map_or_else(|| props.conn.label(), |r| r.to_string()) }
            </p>
        </div>
    }
}
