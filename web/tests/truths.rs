//! Issue 12's words and controls in single panels, rendered in headless
//! Chromium (`wasm-bindgen-test`): the tree's previews and Tab stop, the
//! marked bytes, the locked picker and the busy Send button.
#![cfg(target_arch = "wasm32")]

use protocol::{Content, Message, TextEncoding};
use wasm_bindgen_test::*;
use web::components::{self, HexSource};
use web::model::{
    compose, offence, ComposeAction, Composer, Conn, Mode, SendOptions, State, Targets,
};
use yew::prelude::*;

mod support;

use support::*;

wasm_bindgen_test_configure!(run_in_browser);

fn tree_props(source: HexSource) -> components::structure_tree::Props {
    components::structure_tree::Props {
        source,
        highlight: None,
        on_hover: Callback::noop(),
        on_select: Callback::noop(),
    }
}

#[wasm_bindgen_test]
async fn the_tree_previews_content_in_its_declared_encoding_and_is_one_tab_stop() {
    for encoding in ["utf-16", "latin-1", "utf-16-be"] {
        let composer = Composer {
            mode: Mode::Custom,
            content_type: "text/plain".into(),
            content_encoding: encoding.into(),
            content: "héllo".into(),
            ..Composer::default()
        };
        let composed = std::rc::Rc::new(compose(&composer));
        let div =
            mount::<components::StructureTree>(tree_props(HexSource::Outgoing(composed))).await;
        assert_eq!(
            text(&div, ".node.k-content .preview"),
            "héllo",
            "{encoding}"
        );
        assert_eq!(
            all(&div, "button.node[tabindex='0']").len(),
            1,
            "{encoding}"
        );
        assert!(
            all(&div, "button.node[tabindex='-1']").len() > 1,
            "{encoding}"
        );
    }
    // Binary content is shown as the bytes it is.
    let binary = Message::new(
        "application/octet-stream",
        "binary",
        Content::Binary(vec![0xff, 0x00, b'a'].into()),
    )
    .unwrap();
    assert!(TextEncoding::from_name("binary").is_none());
    let composer = Composer {
        mode: Mode::Hex,
        hex: protocol::hexdump::hex_string(&protocol::encode(&binary).unwrap().bytes),
        ..Composer::default()
    };
    let composed = std::rc::Rc::new(compose(&composer));
    let div = mount::<components::StructureTree>(tree_props(HexSource::Outgoing(composed))).await;
    assert_eq!(text(&div, ".node.k-content .preview"), r"b'\xff\x00a'");
}

#[wasm_bindgen_test]
async fn the_hex_view_marks_the_byte_the_decoder_stopped_at_with_the_reason() {
    let mut state = State::default();
    web::model::reduce(
        &mut state,
        web::model::Action::Compose(ComposeAction::Preset("not-json")),
    );
    let marked = offence(&state.composed);
    let div = mount::<components::HexView>(components::hex_view::Props {
        source: HexSource::Outgoing(state.composed.clone()),
        highlight: None,
        selected: None,
        focus: None,
        marked,
        on_hover: Callback::noop(),
        on_select: Callback::noop(),
        on_notice: Callback::noop(),
        id: "hex-test".into(),
    })
    .await;
    let bad = all(&div, ".hx .b.bad");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].text_content().unwrap().trim(), "27");
    assert!(bad[0]
        .get_attribute("title")
        .unwrap()
        .contains("at byte 1 of the header"));
    assert!(text(&div, "#hex-test-mark").starts_with("Bytes 3..4 (marked)"));
}

fn picker(conn: Conn, sending: bool) -> components::target_picker::Props {
    components::target_picker::Props {
        targets: Targets::Loaded(vec![
            protocol::relay_api::TargetInfo {
                name: "app".into(),
                description: String::new(),
                address: None,
            },
            protocol::relay_api::TargetInfo {
                name: "echo".into(),
                description: String::new(),
                address: None,
            },
        ]),
        target: "app".into(),
        send: SendOptions::default(),
        conn,
        frame_len: 143,
        sending,
        on_target: Callback::noop(),
        on_segment: Callback::noop(),
        on_delay: Callback::noop(),
        on_connect: Callback::noop(),
        on_send: Callback::noop(),
        on_half_close: Callback::noop(),
        on_close: Callback::noop(),
        flood: None,
        on_flood: Callback::noop(),
        on_stop_flood: Callback::noop(),
        replay: None,
    }
}

#[wasm_bindgen_test]
async fn the_picker_locks_while_connected_and_send_waits_while_sending() {
    let div = mount::<components::TargetPicker>(picker(Conn::Idle, false)).await;
    let select: web_sys::HtmlSelectElement = element(&div, "#target");
    assert!(!select.disabled());
    assert!(all(&div, "#target-locked").is_empty());

    let div = mount::<components::TargetPicker>(picker(Conn::Open, true)).await;
    let select: web_sys::HtmlSelectElement = element(&div, "#target");
    assert!(select.disabled());
    assert!(text(&div, "#target-locked").contains("Close"));
    assert!(all(&div, "#send")[0].has_attribute("disabled"));
    assert_eq!(text(&div, "#send"), "Sending…");
}
