//! `<math.h>`: fabs, floor, ceil, trunc, sqrt, fmod; and the text-to-
//! double reader behind `strtod`.
//!
//! All exact: floor/ceil/trunc clear fraction bits, fmod divides the
//! significands as integers, sqrt is the SSE2 instruction (correctly
//! rounded, Intel SDM vol. 2B `SQRTSD`). No float `%` or calls that LLVM
//! would lower to the C library, since this crate is that library.

use core::ffi::c_int;

const SIGN: u64 = 1 << 63;
const MANT: u64 = (1 << 52) - 1;
const INF: u64 = 0x7ff << 52;

/// `fabs`.
pub extern "C" fn fabs(x: f64) -> f64 {
    f64::from_bits(x.to_bits() & !SIGN)
}

/// `trunc`: `x` rounded toward zero.
pub extern "C" fn trunc(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i32 - 1023;
    if e >= 52 {
        return x; // already whole, or inf/NaN
    }
    if e < 0 {
        return f64::from_bits(bits & SIGN); // |x| < 1: a signed zero
    }
    f64::from_bits(bits & !(MANT >> e))
}

/// `floor`: the largest whole number not above `x`.
pub extern "C" fn floor(x: f64) -> f64 {
    let t = trunc(x);
    // |t| < 2^52 when it differs from x, so t - 1 is exact.
    if x < 0.0 && t != x {
        t - 1.0
    } else {
        t
    }
}

/// `ceil`: the smallest whole number not below `x`.
pub extern "C" fn ceil(x: f64) -> f64 {
    let t = trunc(x);
    if x > 0.0 && t != x {
        t + 1.0
    } else {
        t
    }
}

/// `sqrt` (NaN for negative `x`, -0 for -0).
pub extern "C" fn sqrt(x: f64) -> f64 {
    use core::arch::x86_64::{_mm_cvtsd_f64, _mm_set_sd, _mm_sqrt_pd};
    // SAFETY: SSE2 is part of x86-64 itself (every x86-64 CPU has it), and
    // these intrinsics touch only registers.
    unsafe { _mm_cvtsd_f64(_mm_sqrt_pd(_mm_set_sd(x))) }
}

/// A finite nonzero magnitude's bits as `m * 2^e` with `m` in
/// `[2^52, 2^53)`.
fn split(a: u64) -> (u64, i32) {
    let field = (a >> 52) as i32;
    if field == 0 {
        let shift = a.leading_zeros() as i32 - 11;
        (a << shift, -1074 - shift)
    } else {
        ((a & MANT) | (1 << 52), field - 1075)
    }
}

/// The double `m * 2^e` for `0 < m < 2^53`, when it is exact.
fn join(mut m: u64, mut e: i32) -> u64 {
    if e < -1074 {
        // Exact means the bits shifted out here are zero.
        m >>= -1074 - e;
        e = -1074;
    }
    while m < 1 << 52 && e > -1074 {
        m <<= 1;
        e -= 1;
    }
    if m >= 1 << 52 {
        (((e + 1075) as u64) << 52) | (m & MANT)
    } else {
        m // subnormal: e is -1074
    }
}

/// `fmod`: `x - n*y` for the whole `n` that makes it smaller than `y` in
/// size, with the sign of `x`; exact. NaN for `y == 0` or infinite `x`.
pub extern "C" fn fmod(x: f64, y: f64) -> f64 {
    let (bx, by) = (x.to_bits(), y.to_bits());
    let (ax, ay) = (bx & !SIGN, by & !SIGN);
    if ay == 0 || ax >= INF || ay > INF {
        return f64::NAN;
    }
    if ax < ay {
        return x;
    }
    let sign = bx & SIGN;
    let (mut r, ex) = split(ax);
    let (my, ey) = split(ay);
    // Long division, one bit of the quotient per step; r < 2 * my < 2^54.
    for _ in ey..ex {
        if r >= my {
            r -= my;
        }
        r <<= 1;
    }
    if r >= my {
        r -= my;
    }
    if r == 0 {
        return f64::from_bits(sign);
    }
    f64::from_bits(sign | join(r, ey))
}

