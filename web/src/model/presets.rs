//! Ready-made messages: every exchange of the tutorial, and frames that break
//! the rules in one way each, to watch how the server and the decoder react.
//!
//! Malformed frames are made by the protocol crate ([`protocol::encode_raw`]
//! writes any header as given) and, where the bytes must not even be a JSON
//! header, by changing bytes of an encoded frame; nothing here computes a
//! length prefix.

use protocol::hexdump::hex_string;
use protocol::{encode, encode_raw, Json};

use super::composer::{Composer, Mode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Tutorial,
    Malformed,
}

/// One preset.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Stable name, used in share links and tests.
    pub id: &'static str,
    pub label: &'static str,
    pub group: Group,
    /// What to expect when it is sent.
    pub expect: &'static str,
    make: fn() -> Composer,
}

impl Preset {
    pub fn composer(&self) -> Composer {
        Composer {
            preset: Some(self.id),
            ..(self.make)()
        }
    }
}

pub const ALL: &[Preset] = &[
    Preset {
        id: "morpheus",
        label: "search morpheus",
        group: Group::Tutorial,
        expect: "Got result: Follow the white rabbit. 🐰",
        make: || search("morpheus"),
    },
    Preset {
        id: "ring",
        label: "search ring",
        group: Group::Tutorial,
        expect: "Got result: In the caves beneath the Misty Mountains. 💍",
        make: || search("ring"),
    },
    Preset {
        id: "dog",
        label: "search 🐶",
        group: Group::Tutorial,
        expect: "Got result: 🐾 Playing ball! 🏐",
        make: || search("🐶"),
    },
    Preset {
        id: "miss",
        label: "search neo (a miss)",
        group: Group::Tutorial,
        expect: "Got result: No match for 'neo'.",
        make: || search("neo"),
    },
    Preset {
        id: "invalid",
        label: "invalid action",
        group: Group::Tutorial,
        expect: "Got result: Error: invalid action 'find'.",
        make: || Composer {
            mode: Mode::Custom,
            content_type: "text/json".into(),
            content_encoding: "utf-8".into(),
            content: r#"{"action": "find", "value": "morpheus"}"#.into(),
            ..base()
        },
    },
    Preset {
        id: "binary",
        label: "binary 😃",
        group: Group::Tutorial,
        expect: r"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'",
        make: || Composer {
            action: "binary".into(),
            value: "😃".into(),
            ..base()
        },
    },
    Preset {
        id: "missing-header",
        label: "missing content-type",
        group: Group::Malformed,
        expect: "the server refuses the header and closes the connection",
        make: || {
            raw(
                &[
                    ("byteorder", "big".into()),
                    ("content-encoding", "utf-8".into()),
                    ("content-length", 41.into()),
                ],
                MORPHEUS_CONTENT,
            )
        },
    },
    Preset {
        id: "length-small",
        label: "content-length too small",
        group: Group::Malformed,
        expect: "the server reads 20 bytes of content, which are not JSON, and closes",
        make: || raw(&required(20), MORPHEUS_CONTENT),
    },
    Preset {
        id: "length-large",
        label: "content-length too large",
        group: Group::Malformed,
        expect: "the server waits for 58 more bytes that never come",
        make: || raw(&required(99), MORPHEUS_CONTENT),
    },
    Preset {
        id: "not-json",
        label: "header not JSON",
        group: Group::Malformed,
        expect: "the server cannot parse the header and closes the connection",
        make: || {
            // The tutorial's frame with the header's first quote made a single quote.
            let mut bytes = morpheus_bytes();
            bytes[3] = b'\'';
            hex(&bytes)
        },
    },
    Preset {
        id: "truncated",
        label: "truncated message",
        group: Group::Malformed,
        expect: "the server waits for the rest of the header",
        make: || hex(&morpheus_bytes()[..60]),
    },
    Preset {
        id: "zero-header",
        label: "zero-length header",
        group: Group::Malformed,
        expect: "the server refuses a 0-byte header and closes the connection",
        make: || {
            let mut bytes = morpheus_bytes();
            bytes[0] = 0;
            bytes[1] = 0;
            hex(&bytes)
        },
    },
];

pub fn find(id: &str) -> Option<&'static Preset> {
    ALL.iter().find(|p| p.id == id)
}

const MORPHEUS_CONTENT: &[u8] = br#"{"action": "search", "value": "morpheus"}"#;

fn base() -> Composer {
    Composer {
        mode: Mode::Request,
        action: "search".into(),
        value: String::new(),
        byteorder: "big".into(),
        content_type: "text/json".into(),
        content_encoding: "utf-8".into(),
        content: r#"{"action": "search", "value": "ring"}"#.into(),
        extra_headers: String::new(),
        hex: String::new(),
        preset: None,
        file: None,
    }
}

fn search(value: &str) -> Composer {
    Composer {
        value: value.into(),
        ..base()
    }
}

fn hex(bytes: &[u8]) -> Composer {
    Composer {
        mode: Mode::Hex,
        hex: hex_string(bytes),
        ..base()
    }
}

fn required(content_length: i64) -> Vec<(&'static str, Json)> {
    vec![
        ("byteorder", "big".into()),
        ("content-type", "text/json".into()),
        ("content-encoding", "utf-8".into()),
        ("content-length", content_length.into()),
    ]
}

fn raw(header: &[(&str, Json)], content: &[u8]) -> Composer {
    let header: Vec<(String, Json)> = header
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let frame = encode_raw(&header, content).expect("a small header encodes");
    hex(&frame.bytes)
}

fn morpheus_bytes() -> Vec<u8> {
    let message = protocol::app::request("search", "morpheus").with_byteorder("big");
    encode(&message)
        .expect("the tutorial's request encodes")
        .bytes
}
