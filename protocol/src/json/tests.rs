//! The writer and the parser against Python's behaviour, and against each other.

use super::parse::{parse, Parser, MAX_DEPTH};
use super::value::{Json, Number, Object};
use super::write::Writer;
use crate::layout::{Layout, Recorder, SpanKind};
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

#[test]
fn inserting_an_existing_key_replaces_its_value_in_place() {
    let mut object: Object = [("a", 1), ("b", 2)].into_iter().collect();
    object.insert("a", 3);
    object.insert("c", 4);
    let members: Vec<_> = object.iter().map(|(k, v)| (k, v.clone())).collect();
    assert_eq!(
        members,
        [
            ("a", Json::from(3)),
            ("b", Json::from(2)),
            ("c", Json::from(4))
        ]
    );
}

#[test]
fn the_compact_form_drops_only_the_spaces_after_separators() {
    let value =
        parse(r#"{"a": [1, 2.5, null, true], "b": "tab\t\u0001 \"q\" é", "c": {}}"#).unwrap();
    let compact = value.to_compact_json();
    assert_eq!(
        compact,
        r#"{"a":[1,2.5,null,true],"b":"tab\t\u0001 \"q\" é","c":{}}"#
    );
    assert_eq!(parse(&compact).unwrap(), value);
    assert_eq!(
        compact.len() + 8,
        value.to_python_json().len(),
        "one space after each of the 5 commas and 3 colons"
    );
}

#[test]
fn every_u64_is_written_and_read_back_as_itself() {
    for n in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
        let written = Json::from_u64(n).to_compact_json();
        assert_eq!(written, n.to_string());
        assert_eq!(parse(&written).unwrap().as_u64(), Some(n));
    }
    for refused in ["-1", "1.0", "18446744073709551616", "\"1\""] {
        assert_eq!(parse(refused).unwrap().as_u64(), None, "{refused}");
    }
}
