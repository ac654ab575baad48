//! The value model: what `json.loads` hands a Python program, held so that
//! writing it back gives the same bytes (key order kept, ints apart from floats).

use std::collections::HashMap;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null` (Python's `None`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer or a float; Python keeps the two apart, and so do we.
    Number(Number),
    /// A string.
    String(String),
    /// An array (a Python `list`).
    Array(Vec<Json>),
    /// An object (a Python `dict`), in key order.
    Object(Object),
}

/// A JSON number as Python holds it: an `int` (of any size) or a `float`.
///
/// Kept apart because Python writes `1` and `1.0` differently, and a
/// `content-length` must be an `int`.
#[derive(Debug, Clone, PartialEq)]
pub enum Number {
    /// An integer that fits `i64`: every integer a real message carries.
    Int(i64),
    /// An integer outside `i64`, as its decimal digits (with a leading `-` if negative).
    BigInt(Box<str>),
    /// A float, including `NaN` and the infinities Python reads and writes.
    Float(f64),
}

/// A JSON object: members in insertion order, keys unique.
///
/// Order matters because Python's dicts keep it, so a header or a reply
/// written back must list its keys as they came.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Json)>,
}

/// Sets `key` to `value` in `members` by Python's dict rule, the one place
/// that rule is written: a key already present keeps its first position and
/// takes the new value; a new key goes last.
///
/// `index`, when given, maps every key of `members` to its position; it is
/// used instead of a scan and kept up to date, so an object with many keys
/// is still built in linear time. [`Object::insert`], the parser's
/// [`ObjectBuilder`] and `Message::with_extra` (for a header's extra keys)
/// all come here.
pub(crate) fn insert_or_replace(
    members: &mut Vec<(String, Json)>,
    index: Option<&mut HashMap<String, usize>>,
    key: String,
    value: Json,
) {
    let existing = match &index {
        Some(map) => map.get(&key).copied(),
        None => members.iter().position(|(k, _)| *k == key),
    };
    if let Some(i) = existing {
        members[i].1 = value;
        return;
    }
    if let Some(map) = index {
        map.insert(key.clone(), members.len());
    }
    members.push((key, value));
}

impl Object {
    /// An empty object.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; an existing key keeps its position (as a Python dict does).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Json>) {
        insert_or_replace(&mut self.members, None, key.into(), value.into());
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The members in order, as a Python dict iterates them.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Json)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many members the object has.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members in order, owned: the shape a message header keeps its
    /// extra keys in.
    pub fn into_members(self) -> Vec<(String, Json)> {
        self.members
    }

    /// An object of members already known to have unique keys.
    pub(crate) fn from_unique_members(members: Vec<(String, Json)>) -> Self {
        Object { members }
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

/// Builds an object's members with Python's dict rule for a repeated key
/// (see [`insert_or_replace`]). Past a few members it keeps a hash index, so
/// a hostile header with thousands of keys costs linear time, not quadratic.
#[derive(Default)]
pub(crate) struct ObjectBuilder {
    members: Vec<(String, Json)>,
    index: Option<HashMap<String, usize>>,
}

impl ObjectBuilder {
    /// Below this many members a scan is cheaper than hashing.
    const INDEX_FROM: usize = 16;

    pub(crate) fn insert(&mut self, key: String, value: Json) {
        insert_or_replace(&mut self.members, self.index.as_mut(), key, value);
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

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// An unsigned integer; past `i64::MAX` (no real count gets there) as
    /// [`Number::BigInt`] digits, so every `u64` writes as itself. Not a
    /// `From` impl: that would leave untyped literals (`Json::from(3)`)
    /// ambiguous.
    pub fn from_u64(n: u64) -> Json {
        Json::Number(match i64::try_from(n) {
            Ok(i) => Number::Int(i),
            Err(_) => Number::BigInt(n.to_string().into()),
        })
    }

    /// The integer, if this is one from 0 to `u64::MAX` (a float, even
    /// `1.0`, is not: Python would not take it as an `int` either).
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(Number::Int(i)) => u64::try_from(*i).ok(),
            Json::Number(Number::BigInt(digits)) => digits.parse().ok(),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }
}
