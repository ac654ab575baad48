//! The parser: text in as `json.loads` reads it, recording a
//! [`Span`](crate::layout::Span) per object member and array item as it goes
//! so the decoder's byte map matches the encoder's.

use std::borrow::Cow;

#[cfg(target_arch = "wasm32")]
use super::float_parse::parse_float as read_float;
use super::value::{Json, Number, Object, ObjectBuilder};
use crate::layout::{Recorder, SpanKind};

/// Nesting deeper than this is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 128;

/// An object member's value as the parser hands it over: strings borrowed
/// from the text when they have no escapes, anything else as a value.
pub(crate) enum MemberValue<'t> {
    Str(Cow<'t, str>),
    Other(Json),
}

impl MemberValue<'_> {
    pub(crate) fn into_json(self) -> Json {
        match self {
            MemberValue::Str(s) => Json::String(s.into_owned()),
            MemberValue::Other(value) => value,
        }
    }
}

/// Parses a whole JSON document (surrounding whitespace allowed) as
/// `json.loads` does, without recording spans.
pub fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser::new(text, 0, Recorder::off());
    parser.document()
}

/// Why a JSON text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct JsonError {
    /// Byte offset in the text where parsing stopped.
    pub offset: usize,
    /// What was wrong there, worded after Python's `json` errors.
    pub reason: &'static str,
}

/// Bytes that end a run of plain string characters: the closing quote, a
/// backslash, or a raw control character (which Python refuses). A table
/// makes the scan one load and one test per byte.
static STOPS_STRING: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A recursive-descent parser over UTF-8 text, recording spans relative to `origin`.
pub(crate) struct Parser<'t, 'r> {
    text: &'t str,
    pos: usize,
    depth: usize,
    origin: usize,
    rec: Recorder<'r>,
}

impl<'t, 'r> Parser<'t, 'r> {
    pub(crate) fn new(text: &'t str, origin: usize, rec: Recorder<'r>) -> Self {
        Parser {
            text,
            pos: 0,
            depth: 0,
            origin,
            rec,
        }
    }

