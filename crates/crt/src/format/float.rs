//! `%f`, `%e` and `%g`: C's layouts over core's correctly rounded digits.
//!
//! `core::fmt` already produces exactly rounded decimal digits for a given
//! precision (`{:.*}` fixed, `{:.*e}` scientific); this module only turns
//! them into C's layouts: the sign and flags, a two-digit-minimum exponent
//! (`1.5e+00`), `%g`'s choice of style and its trailing-zero removal
//! (C11 §7.21.6.1p8).

use super::spec::{FloatKind, Spec};
use super::{Counted, Sink};
use core::fmt::Write;

/// Fraction digits that can be nonzero in fixed notation. Every finite
/// double is an integer multiple of 2^-1074 (the least subnormal, IEEE 754
/// binary64), and 2^-k has exactly k fraction digits, so no double has a
/// nonzero digit past the 1074th (5e-324 has one there). `%f` digits past
/// this many are printed as zeros without formatting them.
const MAX_FRACTION: usize = 1074;

/// Fraction digits that can be nonzero in scientific notation: a double's
/// exact decimal value has at most 767 significant digits (the most, 767,
/// belong to the largest subnormal, (2^52 - 1) * 2^-1074), one before the
/// point and 766 after it.
const MAX_SCIENTIFIC: usize = 766;

/// Integer digits of the largest double (about 1.8e308).
const MAX_INTEGER: usize = 309;

/// Bytes of the longest body: `DBL_MAX` in fixed notation with every
/// fraction digit that can be nonzero, and `#`'s point. Scientific bodies
/// (at most 1 + 1 + 766 bytes) are shorter.
const BODY: usize = MAX_INTEGER + 1 + MAX_FRACTION + 1;

/// A small stack buffer that `core::fmt` writes into.
struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, b: &[u8]) {
        let end = (self.len + b.len()).min(self.bytes.len());
        let n = end - self.len;
        self.bytes[self.len..end].copy_from_slice(&b[..n]);
        self.len = end;
    }
}

impl<const N: usize> Write for Text<N> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if self.len + s.len() > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Scientific digits of `a` (not negative) with `prec` fraction digits:
/// the mantissa text ("d.ddd", at most [`MAX_SCIENTIFIC`] fraction digits),
/// the decimal exponent and how many more (zero) digits to print after it.
fn scientific(a: f64, prec: usize) -> (Text<BODY>, i32, usize) {
    let mut t = Text::new();
    let p = prec.min(MAX_SCIENTIFIC);
    // 1 + 1 + MAX_SCIENTIFIC digits and `e-324` fit in BODY.
    let _ = write!(t, "{:.*e}", p, a);
    let e = t
        .as_bytes()
        .iter()
        .position(|&b| b == b'e')
        .unwrap_or(t.len);
    let mut exp: i32 = 0;
    let mut neg = false;
    for &b in &t.as_bytes()[(e + 1).min(t.len)..] {
        match b {
            b'-' => neg = true,
            b'0'..=b'9' => exp = exp * 10 + i32::from(b - b'0'),
            _ => {}
        }
    }
    t.len = e;
    (t, if neg { -exp } else { exp }, prec - p)
}

/// The body (no sign) of `a` in fixed notation with `prec` fraction digits
/// (at most [`MAX_FRACTION`] of them) and how many more (zero) digits to
/// print after it.
fn fixed(a: f64, prec: usize) -> (Text<BODY>, usize) {
    let mut t = Text::new();
    let p = prec.min(MAX_FRACTION);
    // MAX_INTEGER digits, a point and MAX_FRACTION digits fit in BODY.
    let _ = write!(t, "{:.*}", p, a);
    (t, prec - p)
}

/// Removes trailing fraction zeros, and the point if nothing follows it.
fn trim_zeros<const N: usize>(t: &mut Text<N>) {
    if !t.as_bytes().contains(&b'.') {
        return;
    }
    while t.len > 0 && t.bytes[t.len - 1] == b'0' {
        t.len -= 1;
    }
    if t.len > 0 && t.bytes[t.len - 1] == b'.' {
        t.len -= 1;
    }
}

/// Appends C's exponent: `e`, the sign, at least two digits.
fn push_exponent<const N: usize>(t: &mut Text<N>, exp: i32, upper: bool) {
    t.push(if upper { b"E" } else { b"e" });
    t.push(if exp < 0 { b"-" } else { b"+" });
    let mut digits = [b'0'; 4];
    let mut n = exp.unsigned_abs();
    let mut i = digits.len();
    while n > 0 || i > digits.len() - 2 {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    t.push(&digits[i..]);
}

/// Formats one floating-point conversion.
pub(super) fn format<S: Sink>(out: &mut Counted<'_, S>, spec: &Spec, kind: FloatKind, x: f64) {
    let sign = spec.sign_prefix(x.is_sign_negative());
    if !x.is_finite() {
        let word: &[u8] = match (x.is_nan(), spec.upper) {
            (true, false) => b"nan",
            (true, true) => b"NAN",
            (false, false) => b"inf",
            (false, true) => b"INF",
        };
        out.field(spec, sign, 0, word, false);
        return;
    }
    let a = x.abs();
    let prec = spec.precision.unwrap_or(6);
    let (mut body, extra, exp) = match kind {
        FloatKind::Fixed => {
            let (t, extra) = fixed(a, prec);
            (t, extra, None)
        }
        FloatKind::Exponent => {
            let (m, e, extra) = scientific(a, prec);
            (m, extra, Some(e))
        }
        FloatKind::General => {
            // C11 §7.21.6.1p8: P significant digits; fixed style when the
            // exponent X of the rounded value has P > X >= -4, with
            // P - 1 - X fraction digits, else scientific with P - 1.
            let p = prec.max(1);
            let (m, e, extra) = scientific(a, p - 1);
            let (mut t, mut extra, exp) = if e < p as i32 && e >= -4 {
                let (t, extra) = fixed(a, (p as i32 - 1 - e) as usize);
                (t, extra, None)
            } else {
                (m, extra, Some(e))
            };
            // Without `#` the trailing zeros go, the unprinted ones too.
            if !spec.alt {
                trim_zeros(&mut t);
                extra = 0;
            }
            (t, extra, exp)
        }
    };
    if spec.alt && !body.as_bytes().contains(&b'.') {
        body.push(b".");
    }
    let mut tail = Text::<8>::new();
    if let Some(e) = exp {
        push_exponent(&mut tail, e, spec.upper);
    }
    // The body, the zeros past the digits that can be nonzero and the
    // exponent form one field; write it in its pieces with the padding
    // computed over all.
    let len = sign.len() + body.len + extra + tail.len;
    let pad = spec.width.saturating_sub(len);
    let zero_pad = spec.zero && !spec.left;
    if !spec.left && !zero_pad {
        out.repeat(b' ', pad);
    }
    out.put(sign);
    if zero_pad {
        out.repeat(b'0', pad);
    }
    out.put(body.as_bytes());
    out.repeat(b'0', extra);
    out.put(tail.as_bytes());
    if spec.left {
        out.repeat(b' ', pad);
    }
}
