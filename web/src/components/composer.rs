//! Compose: presets, the request fields, custom content, extra header keys,
//! byte order and the hex editor for hand-made frames.

use std::rc::Rc;

use yew::prelude::*;

use super::on_value;
use crate::presets::{self, Group};
use crate::state::{Action, Composed, Composer as Fields, Mode};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub fields: Fields,
    pub composed: Rc<Composed>,
    pub dispatch: Callback<Action>,
}

#[component]
pub fn Composer(props: &Props) -> Html {
    let d = &props.dispatch;
    let f = &props.fields;
    let preset_buttons = |group: Group| -> Html {
        presets::ALL
            .iter()
            .filter(|p| p.group == group)
            .map(|p| {
                let d = d.clone();
                let id = p.id;
                let active = f.preset == Some(id);
                html! {
                    <button type="button" class={classes!("preset", active.then_some("active"))}
                        aria-pressed={active.to_string()} data-preset={id}
                        onclick={move |_| d.emit(Action::Preset(id))}>{ p.label }</button>
                }
            })
            .collect()
    };
    let mode_tab = |mode: Mode, label: &'static str| {
        let d = d.clone();
        let active = f.mode == mode;
        html! {
            <button type="button" role="tab" aria-selected={active.to_string()}
                class={classes!("tab", active.then_some("active"))} data-mode={mode.key()}
                onclick={move |_| d.emit(Action::SetMode(mode))}>{ label }</button>
        }
    };
    let expect = f
        .preset
        .and_then(presets::find)
        .map(|p| html! { <p class="expect">{ "Expect: " }{ p.expect }</p> });
    let fields = match f.mode {
        Mode::Request => html! {
            <div class="row2">
                <label>{ "action" }
                    <input id="action" value={f.action.clone()} oninput={on_value(d, Action::SetAction)} />
                </label>
                <label>{ "value" }
                    <input id="value" value={f.value.clone()} oninput={on_value(d, Action::SetValue)} />
                </label>
                <p class="hint">{ "search → JSON content; any other action → the tutorial's binary request (action and value bytes run together)." }</p>
            </div>
        },
        Mode::Custom => html! {
            <div>
                <div class="row2">
                    <label>{ "content-type" }
                        <input id="content-type" value={f.content_type.clone()} oninput={on_value(d, Action::SetContentType)} />
                    </label>
                    <label>{ "content-encoding" }
                        <input id="content-encoding" value={f.content_encoding.clone()} oninput={on_value(d, Action::SetEncoding)} />
                    </label>
                </div>
                <label>{ "content (JSON for text/json)" }
                    <textarea id="content" rows="3" spellcheck="false" value={f.content.clone()}
                        oninput={on_value(d, Action::SetContent)} />
                </label>
            </div>
        },
        Mode::Hex => html! {
            <label>{ "frame bytes, in hex (spaces, commas, 0x and \\x are fine)" }
                <textarea id="hex" rows="5" spellcheck="false" class="mono" value={f.hex.clone()}
                    oninput={on_value(d, Action::SetHex)} />
            </label>
        },
    };
    let header_fields = (f.mode != Mode::Hex).then(|| {
        let byteorder_options = ["big", "little"]
            .into_iter()
            .map(|b| html! { <option value={b} selected={f.byteorder == b}>{ b }</option> });
        let d2 = d.clone();
        html! {
            <div class="row2">
                <label>{ "byteorder" }
                    <select id="byteorder" onchange={move |e: Event| d2.emit(Action::SetByteorder(super::event_value(&e)))}>
                        { for byteorder_options }
                    </select>
                </label>
                <label>{ "extra header keys (a JSON object)" }
                    <input id="extra" class="mono" placeholder={r#"{"x-trace": 7}"#} value={f.extra_headers.clone()}
                        oninput={on_value(d, Action::SetExtraHeaders)} />
                </label>
            </div>
        }
    });
    let c = &props.composed;
    let status = match (&c.error, &c.verdict) {
        (Some(e), _) => html! { <p class="error" role="alert" id="compose-error">{ e }</p> },
        (None, Some(v)) => {
            let class = if v == "a valid frame" { "ok" } else { "warn" };
            html! { <p class={class} id="verdict">{ "Decoder here says: " }{ v }</p> }
        }
        (None, None) => {
            html! { <p class="ok">{ format!("{} bytes, a valid frame", c.bytes.len()) }</p> }
        }
    };
    let edit_hex = {
        let d = d.clone();
        (f.mode != Mode::Hex).then(|| html! {
            <button type="button" class="small" onclick={move |_| d.emit(Action::EditAsHex)}>{ "Edit these bytes as hex" }</button>
        })
    };
    html! {
        <div class="composer">
            <div class="presets" aria-label="tutorial presets">
                <span class="group">{ "Tutorial" }</span>{ preset_buttons(Group::Tutorial) }
            </div>
            <div class="presets" aria-label="malformed presets">
                <span class="group">{ "Malformed" }</span>{ preset_buttons(Group::Malformed) }
            </div>
            { expect }
            <div class="tabs" role="tablist">
                { mode_tab(Mode::Request, "Request") }
                { mode_tab(Mode::Custom, "Custom content") }
                { mode_tab(Mode::Hex, "Raw bytes (hex)") }
            </div>
            { fields }
            { header_fields }
            <div class="status-line">{ status }{ edit_hex }</div>
        </div>
    }
}
