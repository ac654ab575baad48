//! Our JSON writer and reprs against CPython itself: random values are written
//! by us, then read and re-written by `python3`; the bytes must agree.
//!
//! `python3` must be on the `PATH`: without it these tests fail rather than
//! pass, because a comparison with no answers checks nothing. On a machine
//! without Python, set `WIRELAB_SKIP_PYTHON=1` to skip them on purpose; each
//! skipped test says so on stderr.
#![cfg(not(target_arch = "wasm32"))]

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use protocol::json::Json;
use protocol::python::{python_bytes_repr, python_float_repr, python_repr};
use support::json_value;

mod support;

/// For each input line `kind<TAB>payload`, prints what Python makes of it.
const SCRIPT: &str = r#"
import sys, json
for line in sys.stdin.buffer.read().decode("utf-8").split("\n"):
    if not line:
        continue
    kind, payload = line.split("\t", 1)
    if kind == "json":
        value = json.loads(payload)
        out = json.dumps(value, ensure_ascii=False) + "\t" + repr(value)
    elif kind == "bytes":
        out = repr(bytes.fromhex(payload))
    elif kind == "float":
        out = repr(float.fromhex(payload))
    sys.stdout.buffer.write((json.dumps(out, ensure_ascii=True) + "\n").encode())
"#;

/// Set to `1` to skip these tests where `python3` is not available.
const SKIP_VAR: &str = "WIRELAB_SKIP_PYTHON";

/// Python's answer to each question, in order, or `None` when skipping was
/// asked for. Anything short of one answer per question is a failure.
fn ask_python(questions: &[String]) -> Option<Vec<String>> {
    if std::env::var_os(SKIP_VAR).is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: {SKIP_VAR}=1, so this CPython agreement test compared nothing");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 could not be started ({e}): install it, or set {SKIP_VAR}=1 to skip")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = questions.join("\n");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("python3 runs");
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed");
    let answers: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| match protocol::json::parse(l).unwrap() {
            Json::String(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        answers.len(),
        questions.len(),
        "python3 must answer every question"
    );
    Some(answers)
}

fn sample<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>, n: usize) -> Vec<T> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Python's `json.dumps` and `repr` of each value, or `None` when skipping.
fn dumps_and_reprs(values: &[Json]) -> Option<Vec<(String, String)>> {
    let lines: Vec<String> = values
        .iter()
        .map(|v| format!("json\t{}", v.to_python_json()))
        .collect();
    let answers = ask_python(&lines)?;
    let pairs = answers.into_iter().map(|a| {
        let (dumped, repr) = a.split_once('\t').unwrap();
        (dumped.to_owned(), repr.to_owned())
    });
    Some(pairs.collect())
}

#[test]
fn json_dumps_agrees_with_cpython_for_any_string() {
    let values = sample(json_value(any::<String>()), 400);
    let Some(answers) = dumps_and_reprs(&values) else {
        return;
    };
    for (value, (dumped, _)) in values.iter().zip(answers) {
        assert_eq!(value.to_python_json(), dumped);
    }
}

/// `repr(str)` hides what `str.isprintable()` rejects, and that depends on
/// the Unicode version of the Python at hand (unassigned code points). So
/// reprs are compared on an alphabet of assigned characters: ASCII, Latin-1,
/// common scripts, emoji, and the separator and format characters we escape.
#[test]
fn python_repr_agrees_with_cpython_on_assigned_characters() {
    let alphabet = "[ -~\\x00-\\x1f\\x7f-\\xffĀ-ſΑ-ΡΣ-ωА-я一-龥ぁ-ん🐶🐰🐾🏐💍😃\u{200b}\u{2028}\u{feff}\u{ad}]{0,10}";
    let values = sample(json_value(alphabet), 400);
    let Some(answers) = dumps_and_reprs(&values) else {
        return;
    };
    for (value, (_, repr)) in values.iter().zip(answers) {
        assert_eq!(python_repr(value), repr, "{value:?}");
    }
}

#[test]
fn bytes_repr_agrees_with_cpython() {
    let mut inputs = sample(prop::collection::vec(any::<u8>(), 0..40), 300);
    inputs.push(b"'".to_vec());
    inputs.push(b"'\"".to_vec());
    inputs.push((0..=255).collect());
    let lines: Vec<String> = inputs
        .iter()
        .map(|b| format!("bytes\t{}", hex(b)))
        .collect();
    let Some(answers) = ask_python(&lines) else {
        return;
    };
    for (bytes, answer) in inputs.iter().zip(&answers) {
        assert_eq!(&python_bytes_repr(bytes), answer);
    }
}

#[test]
fn float_repr_agrees_with_cpython() {
    let floats = sample(any::<f64>().prop_filter("finite", |f| f.is_finite()), 300);
    let mut floats = floats;
    floats.extend([1e16, 1e15, 1e-4, 1e-5, 5e-324, f64::MAX, 0.1 + 0.2]);
    // Rust's {:?} of f64 is not hex; build Python's float.hex form ourselves.
    let lines: Vec<String> = floats
        .iter()
        .map(|f| format!("float\t{}", float_hex(*f)))
        .collect();
    let Some(answers) = ask_python(&lines) else {
        return;
    };
    for (f, answer) in floats.iter().zip(&answers) {
        assert_eq!(&python_float_repr(*f), answer, "{f:e}");
    }
}

/// `float.hex()`-compatible text, so Python reads back the exact same double.
fn float_hex(f: f64) -> String {
    let bits = f.to_bits();
    let sign = if bits >> 63 == 1 { "-" } else { "" };
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let mantissa = bits & ((1 << 52) - 1);
    if exp == 0 {
        format!("{sign}0x0.{mantissa:013x}p-1022")
    } else {
        format!("{sign}0x1.{mantissa:013x}p{}", exp - 1023)
    }
}
