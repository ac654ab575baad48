//! JSON as Python's `json` module reads and writes it.
//!
//! Writing matches `json.dumps(obj, ensure_ascii=False)` byte for byte:
//! `", "` and `": "` separators, non-ASCII characters as raw UTF-8, control
//! characters as `\u00xx`, floats in Python's `repr` form, `NaN`/`Infinity`.
//! Reading matches `json.loads`: objects keep their key order, a repeated key
//! keeps its first position and its last value, `NaN` and `Infinity` are
//! accepted, raw control characters inside strings are not.
//!
//! Both directions can record a [`Span`](crate::layout::Span) per object
//! member and array item, so the encoder's and the decoder's byte maps agree.

use std::borrow::Cow;
use std::fmt;

use crate::display::python_float_repr;
use crate::layout::{Recorder, SpanKind};

/// Nesting deeper than this is refused rather than risking the stack.
pub const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON number as Python holds it: an `int` (of any size) or a `float`.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    Int(i64),
    /// An integer outside `i64`, as its decimal digits (with a leading `-` if negative).
    BigInt(Box<str>),
    Float(f64),
}

/// A JSON object: members in insertion order, keys unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Json)>,
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; an existing key keeps its position (as a Python dict does).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Json>) {
        let key = key.into();
        let value = value.into();
        match self.members.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.members.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Json)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn into_members(self) -> Vec<(String, Json)> {
        self.members
    }
}

impl<K: Into<String>, V: Into<Json>> FromIterator<(K, V)> for Object {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut object = Object::new();
        for (k, v) in iter {
            object.insert(k, v);
        }
        object
    }
}

impl From<&str> for Json {
    fn from(s: &str) -> Self {
        Json::String(s.to_owned())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Self {
        Json::String(s)
    }
}
impl From<i64> for Json {
    fn from(n: i64) -> Self {
        Json::Number(Number::Int(n))
    }
}
impl From<f64> for Json {
    fn from(n: f64) -> Self {
        Json::Number(Number::Float(n))
    }
}
impl From<bool> for Json {
    fn from(b: bool) -> Self {
        Json::Bool(b)
    }
}
impl From<Object> for Json {
    fn from(o: Object) -> Self {
        Json::Object(o)
    }
}
impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

impl Json {
    /// Python's name for the value's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "boolean",
            Json::Number(Number::Float(_)) => "float",
            Json::Number(_) => "integer",
            Json::String(_) => "string",
            Json::Array(_) => "array",
            Json::Object(_) => "object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }

    /// How many bytes [`to_python_json`](Self::to_python_json) writes, counted
    /// without writing them (a message's `content-length` before its content).
    pub fn python_json_len(&self) -> usize {
        match self {
            Json::Null | Json::Bool(true) => 4,
            Json::Bool(false) => 5,
            Json::Number(Number::Int(i)) => decimal_len(*i),
            Json::Number(Number::BigInt(digits)) => digits.len(),
            Json::Number(Number::Float(f)) if f.is_nan() => 3,
            Json::Number(Number::Float(f)) if f.is_infinite() => {
                if *f > 0.0 {
                    8
                } else {
                    9
                }
            }
            Json::Number(Number::Float(f)) => python_float_repr(*f).len(),
            Json::String(s) => str_json_len(s),
            Json::Array(items) => {
                let separators = 2 * items.len().saturating_sub(1);
                2 + separators + items.iter().map(Json::python_json_len).sum::<usize>()
            }
            Json::Object(object) => {
                let separators = 2 * object.len().saturating_sub(1);
                let members: usize = object
                    .iter()
                    .map(|(k, v)| str_json_len(k) + 2 + v.python_json_len())
                    .sum();
                2 + separators + members
            }
        }
    }

    /// The value as `json.dumps(value, ensure_ascii=False)` writes it.
    pub fn to_python_json(&self) -> String {
        let mut out = Vec::new();
        Writer::new(&mut out, 0, Recorder::off()).value(self, None, SpanKind::ContentField);
        String::from_utf8(out).expect("the writer only writes UTF-8")
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_python_json())
    }
}

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

/// Parses a whole JSON document (surrounding whitespace allowed).
pub fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser::new(text, 0, Recorder::off());
    parser.document()
}

/// Writes JSON into a byte buffer, recording spans relative to `origin`.
pub(crate) struct Writer<'a, 'r> {
    out: &'a mut Vec<u8>,
    origin: usize,
    rec: Recorder<'r>,
}

impl<'a, 'r> Writer<'a, 'r> {
    pub(crate) fn new(out: &'a mut Vec<u8>, origin: usize, rec: Recorder<'r>) -> Self {
        Writer { out, origin, rec }
    }

    fn pos(&self) -> usize {
        self.out.len() - self.origin
    }

