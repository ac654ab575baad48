//! Hex dumps of frames: `hexdump -C` rows made one at a time (a view of a
//! large message formats only the rows on screen), the copy formats, and
//! hex typed back in by a person.

use std::fmt::Write as _;

/// Bytes per hex-dump row.
pub const HEX_ROW_WIDTH: usize = 16;

/// Bytes per row where 16 do not fit (a phone's width).
pub const NARROW_ROW_WIDTH: usize = 8;

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
        self.line_with(HEX_ROW_WIDTH)
    }

    /// [`line`](Self::line) for rows of `width` bytes: a short last row's
    /// ASCII column still lines up with the others'.
    pub fn line_with(&self, width: usize) -> String {
        format!(
            "{:08x}  {:<pad$}  |{}|",
            self.offset,
            self.hex,
            self.ascii,
            pad = width.max(1) * 3 - 1
        )
    }
}

/// How many rows a dump of `len` bytes has.
pub fn hex_row_count(len: usize) -> usize {
    hex_row_count_with(len, HEX_ROW_WIDTH)
}

/// How many rows of `width` bytes a dump of `len` bytes has.
pub fn hex_row_count_with(len: usize, width: usize) -> usize {
    len.div_ceil(width.max(1))
}

/// Row `index` of the dump of `bytes`; rows can be made one at a time, so a
/// view of a large message only formats the rows on screen.
pub fn hex_row(bytes: &[u8], index: usize) -> Option<HexRow> {
    hex_row_with(bytes, index, HEX_ROW_WIDTH)
}

/// Row `index` of the dump of `bytes` in rows of `width` bytes.
pub fn hex_row_with(bytes: &[u8], index: usize, width: usize) -> Option<HexRow> {
    let width = width.max(1);
    let offset = index.checked_mul(width)?;
    if offset >= bytes.len() {
        return None;
    }
    let row = &bytes[offset..bytes.len().min(offset + width)];
    let mut hex = String::with_capacity(width * 3);
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
    hex_rows_with(bytes, HEX_ROW_WIDTH)
}

/// Every row of the dump of `bytes`, `width` bytes a row.
pub fn hex_rows_with(bytes: &[u8], width: usize) -> impl Iterator<Item = HexRow> + '_ {
    (0..hex_row_count_with(bytes.len(), width)).filter_map(move |i| hex_row_with(bytes, i, width))
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
    /// A character that is neither a hex digit nor an accepted separator.
    #[error("not a hex digit at character {offset}")]
    NotHex {
        /// Index of the offending character in the typed text.
        offset: usize,
    },
    /// A lone digit: splitting a byte across a separator is almost always a
    /// typo, so it is refused rather than guessed at.
    #[error("a byte needs two hex digits (at character {offset})")]
    OddDigits {
        /// Where the byte was cut short: the separator, or the end of the text.
        offset: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn narrow_rows_hold_eight_bytes_at_offsets_eight_apart() {
        let bytes: Vec<u8> = (0..20).collect();
        assert_eq!(hex_row_count_with(bytes.len(), NARROW_ROW_WIDTH), 3);
        let row = hex_row_with(&bytes, 1, NARROW_ROW_WIDTH).unwrap();
        assert_eq!(row.offset, 8);
        assert_eq!(row.hex, "08 09 0a 0b 0c 0d 0e 0f");
        assert_eq!(
            hex_row_with(&bytes, 2, NARROW_ROW_WIDTH).unwrap().hex,
            "10 11 12 13"
        );
        assert_eq!(hex_row_with(&bytes, 3, NARROW_ROW_WIDTH), None);
    }

    #[test]
    fn narrow_lines_pad_a_short_last_row_to_eight_bytes_so_ascii_lines_up() {
        let lines: Vec<String> = hex_rows_with(b"Hello, world", NARROW_ROW_WIDTH)
            .map(|row| row.line_with(NARROW_ROW_WIDTH))
            .collect();
        assert_eq!(
            lines,
            [
                "00000000  48 65 6c 6c 6f 2c 20 77  |Hello, w|",
                "00000008  6f 72 6c 64              |orld|",
            ]
        );
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
    fn copy_formats_are_spaced_hex_and_a_rust_array() {
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
