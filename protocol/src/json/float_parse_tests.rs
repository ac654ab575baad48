//! Our float reading against core's `str::parse::<f64>` (correctly rounded,
//! as Python's `float()` is): the hard cases by name, exact halfway points
//! between neighbouring doubles, and many random literals; and our shortest
//! digits against core's `{:e}`, which differs from Python's `repr` only
//! where two shortest spellings are exactly as near: core takes the upper,
//! Python (and we) the even one (`repr(2**-25)` is `2.9802322387695312e-08`).

use super::float::shortest;
use super::float_parse::parse_float;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn same(literal: &str) {
    let ours = parse_float(literal);
    let core: f64 = literal.parse().unwrap();
    assert_eq!(
        ours.to_bits(),
        core.to_bits(),
        "{literal}: ours {ours:e}, core {core:e}"
    );
}

#[test]
fn hard_cases_round_as_core_does() {
    for literal in [
        "0", "-0", "0.0", "-0.0", "0e999999999999999999", "1", "-1", "0.1", "0.2", "0.3",
        "3.14", "1e23", "8.98846567431158e307", "1.7976931348623157e308",
        "1.7976931348623158e308", "1.7976931348623159e308", "1e309", "1e400", "-1e400",
        "2.2250738585072011e-308", "2.2250738585072014e-308", "2.2250738585072012e-308",
        "4.9406564584124654e-324", "2.4703282292062327e-324", "2.4703282292062328e-324",
        "1e-324", "3e-324", "1e-400", "9007199254740993", "9007199254740995",
        "9007199254740992.5", "123456789012345678901234567890e-10", "0.000001",
        "1E5", "1e+5", "1e-5", "100000000000000000000000000000000000000e-38",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792",
        "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791",
    ] {
        same(literal);
    }
}

/// `f` as `{:e}` spells it, from our digits.
fn ours_e(f: f64) -> String {
    let (digits, exp) = shortest(f.abs());
    let mut out = String::from(if f.is_sign_negative() { "-" } else { "" });
    for (i, d) in digits.iter().enumerate() {
        if i == 1 {
            out.push('.');
        }
        out.push(char::from(b'0' + d));
    }
    out + &format!("e{exp}")
}

/// Our `{:e}` is core's, but for an exact tie, which we break to even.
fn prints_as_python(f: f64) {
    let (ours, core) = (ours_e(f), format!("{f:e}"));
    if ours == core {
        return;
    }
    let mantissa = |s: &str| -> Vec<u8> {
        let m = s.split('e').next().unwrap();
        m.bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect()
    };
    let p = mantissa(&core).len();
    let mut digits = mantissa(&ours);
    digits.resize(p, 0);
    let exact = mantissa(&format!("{:.800e}", f.abs()));
    assert!(
        exact[p] == 5 && exact[p + 1..].iter().all(|d| *d == 0),
        "{f:e}: ours {ours}, core {core}, and no tie"
    );
    assert_eq!(
        digits[p - 1] % 2,
        0,
        "{f:e}: ours {ours} is not the even one"
    );
    assert_eq!(parse_float(&ours).to_bits(), f.to_bits());
}

#[test]
fn ties_go_to_even_as_python_s_repr() {
    assert_eq!(ours_e(2f64.powi(-25)), "2.9802322387695312e-8");
    prints_as_python(2f64.powi(-25));
}

#[test]
fn shortest_digits_are_core_s() {
    for f in [
        0.0,
        -0.0,
        1.0,
        0.1,
        0.3,
        1e23,
        5e-324,
        1e-323,
        2.2250738585072014e-308,
        2.225073858507201e-308,
        f64::MAX,
        f64::MIN_POSITIVE,
        9007199254740992.0,
        123.456,
        1e15,
        1e16,
        1e17,
        1e-5,
        0.0001,
        2f64.powi(-1022),
        2f64.powi(60),
        2f64.powi(-60),
    ] {
        assert_eq!(ours_e(f), format!("{f:e}"));
    }
}