    /// Writes `value`; object members and array items become spans of
    /// `field_kind` (and [`SpanKind::Item`]) under `parent`.
    pub(crate) fn value(&mut self, value: &Json, parent: Option<usize>, field_kind: SpanKind) {
        match value {
            Json::Null => self.out.extend_from_slice(b"null"),
            Json::Bool(true) => self.out.extend_from_slice(b"true"),
            Json::Bool(false) => self.out.extend_from_slice(b"false"),
            Json::Number(n) => write_number(self.out, n),
            Json::String(s) => write_str(self.out, s),
            Json::Array(items) => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.extend_from_slice(b", ");
                    }
                    let start = self.pos();
                    let span = self.rec.open(
                        start,
                        SpanKind::Item,
                        || Cow::Owned(format!("[{i}]")),
                        parent,
                    );
                    self.value(item, span, field_kind);
                    let end = self.pos();
                    self.rec.close(span, end);
                }
                self.out.push(b']');
            }
            Json::Object(object) => {
                self.out.push(b'{');
                for (i, (key, val)) in object.iter().enumerate() {
                    if i > 0 {
                        self.out.extend_from_slice(b", ");
                    }
                    self.member(key, |w, p| w.value(val, p, field_kind), parent, field_kind);
                }
                self.out.push(b'}');
            }
        }
    }

    /// Writes one `"key": value` member with its field, key and value spans;
    /// `value` writes the value and gets the value span as the parent for
    /// anything nested in it.
    pub(crate) fn member(
        &mut self,
        key: &str,
        value: impl FnOnce(&mut Self, Option<usize>),
        parent: Option<usize>,
        field_kind: SpanKind,
    ) {
        let start = self.pos();
        let field = self
            .rec
            .open(start, field_kind, || Cow::Owned(key.to_owned()), parent);
        write_str(self.out, key);
        let key_end = self.pos();
        self.rec.record(start..key_end, SpanKind::Key, "key", field);
        self.out.extend_from_slice(b": ");
        let value_start = self.pos();
        let value_span = self.rec.open(
            value_start,
            SpanKind::Value,
            || Cow::Borrowed("value"),
            field,
        );
        value(self, value_span);
        let end = self.pos();
        self.rec.close(value_span, end);
        self.rec.close(field, end);
    }

    pub(crate) fn string(&mut self, s: &str) {
        write_str(self.out, s);
    }

    /// Bytes written so far, counted from the origin.
    pub(crate) fn position(&self) -> usize {
        self.pos()
    }

    pub(crate) fn into_parts(self) -> (&'a mut Vec<u8>, usize, Recorder<'r>) {
        (self.out, self.origin, self.rec)
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    match n {
        Number::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Number::BigInt(digits) => out.extend_from_slice(digits.as_bytes()),
        Number::Float(f) if f.is_nan() => out.extend_from_slice(b"NaN"),
        Number::Float(f) if f.is_infinite() => {
            out.extend_from_slice(if *f > 0.0 { b"Infinity" } else { b"-Infinity" })
        }
        Number::Float(f) => out.extend_from_slice(python_float_repr(*f).as_bytes()),
    }
}

fn decimal_len(i: i64) -> usize {
    let sign = usize::from(i < 0);
    let mut n = i.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    sign + digits
}

/// The length [`write_str`] gives `s`, quotes and escapes included.
fn str_json_len(s: &str) -> usize {
    let escapes: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0x00..=0x1f => 5,
            _ => 0,
        })
        .sum();
    2 + s.len() + escapes
}

/// A JSON string literal as Python writes it with `ensure_ascii=False`.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        plain_from = i + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

/// Why a JSON text was refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct JsonError {
    /// Byte offset in the text where parsing stopped.
    pub offset: usize,
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
                Ok(Json::Object(Object {
                    members: object.finish(),
                }))
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
            Number::Float(literal.parse().expect("the grammar above is a valid float"))
        } else {
            match literal.parse::<i64>() {
                Ok(i) => Number::Int(i),
                Err(_) => Number::BigInt(literal.into()),
            }
        };
        Ok(Json::Number(number))
    }
}

/// Builds an object with Python dict semantics for a repeated key: first
/// position, last value. Past a few members it keeps a hash index, so an
/// object with many keys is still built in linear time.
#[derive(Default)]
pub(crate) struct ObjectBuilder {
    members: Vec<(String, Json)>,
    index: Option<std::collections::HashMap<String, usize>>,
}

impl ObjectBuilder {
    const INDEX_FROM: usize = 16;

