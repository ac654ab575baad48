//! The writer: values out exactly as `json.dumps(obj, ensure_ascii=False)`
//! writes them, and the byte count of that text, computed without writing it
//! (a message's `content-length` is needed before its content). The two sit
//! side by side because they must change together.

use std::borrow::Cow;
use std::fmt;

use super::float::finite_float_repr;
use super::value::{Json, Number};
use crate::layout::{Recorder, SpanKind};

impl Json {
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
            Json::Number(Number::Float(f)) => finite_float_repr(*f).len(),
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

impl Json {
    /// The value with no spaces after `,` and `:` (as `json.dumps(value,
    /// separators=(",", ":"), ensure_ascii=False)` writes it): the form the
    /// relay sends the page, one short line per message. Strings and numbers
    /// are written as [`to_python_json`](Self::to_python_json) writes them.
    pub fn to_compact_json(&self) -> String {
        let mut out = Vec::new();
        write_compact(&mut out, self);
        String::from_utf8(out).expect("the writer only writes UTF-8")
    }
}

fn write_compact(out: &mut Vec<u8>, value: &Json) {
    match value {
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_compact(out, item);
            }
            out.push(b']');
        }
        Json::Object(object) => {
            out.push(b'{');
            for (i, (key, val)) in object.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                write_compact(out, val);
            }
            out.push(b'}');
        }
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(n) => write_number(out, n),
        Json::String(s) => write_str(out, s),
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_python_json())
    }
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
        Number::Float(f) => out.extend_from_slice(finite_float_repr(*f).as_bytes()),
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
fn write_str(out: &mut Vec<u8>, s: &str) {
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
