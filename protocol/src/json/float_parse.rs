//! A JSON float literal read as the nearest `f64` (ties to even), as
//! `float()` and `json.loads` read it.
//!
//! Why not `str::parse::<f64>`: its fast algorithm carries a 10 kB table of
//! powers of five that the playground's wasm would ship (issue 20, the
//! page's size budget). Here a short literal is one exact multiplication or
//! division, and any other is read exactly, as a fraction of two big
//! integers, and rounded once (slower than core's, microseconds each).

/// The value of `literal`, which the parser's grammar has checked:
/// `-?digits(.digits)?([eE][+-]?digits)?`.
pub(crate) fn parse_float(literal: &str) -> f64 {
    let (negative, rest) = match literal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, literal),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, ""),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // The value is digits × 10^exp10.
    let mut exp10 = saturating_exponent(exponent) - frac.len() as i64;
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    while digits.last() == Some(&0) {
        digits.pop();
        exp10 += 1;
    }
    let magnitude = magnitude(digits, exp10);
    if negative {
        -magnitude
    } else {
        magnitude
    }
}

/// A decimal exponent, clamped far beyond any that can matter (the digits
/// of one message cannot move it back into range).
fn saturating_exponent(text: &str) -> i64 {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut e: i64 = 0;
    for b in digits.bytes() {
        e = (e * 10 + i64::from(b - b'0')).min(1 << 40);
    }
    if negative {
        -e
    } else {
        e
    }
}

/// Decimal digits (no leading or trailing zeros) × 10^exp10, rounded to the
/// nearest `f64`.
pub(super) fn magnitude(mut digits: Vec<u8>, mut exp10: i64) -> f64 {
    if digits.is_empty() {
        return 0.0;
    }
    // Clinger's fast path, for most literals: up to 15 digits are exact in a
    // double, and so are 10^0..10^22; one multiplication or division of two
    // exact numbers rounds once, correctly.
    if digits.len() <= 15 && exp10.abs() <= 22 {
        let m = digits.iter().fold(0u64, |m, d| m * 10 + u64::from(*d)) as f64;
        let p = (0..exp10.abs()).fold(1.0f64, |p, _| p * 10.0);
        return if exp10 < 0 { m / p } else { m * p };
    }
    // The value lies in [10^(top-1), 10^top).
    let top = digits.len() as i64 + exp10;
    if top > 310 {
        return f64::INFINITY;
    }
    if top < -324 {
        return 0.0; // below half the smallest subnormal, 2^-1075 ≈ 2.47e-324
    }
    // Beyond 800 significant digits only "is anything left" matters for the
    // rounding (a halfway point between two doubles has fewer than 770): keep
    // 800 and one nonzero digit that stands for the rest.
    if digits.len() > 800 {
        exp10 += digits.len() as i64 - 801;
        digits.truncate(800);
        digits.push(1);
    }
    let mut num = Big::from_digits(&digits);
    let mut den = Big::one();
    if exp10 >= 0 {
        num.mul_pow10(exp10 as usize);
    } else {
        den.mul_pow10((-exp10) as usize);
    }
    // Find s with 2^54 <= num × 2^s / den < 2^55: 55 bits, two more than a
    // double holds, and the remainder says whether anything lies below.
    let mut s = 54 - (num.bits() as i64 - den.bits() as i64);
    let (q, inexact) = loop {
        let (mut n, mut d) = (num.clone(), den.clone());
        if s >= 0 {
            n.shl(s as usize);
        } else {
            d.shl((-s) as usize);
        }
        match n.div_small_quotient(&d) {
            Some((q, _)) if q >= 1 << 55 => s -= 1,
            Some((q, _)) if q < 1 << 54 => s += 1,
            Some(found) => break found,
            None => s -= 1,
        }
    };
    // The value is (q + fraction) × 2^-s, its top bit 2^e.
    let e = 54 - s;
    if e > 1023 {
        return f64::INFINITY;
    }
    // A double keeps 53 bits, fewer below 2^-1022 (subnormals end at 2^-1074).
    let keep = if e >= -1022 { 53 } else { e + 1075 };
    if keep < 0 {
        return 0.0;
    }
    let drop = 55 - keep as u32;
    let mut mantissa = q >> drop;
    let rest = q & ((1u64 << drop) - 1);
    let half = 1u64 << (drop - 1);
    if rest > half || (rest == half && (inexact || mantissa & 1 == 1)) {
        mantissa += 1;
    }
    // mantissa × 2^(e + 1 - keep), both factors exact, so is the product
    // (or it overflows to infinity, as it must).
    mantissa as f64 * pow2(e + 1 - keep)
}