    pub(crate) fn insert(&mut self, key: String, value: Json) {
        let existing = match &self.index {
            Some(map) => map.get(&key).copied(),
            None => self.members.iter().position(|(k, _)| *k == key),
        };
        if let Some(i) = existing {
            self.members[i].1 = value;
            return;
        }
        if let Some(map) = &mut self.index {
            map.insert(key.clone(), self.members.len());
        }
        self.members.push((key, value));
        if self.index.is_none() && self.members.len() >= Self::INDEX_FROM {
            let map = self
                .members
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i));
            self.index = Some(map.collect());
        }
    }

    pub(crate) fn finish(self) -> Vec<(String, Json)> {
        self.members
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn dumps(value: &Json) -> String {
        value.to_python_json()
    }

    #[test]
    fn objects_are_written_with_python_separators() {
        let obj: Object = [("action", "search"), ("value", "morpheus")]
            .into_iter()
            .collect();
        assert_eq!(
            dumps(&obj.into()),
            r#"{"action": "search", "value": "morpheus"}"#
        );
    }

    #[test]
    fn non_ascii_is_written_raw_and_controls_escaped() {
        let s = Json::from("🐶 \"q\" \\ \n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}é");
        assert_eq!(
            dumps(&s),
            "\"🐶 \\\"q\\\" \\\\ \\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}é\""
        );
    }

    #[test]
    fn numbers_are_written_as_python_writes_them() {
        let cases: [(Json, &str); 9] = [
            (Json::from(41), "41"),
            (Json::from(-7), "-7"),
            (Json::from(1.0), "1.0"),
            (Json::from(0.1), "0.1"),
            (Json::from(1e16), "1e+16"),
            (Json::from(1e15), "1000000000000000.0"),
            (Json::from(1e-5), "1e-05"),
            (Json::from(f64::NAN), "NaN"),
            (Json::from(f64::NEG_INFINITY), "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(dumps(&value), expected);
        }
    }

    #[test]
    fn the_counted_length_is_the_written_length() {
        let value = parse(
            r#"{"a": [1, -20, 3.5, 1e300, null, true, false, "\u0001\n\"é🐶"], "": {}, "b": []}"#,
        )
        .unwrap();
        assert_eq!(value.python_json_len(), value.to_python_json().len());
        for n in [0, 9, 10, -1, -10, i64::MIN, i64::MAX] {
            assert_eq!(Json::from(n).python_json_len(), n.to_string().len());
        }
    }

    #[test]
    fn arrays_nest_with_comma_space() {
        let value = Json::Array(vec![Json::Null, Json::Bool(true), Json::Array(vec![])]);
        assert_eq!(dumps(&value), "[null, true, []]");
    }

    #[test]
    fn parsing_keeps_key_order_and_python_duplicate_rule() {
        let value = parse(r#" {"b": 1, "a": 2, "b": 3} "#).unwrap();
        let object = value.as_object().unwrap();
        let members: Vec<_> = object
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(
            members,
            vec![
                ("b".to_owned(), Json::from(3)),
                ("a".to_owned(), Json::from(2))
            ]
        );
    }

    #[test]
    fn duplicate_rule_holds_past_the_hash_index_threshold() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{}\": {i}, ", i % 20));
        }
        text.push_str("\"end\": 0}");
        let object = parse(&text).unwrap();
        let object = object.as_object().unwrap();
        assert_eq!(object.len(), 21);
        assert_eq!(object.get("k3"), Some(&Json::from(23)));
        assert_eq!(object.iter().next().unwrap().0, "k0");
    }

    #[test]
    fn parsing_reads_escapes_and_surrogate_pairs() {
        let value = parse(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\udc36""#).unwrap();
        assert_eq!(value, Json::from("a\"\\/\u{8}\u{c}\n\r\té🐶"));
    }

    #[test]
    fn parsing_numbers_follows_python_int_and_float() {
        assert_eq!(parse("-0").unwrap(), Json::from(0));
        assert_eq!(parse("1E2").unwrap(), Json::from(100.0));
        assert_eq!(parse("2.50").unwrap(), Json::from(2.5));
        assert_eq!(
            parse("123456789012345678901234567890").unwrap(),
            Json::Number(Number::BigInt("123456789012345678901234567890".into()))
        );
        assert_eq!(dumps(&parse("1E400").unwrap()), "Infinity");
        assert!(matches!(parse("NaN").unwrap(), Json::Number(Number::Float(f)) if f.is_nan()));
    }

    #[test]
    fn parsing_refuses_what_python_refuses() {
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "{\"a\": 1,}",
            "[1,]",
            "01",
            "\"\u{1}\"",
            "\"\\x\"",
            "tru",
            "{} {}",
            "{'a': 1}",
            "\"\\ud800\"",
            "-",
            "1.",
            ".5",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&text).unwrap_err().reason, "JSON nested too deeply");
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn writer_and_parser_record_the_same_spans() {
        let text = r#"{"a": [1, {"b": "é"}], "c": null}"#;
        let mut parsed = Vec::new();
        let value = Parser::new(text, 10, Recorder::new(Some(&mut parsed)))
            .document()
            .unwrap();
        let mut written = Vec::new();
        let mut out = vec![0u8; 10];
        Writer::new(&mut out, 0, Recorder::new(Some(&mut written))).value(
            &value,
            None,
            SpanKind::ContentField,
        );
        assert_eq!(&out[10..], text.as_bytes());
        assert_eq!(
            Layout { spans: parsed },
            Layout {
                spans: written.clone()
            }
        );
        let labels: Vec<_> = written.iter().map(|s| s.label.as_ref()).collect();
        assert_eq!(
            labels,
            ["a", "key", "value", "[0]", "[1]", "b", "key", "value", "c", "key", "value"]
        );
        let b = &written[5];
        assert_eq!(&out[b.range.clone()], "\"b\": \"é\"".as_bytes());
    }
}
