//! The URL hash ⇄ the composed message, target and send options, so a link
//! reproduces the exact message (like CyberChef's deep links).
//!
//! `#p=ring&t=app&seg=4&d=300` for an unchanged preset; otherwise every
//! composer field that differs from the defaults, e.g.
//! `#m=custom&ct=text%2Fjson&c=...` or `#m=hex&h=00%2000`.
//! Pure string work, so it is tested without a browser.
//!
//! A message whose content would make the link longer than
//! [`MAX_LINK_CONTENT`] (or a file's bytes) is linked in a short form: the
//! composer's settings without the content, marked `cut=1`, and the page says
//! so ([`content_fits`]). A link of a few MiB breaks chat tools and browsers.

use crate::model::presets;
use crate::model::{Composer, Mode, SendOptions};

/// What a link carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    pub composer: Composer,
    pub target: String,
    pub send: SendOptions,
}

/// Most percent-encoded bytes of content a link carries (CyberChef stops
/// putting inputs in its links at about 50 KB).
pub const MAX_LINK_CONTENT: usize = 32 << 10;

/// The keys that hold a message's content (the rest are settings).
const CONTENT_KEYS: [&str; 3] = ["v", "c", "h"];

/// Length of `text` once percent-encoded, without encoding it.
fn encoded_len(text: &str) -> usize {
    text.bytes()
        .map(|b| if unreserved(b) { 1 } else { 3 })
        .sum()
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Whether a link can carry the composer's content; if not, the link is the
/// short form, without it.
pub fn content_fits(c: &Composer) -> bool {
    let content = match c.mode {
        Mode::Request => &c.value,
        Mode::Custom if c.file.is_some() => return false,
        Mode::Custom => &c.content,
        Mode::Hex => &c.hex,
    };
    c.preset.is_some() || encoded_len(content) <= MAX_LINK_CONTENT
}

/// Writes the hash (without the leading `#`).
pub fn to_hash(shared: &Shared) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let c = &shared.composer;
    match c.preset {
        Some(id) => pairs.push(("p", id.to_owned())),
        None => {
            let d = Composer::default();
            pairs.push(("m", c.mode.key().to_owned()));
            let fields: [(&str, &String, &String); 8] = [
                ("a", &c.action, &d.action),
                ("v", &c.value, &d.value),
                ("bo", &c.byteorder, &d.byteorder),
                ("ct", &c.content_type, &d.content_type),
                ("ce", &c.content_encoding, &d.content_encoding),
                ("c", &c.content, &d.content),
                ("x", &c.extra_headers, &d.extra_headers),
                ("h", &c.hex, &d.hex),
            ];
            let relevant = |key: &str| match c.mode {
                Mode::Request => matches!(key, "a" | "v" | "bo" | "x"),
                Mode::Custom => matches!(key, "bo" | "ct" | "ce" | "c" | "x"),
                Mode::Hex => key == "h",
            };
            let fits = content_fits(c);
            for (key, value, default) in fields {
                if !fits && CONTENT_KEYS.contains(&key) {
                    continue;
                }
                if relevant(key) && value != default {
                    pairs.push((key, value.clone()));
                }
            }
            if !fits {
                pairs.push(("cut", "1".to_owned()));
            }
        }
    }
    pairs.push(("t", shared.target.clone()));
    if shared.send.segment != 0 {
        pairs.push(("seg", shared.send.segment.to_string()));
    }
    if shared.send.delay_ms != SendOptions::default().delay_ms {
        pairs.push(("d", shared.send.delay_ms.to_string()));
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Reads a hash (with or without the leading `#`); `None` when it carries nothing.
pub fn from_hash(hash: &str) -> Option<Shared> {
    let hash = hash.strip_prefix('#').unwrap_or(hash);
    // `#lesson=N` opens a lesson (the app root reads it), not a message.
    if hash.is_empty() || hash.starts_with("lesson=") {
        return None;
    }
    let mut composer = Composer::default();
    let mut shared_target = None;
    let mut send = SendOptions::default();
    let mut any = false;
    for pair in hash.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        any = true;
        match key {
            "p" => match presets::find(&value) {
                Some(preset) => composer = preset.composer(),
                None => continue,
            },
            "m" => {
                composer.preset = None;
                composer.mode = Mode::from_key(&value).unwrap_or(Mode::Request);
            }
            "a" => composer.action = value,
            "v" => composer.value = value,
            "bo" => composer.byteorder = value,
            "ct" => composer.content_type = value,
            "ce" => composer.content_encoding = value,
            "c" => composer.content = value,
            "x" => composer.extra_headers = value,
            "h" => composer.hex = value,
            "t" => shared_target = Some(value),
            "seg" => send.segment = value.parse().unwrap_or(0),
            "d" => send.delay_ms = value.parse().unwrap_or(send.delay_ms),
            _ => {}
        }
    }
    any.then(|| Shared {
        composer,
        target: shared_target.unwrap_or_else(|| "app".to_owned()),
        send,
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`percent_encode`]; a stray `%` stays as it is.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn round_trip(shared: &Shared) -> Shared {
        from_hash(&format!("#{}", to_hash(shared))).unwrap()
    }

    #[test]
    fn a_preset_link_is_short_and_reproduces_the_message() {
        let shared = Shared {
            composer: presets::find("dog").unwrap().composer(),
            target: "echo".into(),
            send: SendOptions {
                segment: 4,
                delay_ms: 250,
                max_message_size: None,
            },
        };
        assert_eq!(to_hash(&shared), "p=dog&t=echo&seg=4&d=250");
        assert_eq!(round_trip(&shared), shared);
    }

    #[test]
    fn edited_messages_carry_their_fields() {
        let mut composer = Composer {
            mode: Mode::Custom,
            content: "{\"action\": \"search\", \"value\": \"🐶 & =\"}".into(),
            extra_headers: r#"{"x": 1}"#.into(),
            preset: None,
            ..Composer::default()
        };
        let shared = Shared {
            composer: composer.clone(),
            target: "app".into(),
            send: SendOptions::default(),
        };
        assert_eq!(round_trip(&shared), shared);
        composer.mode = Mode::Hex;
        composer.hex = "00 00".into();
        composer.content = Composer::default().content;
        composer.extra_headers = String::new();
        let shared = Shared {
            composer,
            target: "app".into(),
            send: SendOptions::default(),
        };
        assert_eq!(to_hash(&shared), "m=hex&h=00%2000&t=app");
        assert_eq!(round_trip(&shared), shared);
    }

    #[test]
    fn percent_coding_survives_any_text() {
        for text in ["", "a b&c=d%", "🐰\n'\"", "%zz%4"] {
            assert_eq!(percent_decode(&percent_encode(text)), text);
        }
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(from_hash("#"), None);
    }

    #[test]
    fn a_message_too_big_for_a_link_is_linked_without_its_content() {
        let composer = Composer {
            mode: Mode::Custom,
            content_type: "text/plain".into(),
            content: "é".repeat(MAX_LINK_CONTENT / 6 + 1),
            preset: None,
            ..Composer::default()
        };
        assert!(!content_fits(&composer));
        let shared = Shared {
            composer: composer.clone(),
            target: "echo".into(),
            send: SendOptions::default(),
        };
        let hash = to_hash(&shared);
        assert_eq!(hash, "m=custom&ct=text%2Fplain&cut=1&t=echo");
        let back = from_hash(&hash).unwrap();
        assert_eq!(back.composer.content_type, "text/plain");
        assert_eq!(back.composer.content, Composer::default().content);
        let small = Composer {
            content: "é".repeat(MAX_LINK_CONTENT / 6),
            ..composer
        };
        assert!(content_fits(&small));
        assert!(to_hash(&Shared {
            composer: small,
            ..shared
        })
        .contains("&c="));
    }
}