/// 2^k as a double, for -1074 <= k <= 1023.
fn pow2(k: i64) -> f64 {
    if k >= -1022 {
        f64::from_bits(((k + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (k + 1074))
    }
}

/// An unsigned big integer, 32-bit limbs, least significant first, no high
/// zero limbs.
#[derive(Clone)]
pub(super) struct Big(Vec<u32>);

impl Big {
    fn one() -> Big {
        Big(vec![1])
    }

    pub(super) fn from_u64(n: u64) -> Big {
        let mut big = Big(vec![n as u32, (n >> 32) as u32]);
        while big.0.last() == Some(&0) {
            big.0.pop();
        }
        big
    }

    pub(super) fn from_digits(digits: &[u8]) -> Big {
        let mut big = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let mut value = 0u32;
            for d in chunk {
                value = value * 10 + u32::from(*d);
            }
            big.mul_add(10u32.pow(chunk.len() as u32), value);
        }
        big
    }

    pub(super) fn mul_add(&mut self, factor: u32, add: u32) {
        let mut carry = u64::from(add);
        for limb in &mut self.0 {
            let x = u64::from(*limb) * u64::from(factor) + carry;
            *limb = x as u32;
            carry = x >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
    }

    fn mul_pow10(&mut self, mut n: usize) {
        while n > 0 {
            let step = n.min(9);
            self.mul_add(10u32.pow(step as u32), 0);
            n -= step;
        }
    }

    fn bits(&self) -> usize {
        self.0
            .last()
            .map_or(0, |top| self.0.len() * 32 - top.leading_zeros() as usize)
    }

    pub(super) fn shl(&mut self, n: usize) {
        let (limbs, bits) = (n / 32, n % 32);
        if bits > 0 {
            let mut carry = 0u32;
            for limb in &mut self.0 {
                let x = (*limb << bits) | carry;
                carry = *limb >> (32 - bits);
                *limb = x;
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, limbs));
    }

    fn less_than(&self, other: &Big) -> bool {
        let a = self.0.iter().rev();
        self.0.len() < other.0.len()
            || (self.0.len() == other.0.len() && a.lt(other.0.iter().rev()))
    }

    /// `self -= other`, for `other <= self`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, limb) in self.0.iter_mut().enumerate() {
            let x = i64::from(*limb) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            *limb = x as u32;
            borrow = i64::from(x < 0);
        }
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    /// The decimal digits, most significant first (none for zero).
    pub(super) fn digits(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while !self.0.is_empty() {
            // Nine digits at a time: divide by 10^9, least significant first.
            let mut rest = 0u64;
            for limb in self.0.iter_mut().rev() {
                let x = (rest << 32) | u64::from(*limb);
                *limb = (x / 1_000_000_000) as u32;
                rest = x % 1_000_000_000;
            }
            while self.0.last() == Some(&0) {
                self.0.pop();
            }
            for _ in 0..9 {
                out.push((rest % 10) as u8);
                rest /= 10;
            }
        }
        while out.last() == Some(&0) {
            out.pop();
        }
        out.reverse();
        out
    }

    /// The quotient `self / den` and whether a remainder is left, when the
    /// quotient is below 2^56; `None` when it is not.
    fn div_small_quotient(mut self, den: &Big) -> Option<(u64, bool)> {
        let mut q = 0u64;
        for bit in (0..56).rev() {
            let mut shifted = den.clone();
            shifted.shl(bit);
            if !self.less_than(&shifted) {
                self.sub(&shifted);
                q |= 1 << bit;
            }
        }
        self.less_than(den).then_some((q, !self.0.is_empty()))
    }
}
