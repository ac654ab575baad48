//! The hex view: offset, hex and ASCII columns, one colour per region of the
//! frame's layout, chunk boundaries for received bytes, the Python bytes
//! literal, and copy buttons.
//!
//! Only the rows in the scroll window are rendered (virtual scrolling), so a
//! 1 MiB message costs the same as a small one.

use std::cell::Ref;
use std::ops::Range;
use std::rc::Rc;

use protocol::hexdump::{
    ascii_cell, hex_row_count_with, hex_string, rust_array_literal, HEX_ROW_WIDTH, NARROW_ROW_WIDTH,
};
use protocol::python::python_bytes_repr;
use protocol::{Layout, SpanKind};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

use super::{copy_to_clipboard, kind_class};
use crate::model::{Composed, Inbound, Offence};

/// Height of one row in pixels (the stylesheet uses the same).
pub const ROW_HEIGHT: i32 = 20;
/// Rows in the scroll window.
pub const WINDOW_ROWS: usize = 16;
/// Rows rendered above and below the window, so fast scrolls do not flash.
const OVERSCAN: usize = 8;
/// Bytes shown as a Python literal on the page (copy gives all).
const LITERAL_SHOWN: usize = 4096;
/// Below this window width (px) the first render already uses
/// [`NARROW_ROW_WIDTH`]; after it, the view's own width decides.
const NARROW_BELOW: f64 = 600.0;

/// The width the view may take: its grid's, less the column beside it (the
/// structure tree, at least 14rem, when it sits on the same row).
fn available(view: &HtmlElement) -> f64 {
    let Some(grid) = view.parent_element() else {
        return f64::from(view.client_width());
    };
    let beside = view
        .next_element_sibling()
        .and_then(|t| t.dyn_into::<HtmlElement>().ok())
        .filter(|t| t.offset_top() == view.offset_top());
    let taken = beside.map_or(0.0, |_| 14.0 * 15.0 + 12.0);
    f64::from(grid.client_width()) - taken
}

/// Bytes per row before the view could measure itself: from the window.
fn initial_row_width() -> usize {
    let inner = web_sys::window()
        .and_then(|w| w.inner_width().ok())
        .and_then(|w| w.as_f64());
    match inner {
        Some(w) if w < NARROW_BELOW => NARROW_ROW_WIDTH,
        _ => HEX_ROW_WIDTH,
    }
}

/// The bytes a hex view shows: the composed frame or the received stream.
#[derive(Clone)]
pub enum HexSource {
    Outgoing(Rc<Composed>),
    Incoming(Rc<Inbound>),
}

impl PartialEq for HexSource {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HexSource::Outgoing(a), HexSource::Outgoing(b)) => Rc::ptr_eq(a, b),
            (HexSource::Incoming(a), HexSource::Incoming(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The bytes of a [`HexSource`], borrowed for as long as a render needs them.
pub enum SourceBytes<'a> {
    Plain(&'a [u8]),
    Shared(Ref<'a, [u8]>),
}

impl std::ops::Deref for SourceBytes<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            SourceBytes::Plain(b) => b,
            SourceBytes::Shared(b) => b,
        }
    }
}

impl HexSource {
    pub fn bytes(&self) -> SourceBytes<'_> {
        match self {
            HexSource::Outgoing(c) => SourceBytes::Plain(&c.bytes),
            HexSource::Incoming(i) => SourceBytes::Shared(i.bytes.get()),
        }
    }

    pub fn layout(&self) -> &Layout {
        match self {
            HexSource::Outgoing(c) => &c.layout,
            HexSource::Incoming(i) => &i.layout,
        }
    }

    /// The decoded message whose frame holds byte `offset`, if any.
    pub fn message_at(&self, offset: usize) -> Option<&protocol::Message> {
        match self {
            HexSource::Outgoing(c) => c.message.as_ref(),
            HexSource::Incoming(i) => i
                .messages
                .iter()
                .find(|d| {
                    let start = d.frame_start as usize;
                    (start..start + d.frame_len).contains(&offset)
                })
                .map(|d| &d.message),
        }
    }

    /// Offsets where a received chunk starts (none for the composed frame).
    pub fn chunk_starts(&self) -> Vec<usize> {
        match self {
            HexSource::Outgoing(_) => Vec::new(),
            HexSource::Incoming(i) => i.chunks.iter().skip(1).map(|c| c.offset).collect(),
        }
    }
}

