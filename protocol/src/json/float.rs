//! How Python spells a finite float. `repr(f)` and `json.dumps(f)` agree on
//! finite floats, so the JSON writer and the `python` module share this. It
//! lives on the JSON side so that `python` can depend on `json` without
//! `json` depending back on it.

use super::float_parse::{magnitude, Big};

/// The shortest digits that round-trip, in fixed notation for exponents
/// -4..16 (always with a fractional part), otherwise in exponent notation
/// with a sign and at least two exponent digits. `f` must be finite.
pub(crate) fn finite_float_repr(f: f64) -> String {
    let (digits, exp) = shortest(f.abs());
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

/// The shortest digits that read back as `f` (finite, not negative), the
/// nearest to `f` when several do (the even one of two as near, as Python's
/// `repr` takes it; core's `{:e}` takes the upper), and the decimal exponent
/// of the first: `f` ≈ d.ddd × 10^exp. Core's float formatter would cost
/// the playground's wasm 8 kB (issue 20): here `f`'s exact decimal
/// expansion is rounded to 1, 2, … digits until one reads back as `f`.
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