/// The exact decimal of `(a + b) / 2` for neighbouring positive doubles: a
/// value no double holds, where only ties-to-even decides.
fn halfway(a: f64, b: f64) -> String {
    let (a, b) = (format!("{a:.1100}"), format!("{b:.1100}"));
    let width = a.len().max(b.len());
    let (a, b) = (format!("{a:0>width$}"), format!("{b:0>width$}"));
    // Sum digit by digit from the right, then halve from the left.
    let (mut sum, mut carry) = (Vec::new(), 0);
    for (x, y) in a.bytes().rev().zip(b.bytes().rev()) {
        if x == b'.' {
            sum.push(b'.');
            continue;
        }
        let d = (x - b'0') + (y - b'0') + carry;
        sum.push(d % 10);
        carry = d / 10;
    }
    sum.push(carry);
    sum.reverse();
    let (mut out, mut rest) = (String::new(), 0);
    for d in sum.iter().copied().chain([0]) {
        if d == b'.' {
            out.push('.');
            continue;
        }
        let x = rest * 10 + d;
        out.push(char::from(b'0' + x / 2));
        rest = x % 2;
    }
    out
}

#[test]
fn halfway_points_round_to_even() {
    for bits in [
        1u64,
        2,
        0x000f_ffff_ffff_ffff,
        0x0010_0000_0000_0000,
        0x3ff0_0000_0000_0000,
        0x3ff0_0000_0000_0001,
        0x4340_0000_0000_0000,
        0x7fef_ffff_ffff_fffe,
        0x7fef_ffff_ffff_ffff,
    ] {
        let a = f64::from_bits(bits);
        same(&halfway(a, f64::from_bits(bits + 1)));
        same(&halfway(f64::from_bits(bits - 1), a));
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod random {
    use super::{halfway, prints_as_python, same};
    use proptest::prelude::*;

    /// The relay's digits (core's, ties put back to even) are the page's.
    fn native_digits_are_ours(f: f64) {
        assert_eq!(
            super::super::float::shortest_by_core(f),
            super::shortest(f),
            "{f:e}"
        );
    }

    #[test]
    fn ties_go_to_even_in_native_builds_too() {
        for f in [2f64.powi(-25), 5e-324, 0.5, 2f64.powi(-26), 1.5, 0.1, 1e23] {
            native_digits_are_ours(f);
        }
    }

    proptest! {
        #[test]
        fn any_double_spells_alike_native_and_wasm(bits in 0u64..0x7ff0_0000_0000_0000) {
            native_digits_are_ours(f64::from_bits(bits));
        }

        #[test]
        fn any_short_dyadic_spells_alike_native_and_wasm(odd in 0u64..(1 << 20), k in 1i32..30) {
            native_digits_are_ours((2 * odd + 1) as f64 * 2f64.powi(-k));
        }

        #[test]
        fn any_double_reads_back_as_itself(bits in 0u64..0x7ff0_0000_0000_0000) {
            let f = f64::from_bits(bits);
            same(&format!("{f:e}"));
            same(&format!("{f:.17e}"));
            same(&format!("{f:.3e}"));
            same(&halfway(f, f64::from_bits(bits + 1)));
        }

        #[test]
        fn any_double_prints_as_core_prints_it(bits in any::<u64>()) {
            let f = f64::from_bits(bits);
            if f.is_finite() {
                prints_as_python(f);
            }
        }

        #[test]
        fn any_power_of_two_prints_as_core_prints_it(e in -1074i32..1024) {
            prints_as_python(2f64.powi(e));
        }

        #[test]
        fn any_literal_rounds_as_core_does(
            negative in any::<bool>(),
            int in "[1-9][0-9]{0,30}|0",
            frac in proptest::option::of("[0-9]{1,40}"),
            exp in proptest::option::of(-400i32..400),
        ) {
            let mut literal = String::from(if negative { "-" } else { "" });
            literal.push_str(&int);
            if let Some(frac) = frac {
                literal.push('.');
                literal.push_str(&frac);
            }
            if let Some(exp) = exp {
                literal.push_str(&format!("e{exp}"));
            }
            same(&literal);
        }
    }
}
