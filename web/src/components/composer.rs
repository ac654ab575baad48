//! Compose: presets, the request fields, custom content, extra header keys,
//! byte order and the hex editor for hand-made frames.

use std::rc::Rc;

use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, File, HtmlInputElement};
use yew::prelude::*;

use super::event_value;
use crate::model::presets::{self, Group};
use crate::model::{Attached, Composed, Composer as Fields, Field, Mode};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub fields: Fields,
    pub composed: Rc<Composed>,
    /// A preset's button, by the preset's id.
    pub on_preset: Callback<&'static str>,
    pub on_mode: Callback<Mode>,
    /// Any field edited, with its new text.
    pub on_field: Callback<(Field, String)>,
    /// "Edit these bytes as hex".
    pub on_edit_as_hex: Callback<()>,
    /// A file dropped or picked as the content (`None`: back to typed content).
    #[prop_or_default]
    pub on_file: Callback<Option<Attached>>,
}

/// Content longer than this is not wrapped in its box: Chromium takes
/// seconds to wrap a long run without spaces (18 s for 1 MiB of one letter),
/// and unwrapped it lays out at once.
const UNWRAPPED_ABOVE: usize = 64 << 10;

/// What the content box holds, for the content type typed: the label follows
/// the rule `compose` applies.
fn content_label(f: &Fields) -> String {
    if f.content_type == protocol::model::JSON_CONTENT_TYPE {
        "content (JSON)".to_owned()
    } else if f.content_type.starts_with("text/")
        && protocol::TextEncoding::from_name(&f.content_encoding).is_some()
    {
        format!("content (text, sent encoded as {})", f.content_encoding)
    } else {
        "content (binary: the UTF-8 bytes of what is typed)".to_owned()
    }
}

/// Reads `file` whole and reports it as the content.
fn attach(file: File, on_file: Callback<Option<Attached>>) {
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(buffer) = JsFuture::from(file.array_buffer()).await else {
            return;
        };
        let Ok(buffer) = buffer.dyn_into::<ArrayBuffer>() else {
            return;
        };
        on_file.emit(Some(Attached {
            name: file.name(),
            mime: file.type_(),
            bytes: Uint8Array::new(&buffer).to_vec().into(),
        }));
    });
}

/// Reports an edit of `field`, from its input's or textarea's events.
fn on_edit<E: AsRef<Event> + 'static>(
    on_field: &Callback<(Field, String)>,
    field: Field,
) -> Callback<E> {
    on_field.reform(move |e: E| (field, event_value(e.as_ref())))
}

