//! The tutorial's application, as pure functions: what the client sends for an
//! action and a value, what the server answers, and what the client makes of
//! the answer.

use std::fmt;

use bytes::Bytes;

use crate::json::{Json, Object};
use crate::model::{Content, Message, JSON_CONTENT_TYPE};
use crate::python::{python_bytes_repr, python_repr, python_str};

/// The server's search table.
pub const SEARCH_ANSWERS: [(&str, &str); 3] = [
    ("morpheus", "Follow the white rabbit. 🐰"),
    ("ring", "In the caves beneath the Misty Mountains. 💍"),
    ("🐶", "🐾 Playing ball! 🏐"),
];

/// Content type of the client's non-search requests.
pub const CLIENT_BINARY_TYPE: &str = "binary/custom-client-binary-type";
/// Content type of the server's reply to a non-JSON request.
pub const SERVER_BINARY_TYPE: &str = "binary/custom-server-binary-type";
/// What the binary reply starts with; the request's first bytes follow.
pub const BINARY_REPLY_PREFIX: &[u8] = b"First 10 bytes of request: ";
/// How many request bytes the binary reply echoes.
pub const BINARY_ECHO_LEN: usize = 10;

/// The request the tutorial's client builds for `action value`: a JSON
/// `search` for the action `search`, otherwise the UTF-8 bytes of
/// action and value run together as `binary/custom-client-binary-type`.
pub fn request(action: &str, value: &str) -> Message {
    if action == "search" {
        let content: Object = [("action", action), ("value", value)].into_iter().collect();
        Message::json(content.into())
    } else {
        let mut bytes = Vec::with_capacity(action.len() + value.len());
        bytes.extend_from_slice(action.as_bytes());
        bytes.extend_from_slice(value.as_bytes());
        Message::binary(CLIENT_BINARY_TYPE, bytes)
    }
}

/// Why a request gets no answer: the tutorial's server raises on these and
/// closes the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppError {
    /// The request's JSON is not an object, so it has no `action` to read
    /// (Python's type name given).
    #[error("the JSON request is {0}, not an object")]
    RequestNotObject(&'static str),
    /// The search value is a list or an object, which a Python dict lookup
    /// refuses with a `TypeError` (its repr given).
    #[error("the search value {0} is unhashable (a list or an object)")]
    UnhashableQuery(String),
}

/// The answer to a search for `query`, as the tutorial's server words it.
pub fn search_answer(query: &Json) -> Result<String, AppError> {
    if matches!(query, Json::Array(_) | Json::Object(_)) {
        return Err(AppError::UnhashableQuery(python_repr(query)));
    }
    let hit = query.as_str().and_then(|q| {
        SEARCH_ANSWERS
            .iter()
            .find(|(key, _)| *key == q)
            .map(|(_, answer)| *answer)
    });
    Ok(match hit {
        Some(answer) => answer.to_owned(),
        None => format!("No match for '{}'.", python_str(query)),
    })
}

/// The server's reply to `request`.
///
/// Matches the tutorial's server with one deliberate difference: an empty
/// request (`{}` or no content bytes) is answered like any other, where the
/// tutorial's server, testing the request for truth, never replies.
pub fn respond(request: &Message) -> Result<Message, AppError> {
    match &request.content {
        Content::Json(value) if request.header.content_type == JSON_CONTENT_TYPE => {
            let object = value
                .as_object()
                .ok_or(AppError::RequestNotObject(value.type_name()))?;
            let action = object.get("action").unwrap_or(&Json::Null);
            let result = if action.as_str() == Some("search") {
                search_answer(object.get("value").unwrap_or(&Json::Null))?
            } else {
                format!("Error: invalid action '{}'.", python_str(action))
            };
            let content: Object = [("result", result)].into_iter().collect();
            Ok(Message::json(content.into()))
        }
        _ => {
            let bytes = request
                .content_bytes()
                .expect("decoded content re-encodes in its own encoding");
            let echoed = &bytes[..bytes.len().min(BINARY_ECHO_LEN)];
            let mut reply = Vec::with_capacity(BINARY_REPLY_PREFIX.len() + echoed.len());
            reply.extend_from_slice(BINARY_REPLY_PREFIX);
            reply.extend_from_slice(echoed);
            Ok(Message::binary(SERVER_BINARY_TYPE, reply))
        }
    }
}

/// What the tutorial's client makes of a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A JSON reply's `result`, shown with `str()` (`None` when absent).
    Result(String),
    /// A non-JSON reply's raw content.
    Response(Bytes),
}

