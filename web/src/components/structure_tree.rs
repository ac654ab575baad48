//! The structure tree: the frame's layout as nested nodes (length prefix,
//! JSON header and its fields, content and its fields). Hovering or focusing
//! a node highlights its bytes; activating it selects them.

use protocol::{Layout, SpanKind};
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
    let layout = props.source.layout();
    if layout.spans.is_empty() {
        return html! { <p class="hint">{ "No structure yet." }</p> };
    }
    let mut budget = MAX_NODES;
    let tree = nodes(props, layout, None, &mut budget);
    html! {
        <div class="tree" role="tree" aria-label="frame structure" onkeydown={move_focus}>
            { tree }
            if budget == 0 {
                <p class="hint">{ format!("Showing the first {MAX_NODES} nodes of {}.", layout.spans.len()) }</p>
            }
        </div>
    }
}

/// Up/Down arrows move between the tree's nodes (Tab still works too).
fn move_focus(e: KeyboardEvent) {
    let step: i32 = match e.key().as_str() {
        "ArrowDown" => 1,
        "ArrowUp" => -1,
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
        Some(i) => (i as i32 + step).clamp(0, buttons.len() as i32 - 1) as usize,
        None => 0,
    };
    if let Some(button) = buttons.get(next) {
        e.prevent_default();
        let _ = button.focus();
    }
}

fn nodes(props: &Props, layout: &Layout, parent: Option<usize>, budget: &mut usize) -> Html {
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
        // A preview needs its first characters only (a span may be 16 MiB).
        let end = span.range.end.min(span.range.start + PREVIEW_CHARS * 4 + 4);
        let text = String::from_utf8_lossy(&bytes[span.range.start..end]);
        let mut preview: String = text.chars().take(PREVIEW_CHARS).collect();
        if text.chars().count() > PREVIEW_CHARS {
            preview.push('…');
        }
        if span.kind == SpanKind::LengthPrefix {
            preview = protocol::hexdump::hex_string(&bytes[span.range.clone()]);
        }
        let select = props.on_select.reform(move |_: MouseEvent| i);
        let enter = props.on_hover.reform(move |_: MouseEvent| Some(i));
        let leave = props.on_hover.reform(|_: MouseEvent| None);
        let focus = props.on_hover.reform(move |_: FocusEvent| Some(i));
        let blur = props.on_hover.reform(|_: FocusEvent| None);
        // A hovered key or value lights up its field, the node that shows it.
        let shown = props.highlight.map(|h| match layout.spans.get(h) {
            Some(s) if matches!(s.kind, SpanKind::Key | SpanKind::Value) => s.parent.unwrap_or(h),
            _ => h,
        });
        let active = shown == Some(i);
        let children = if layout.children(Some(i)).next().is_some() {
            nodes(props, layout, Some(i), budget)
        } else {
            Html::default()
        };
        items.push(html! {
            <li role="treeitem" aria-selected={active.to_string()}>
                <button type="button" class={classes!("node", kind_class(span.kind), active.then_some("hl"))}
                    data-span={i.to_string()}
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
