//! "Open transcript": a file picker and a drop zone for a transcript
//! (exported here or written by `relay --record`), and while one is open,
//! Back and Forward through its events; the other panels show the session
//! as it was at that event.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use yew::prelude::*;

use crate::model::Replay;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub replay: Option<Rc<Replay>>,
    /// A file was read: (name, text).
    pub on_open: Callback<(String, String)>,
    pub on_back: Callback<()>,
    pub on_forward: Callback<()>,
    pub on_close: Callback<()>,
}

/// Reads the first file of `files` as text and hands it on.
fn read_first(files: Option<web_sys::FileList>, on_open: Callback<(String, String)>) {
    let Some(file) = files.and_then(|f| f.get(0)) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let text = JsFuture::from(file.text())
            .await
            .ok()
            .and_then(|t| t.as_string());
        on_open.emit((file.name(), text.unwrap_or_default()));
    });
}

#[component]
pub fn ReplayBar(props: &Props) -> Html {
    let on_change = {
        let on_open = props.on_open.clone();
        move |e: Event| {
            let input: Option<web_sys::HtmlInputElement> =
                e.target().and_then(|t| t.dyn_into().ok());
            if let Some(input) = input {
                read_first(input.files(), on_open.clone());
                input.set_value("");
            }
        }
    };
    let on_drop = {
        let on_open = props.on_open.clone();
        move |e: DragEvent| {
            e.prevent_default();
            read_first(e.data_transfer().and_then(|d| d.files()), on_open.clone());
        }
    };
    // Without this the browser opens the dropped file itself.
    let on_drag_over = |e: DragEvent| e.prevent_default();
    let click = |cb: &Callback<()>| {
        let cb = cb.clone();
        move |_| cb.emit(())
    };
    html! {
        <div class="replay-bar" id="replay-bar" ondrop={on_drop} ondragover={on_drag_over}
            style="display:flex;flex-wrap:wrap;gap:0.4rem;align-items:center;margin-bottom:0.5rem">
            <label for="open-transcript">{ "Open transcript " }
                <input type="file" id="open-transcript" accept=".json,application/json"
                    onchange={on_change} /></label>
            if let Some(r) = &props.replay {
                <span id="replay-step" role="status">
                    { format!("{} ({}): {}. Nothing is sent; Leave replay to go live.", r.position(), r.name, r.step_words()) }
                </span>
                <button type="button" class="small" id="replay-back" disabled={r.at <= 1}
                    onclick={click(&props.on_back)}>{ "◀ Back" }</button>
                <button type="button" class="small" id="replay-forward" disabled={r.at >= r.actions.len()}
                    onclick={click(&props.on_forward)}>{ "Forward ▶" }</button>
                <button type="button" class="small" id="replay-close"
                    onclick={click(&props.on_close)}>{ "Leave replay" }</button>
            } else {
                <span class="hint">{ "or drop one here, to step through a recorded session" }</span>
            }
        </div>
    }
}
