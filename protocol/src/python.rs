//! Python's `repr` and `str` forms of bytes, strings, floats and decoded JSON,
//! so our programs print exactly what the tutorial's programs print (a log
//! line that differs by one quote would send a reader hunting for a bug).

use std::fmt::Write as _;

use crate::json::{finite_float_repr, Json, Number};
use crate::model::Content;

/// `repr(b)` of a Python `bytes` object: `b'\x00d{"byteorder": ...}'`.
///
/// Single quotes unless the bytes hold a `'` and no `"`; `\\`, the chosen
/// quote, `\t`, `\n`, `\r` escaped; other bytes outside printable ASCII as `\xNN`.
pub fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = python_quote(bytes.contains(&b'\''), bytes.contains(&b'"'));
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote as u8 => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

fn python_quote(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double {
        '"'
    } else {
        '\''
    }
}

/// `repr(s)` of a Python `str`.
pub fn python_str_repr(s: &str) -> String {
    let quote = python_quote(s.contains('\''), s.contains('"'));
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ if c == quote => {
                out.push('\\');
                out.push(quote);
            }
            _ if is_python_printable(c) => out.push(c),
            _ => {
                let n = u32::from(c);
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// An approximation of `str.isprintable()` for one character: control,
/// separator (but space) and format characters are not printable.
fn is_python_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    !matches!(
        u32::from(c),
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f
            | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x206f | 0xfeff
            | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xf0000..=0x10ffff
    )
}

/// `repr(f)` of a Python float: the shortest digits that round-trip, in fixed
/// notation for exponents -4..16 (always with a fractional part), otherwise
/// in exponent notation with a sign and at least two exponent digits.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    finite_float_repr(f)
}

/// `repr(v)` of the Python object `json.loads` makes of `v`:
/// `{'action': 'search', 'value': 'morpheus'}`.
pub fn python_repr(value: &Json) -> String {
    let mut out = String::new();
    write_python_repr(&mut out, value);
    out
}

/// `repr()` of a message's content as the tutorial's programs hold it once
/// decoded: the `json.loads` object for JSON, `str` for other text, `bytes`
/// for binary content.
pub fn content_repr(content: &Content) -> String {
    match content {
        Content::Json(value) => python_repr(value),
        Content::Text(text) => python_str_repr(text),
        Content::Binary(bytes) => python_bytes_repr(bytes),
    }
}

fn write_python_repr(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("None"),
        Json::Bool(true) => out.push_str("True"),
        Json::Bool(false) => out.push_str("False"),
        Json::Number(Number::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        Json::Number(Number::BigInt(digits)) => out.push_str(digits),
        Json::Number(Number::Float(f)) => out.push_str(&python_float_repr(*f)),
        Json::String(s) => out.push_str(&python_str_repr(s)),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_repr(out, item);
            }
            out.push(']');
        }
        Json::Object(object) => {
            out.push('{');
            for (i, (key, item)) in object.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&python_str_repr(key));
                out.push_str(": ");
                write_python_repr(out, item);
            }
            out.push('}');
        }
    }
}

/// `str(v)` of the Python object: a string as itself, anything else as its repr.
/// This is what an f-string such as `f"No match for '{query}'."` shows.
pub fn python_str(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => python_repr(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    // Expected strings below are what CPython 3.11 prints for the same values.

    #[test]
    fn content_repr_is_the_python_object_the_content_decodes_to() {
        let json = Content::Json(parse(r#"{"action": "search", "value": "ring"}"#).unwrap());
        assert_eq!(content_repr(&json), "{'action': 'search', 'value': 'ring'}");
        assert_eq!(content_repr(&Content::Text("it's".into())), "\"it's\"");
        assert_eq!(
            content_repr(&Content::Binary("binary😃".as_bytes().to_vec().into())),
            "b'binary\\xf0\\x9f\\x98\\x83'"
        );
    }

    #[test]
    fn bytes_repr_matches_python_for_the_tutorial_request() {
        let frame = b"\x00d{\"byteorder\": \"big\", \"content-length\": 41}";
        assert_eq!(
            python_bytes_repr(frame),
            r#"b'\x00d{"byteorder": "big", "content-length": 41}'"#
        );
    }

    #[test]
    fn bytes_repr_escapes_like_python() {
        assert_eq!(python_bytes_repr(b""), "b''");
        assert_eq!(python_bytes_repr(b"'"), r#"b"'""#);
        assert_eq!(python_bytes_repr(b"'\""), r#"b'\'"'"#);
        assert_eq!(python_bytes_repr(b"\\\t\n\r"), r"b'\\\t\n\r'");
        assert_eq!(
            python_bytes_repr(b"\x7f\x80\xff\x0b"),
            r"b'\x7f\x80\xff\x0b'"
        );
        assert_eq!(
            python_bytes_repr("binary😃".as_bytes()),
            r"b'binary\xf0\x9f\x98\x83'"
        );
    }

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(python_str_repr("morpheus"), "'morpheus'");
        assert_eq!(python_str_repr("🐶"), "'🐶'");
        assert_eq!(python_str_repr("it's"), "\"it's\"");
        assert_eq!(
            python_str_repr("a\nb\x01\u{a0}\u{200b}"),
            r"'a\nb\x01\xa0\u200b'"
        );
    }

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1.5e300, "1.5e+300"),
            (1e16, "1e+16"),
            (1.25e16, "1.25e+16"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-5, "1e-05"),
            (-2.5e-7, "-2.5e-07"),
            (123.456, "123.456"),
            (f64::INFINITY, "inf"),
        ];
        for (f, expected) in cases {
            assert_eq!(python_float_repr(f), expected, "{f:e}");
        }
    }

    #[test]
    fn json_values_repr_as_python_objects() {
        let value =
            parse(r#"{"action": "search", "value": "🐶", "n": [1, 2.0, null, true]}"#).unwrap();
        assert_eq!(
            python_repr(&value),
            "{'action': 'search', 'value': '🐶', 'n': [1, 2.0, None, True]}"
        );
        assert_eq!(python_str(&Json::from("ring")), "ring");
        assert_eq!(python_str(&Json::Null), "None");
    }
}
