//! Each panel rendered from known state in headless Chromium
//! (`wasm-bindgen-test`; see the README for how to run them).
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use protocol::relay_api::TargetInfo;
use protocol::{encode, Message};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web::components::{self, HexSource};
use web::model::{
    Chunk, Composed, Conn, Inbound, Party, SendOptions, Session, State, Targets, TimelineEvent,
    TimelineKind,
};
use web_sys::{Element, HtmlElement};
use yew::prelude::*;

mod support;

use support::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Each byte's (class, hex) as the hex column shows it: runs of equal bytes
/// expanded back to one entry per byte.
fn byte_cells(root: &Element, scope: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for run in all(root, &format!("{scope} .hx .b")) {
        let class = run.get_attribute("class").unwrap();
        for hex in run.text_content().unwrap().split_whitespace() {
            out.push((class.clone(), hex.to_owned()));
        }
    }
    out
}

#[wasm_bindgen_test]
async fn composer_shows_every_preset_and_the_request_fields() {
    let state = State::default();
    let div = mount::<components::Composer>(components::composer::Props {
        fields: state.composer.clone(),
        composed: state.composed.clone(),
        on_preset: Callback::noop(),
        on_mode: Callback::noop(),
        on_field: Callback::noop(),
        on_edit_as_hex: Callback::noop(),
        on_file: Callback::noop(),
    })
    .await;
    let presets: Vec<String> = all(&div, "button.preset")
        .iter()
        .map(|b| b.get_attribute("data-preset").unwrap())
        .collect();
    assert_eq!(presets.len(), web::model::presets::ALL.len());
    assert!(presets.contains(&"binary".to_owned()) && presets.contains(&"zero-header".to_owned()));
    let value: web_sys::HtmlInputElement = element(&div, "#value");
    assert_eq!(value.value(), "morpheus");
    assert!(text(&div, ".expect").contains("Follow the white rabbit. 🐰"));
}

#[wasm_bindgen_test]
async fn encode_steps_show_the_byte_count_of_each_stage() {
    let state = State::default();
    let div = mount::<components::EncodeSteps>(components::encode_steps::Props {
        steps: state.steps(),
        step: 2,
        playing: false,
        bytes: state.composed.clone(),
        on_step: Callback::noop(),
    })
    .await;
    let counts: Vec<String> = texts(&div, ".step-title .count");
    assert_eq!(counts, ["41 B", "100 B", "2 B", "143 B"]);
    assert!(text(&div, "#step-line").contains("header is 100 bytes → 0x00 0x64"));
    assert_eq!(text(&div, ".step.current .preview"), "00 64");
}

fn hex_props(source: HexSource) -> components::hex_view::Props {
    components::hex_view::Props {
        source,
        highlight: None,
        selected: None,
        focus: None,
        marked: None,
        on_hover: Callback::noop(),
        on_select: Callback::noop(),
        on_notice: Callback::noop(),
        id: "hex-test".into(),
        chunk: None,
    }
}