/// The innermost span holding byte `offset`, in O(log n + depth).
///
/// Spans are in pre-order with nested ranges, so the last span starting at
/// or before `offset` is either the innermost one holding it or a
/// descendant of it: walk up from there.
pub fn innermost(layout: &Layout, offset: usize) -> Option<usize> {
    let spans = &layout.spans;
    let last = spans
        .partition_point(|s| s.range.start <= offset)
        .checked_sub(1)?;
    let mut at = Some(last);
    while let Some(i) = at {
        if spans[i].range.contains(&offset) {
            return Some(i);
        }
        at = spans[i].parent;
    }
    // A stream's layout holds several frames at top level: look back among them.
    spans[..last]
        .iter()
        .rposition(|s| s.parent.is_none() && s.range.contains(&offset))
}

/// The region a byte is coloured as: its innermost span, keys and values
/// taking their field's colour. Returns (span index, class list).
fn region(layout: &Layout, offset: usize) -> (Option<usize>, String) {
    let Some(inner) = innermost(layout, offset) else {
        return (None, "k-none".to_owned());
    };
    let spans = &layout.spans;
    let mut class = String::new();
    let mut at = inner;
    if matches!(spans[at].kind, SpanKind::Key | SpanKind::Value) {
        class.push_str(if spans[at].kind == SpanKind::Key {
            "key "
        } else {
            ""
        });
        if let Some(p) = spans[at].parent {
            at = p;
        }
    }
    class.push_str(kind_class(spans[at].kind));
    if matches!(
        spans[at].kind,
        SpanKind::HeaderField | SpanKind::ContentField | SpanKind::Item
    ) && at % 2 == 1
    {
        class.push_str(" alt");
    }
    (Some(inner), class)
}

/// The offset of the byte under the pointer: runs carry their first offset
/// and length, and every byte of a run is equally wide (monospace).
fn byte_under(e: &MouseEvent) -> Option<usize> {
    let el = e.target()?.dyn_into::<HtmlElement>().ok()?;
    let start: usize = el.get_attribute("data-o")?.parse().ok()?;
    let len: usize = el.get_attribute("data-n")?.parse().ok()?;
    let rect = el.get_bounding_client_rect();
    if len == 0 || rect.width() <= 0.0 {
        return Some(start);
    }
    let x = f64::from(e.client_x()) - rect.left();
    let index = (x / rect.width() * len as f64).floor().max(0.0) as usize;
    Some(start + index.min(len - 1))
}

#[derive(Properties, PartialEq)]
pub struct Props {
    pub source: HexSource,
    /// Span to highlight (hovered or selected) and the selected one.
    pub highlight: Option<usize>,
    pub selected: Option<usize>,
    /// Bytes of the current encode step; others are dimmed.
    #[prop_or_default]
    pub focus: Option<Range<usize>>,
    /// The span under the pointer (`None` once it leaves).
    pub on_hover: Callback<Option<usize>>,
    /// The span clicked.
    pub on_select: Callback<usize>,
    /// What a copy button did, for the notice line.
    pub on_notice: Callback<String>,
    /// Bytes the decoder stopped at, marked with the reason.
    #[prop_or_default]
    pub marked: Option<Offence>,
    /// Element id prefix, for tests and the page's anchors.
    pub id: AttrValue,
    /// What one received chunk is, when not one read of the relay's socket
    /// (the Watch tab: one `recv()` of the server).
    #[prop_or_default]
    pub chunk: Option<AttrValue>,
}

