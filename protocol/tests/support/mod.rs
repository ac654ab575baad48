//! Proptest strategies shared by the integration tests.
#![cfg(not(target_arch = "wasm32"))]
#![allow(dead_code)] // each test file uses its own subset

use proptest::prelude::*;
use protocol::json::{Json, Number, Object};

/// Any JSON value Python can round-trip, strings drawn from `strings`.
/// Floats are finite: NaN never equals itself.
pub fn json_value(
    strings: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(|n| Json::Number(Number::Int(n))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Json::Number(Number::Float(f))),
        strings.prop_map(Json::String),
        // The characters JSON and repr escape, and ones they must not.
        "[\\x00-\\x20'\"\\\\\\x7f\u{a0}\u{2028}é🐶]{0,8}".prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
            prop::collection::vec(("[a-z🐶'\"\\\\]{0,6}", inner), 0..6)
                .prop_map(|members| Json::Object(members.into_iter().collect::<Object>())),
        ]
    })
}
