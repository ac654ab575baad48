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
//! member and array item, so the encoder's and the decoder's byte map agree.
//!
//! - `value`: [`Json`], [`Number`], [`Object`], and the one insert-or-replace
//!   rule every keyed collection in the crate uses.
//! - `write`: the writer and, next to it, the length it will write.
//! - `parse`: the parser, with span recording.
//! - `float`: Python's spelling of a finite float, shared with the `python` module.
//! - `float_parse`: a float literal read as the nearest `f64`.

mod float;
// The playground's float reading and spelling (core's cost its wasm 21 kB);
// native builds compile it for the tests that hold it to core's.
#[cfg(any(test, target_arch = "wasm32"))]
mod float_parse;
mod parse;
mod value;
mod write;

#[cfg(test)]
mod float_parse_tests;
#[cfg(test)]
mod tests;

pub use parse::{parse, JsonError, MAX_DEPTH};
pub use value::{Json, Number, Object};

pub(crate) use float::finite_float_repr;
pub(crate) use parse::{MemberValue, Parser};
pub(crate) use value::{insert_or_replace, ObjectBuilder};
pub(crate) use write::Writer;