#[wasm_bindgen_test]
async fn hex_view_colours_each_region_from_the_encoders_layout() {
    let state = State::default();
    let div =
        mount::<components::HexView>(hex_props(HexSource::Outgoing(state.composed.clone()))).await;
    let bytes = byte_cells(&div, "");
    assert_eq!(bytes.len(), 143);
    // Runs of same-looking bytes share an element: far fewer than one per byte.
    assert!(all(&div, ".hx .b").len() < 143 / 2);
    let class = |i: usize| bytes[i].0.clone();
    assert!(class(0).contains("k-prefix") && class(1).contains("k-prefix"));
    assert!(class(2).contains("k-header"), "{}", class(2));
    assert!(class(3).contains("k-hfield") && class(3).contains("key"));
    assert!(class(102).contains("k-content"), "{}", class(102));
    assert!(class(103).contains("k-cfield"), "{}", class(103));
    assert_eq!(bytes[1].1, "64");
    assert!(text(&div, "#hex-test-literal").starts_with(r#"b'\x00d{"byteorder": "big""#));
}

#[wasm_bindgen_test]
async fn a_mebibyte_message_renders_only_the_visible_rows() {
    let message = Message::binary("binary/blob", vec![0x5a; 1 << 20]);
    let composed = Rc::new(Composed {
        bytes: encode(&message).unwrap().bytes,
        layout: encode(&message).unwrap().layout,
        message: Some(message),
        ..Default::default()
    });
    let div = mount::<components::HexView>(hex_props(HexSource::Outgoing(composed))).await;
    let rows = all(&div, ".hex-row");
    assert!(
        rows.len() <= components::hex_view::WINDOW_ROWS + 16,
        "{} rows",
        rows.len()
    );
    assert_eq!(text(&div, ".hex-row .off"), "00000000");
    let scroll: HtmlElement = element(&div, ".hex-scroll");
    scroll.set_scroll_top(40_000 * components::hex_view::ROW_HEIGHT);
    scroll
        .dispatch_event(&web_sys::Event::new("scroll").unwrap())
        .unwrap();
    until_changed(&div, ".hex-row .off", "00000000").await;
    let offsets: Vec<String> = texts(&div, ".hex-row .off");
    assert!(all(&div, ".hex-row").len() <= components::hex_view::WINDOW_ROWS + 16);
    assert!(
        offsets.contains(&format!("{:08x}", 40_000 * 16)),
        "{offsets:?}"
    );
}

#[wasm_bindgen_test]
async fn structure_tree_names_the_header_fields_and_content() {
    let state = State::default();
    let div = mount::<components::StructureTree>(components::structure_tree::Props {
        source: HexSource::Outgoing(state.composed.clone()),
        highlight: Some(0),
        on_hover: Callback::noop(),
        on_select: Callback::noop(),
    })
    .await;
    let labels: Vec<String> = texts(&div, ".node .label");
    assert_eq!(
        labels,
        [
            "length prefix",
            "JSON header",
            "byteorder",
            "content-type",
            "content-encoding",
            "content-length",
            "content",
            "action",
            "value"
        ]
    );
    // The arrow keys walk the nodes.
    let nodes: Vec<HtmlElement> = all(&div, "button.node")
        .into_iter()
        .map(|e| e.dyn_into().unwrap())
        .collect();
    nodes[0].focus().unwrap();
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("ArrowDown");
    init.set_bubbles(true);
    nodes[0]
        .dispatch_event(
            &web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap(),
        )
        .unwrap();
    let active = document().active_element().unwrap();
    assert_eq!(active.text_content(), nodes[1].text_content());
    assert!(all(&div, ".node.hl")[0]
        .text_content()
        .unwrap()
        .contains("00 64"));
}

fn reply_inbound() -> Rc<Inbound> {
    let request = protocol::app::request("search", "morpheus");
    let reply = encode(&protocol::app::respond(&request).unwrap())
        .unwrap()
        .bytes;
    let chunks = [&reply[..1], &reply[1..50], &reply[50..]]
        .iter()
        .enumerate()
        .map(|(i, b)| Chunk {
            bytes: (*b).into(),
            at_ms: i as f64 * 10.0,
        })
        .collect::<Vec<_>>();
    Rc::new(Inbound::from_chunks(&chunks))
}

#[wasm_bindgen_test]
async fn decode_view_shows_each_chunk_the_decoder_state_and_the_result() {
    let div = mount::<components::DecodeView>(components::decode_view::Props {
        inbound: reply_inbound(),
        summary: Some("1 reply frame received; close code 1000".into()),
        local: false,
        highlight: None,
        selected: None,
        on_decode_here: Callback::noop(),
        on_hover: Callback::noop(),
        on_select: Callback::noop(),
        on_notice: Callback::noop(),
        session: Default::default(),
    })
    .await;
    let rows = all(&div, "#chunks tbody tr");
    assert_eq!(rows.len(), 3);
    assert!(rows[0]
        .text_content()
        .unwrap()
        .contains("have 1 of 2 header-length bytes"));
    assert!(rows[1]
        .text_content()
        .unwrap()
        .contains("JSON header: 48 of 103 bytes"));
    assert!(rows[2].text_content().unwrap().contains("content complete"));
    assert_eq!(
        text(&div, "[data-testid=outcome]"),
        "Got result: Follow the white rabbit. 🐰"
    );
    // The second and third chunks start at bytes 1 and 50: boundaries are drawn there.
    let starts: Vec<String> = all(&div, ".hx .cs")
        .iter()
        .map(|e| e.get_attribute("data-o").unwrap())
        .collect();
    assert_eq!(starts, ["1", "50"]);
    assert!(text(&div, "#session-summary").contains("close code 1000"));
}

fn session() -> Rc<Session> {
    let event = |at_ms: f64, kind| TimelineEvent { at_ms, kind };
    Rc::new(Session {
        id: 1,
        target: "app".into(),
        timeline: vec![
            event(
                0.0,
                TimelineKind::Connect {
                    target: "app".into(),
                },
            ),
            event(3.0, TimelineKind::Open),
            event(
                4.0,
                TimelineKind::Send {
                    offset: 0,
                    len: 143,
                },
            ),
            event(
                9.0,
                TimelineKind::Receive {
                    offset: 0,
                    len: 145,
                },
            ),
            event(
                10.0,
                TimelineKind::Close {
                    by: Party::Relay,
                    code: 1000,
                    reason: "upstream closed".into(),
                },
            ),
        ],
        ..Session::default()
    })
}

#[wasm_bindgen_test]
async fn transcript_and_sequence_diagram_draw_the_session() {
    let div = root();
    yew::Renderer::<components::Transcript>::with_root_and_props(
        div.clone(),
        components::transcript::Props {
            session: session(),
            observe: Default::default(),
            replaying: false,
        },
    )
    .render();
    let svg = root();
    yew::Renderer::<components::SequenceDiagram>::with_root_and_props(
        svg.clone(),
        components::sequence_diagram::Props {
            session: session(),
            observe: Rc::default(),
        },
    )
    .render();
    until("the transcript and the diagram", || {
        !all(&div, "#transcript tbody tr").is_empty() && !all(&svg, ".arrow .label").is_empty()
    })
    .await;
    assert_eq!(all(&div, "#transcript tbody tr").len(), 5);
    assert!(text(&div, "#transcript").contains("received 145 bytes (bytes 0..145)"));
    let labels: Vec<String> = texts(&svg, ".arrow .label");
    assert!(labels.contains(&"send() 143 B".to_owned()), "{labels:?}");
    assert!(labels.contains(&"recv() → 145 B".to_owned()), "{labels:?}");
    assert!(
        labels.contains(&"close 1000 upstream closed".to_owned()),
        "{labels:?}"
    );
}

#[wasm_bindgen_test]
async fn sequence_diagram_shows_a_refused_connect_as_never_reaching_the_server() {
    let event = |at_ms: f64, kind| TimelineEvent { at_ms, kind };
    let refused = Rc::new(Session {
        id: 1,
        target: "down".into(),
        timeline: vec![
            event(
                0.0,
                TimelineKind::Connect {
                    target: "down".into(),
                },
            ),
            event(1.0, TimelineKind::Open),
            event(
                2.0,
                TimelineKind::Send {
                    offset: 0,
                    len: 143,
                },
            ),
            event(
                3.0,
                TimelineKind::Close {
                    by: Party::Relay,
                    code: 1011,
                    reason: "connection refused: 127.0.0.1:9".into(),
                },
            ),
        ],
        ..Session::default()
    });
    let svg = mount::<components::SequenceDiagram>(components::sequence_diagram::Props {
        session: refused,
        observe: Rc::default(),
    })
    .await;
    let labels: Vec<String> = texts(&svg, ".arrow .label");
    assert!(labels.contains(&"connect() ✗".to_owned()), "{labels:?}");
    assert!(
        !labels.iter().any(|l| l.starts_with("send()")),
        "{labels:?}"
    );
    assert!(!labels.contains(&"close() (EOF)".to_owned()), "{labels:?}");
}

#[wasm_bindgen_test]
async fn target_picker_lists_the_relays_targets_and_the_connection_state() {
    let div = mount::<components::TargetPicker>(components::target_picker::Props {
        targets: Targets::Loaded(vec![
            TargetInfo {
                name: "app".into(),
                description: "the tutorial's app server".into(),
                address: None,
                program: None,
                exposed: None,
            },
            TargetInfo {
                name: "echo".into(),
                description: "echo".into(),
                address: Some("127.0.0.1:9".into()),
                program: None,
                exposed: None,
            },
        ]),
        send: SendOptions {
            segment: 50,
            delay_ms: 100,
            max_message_size: None,
        },
        conn: Conn::Failed("target \"app\" unreachable: connection refused".into()),
        ..picker_props(&[], "app")
    })
    .await;
    assert_eq!(all(&div, "#target option").len(), 2);
    assert_eq!(
        text(&div, "#target-description"),
        "the tutorial's app server"
    );
    assert!(text(&div, "#conn-state").contains("failed: target \"app\" unreachable"));
    assert!(text(&div, "#segments-hint").contains("143 bytes go out as 3 WebSocket messages"));
}

/// Mounts the whole app on a page whose URL carries no link, so it starts
/// from the defaults whatever an earlier test left in the hash.
async fn mount_app() -> (Element, yew::AppHandle<web::app::App>) {
    let window = web_sys::window().unwrap();
    let path = window.location().pathname().unwrap();
    window
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path))
        .unwrap();
    let div = root();
    let app = yew::Renderer::<web::app::App>::with_root(div.clone()).render();
    until("the app's composed frame", || {
        div.query_selector("#hex-out-literal")
            .ok()
            .flatten()
            .and_then(|e| e.text_content())
            .is_some_and(|t| !t.is_empty())
    })
    .await;
    (div, app)
}