#[component]
pub fn Composer(props: &Props) -> Html {
    let f = &props.fields;
    let on_field = &props.on_field;
    let preset_buttons = |group: Group| -> Html {
        presets::ALL
            .iter()
            .filter(|p| p.group == group)
            .map(|p| {
                let on_preset = props.on_preset.clone();
                let id = p.id;
                let active = f.preset == Some(id);
                html! {
                    <button type="button" class={classes!("preset", active.then_some("active"))}
                        aria-pressed={active.to_string()} data-preset={id}
                        onclick={move |_| on_preset.emit(id)}>{ p.label }</button>
                }
            })
            .collect()
    };
    let mode_tab = |mode: Mode, label: &'static str| {
        let on_mode = props.on_mode.clone();
        let active = f.mode == mode;
        html! {
            <button type="button" role="tab" aria-selected={active.to_string()}
                class={classes!("tab", active.then_some("active"))} data-mode={mode.key()}
                onclick={move |_| on_mode.emit(mode)}>{ label }</button>
        }
    };
    let expect = f
        .preset
        .and_then(presets::find)
        .map(|p| html! { <p class="expect">{ "Expect: " }{ p.expect }</p> });
    let on_pick = {
        let on_file = props.on_file.clone();
        move |e: Event| {
            let input = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
            if let Some(file) = input.and_then(|i| i.files()).and_then(|l| l.get(0)) {
                attach(file, on_file.clone());
            }
        }
    };
    let ondragover = |e: DragEvent| e.prevent_default();
    let ondrop = {
        let on_file = props.on_file.clone();
        move |e: DragEvent| {
            e.prevent_default();
            let file = e
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|l| l.get(0));
            if let Some(file) = file {
                attach(file, on_file.clone());
            }
        }
    };
    let fields = match f.mode {
        Mode::Request => html! {
            <div class="row2">
                <label>{ "action" }
                    <input id="action" value={f.action.clone()} oninput={on_edit::<InputEvent>(on_field, Field::Action)} />
                </label>
                <label>{ "value" }
                    <input id="value" value={f.value.clone()} oninput={on_edit::<InputEvent>(on_field, Field::Value)} />
                </label>
                <p class="hint">{ "search → JSON content; any other action → the tutorial's binary request (action and value bytes run together)." }</p>
            </div>
        },
        Mode::Custom => html! {
            <div>
                <div class="row2">
                    <label>{ "content-type" }
                        <input id="content-type" value={f.content_type.clone()} oninput={on_edit::<InputEvent>(on_field, Field::ContentType)} />
                    </label>
                    <label>{ "content-encoding" }
                        <input id="content-encoding" value={f.content_encoding.clone()} oninput={on_edit::<InputEvent>(on_field, Field::ContentEncoding)} />
                    </label>
                </div>
                if let Some(file) = &f.file {
                    <p class="file-info" id="file-info">
                        { format!("content: the file {:?}, {} bytes, sent as they are (binary)", file.name, file.bytes.len()) }
                        <button type="button" class="small" id="unattach" onclick={props.on_file.reform(|_: MouseEvent| None)}>{ "Type the content instead" }</button>
                    </p>
                } else {
                    <label id="content-label">{ content_label(f) }
                        <textarea id="content" rows="3" spellcheck="false" value={f.content.clone()}
                            class={classes!((f.content.len() > UNWRAPPED_ABOVE).then_some("unwrapped"))}
                            oninput={on_edit::<InputEvent>(on_field, Field::Content)} />
                    </label>
                }
            </div>
        },
        Mode::Hex => html! {
            <label>{ "frame bytes, in hex (spaces, commas, 0x and \\x are fine)" }
                <textarea id="hex" rows="5" spellcheck="false" class="mono" value={f.hex.clone()}
                    oninput={on_edit::<InputEvent>(on_field, Field::Hex)} />
            </label>
        },
    };
    let header_fields = (f.mode != Mode::Hex).then(|| {
        let byteorder_options = ["big", "little"]
            .into_iter()
            .map(|b| html! { <option value={b} selected={f.byteorder == b}>{ b }</option> });
        html! {
            <div class="row2">
                <label>{ "byteorder" }
                    <select id="byteorder" onchange={on_edit::<Event>(on_field, Field::Byteorder)}
                        title="The tutorial's client writes its machine's sys.byteorder: 'big' in the tutorial's printed example (a big-endian virtual machine), 'little' on x86 and ARM, which makes the JSON header 3 bytes longer">
                        { for byteorder_options }
                    </select>
                </label>
                <label>{ "extra header keys (a JSON object)" }
                    <input id="extra" class="mono" placeholder={r#"{"x-trace": 7}"#} value={f.extra_headers.clone()}
                        oninput={on_edit::<InputEvent>(on_field, Field::ExtraHeaders)} />
                </label>
            </div>
        }
    });
    let c = &props.composed;
    let status = match (&c.error, &c.verdict) {
        (Some(e), _) => html! { <p class="error" role="alert" id="compose-error">{ e }</p> },
        (None, Some(v)) => {
            let class = if v.is_one_frame() { "ok" } else { "warn" };
            html! { <p class={class} id="verdict">{ "Decoder here says: " }{ v.to_string() }</p> }
        }
        (None, None) if !c.duplicates.is_empty() => html! {
            <p class="warn" id="duplicate-keys" role="alert">
                { format!("{} bytes, but a key is repeated: ", c.bytes.len()) }
                { c.duplicates.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ") }
                { ". The tutorial's server may refuse it and hang up." }
            </p>
        },
        (None, None) => {
            html! { <p class="ok">{ format!("{} bytes, a valid frame", c.bytes.len()) }</p> }
        }
    };
    let edit_hex = {
        let on_edit_as_hex = props.on_edit_as_hex.clone();
        (f.mode != Mode::Hex).then(|| html! {
            <button type="button" class="small" onclick={move |_| on_edit_as_hex.emit(())}>{ "Edit these bytes as hex" }</button>
        })
    };
    html! {
        <div class="composer" {ondragover} {ondrop}>
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
            if f.mode != Mode::Hex {
                <label class="file-pick">{ "or send a file as binary content (or drop one on this panel): " }
                    <input id="file" type="file" onchange={on_pick} />
                </label>
            }
            { header_fields }
            <div class="status-line">{ status }{ edit_hex }</div>
            if !crate::share::content_fits(f) {
                <p class="hint" id="link-note">{ "Too big for a link: the page's link keeps these settings, not the content." }</p>
            }
        </div>
    }
}