impl Outcome {
    /// What the client makes of `reply`: JSON is read for its `result`,
    /// anything else is kept as bytes.
    pub fn of(reply: &Message) -> Outcome {
        match &reply.content {
            Content::Json(value) => Outcome::Result(
                value
                    .as_object()
                    .and_then(|o| o.get("result"))
                    .map_or_else(|| "None".to_owned(), python_str),
            ),
            // The client keeps non-JSON content as the bytes that came, in
            // the declared encoding (UTF-16 bytes for a utf-16 reply).
            Content::Text(text) => Outcome::Response(
                reply
                    .content_bytes()
                    .map_or_else(|_| Bytes::from(text.clone().into_bytes()), Bytes::from),
            ),
            Content::Binary(bytes) => Outcome::Response(bytes.clone()),
        }
    }
}

/// The client's closing line: `Got result: …` or `Got response: b'…'`.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Result(text) => write!(f, "Got result: {text}"),
            Outcome::Response(bytes) => write!(f, "Got response: {}", python_bytes_repr(bytes)),
        }
    }
}

/// How a program logs a received message, as the tutorial's programs do:
/// `request {'action': 'search', 'value': 'ring'}` for JSON,
/// `binary/custom-client-binary-type request` for anything else.
pub fn describe(message: &Message, role: &str) -> String {
    match &message.content {
        Content::Json(value) if message.header.content_type == JSON_CONTENT_TYPE => {
            format!("{role} {}", python_repr(value))
        }
        _ => format!("{} {role}", message.header.content_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NATIVE_BYTEORDER;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn result_of(reply: &Message) -> String {
        match Outcome::of(reply) {
            Outcome::Result(text) => text,
            other => panic!("not a JSON reply: {other:?}"),
        }
    }

    #[test]
    fn searches_hit_the_tutorials_table() {
        for (query, answer) in SEARCH_ANSWERS {
            let reply = respond(&request("search", query)).unwrap();
            assert_eq!(result_of(&reply), answer);
            assert_eq!(reply.header.byteorder, NATIVE_BYTEORDER);
        }
    }

    #[test]
    fn a_utf_16_text_reply_is_shown_as_its_utf_16_bytes() {
        let reply = Message::new("text/plain", "utf-16", Content::Text("hé".into())).unwrap();
        assert_eq!(
            Outcome::of(&reply).to_string(),
            r"Got response: b'\xff\xfeh\x00\xe9\x00'"
        );
        let reply = Message::new("text/plain", "latin-1", Content::Text("hé".into())).unwrap();
        assert_eq!(Outcome::of(&reply).to_string(), r"Got response: b'h\xe9'");
    }

    #[test]
    fn a_search_miss_names_the_query() {
        let reply = respond(&request("search", "neo")).unwrap();
        assert_eq!(result_of(&reply), "No match for 'neo'.");
    }

    #[test]
    fn an_unknown_json_action_is_an_invalid_action() {
        let content: Object = [("action", "find"), ("value", "x")].into_iter().collect();
        let reply = respond(&Message::json(content.into())).unwrap();
        assert_eq!(result_of(&reply), "Error: invalid action 'find'.");
        let reply = respond(&Message::json(Object::new().into())).unwrap();
        assert_eq!(result_of(&reply), "Error: invalid action 'None'.");
    }

    #[test]
    fn non_string_values_are_shown_as_python_shows_them() {
        let content: Object = [("action", Json::from("search")), ("value", Json::from(5))]
            .into_iter()
            .collect();
        let reply = respond(&Message::json(content.into())).unwrap();
        assert_eq!(result_of(&reply), "No match for '5'.");
        let content: Object = [
            ("action", Json::from("search")),
            ("value", Json::Array(vec![])),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            respond(&Message::json(content.into())),
            Err(AppError::UnhashableQuery("[]".into()))
        );
        assert_eq!(
            respond(&Message::json(Json::from(3))),
            Err(AppError::RequestNotObject("integer"))
        );
    }

    #[test]
    fn other_actions_are_binary_and_get_the_first_ten_bytes_back() {
        let req = request("binary", "😃");
        assert_eq!(req.header.content_type, CLIENT_BINARY_TYPE);
        assert_eq!(req.header.content_encoding, "binary");
        assert_eq!(req.header.content_length, 10);
        let reply = respond(&req).unwrap();
        assert_eq!(reply.header.content_type, SERVER_BINARY_TYPE);
        assert_eq!(
            Outcome::of(&reply).to_string(),
            r"Got response: b'First 10 bytes of request: binary\xf0\x9f\x98\x83'"
        );
        let long = respond(&request("x", "0123456789abc")).unwrap();
        assert_eq!(
            Outcome::of(&long),
            Outcome::Response(Bytes::from_static(b"First 10 bytes of request: x012345678"))
        );
    }

    #[test]
    fn messages_are_described_as_the_tutorial_logs_them() {
        assert_eq!(
            describe(&request("search", "ring"), "request"),
            "request {'action': 'search', 'value': 'ring'}"
        );
        assert_eq!(
            describe(&request("binary", "x"), "request"),
            "binary/custom-client-binary-type request"
        );
    }
}
