//! One module per panel. Each takes the slice of [`crate::model::State`] it
//! shows and one callback per thing the user can do there, carrying just
//! that thing's value (a preset's id, a span index, a segment size), as
//! yew's `function_todomvc` example does. No panel sees the reducer or its
//! actions; the app root turns each callback into an action. View code
//! stays thin: what to show is computed in `model/` or by the protocol
//! crate.

pub mod composer;
pub mod decode_view;
pub mod encode_steps;
pub mod hex_view;
pub mod lessons;
pub mod replay_bar;
pub mod sequence_diagram;
pub mod server_panel;
pub mod socket_table;
pub mod structure_tree;
pub mod target_picker;
pub mod tcp_diagram;
pub mod transcript;

pub use composer::Composer;
pub use decode_view::DecodeView;
pub use encode_steps::EncodeSteps;
pub use hex_view::{HexSource, HexView};
pub use replay_bar::ReplayBar;
pub use sequence_diagram::SequenceDiagram;
pub use server_panel::ServerPanel;
pub use socket_table::SocketTable;
pub use structure_tree::StructureTree;
pub use target_picker::TargetPicker;
pub use transcript::Transcript;

use protocol::SpanKind;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// The current value of the input, textarea or select an event came from.
pub(crate) fn event_value(event: &Event) -> String {
    let Some(target) = event.target() else {
        return String::new();
    };
    if let Some(input) = target.dyn_ref::<HtmlInputElement>() {
        input.value()
    } else if let Some(area) = target.dyn_ref::<HtmlTextAreaElement>() {
        area.value()
    } else if let Some(select) = target.dyn_ref::<HtmlSelectElement>() {
        select.value()
    } else {
        String::new()
    }
}

/// The CSS class of a region: one colour per kind.
pub(crate) fn kind_class(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::LengthPrefix => "k-prefix",
        SpanKind::Header => "k-header",
        SpanKind::HeaderField => "k-hfield",
        SpanKind::Content => "k-content",
        SpanKind::ContentField => "k-cfield",
        SpanKind::Item => "k-item",
        SpanKind::Key => "k-key",
        SpanKind::Value => "k-value",
    }
}

/// Copies `text` to the clipboard and reports the outcome as a notice.
pub(crate) fn copy_to_clipboard(text: String, what: String, on_notice: Callback<String>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let promise = window.navigator().clipboard().write_text(&text);
    wasm_bindgen_futures::spawn_local(async move {
        let notice = match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(_) => format!("copied {what}"),
            Err(_) => format!("the browser refused the clipboard; select the {what} and copy it"),
        };
        on_notice.emit(notice);
    });
}