#[wasm_bindgen_test]
async fn the_app_recomposes_on_a_preset_and_puts_it_in_the_link() {
    let (div, app) = mount_app().await;
    assert!(text(&div, "#hex-out-literal").ends_with(r#""value": "morpheus"}'"#));
    let before = text(&div, "#hex-out-literal");
    let ring: HtmlElement = element(&div, "[data-preset=ring]");
    ring.click();
    until_changed(&div, "#hex-out-literal", &before).await;
    assert!(text(&div, "#hex-out-literal").ends_with(r#""value": "ring"}'"#));
    assert_eq!(text(&div, "#hex-out .hex-foot .count"), "139 bytes");
    let hash = || web_sys::window().unwrap().location().hash().unwrap();
    until("the link to name the preset", || {
        hash().starts_with("#p=ring")
    })
    .await;
    app.destroy();
}

#[wasm_bindgen_test]
async fn the_app_links_a_hovered_byte_to_its_node_in_the_tree() {
    let (div, app) = mount_app().await;
    // Byte 130 is the colon of the content's "value" field.
    let attr =
        |e: &Element, name: &str| -> usize { e.get_attribute(name).unwrap().parse().unwrap() };
    let run = all(&div, "#hex-out .hx .b")
        .into_iter()
        .find(|r| (attr(r, "data-o")..attr(r, "data-o") + attr(r, "data-n")).contains(&130))
        .expect("a run holds byte 130");
    let (o, n) = (attr(&run, "data-o"), attr(&run, "data-n"));
    let rect = run.get_bounding_client_rect();
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    init.set_client_x((rect.left() + (130 - o) as f64 * rect.width() / n as f64 + 2.0) as i32);
    init.set_client_y((rect.top() + rect.height() / 2.0) as i32);
    assert!(all(&div, "#bytes .node.hl").is_empty());
    run.dispatch_event(
        &web_sys::MouseEvent::new_with_mouse_event_init_dict("mouseover", &init).unwrap(),
    )
    .unwrap();
    until("the highlight", || !all(&div, "#bytes .node.hl").is_empty()).await;
    let hl = all(&div, "#bytes .node.hl");
    assert_eq!(hl.len(), 1);
    assert!(
        hl[0].text_content().unwrap().contains("value"),
        "{}",
        hl[0].text_content().unwrap()
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn the_app_decodes_here_in_the_send_segments_and_leaves_the_frame_alone() {
    let (div, app) = mount_app().await;
    let before = text(&div, "#hex-out-literal");
    let ring: HtmlElement = element(&div, "[data-preset=ring]");
    ring.click();
    until_changed(&div, "#hex-out-literal", &before).await;
    let literal = text(&div, "#hex-out-literal");
    let segment: web_sys::HtmlInputElement = element(&div, "#segment");
    let before = text(&div, "#segments-hint");
    segment.set_value("10");
    segment
        .dispatch_event(&web_sys::InputEvent::new("input").unwrap())
        .unwrap();
    until_changed(&div, "#segments-hint", &before).await;
    assert!(text(&div, "#segments-hint").contains("139 bytes go out as 14 WebSocket messages"));
    let here: HtmlElement = element(&div, "#decode-here");
    here.click();
    until("the decoded segments", || {
        !all(&div, "#chunks tbody tr").is_empty()
    })
    .await;
    let rows = all(&div, "#chunks tbody tr");
    assert_eq!(rows.len(), 14);
    assert!(rows[1]
        .text_content()
        .unwrap()
        .contains("JSON header: 18 of 100 bytes"));
    assert_eq!(all(&div, "#decode .decoded").len(), 1);
    // Decoding here reads the composed frame; the frame on screen is unchanged.
    assert_eq!(text(&div, "#hex-out-literal"), literal);
    assert_eq!(text(&div, "#hex-out .hex-foot .count"), "139 bytes");
    assert_eq!(text(&div, "#hex-in .hex-foot .count"), "139 bytes");
    app.destroy();
}