/// `x * 2^e`, exact unless the result over- or underflows.
fn scale2(mut x: f64, mut e: i32) -> f64 {
    let pow = |k: i32| f64::from_bits(((k + 1023) as u64) << 52);
    while e > 1000 {
        x *= pow(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow(-1000);
        e += 1000;
        if x == 0.0 {
            return x;
        }
    }
    x * pow(e)
}

fn lower(b: u8) -> u8 {
    b.to_ascii_lowercase()
}

fn starts_with_word(s: &[u8], word: &[u8]) -> bool {
    s.len() >= word.len() && s.iter().zip(word).all(|(&a, &b)| lower(a) == b)
}

/// Reads the longest prefix of `s` that `strtod` accepts: spaces, a
/// sign, then a decimal number with an optional exponent, a hexadecimal
/// one (`0x1.8p3`), `inf`, `infinity` or `nan` (with an optional
/// `(chars)`). Gives the value, the bytes read (0 when there is no
/// number), and whether it is out of range (±inf from finite digits, or
/// zero or subnormal from nonzero ones). Decimal text is converted by
/// `core`'s correctly rounded parser.
pub fn scan_float(s: &[u8]) -> (f64, usize, bool) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = s
        .iter()
        .take_while(|&&b| crate::ctype::isspace(c_int::from(b)) != 0)
        .count();
    let start = i;
    let negative = at(i) == b'-';
    if matches!(at(i), b'-' | b'+') {
        i += 1;
    }
    let signed = |v: f64| if negative { -v } else { v };
    let rest = &s[i.min(s.len())..];
    if starts_with_word(rest, b"infinity") {
        return (signed(f64::INFINITY), i + 8, false);
    }
    if starts_with_word(rest, b"inf") {
        return (signed(f64::INFINITY), i + 3, false);
    }
    if starts_with_word(rest, b"nan") {
        let mut n = i + 3;
        if at(n) == b'(' {
            let inner = s[n + 1..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if at(n + 1 + inner) == b')' {
                n += inner + 2;
            }
        }
        return (signed(f64::NAN), n, false);
    }
    if at(i) == b'0' && lower(at(i + 1)) == b'x' {
        let hex_digit = |j: usize| at(j).is_ascii_hexdigit();
        if hex_digit(i + 2) || (at(i + 2) == b'.' && hex_digit(i + 3)) {
            let (v, len, range) = scan_hex(&s[i + 2..]);
            return (signed(v), i + 2 + len, range);
        }
    }
    // Decimal: digits, optional point and digits, at least one digit.
    let digits = |j: usize| {
        s[j.min(s.len())..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(i);
    let mut end = i + whole;
    let mut frac = 0;
    if at(end) == b'.' {
        frac = digits(end + 1);
        end += 1 + frac;
    }
    if whole + frac == 0 {
        return (0.0, 0, false);
    }
    let nonzero = s[i..end].iter().any(|b| (b'1'..=b'9').contains(b));
    if lower(at(end)) == b'e' {
        let sign = usize::from(matches!(at(end + 1), b'+' | b'-'));
        let exp = digits(end + 1 + sign);
        if exp > 0 {
            end += 1 + sign + exp;
        }
    }
    // The text is ASCII and has the shape Rust's float grammar accepts.
    let text = core::str::from_utf8(&s[start..end]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let range = v.is_infinite() || (nonzero && fabs(v) < f64::MIN_POSITIVE);
    (v, end, range)
}

/// The hexadecimal digits after `0x` (at least one), with an optional
/// point and `p` exponent: the magnitude, bytes read, out of range.
fn scan_hex(s: &[u8]) -> (f64, usize, bool) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let (mut m, mut e, mut sticky) = (0u64, 0i64, false);
    let mut i = 0;
    let mut seen_point = false;
    loop {
        let b = at(i);
        if b == b'.' && !seen_point {
            seen_point = true;
        } else if let Some(d) = char::from(b).to_digit(16) {
            if m >> 60 == 0 {
                m = m << 4 | u64::from(d);
                e -= if seen_point { 4 } else { 0 };
            } else {
                sticky |= d != 0;
                e += if seen_point { 0 } else { 4 };
            }
        } else {
            break;
        }
        i += 1;
    }
    if lower(at(i)) == b'p' {
        let neg = at(i + 1) == b'-';
        let sign = usize::from(matches!(at(i + 1), b'+' | b'-'));
        let mut j = i + 1 + sign;
        let mut p = 0i64;
        while at(j).is_ascii_digit() {
            p = (p * 10 + i64::from(at(j) - b'0')).min(1 << 20);
            j += 1;
        }
        if j > i + 1 + sign {
            e += if neg { -p } else { p };
            i = j;
        }
    }
    if m == 0 {
        return (0.0, i, false);
    }
    // Below 2^64 the sticky bit in bit 0 makes the rounding come out right.
    let v = scale2((m | u64::from(sticky)) as f64, e.clamp(-5000, 5000) as i32);
    (v, i, v.is_infinite() || v < f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_functions_on_edges() {
        let cases = [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            1.5,
            -1.5,
            2.5,
            1e300,
            -1e300,
            4503599627370495.5,
            -4503599627370495.5,
            5e-324,
            -5e-324,
            0.9999999999999999,
        ];
        for x in cases {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "floor {x}");
            assert_eq!(ceil(x).to_bits(), x.ceil().to_bits(), "ceil {x}");
            assert_eq!(trunc(x).to_bits(), x.trunc().to_bits(), "trunc {x}");
            assert_eq!(fabs(x).to_bits(), x.abs().to_bits(), "fabs {x}");
        }
        for x in [f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(floor(x), x);
            assert_eq!(ceil(x), x);
        }
        assert!(floor(f64::NAN).is_nan());
        assert_eq!(sqrt(2.0), 2f64.sqrt());
        assert_eq!(sqrt(-0.0).to_bits(), (-0.0f64).to_bits());
        assert!(sqrt(-1.0).is_nan());
    }

    #[test]
    fn fmod_is_exact() {
        let cases = [
            (5.5, 2.0, 1.5),
            (-5.5, 2.0, -1.5),
            (5.5, -2.0, 1.5),
            (1.0, 0.1, 0.09999999999999995f64),
            (1e300, 3.0, 1e300 % 3.0),
            (6.0, 3.0, 0.0),
            (-6.0, 3.0, -0.0),
            (2.0, 3.0, 2.0),
            (5e-324, 1.0, 5e-324),
            (1.0, 5e-324, 0.0),
            (3e-310, 7e-311, 3e-310 % 7e-311),
        ];
        for (x, y, r) in cases {
            assert_eq!(fmod(x, y).to_bits(), r.to_bits(), "fmod({x}, {y})");
        }
        assert!(fmod(1.0, 0.0).is_nan());
        assert!(fmod(f64::INFINITY, 1.0).is_nan());
        assert!(fmod(1.0, f64::NAN).is_nan());
        assert_eq!(fmod(1.0, f64::INFINITY), 1.0);
    }

    #[test]
    fn floats_from_text() {
        let f = |s: &str| scan_float(s.as_bytes());
        assert_eq!(f("1.5"), (1.5, 3, false));
        assert_eq!(f("  -0.25x"), (-0.25, 7, false));
        assert_eq!(f("3e2"), (300.0, 3, false));
        assert_eq!(f("3e"), (3.0, 1, false));
        assert_eq!(f("3e+"), (3.0, 1, false));
        assert_eq!(f(".5"), (0.5, 2, false));
        assert_eq!(f("5."), (5.0, 2, false));
        assert_eq!(f("."), (0.0, 0, false));
        assert_eq!(f("-"), (0.0, 0, false));
        assert_eq!(f("  12abc"), (12.0, 4, false));
        assert_eq!(f("1e400"), (f64::INFINITY, 5, true));
        assert_eq!(f("1e-400"), (0.0, 6, true));
        assert_eq!(f("0e-400"), (0.0, 6, false));
        assert_eq!(f("-InFinity"), (f64::NEG_INFINITY, 9, false));
        assert_eq!(f("infx"), (f64::INFINITY, 3, false));
        assert_eq!(f("0x1.8p3"), (12.0, 7, false));
        assert_eq!(f("0x10"), (16.0, 4, false));
        assert_eq!(f("0xp3"), (0.0, 1, false));
        assert_eq!(f("-0x.8"), (-0.5, 5, false));
        let (nan, n, _) = f("nan(abc)z");
        assert!(nan.is_nan() && n == 8);
        assert_eq!(f("nan(").1, 3);
    }
}