    pub(crate) fn into_recorder(self) -> Recorder<'r> {
        self.rec
    }

    fn bytes(&self) -> &'t [u8] {
        self.text.as_bytes()
    }

    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            reason,
        }
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T, JsonError> {
        Err(self.error(reason))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// One value surrounded by optional whitespace, and nothing else.
    pub(crate) fn document(&mut self) -> Result<Json, JsonError> {
        self.document_in(None, SpanKind::ContentField)
    }

    pub(crate) fn document_in(
        &mut self,
        parent: Option<usize>,
        field_kind: SpanKind,
    ) -> Result<Json, JsonError> {
        self.skip_ws();
        let value = self.value(parent, field_kind)?;
        self.skip_ws();
        if self.pos != self.text.len() {
            return self.fail("extra data after the JSON value");
        }
        Ok(value)
    }

    /// A top-level object whose members are handed to `visit` as they are read,
    /// so a caller can take what it needs without building the whole object.
    /// Returns `Ok(None)` when the document is valid JSON but not an object,
    /// with the value's type name.
    pub(crate) fn object_document<E: From<JsonError>>(
        &mut self,
        parent: Option<usize>,
        field_kind: SpanKind,
        mut visit: impl FnMut(Cow<'t, str>, MemberValue<'t>) -> Result<(), E>,
    ) -> Result<Option<&'static str>, E> {
        self.skip_ws();
        if self.peek() != Some(b'{') {
            let value = self.value(parent, field_kind)?;
            self.skip_ws();
            if self.pos != self.text.len() {
                return Err(self.error("extra data after the JSON value").into());
            }
            return Ok(Some(value.type_name()));
        }
        self.members(parent, field_kind, &mut visit)?;
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.error("extra data after the JSON value").into());
        }
        Ok(None)
    }

    fn value(&mut self, parent: Option<usize>, field_kind: SpanKind) -> Result<Json, JsonError> {
        match self.peek() {
            None => self.fail("expecting a value, found the end"),
            Some(b'{') => {
                let mut object = ObjectBuilder::default();
                self.members(
                    parent,
                    field_kind,
                    &mut |key: Cow<'t, str>, value: MemberValue<'t>| {
                        object.insert(key.into_owned(), value.into_json());
                        Ok::<(), JsonError>(())
                    },
                )?;
                Ok(Json::Object(Object::from_unique_members(object.finish())))
            }
            Some(b'[') => self.array(parent, field_kind),
            Some(b'"') => Ok(Json::String(self.string()?.into_owned())),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'N') => self.literal("NaN", Json::Number(Number::Float(f64::NAN))),
            Some(b'I') => self.literal("Infinity", Json::Number(Number::Float(f64::INFINITY))),
            Some(b'-') if self.text[self.pos..].starts_with("-Infinity") => {
                self.literal("-Infinity", Json::Number(Number::Float(f64::NEG_INFINITY)))
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.fail("expecting a value"),
        }
    }

    fn literal(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            self.fail("expecting a value")
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("JSON nested too deeply");
        }
        Ok(())
    }

    fn members<E: From<JsonError>>(
        &mut self,
        parent: Option<usize>,
        field_kind: SpanKind,
        visit: &mut impl FnMut(Cow<'t, str>, MemberValue<'t>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.enter()?;
        self.pos += 1; // '{'
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self
                    .error("expecting a property name in double quotes")
                    .into());
            }
            let start = self.pos;
            let at = self.origin + start;
            // The label needs the key, which is only known once it is read:
            // open the field first (pre-order), then fill its label in.
            let field = self.rec.open(at, field_kind, || Cow::Borrowed(""), parent);
            let key = self.string()?;
            if let Some(i) = field {
                self.rec.set_label(i, Cow::Owned(key.clone().into_owned()));
            }
            let key_end = self.origin + self.pos;
            self.rec.record(at..key_end, SpanKind::Key, "key", field);
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.error("expecting ':' delimiter").into());
            }
            self.pos += 1;
            self.skip_ws();
            let value_at = self.origin + self.pos;
            let value_span =
                self.rec
                    .open(value_at, SpanKind::Value, || Cow::Borrowed("value"), field);
            let value = if self.peek() == Some(b'"') {
                MemberValue::Str(self.string()?)
            } else {
                MemberValue::Other(self.value(value_span, field_kind)?)
            };
            let end = self.origin + self.pos;
            self.rec.close(value_span, end);
            self.rec.close(field, end);
            visit(key, value)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.error("expecting ',' delimiter").into()),
            }
        }
    }

    fn array(&mut self, parent: Option<usize>, field_kind: SpanKind) -> Result<Json, JsonError> {
        self.enter()?;
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Json::Array(items));
        }
        loop {
            let at = self.origin + self.pos;
            let i = items.len();
            let span = self
                .rec
                .open(at, SpanKind::Item, || Cow::Owned(format!("[{i}]")), parent);
            items.push(self.value(span, field_kind)?);
            let end = self.origin + self.pos;
            self.rec.close(span, end);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                _ => return self.fail("expecting ',' delimiter"),
            }
        }
    }

    /// A string literal; borrowed from the text when it has no escapes.
    fn string(&mut self) -> Result<Cow<'t, str>, JsonError> {
        let text: &'t str = self.text;
        let bytes = text.as_bytes();
        self.pos += 1; // opening quote
        let start = self.pos;
        // Fast path: one scan to the first quote, backslash or control byte.
        let stop = bytes[start..]
            .iter()
            .position(|&b| STOPS_STRING[usize::from(b)]);
        let Some(stop) = stop else {
            self.pos = bytes.len();
            return self.fail("unterminated string");
        };
        self.pos = start + stop;
        match bytes[self.pos] {
            b'"' => {
                self.pos += 1;
                return Ok(Cow::Borrowed(&text[start..self.pos - 1]));
            }
            b'\\' => {}
            _ => return self.fail("invalid control character in string"),
        }
        let mut owned = String::from(&text[start..self.pos]);
        loop {
            match bytes.get(self.pos) {
                None => return self.fail("unterminated string"),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(owned));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            owned.push(c);
                            continue;
                        }
                        _ => return self.fail("invalid \\escape"),
                    };
                    owned.push(c);
                    self.pos += 1;
                }
                Some(0x00..=0x1f) => return self.fail("invalid control character in string"),
                Some(_) => {
                    // Copy the run of plain characters up to the next quote or backslash.
                    let run_start = self.pos;
                    let run = bytes[self.pos..]
                        .iter()
                        .position(|&b| STOPS_STRING[usize::from(b)]);
                    self.pos = run.map_or(bytes.len(), |n| self.pos + n);
                    owned.push_str(&text[run_start..self.pos]);
                }
            }
        }
    }

    /// The four hex digits after `\u` (and a second escape for a surrogate pair).
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            if (0xDC00..0xE000).contains(&high) {
                return self.fail("lone surrogate in \\u escape");
            }
            return Ok(char::from_u32(high).expect("not a surrogate"));
        }
        if !self.text[self.pos..].starts_with("\\u") {
            return self.fail("lone surrogate in \\u escape");
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return self.fail("lone surrogate in \\u escape");
        }
        let c = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        Ok(char::from_u32(c).expect("a surrogate pair is a valid scalar"))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .bytes()
            .get(self.pos..self.pos + 4)
            .filter(|d| d.iter().all(u8::is_ascii_hexdigit));
        match digits {
            Some(d) => {
                let s = std::str::from_utf8(d).expect("hex digits are ASCII");
                self.pos += 4;
                Ok(u32::from_str_radix(s, 16).expect("checked hex digits"))
            }
            None => self.fail("invalid \\uXXXX escape"),
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut at = self.pos;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => {
                while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
            }
            _ => return self.fail("expecting a value"),
        }
        let mut is_float = false;
        if bytes.get(at) == Some(&b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit) {
            is_float = true;
            at += 1;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            let mut e = at + 1;
            if let Some(b'+' | b'-') = bytes.get(e) {
                e += 1;
            }
            if bytes.get(e).is_some_and(u8::is_ascii_digit) {
                is_float = true;
                at = e;
                while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                    at += 1;
                }
            }
        }
        let literal = &self.text[start..at];
        self.pos = at;
        let number = if is_float {
            Number::Float(read_float(literal))
        } else {
            match literal.parse::<i64>() {
                Ok(i) => Number::Int(i),
                Err(_) => Number::BigInt(literal.into()),
            }
        };
        Ok(Json::Number(number))
    }
}

/// A float literal the grammar checked, read by core where the code size
/// does not matter: the same nearest double as `float_parse` finds (tests
/// hold them to it), in nanoseconds for any literal.
#[cfg(not(target_arch = "wasm32"))]
fn read_float(literal: &str) -> f64 {
    literal.parse().expect("the grammar checked it is a float")
}
