//! Sentences for what puzzles a newcomer (issue 20, item 3), each made from
//! the bytes on screen so it is true for them.

use protocol::{Content, Message};

use super::session::Session;

/// Why the client's line reads `Got result: None`, when it does: the reply's
/// JSON has no `"result"`. When the reply frame is, byte for byte, what
/// this session sent from the same offset, it says so: an echo server sent
/// the request back, and a request has no `"result"`.
pub fn no_result_note(
    message: &Message,
    frame: &[u8],
    frame_start: u64,
    session: &Session,
) -> Option<String> {
    let Content::Json(value) = &message.content else {
        return None;
    };
    if value.as_object().is_some_and(|o| o.get("result").is_some()) {
        return None;
    }
    let why = "The reply's JSON has no \"result\" key, and the tutorial's client prints response.get(\"result\"): None.";
    Some(if sent_at(session, frame_start, frame) {
        format!("{why} This reply is the request you sent, byte for byte: the echo server sends back whatever it receives, and a request holds \"action\" and \"value\", not \"result\". Send to app for an answer.")
    } else {
        why.to_owned()
    })
}

/// Whether `frame` is what the session sent from stream offset `start`.
fn sent_at(session: &Session, start: u64, frame: &[u8]) -> bool {
    let Ok(mut skip) = usize::try_from(start) else {
        return false;
    };
    let mut rest = frame;
    for chunk in &session.sent_chunks {
        if rest.is_empty() {
            break;
        }
        let bytes: &[u8] = &chunk.bytes;
        if skip >= bytes.len() {
            skip -= bytes.len();
            continue;
        }
        let here = &bytes[skip..];
        skip = 0;
        let n = here.len().min(rest.len());
        if here[..n] != rest[..n] {
            return false;
        }
        rest = &rest[n..];
    }
    rest.is_empty() && !frame.is_empty()
}

/// What Connect and Send each do, said beside the buttons.
pub const CONNECT_VS_SEND: &str = "Connect only opens the connection: the WebSocket to the relay, and the relay's TCP connection to the target (its accept() shows in the Server panel); no byte of the message moves. Send connects first if needed, then sends the bytes above.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::inbound::Chunk;
    use protocol::app::request;
    use protocol::encode;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sent(chunks: &[&[u8]]) -> Session {
        Session {
            sent_chunks: chunks
                .iter()
                .map(|c| Chunk {
                    bytes: c.to_vec().into(),
                    at_ms: 0.0,
                })
                .collect(),
            ..Session::default()
        }
    }

    #[test]
    fn an_echoed_request_explains_got_result_none() {
        let message = request("search", "morpheus");
        let frame = encode(&message).unwrap().bytes;
        let (a, b) = frame.split_at(10);
        let note = no_result_note(&message, &frame, 0, &sent(&[a, b])).unwrap();
        assert!(
            note.starts_with("The reply's JSON has no \"result\" key"),
            "{note}"
        );
        assert!(
            note.contains("the echo server sends back whatever it receives"),
            "{note}"
        );
        // Another JSON without "result", not what was sent: no echo claim.
        let other = request("search", "ring");
        let other_frame = encode(&other).unwrap().bytes;
        let note = no_result_note(&other, &other_frame, 0, &sent(&[&frame])).unwrap();
        assert!(!note.contains("echo"), "{note}");
        // A reply with a result needs no note.
        let reply = protocol::app::respond(&message).unwrap();
        let reply_frame = encode(&reply).unwrap().bytes;
        assert_eq!(
            no_result_note(&reply, &reply_frame, 0, &sent(&[&frame])),
            None
        );
    }
}
