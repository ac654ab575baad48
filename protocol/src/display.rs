//! How bytes and values are shown: Python's `repr` forms (so our programs print
//! exactly what the tutorial's programs print) and hex-dump rows.

use std::fmt::Write as _;

use crate::json::{Json, Number};

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
    // Rust's `{:e}` gives the shortest round-trip digits: "-1.2345e3".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-5 < exp) && (exp < 16) {
        let point = exp + 1; // digits before the decimal point
        let mut out = String::from(sign);
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
        out
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

/// `repr(v)` of the Python object `json.loads` makes of `v`:
/// `{'action': 'search', 'value': 'morpheus'}`.
pub fn python_repr(value: &Json) -> String {
    let mut out = String::new();
    write_python_repr(&mut out, value);
    out
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

/// Bytes per hex-dump row.
pub const HEX_ROW_WIDTH: usize = 16;

/// One row of a hex dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HexRow {
    /// Offset of the row's first byte.
    pub offset: usize,
    /// The row's bytes as two-digit lowercase hex, space-separated.
    pub hex: String,
    /// The row's bytes as ASCII, `.` for anything not printable.
    pub ascii: String,
}

impl HexRow {
    /// The row as `hexdump -C` lays it out: `00000000  00 64 7b ...  |.d{...|`.
    pub fn line(&self) -> String {
        format!(
            "{:08x}  {:<width$}  |{}|",
            self.offset,
            self.hex,
            self.ascii,
            width = HEX_ROW_WIDTH * 3 - 1
        )
    }
}

/// How many rows a dump of `len` bytes has.
pub fn hex_row_count(len: usize) -> usize {
    len.div_ceil(HEX_ROW_WIDTH)
}

/// Row `index` of the dump of `bytes`; rows can be made one at a time, so a
/// view of a large message only formats the rows on screen.
pub fn hex_row(bytes: &[u8], index: usize) -> Option<HexRow> {
    let offset = index.checked_mul(HEX_ROW_WIDTH)?;
    if offset >= bytes.len() {
        return None;
    }
    let row = &bytes[offset..bytes.len().min(offset + HEX_ROW_WIDTH)];
    let mut hex = String::with_capacity(HEX_ROW_WIDTH * 3);
    for (i, b) in row.iter().enumerate() {
        if i > 0 {
            hex.push(' ');
        }
        let _ = write!(hex, "{b:02x}");
    }
    let ascii = row.iter().map(|&b| ascii_cell(b)).collect();
    Some(HexRow { offset, hex, ascii })
}

/// The ASCII column's character for one byte.
pub fn ascii_cell(b: u8) -> char {
    if (0x20..0x7f).contains(&b) {
        b as char
    } else {
        '.'
    }
}

/// Every row of the dump of `bytes`.
pub fn hex_rows(bytes: &[u8]) -> impl Iterator<Item = HexRow> + '_ {
    (0..hex_row_count(bytes.len())).filter_map(move |i| hex_row(bytes, i))
}

/// Bytes as space-separated hex: `00 64 7b`.
pub fn hex_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Bytes as a Rust array literal: `[0x00, 0x64, 0x7b]`.
pub fn rust_array_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 6 + 2);
    out.push('[');
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "0x{b:02x}");
    }
    out.push(']');
    out
}

/// Parses hex typed by a person: pairs of digits, with any whitespace, commas,
/// `0x` prefixes or `\x` escapes between them.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let mut digits = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let prefixed = (b == b'0' || b == b'\\')
            && matches!(bytes.get(i + 1), Some(b'x' | b'X'))
            && digits.len() % 2 == 0;
        if prefixed {
            i += 2;
            continue;
        }
        match b {
            b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => digits.push(b),
            b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' => {
                if digits.len() % 2 == 1 {
                    return Err(HexError::OddDigits { offset: i });
                }
            }
            _ => return Err(HexError::NotHex { offset: i }),
        }
        i += 1;
    }
    if digits.len() % 2 == 1 {
        return Err(HexError::OddDigits { offset: text.len() });
    }
    Ok(digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).expect("hex digits are ASCII");
            u8::from_str_radix(s, 16).expect("checked hex digits")
        })
        .collect())
}

/// Why typed hex was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    #[error("not a hex digit at character {offset}")]
    NotHex { offset: usize },
    #[error("a byte needs two hex digits (at character {offset})")]
    OddDigits { offset: usize },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    // Expected strings below are what CPython 3.11 prints for the same values.

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

    #[test]
    fn hex_rows_have_offset_hex_and_ascii() {
        let bytes: Vec<u8> = (0x40..0x40 + 20).collect();
        let rows: Vec<_> = hex_rows(&bytes).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].offset, 16);
        assert_eq!(rows[1].hex, "50 51 52 53");
        assert_eq!(rows[1].ascii, "PQRS");
        assert_eq!(
            hex_row(b"\x00d{", 0).unwrap().line(),
            format!("00000000  00 64 7b{}  |.d{{|", " ".repeat(47 - 8))
        );
        assert_eq!(hex_row(&bytes, 2), None);
    }

    #[test]
    fn copy_formats() {
        assert_eq!(hex_string(b"\x00d{"), "00 64 7b");
        assert_eq!(rust_array_literal(b"\x00d"), "[0x00, 0x64]");
    }

    #[test]
    fn typed_hex_is_forgiving_about_separators() {
        assert_eq!(parse_hex("00 64 7b").unwrap(), b"\x00d{");
        assert_eq!(parse_hex("0x00, 0x64\n7B").unwrap(), b"\x00d{");
        assert_eq!(parse_hex(r"\x00\x64").unwrap(), b"\x00d");
        assert_eq!(
            parse_hex("006").unwrap_err(),
            HexError::OddDigits { offset: 3 }
        );
        assert_eq!(parse_hex("0g").unwrap_err(), HexError::NotHex { offset: 1 });
    }
}
