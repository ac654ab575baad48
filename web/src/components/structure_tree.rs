//! The structure tree: the frame's layout as nested nodes (length prefix,
//! JSON header and its fields, content and its fields). Hovering or focusing
//! a node highlights its bytes; activating it selects them.

use std::ops::Range;

use protocol::python::python_bytes_repr;
use protocol::{Layout, SpanKind, TextEncoding};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use super::{kind_class, HexSource};

/// Nodes drawn at most; a huge JSON content would otherwise make thousands.
const MAX_NODES: usize = 400;
/// Characters of a node's bytes shown beside its name.
const PREVIEW_CHARS: usize = 40;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub source: HexSource,
    pub highlight: Option<usize>,
    /// The node under the pointer or focused (`None` once it leaves).
    pub on_hover: Callback<Option<usize>>,
    /// The node clicked.
    pub on_select: Callback<usize>,
}

#[component]
pub fn StructureTree(props: &Props) -> Html {
    let current = use_state(|| None::<usize>);
    let layout = props.source.layout();
    if layout.spans.is_empty() {
        return html! { <p class="hint">{ "No structure yet." }</p> };
    }
    // One Tab stop for the whole tree (roving tabindex): the node focused
    // last, else the first; arrows move inside.
    let shown = |i: &usize| {
        layout
            .spans
            .get(*i)
            .is_some_and(|s| !matches!(s.kind, SpanKind::Key | SpanKind::Value))
    };
    let roving = (*current)
        .filter(shown)
        .or_else(|| layout.children(None).find(shown));
    let on_focus = {
        let current = current.clone();
        Callback::from(move |i: usize| current.set(Some(i)))
    };
    let mut budget = MAX_NODES;
    let tree = nodes(props, layout, None, &mut budget, roving, &on_focus);
    html! {
        <div class="tree" role="tree" aria-label="frame structure" onkeydown={move_focus}>
            { tree }
            if budget == 0 {
                <p class="hint">{ format!("Showing the first {MAX_NODES} nodes of {}.", layout.spans.len()) }</p>
            }
        </div>
    }
}

/// Arrows move between the tree's nodes, Home and End to the first and last.
fn move_focus(e: KeyboardEvent) {
    let step: i32 = match e.key().as_str() {
        "ArrowDown" | "ArrowRight" => 1,
        "ArrowUp" | "ArrowLeft" => -1,
        "Home" => i32::MIN,
        "End" => i32::MAX,
        _ => return,
    };
    let Some(tree) = e
        .current_target()
        .and_then(|t| t.dyn_into::<Element>().ok())
    else {
        return;
    };
    let Ok(list) = tree.query_selector_all("button.node") else {
        return;
    };
    let buttons: Vec<HtmlElement> = (0..list.length())
        .filter_map(|i| list.item(i)?.dyn_into::<HtmlElement>().ok())
        .collect();
    let active = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element());
    let at = buttons
        .iter()
        .position(|b| active.as_ref().is_some_and(|a| a == b.as_ref() as &Element));
    let next = match at {
        Some(i) => (i as i32)
            .saturating_add(step)
            .clamp(0, buttons.len() as i32 - 1) as usize,
        None => 0,
    };
    if let Some(button) = buttons.get(next) {
        e.prevent_default();
        let _ = button.focus();
    }
}

fn nodes(
    props: &Props,
    layout: &Layout,
    parent: Option<usize>,
    budget: &mut usize,
    roving: Option<usize>,
    on_focus: &Callback<usize>,
) -> Html {
    let mut items = Vec::new();
    for i in layout.children(parent) {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let span = &layout.spans[i];
        // Keys and values show inside their field's line.
        if matches!(span.kind, SpanKind::Key | SpanKind::Value) {
            continue;
        }
        let bytes = props.source.bytes();
        let preview = preview(&props.source, span.kind, span.range.clone(), &bytes);
        let select = props.on_select.reform(move |_: MouseEvent| i);
        let enter = props.on_hover.reform(move |_: MouseEvent| Some(i));
        let leave = props.on_hover.reform(|_: MouseEvent| None);
        let focus = {
            let on_hover = props.on_hover.clone();
            let on_focus = on_focus.clone();
            move |_: FocusEvent| {
                on_focus.emit(i);
                on_hover.emit(Some(i));
            }
        };
        let blur = props.on_hover.reform(|_: FocusEvent| None);
        // A hovered key or value lights up its field, the node that shows it.
        let shown = props.highlight.map(|h| match layout.spans.get(h) {
            Some(s) if matches!(s.kind, SpanKind::Key | SpanKind::Value) => s.parent.unwrap_or(h),
            _ => h,
        });
        let active = shown == Some(i);
        let children = if layout.children(Some(i)).next().is_some() {
            nodes(props, layout, Some(i), budget, roving, on_focus)
        } else {
            Html::default()
        };
        items.push(html! {
            <li role="treeitem" aria-selected={active.to_string()}>
                <button type="button" class={classes!("node", kind_class(span.kind), active.then_some("hl"))}
                    data-span={i.to_string()} tabindex={if roving == Some(i) { "0" } else { "-1" }}
                    onclick={select} onmouseenter={enter} onmouseleave={leave}
                    onfocus={focus} onblur={blur}>
                    <span class="label">{ span.label.to_string() }</span>
                    <span class="range">{ format!("{}..{} ({} B)", span.range.start, span.range.end, span.range.len()) }</span>
                    <span class="preview mono">{ preview }</span>
                </button>
                { children }
            </li>
        });
    }
    html! { <ul role="group">{ items }</ul> }
}

/// A node's bytes in short: the prefix as hex, the content decoded by its
/// declared content-encoding (else as a Python bytes literal), the header's
/// parts as the UTF-8 text they are.
fn preview(source: &HexSource, kind: SpanKind, range: Range<usize>, bytes: &[u8]) -> String {
    let whole = &bytes[range.clone()];
    if kind == SpanKind::LengthPrefix {
        return protocol::hexdump::hex_string(whole);
    }
    // A preview needs its first characters only (a span may be 16 MiB): at
    // most 4 bytes a character, and an even count for UTF-16.
    let raw = &whole[..whole.len().min(PREVIEW_CHARS * 4 + 4)];
    let cut = raw.len() < whole.len();
    let text = match kind {
        SpanKind::Content => {
            let decoded = source
                .message_at(range.start)
                .filter(|m| !matches!(m.content, protocol::Content::Binary(_)))
                .and_then(|m| TextEncoding::from_name(&m.header.content_encoding))
                .and_then(|e| {
                    // A cut may split a character: drop up to 3 bytes of it.
                    let tries = if cut { 0..4 } else { 0..1 };
                    tries
                        .filter_map(|drop| e.decode(&raw[..raw.len() - drop]).ok())
                        .next()
                });
            match decoded {
                Some(text) => text,
                None => {
                    let shown = python_bytes_repr(&raw[..raw.len().min(PREVIEW_CHARS)]);
                    let more = if whole.len() > PREVIEW_CHARS {
                        "…"
                    } else {
                        ""
                    };
                    return format!("{shown}{more}");
                }
            }
        }
        _ => String::from_utf8_lossy(raw).into_owned(),
    };
    let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
    if cut || text.chars().count() > PREVIEW_CHARS {
        preview.push('…');
    }
    preview
}