#[component]
pub fn HexView(props: &Props) -> Html {
    let scroll_top = use_state(|| 0i32);
    let node = use_node_ref();
    let root = use_node_ref();
    // Rows hold 16 bytes where they fit the view's column, else 8: the
    // received bytes sit in a half-width panel on a laptop, the sent ones in
    // a wide one, and both in one column on a phone.
    let fit = use_state(initial_row_width);
    {
        let root = root.clone();
        let fit = fit.clone();
        // Measured once mounted and on each resize, not after every render:
        // reading a width forces a layout, and with a 1 MiB content box in
        // the page that is seconds.
        use_effect_with((), move |_| {
            let measure = move || {
                let Some(view) = root.cast::<HtmlElement>() else {
                    return;
                };
                let ch = view
                    .query_selector(".hex-head .off")
                    .ok()
                    .flatten()
                    .and_then(|o| o.dyn_into::<HtmlElement>().ok())
                    .map_or(0.0, |o| f64::from(o.offset_width()) / 9.0);
                if ch <= 0.0 {
                    return;
                }
                // Offset (9ch), hex and ASCII (4ch a byte), gaps, padding, scrollbar.
                let needed = (9 + 4 * HEX_ROW_WIDTH) as f64 * ch + 56.0;
                let width = if available(&view) >= needed {
                    HEX_ROW_WIDTH
                } else {
                    NARROW_ROW_WIDTH
                };
                fit.set(width);
            };
            measure();
            let on_resize = Closure::<dyn FnMut()>::new(measure);
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w
                    .add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback(
                        "resize",
                        on_resize.as_ref().unchecked_ref(),
                    );
                }
            }
        });
    }
    let last_hover = use_mut_ref(|| None::<usize>);
    let source = &props.source;
    let bytes = source.bytes();
    let layout = source.layout();
    let width = *fit;
    let rows = hex_row_count_with(bytes.len(), width);

    // Bring a span picked elsewhere (the structure tree) into view.
    {
        let node = node.clone();
        let start = props
            .selected
            .and_then(|i| layout.spans.get(i))
            .map(|s| s.range.start);
        use_effect_with((start, width), move |(start, width)| {
            if let (Some(start), Some(el)) = (start, node.cast::<Element>()) {
                let top = (*start / width) as i32 * ROW_HEIGHT;
                let view = el.client_height();
                if top < el.scroll_top() || top + ROW_HEIGHT > el.scroll_top() + view {
                    el.set_scroll_top((top - view / 3).max(0));
                }
            }
        });
    }

    let onscroll = {
        let scroll_top = scroll_top.clone();
        move |e: Event| {
            if let Some(el) = e.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                scroll_top.set(el.scroll_top());
            }
        }
    };
    let offset_of = |e: &MouseEvent| byte_under(e);
    let onmouseover = {
        let on_hover = props.on_hover.clone();
        let source = source.clone();
        let last_hover = last_hover.clone();
        move |e: MouseEvent| {
            let span = offset_of(&e).and_then(|o| innermost(source.layout(), o));
            if *last_hover.borrow() != span {
                *last_hover.borrow_mut() = span;
                on_hover.emit(span);
            }
        }
    };
    let onmouseleave = {
        let on_hover = props.on_hover.clone();
        move |_: MouseEvent| {
            *last_hover.borrow_mut() = None;
            on_hover.emit(None);
        }
    };
    let onclick = {
        let on_select = props.on_select.clone();
        let source = source.clone();
        move |e: MouseEvent| {
            if let Some(span) = offset_of(&e).and_then(|o| innermost(source.layout(), o)) {
                on_select.emit(span);
            }
        }
    };

    let first = (*scroll_top / ROW_HEIGHT).max(0) as usize;
    let start = first.saturating_sub(OVERSCAN);
    let end = (first + WINDOW_ROWS + OVERSCAN).min(rows);
    let hl = props
        .highlight
        .and_then(|i| layout.spans.get(i))
        .map(|s| s.range.clone());
    let chunk_starts = source.chunk_starts();
    let marked = props.marked.as_ref();
    // Three characters a byte ("7b "), so the columns line up at any width.
    let hex_width = format!("width: {}ch", width * 3);
    // Offset (9ch), hex, ASCII, the two gaps, padding and a scrollbar.
    let view_width = format!("calc({}ch + 2.6rem + 16px)", 9 + width * 4);
    let row_html = |row: usize| -> Html {
        let offset = row * width;
        let slice = &bytes[offset..bytes.len().min(offset + width)];
        let classes: Vec<String> = (offset..offset + slice.len())
            .map(|o| {
                let (_, mut class) = region(layout, o);
                if hl.as_ref().is_some_and(|r| r.contains(&o)) {
                    class.push_str(" hl");
                }
                if props.focus.as_ref().is_some_and(|r| !r.contains(&o)) {
                    class.push_str(" dim");
                }
                if marked.is_some_and(|m| m.range.contains(&o)) {
                    class.push_str(" bad");
                }
                if chunk_starts.binary_search(&o).is_ok() {
                    class.push_str(" cs");
                }
                class
            })
            .collect();
        // One element per run of bytes that look the same: a row is a few
        // elements, not 32, which keeps scrolling cheap.
        let mut hex = Vec::new();
        let mut ascii = Vec::new();
        let mut start = 0;
        while start < slice.len() {
            let end = (start..slice.len())
                .find(|&i| classes[i] != classes[start])
                .unwrap_or(slice.len());
            let run = &slice[start..end];
            let mut hex_text = String::with_capacity(run.len() * 3);
            for b in run {
                hex_text.push_str(&format!("{b:02x} "));
            }
            let ascii_text: String = run.iter().map(|&b| ascii_cell(b)).collect();
            let (o, n) = ((offset + start).to_string(), run.len().to_string());
            let class = &classes[start];
            let title = class
                .contains(" bad")
                .then(|| marked.map(|m| m.reason.clone()))
                .flatten();
            hex.push(html! { <span class={format!("b {class}")} data-o={o.clone()} data-n={n.clone()} {title}>{ hex_text }</span> });
            ascii.push(html! { <span class={format!("a {class}")} data-o={o} data-n={n}>{ ascii_text }</span> });
            start = end;
        }
        html! {
            <div class="hex-row" style="white-space: pre">
                <span class="off">{ format!("{offset:08x}") }</span>
                <span class="hx" style={hex_width.clone()}>{ hex }</span>
                <span class="asc">{ ascii }</span>
            </div>
        }
    };
    let height = rows.clamp(1, WINDOW_ROWS) as i32 * ROW_HEIGHT;
    let legend = (!chunk_starts.is_empty()).then(|| {
        html! {
            <p class="legend"><span class="mark" aria-hidden="true"></span>
                { "a received chunk starts here (" }{ props.chunk.clone().unwrap_or(AttrValue::Static("one read of the relay's socket, one WebSocket message")) }{ ")" }</p>
        }
    });
    let copy = |label: &'static str, make: fn(&[u8]) -> String| {
        let on_notice = props.on_notice.clone();
        let source = source.clone();
        html! {
            <button type="button" class="small" onclick={move |_| {
                let text = make(&source.bytes());
                copy_to_clipboard(text, format!("{label} ({} bytes)", source.bytes().len()), on_notice.clone());
            }}>{ format!("Copy {label}") }</button>
        }
    };
    let literal = if bytes.len() > LITERAL_SHOWN {
        format!(
            "{} … and {} more bytes",
            python_bytes_repr(&bytes[..LITERAL_SHOWN]),
            bytes.len() - LITERAL_SHOWN
        )
    } else {
        python_bytes_repr(&bytes)
    };
    let id = &props.id;
    html! {
        <div class="hex-view" id={id.clone()} ref={root}>
            <div class="hex-head" aria-hidden="true">
                <span class="off">{ "offset" }</span><span class="hx" style={hex_width.clone()}>{ "hex" }</span><span class="asc">{ "ascii" }</span>
            </div>
            <div class="hex-scroll" ref={node} tabindex="0" role="region"
                aria-label={format!("hex dump, {} bytes", bytes.len())}
                style={format!("height: {height}px; width: {view_width}; overflow-y: auto; position: relative")}
                {onscroll} {onmouseover} {onmouseleave} {onclick}>
                <div class="hex-space" style={format!("height: {}px", rows as i32 * ROW_HEIGHT)}>
                    <div class="hex-rows" style={format!("transform: translateY({}px)", start as i32 * ROW_HEIGHT)}>
                        { for (start..end).map(row_html) }
                    </div>
                </div>
            </div>
            if let Some(m) = marked {
                <p class="error" id={format!("{id}-mark")}>
                    { format!("Bytes {}..{} (marked): {}", m.range.start, m.range.end, m.reason) }
                </p>
            }
            { legend }
            <div class="hex-foot">
                <span class="count">{ format!("{} bytes", bytes.len()) }</span>
                { copy("hex", hex_string) }
                { copy("Python bytes literal", python_bytes_repr) }
                { copy("Rust byte array", rust_array_literal) }
            </div>
            <details class="literal" open={bytes.len() <= LITERAL_SHOWN}>
                <summary>{ "Python bytes literal (what the tutorial's programs print)" }</summary>
                <pre class="mono" id={format!("{id}-literal")}>{ literal }</pre>
            </details>
        </div>
    }
}
