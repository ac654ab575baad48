//! The exact bytes the tutorial prints, encoded and decoded byte for byte.
//! Each constant is copied from the tutorial's program output (the
//! `Sending b'...'` lines), written here as Rust byte strings.

use protocol::app::{request, respond, Outcome};
use protocol::python::python_bytes_repr;
use protocol::{encode, Content, Decoded, Decoder, Event, Message};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// The client on the tutorial's big-endian VM: `search morpheus`.
const MORPHEUS_REQUEST: &[u8] = b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 41}{\"action\": \"search\", \"value\": \"morpheus\"}";
/// `search 🐶` from the same client.
const DOG_REQUEST: &[u8] = b"\x00d{\"byteorder\": \"big\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}{\"action\": \"search\", \"value\": \"\xf0\x9f\x90\xb6\"}";
/// `binary 😃` from the same client.
const BINARY_REQUEST: &[u8] = b"\x00|{\"byteorder\": \"big\", \"content-type\": \"binary/custom-client-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 10}binary\xf0\x9f\x98\x83";
/// The little-endian server's replies.
const MORPHEUS_REPLY: &[u8] = b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 43}{\"result\": \"Follow the white rabbit. \xf0\x9f\x90\xb0\"}";
const DOG_REPLY: &[u8] = b"\x00g{\"byteorder\": \"little\", \"content-type\": \"text/json\", \"content-encoding\": \"utf-8\", \"content-length\": 37}{\"result\": \"\xf0\x9f\x90\xbe Playing ball! \xf0\x9f\x8f\x90\"}";
const BINARY_REPLY: &[u8] = b"\x00\x7f{\"byteorder\": \"little\", \"content-type\": \"binary/custom-server-binary-type\", \"content-encoding\": \"binary\", \"content-length\": 37}First 10 bytes of request: binary\xf0\x9f\x98\x83";

fn decode_one(bytes: &[u8]) -> Decoded {
    let mut decoder = Decoder::default();
    decoder.push(bytes);
    loop {
        match decoder.poll().expect("valid frame") {
            Some(Event::Message(decoded)) => {
                assert!(decoder.finish().is_ok(), "nothing left over");
                return decoded;
            }
            Some(_) => continue,
            None => panic!("incomplete: {:?}", decoder.need()),
        }
    }
}

fn big_endian(message: Message) -> Message {
    message.with_byteorder("big")
}

fn little_endian(message: Message) -> Message {
    message.with_byteorder("little")
}

#[test]
fn the_client_encodes_the_morpheus_search_as_printed() {
    let bytes = encode(&big_endian(request("search", "morpheus")))
        .unwrap()
        .bytes;
    assert_eq!(bytes, MORPHEUS_REQUEST);
}

#[test]
fn the_client_encodes_the_dog_search_as_printed() {
    let bytes = encode(&big_endian(request("search", "🐶"))).unwrap().bytes;
    assert_eq!(bytes, DOG_REQUEST);
}

#[test]
fn the_client_encodes_the_binary_request_as_printed() {
    let bytes = encode(&big_endian(request("binary", "😃"))).unwrap().bytes;
    assert_eq!(bytes, BINARY_REQUEST);
}

#[test]
fn the_server_answers_each_printed_request_with_the_printed_reply() {
    for (req, reply) in [
        (MORPHEUS_REQUEST, MORPHEUS_REPLY),
        (DOG_REQUEST, DOG_REPLY),
        (BINARY_REQUEST, BINARY_REPLY),
    ] {
        let decoded = decode_one(req);
        let answer = little_endian(respond(&decoded.message).unwrap());
        assert_eq!(
            python_bytes_repr(&encode(&answer).unwrap().bytes),
            python_bytes_repr(reply)
        );
    }
}

#[test]
fn printed_frames_decode_to_what_the_programs_printed() {
    assert_eq!(
        Outcome::of(&decode_one(MORPHEUS_REPLY).message).to_string(),
        "Got result: Follow the white rabbit. 🐰"
    );
    assert_eq!(
        Outcome::of(&decode_one(DOG_REPLY).message).to_string(),
        "Got result: 🐾 Playing ball! 🏐"
    );
    assert_eq!(
        Outcome::of(&decode_one(BINARY_REPLY).message).to_string(),
        r"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'"
    );
    let request = decode_one(DOG_REQUEST).message;
    assert_eq!(request.header.byteorder, "big");
    assert_eq!(
        protocol::app::describe(&request, "request"),
        "request {'action': 'search', 'value': '🐶'}"
    );
}

#[test]
fn printed_frames_are_printed_back_identically_in_python_repr() {
    assert_eq!(
        python_bytes_repr(MORPHEUS_REQUEST),
        r#"b'\x00d{"byteorder": "big", "content-type": "text/json", "content-encoding": "utf-8", "content-length": 41}{"action": "search", "value": "morpheus"}'"#
    );
    assert_eq!(
        python_bytes_repr(BINARY_REPLY),
        r#"b'\x00\x7f{"byteorder": "little", "content-type": "binary/custom-server-binary-type", "content-encoding": "binary", "content-length": 37}First 10 bytes of request: binary\xf0\x9f\x98\x83'"#
    );
}

#[test]
fn decoding_a_printed_frame_recovers_the_encoders_layout() {
    for frame in [
        MORPHEUS_REQUEST,
        DOG_REQUEST,
        BINARY_REQUEST,
        MORPHEUS_REPLY,
    ] {
        let decoded = decode_one(frame);
        let reencoded = encode(&decoded.message).unwrap();
        assert_eq!(reencoded.bytes, frame);
        assert_eq!(reencoded.layout, decoded.layout);
    }
}

#[test]
fn the_miss_and_invalid_action_replies_use_the_tutorials_words() {
    let miss = respond(&request("search", "neo")).unwrap();
    assert_eq!(
        miss.content,
        Content::Json(protocol::json::parse(r#"{"result": "No match for 'neo'."}"#).unwrap())
    );
    let content = protocol::json::parse(r#"{"action": "dance", "value": "x"}"#).unwrap();
    let invalid = respond(&Message::json(content)).unwrap();
    assert_eq!(
        Outcome::of(&invalid).to_string(),
        "Got result: Error: invalid action 'dance'."
    );
}
