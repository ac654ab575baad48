//! How Python spells a finite float. `repr(f)` and `json.dumps(f)` agree on
//! finite floats, so the JSON writer and the `python` module share this. It
//! lives on the JSON side so that `python` can depend on `json` without
//! `json` depending back on it.

#[cfg(any(test, target_arch = "wasm32"))]
use super::float_parse::{magnitude, Big};

/// The shortest digits that round-trip, in fixed notation for exponents
/// -4..16 (always with a fractional part), otherwise in exponent notation
/// with a sign and at least two exponent digits. `f` must be finite.
pub(crate) fn finite_float_repr(f: f64) -> String {
    let (digits, exp) = shortest_digits(f.abs());
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let digits: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
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
        let (first, rest) = digits.split_at(1);
        let point = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{point}{rest}e{exp_sign}{:02}", exp.abs())
    }
}

/// [`shortest`], as each build affords it: the playground (wasm32) runs
/// our own code, which spares it core's 8 kB float formatter; the relay
/// and the tools run core's, microseconds faster per float (ours costs up
/// to some 250 µs for the most extreme exponents, and a stranger's 1 MiB
/// request of such floats would pin a relay worker for seconds), with
/// Python's tie-break put back ([`shortest_by_core`]). Tests hold the two
/// to the same digits.
#[cfg(target_arch = "wasm32")]
fn shortest_digits(f: f64) -> (Vec<u8>, i64) {
    shortest(f)
}

#[cfg(not(target_arch = "wasm32"))]
fn shortest_digits(f: f64) -> (Vec<u8>, i64) {
    shortest_by_core(f)
}

/// [`shortest`] from core's `{:e}` (the shortest digits that round-trip,
/// the nearest of them): core breaks an exact tie upward, Python to the
/// even one. A tie means `f` is exactly halfway between two n-digit
/// decimals, so its exact expansion has n + 1 digits ending in 5; that
/// needs `f = odd × 2^-k` with `odd × 5^k` that short, so 1 <= k <= 26
/// (an integer `f` has no such expansion), which `u128` holds exactly.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn shortest_by_core(f: f64) -> (Vec<u8>, i64) {
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i64 = exp.parse().expect("{:e} exponent is an integer");
    let digits: Vec<u8> = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect();
    let odd_last = digits.last().is_some_and(|d| d % 2 == 1);
    if !odd_last || f == 0.0 {
        return (digits, exp);
    }
    let bits = f.to_bits();
    let (m, e) = match (bits >> 52) as i64 {
        0 => (bits & ((1 << 52) - 1), -1074),
        biased => ((bits & ((1 << 52) - 1)) | 1 << 52, biased - 1075),
    };
    let k = -(e + i64::from(m.trailing_zeros()));
    if !(1..=26).contains(&k) {
        return (digits, exp);
    }
    // f = odd × 5^k × 10^-k, exactly.
    let exact = u128::from(m >> m.trailing_zeros()) * 5u128.pow(k as u32);
    let mut expansion: Vec<u8> = exact.to_string().bytes().map(|b| b - b'0').collect();
    while expansion.last() == Some(&0) {
        expansion.pop();
    }
    let n = digits.len();
    if expansion.len() != n + 1 || expansion[n] != 5 {
        return (digits, exp);
    }
    // The tie: core took the upper; the lower ends in an even digit.
    let lower = &expansion[..n];
    let literal: String = lower.iter().map(|d| char::from(b'0' + d)).collect();
    let lower_exp10 = exp - (n as i64 - 1);
    match format!("{literal}e{lower_exp10}").parse::<f64>() {
        Ok(back) if back == f && lower.starts_with(&digits[..n - 1]) => (lower.to_vec(), exp),
        _ => (digits, exp),
    }
}

/// The shortest digits that read back as `f` (finite, not negative), the
/// nearest to `f` when several do (the even one of two as near, as Python's
/// `repr` takes it; core's `{:e}` takes the upper), and the decimal exponent
/// of the first: `f` ≈ d.ddd × 10^exp. Core's float formatter would cost
/// the playground's wasm 8 kB (issue 20): here `f`'s exact decimal
/// expansion is rounded to 1, 2, … digits until one reads back as `f`.
#[cfg(any(test, target_arch = "wasm32"))]
pub(crate) fn shortest(f: f64) -> (Vec<u8>, i64) {
    let bits = f.to_bits();
    let biased = (bits >> 52) as i64;
    let fraction = bits & ((1 << 52) - 1);
    let (m, e) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased - 1075),
    };
    if m == 0 {
        return (vec![0], 0);
    }
    // f = m × 2^e = big × 10^exp10, exactly.
    let mut big = Big::from_u64(m);
    let mut exp10 = 0;
    if e >= 0 {
        big.shl(e as usize);
    } else {
        exp10 = e;
        let mut n = -e;
        while n > 0 {
            let step = n.min(13); // 5^13 < 2^32
            big.mul_add(5u32.pow(step as u32), 0);
            n -= step;
        }
    }
    let mut exact = big.digits();
    while exact.last() == Some(&0) {
        exact.pop();
        exp10 += 1;
    }
    let exp = exact.len() as i64 - 1 + exp10;
    for p in 1..exact.len() {
        // Dropped digits are not all zero: `down` lies below f, `up` above.
        let down = exact[..p].to_vec();
        let (first, rest) = (exact[p], &exact[p + 1..]);
        let round_up =
            first > 5 || (first == 5 && (rest.iter().any(|d| *d != 0) || down[p - 1] % 2 == 1));
        let up = increment(&down, exp);
        let down = (down, exp);
        let (near, far) = if round_up { (up, down) } else { (down, up) };
        for (mut digits, exp) in [near, far] {
            while digits.last() == Some(&0) {
                digits.pop();
            }
            let exp10 = exp - (digits.len() as i64 - 1);
            if magnitude(digits.clone(), exp10) == f {
                return (digits, exp);
            }
        }
    }
    (exact, exp)
}

/// `digits` (of a number d.ddd × 10^exp) plus one in the last place, and
/// the exponent, one more when 9.99 became 10.0.
#[cfg(any(test, target_arch = "wasm32"))]
fn increment(digits: &[u8], exp: i64) -> (Vec<u8>, i64) {
    let mut out = digits.to_vec();
    for d in out.iter_mut().rev() {
        if *d < 9 {
            *d += 1;
            return (out, exp);
        }
        *d = 0;
    }
    out.insert(0, 1);
    (out, exp + 1)
}
