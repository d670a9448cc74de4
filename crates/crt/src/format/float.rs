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

/// Fixed-notation digits past this many are printed as zeros. Every double
/// is exact within 1074 fraction digits, but every ordinary one (not
/// below about 1e-200) is exact well within this.
const MAX_FRACTION: usize = 200;

/// A small stack buffer that `core::fmt` writes into.
struct Text {
    bytes: [u8; 528],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Self {
            bytes: [0; 528],
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

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if self.len + s.len() > self.bytes.len() {
            return Err(core::fmt::Error);
        }
        self.push(s.as_bytes());
        Ok(())
    }
}

/// Scientific digits of `a` (not negative) with `prec` fraction digits:
/// the mantissa text ("d.ddd") and the decimal exponent.
fn scientific(a: f64, prec: usize) -> (Text, i32) {
    let mut t = Text::new();
    // `{:e}` never needs more than 1 + 1 + MAX_FRACTION + 6 bytes.
    let _ = write!(t, "{:.*e}", prec.min(MAX_FRACTION), a);
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
    (t, if neg { -exp } else { exp })
}

/// The body (no sign) of `a` in fixed notation with `prec` fraction digits;
/// `extra` is how many more zeros to print after it.
fn fixed(a: f64, prec: usize) -> (Text, usize) {
    let mut t = Text::new();
    let p = prec.min(MAX_FRACTION);
    // 309 integer digits at most, a point and MAX_FRACTION digits fit.
    let _ = write!(t, "{:.*}", p, a);
    (t, prec - p)
}

/// Removes trailing fraction zeros, and the point if nothing follows it.
fn trim_zeros(t: &mut Text) {
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
fn push_exponent(t: &mut Text, exp: i32, upper: bool) {
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
            let (m, e) = scientific(a, prec);
            (m, prec - prec.min(MAX_FRACTION), Some(e))
        }
        FloatKind::General => {
            let p = prec.max(1);
            let (m, e) = scientific(a, p - 1);
            let (mut t, exp) = if e < p as i32 && e >= -4 {
                (fixed(a, (p as i32 - 1 - e) as usize).0, None)
            } else {
                (m, Some(e))
            };
            if !spec.alt {
                trim_zeros(&mut t);
            }
            (t, 0, exp)
        }
    };
    if spec.alt && !body.as_bytes().contains(&b'.') {
        body.push(b".");
    }
    let mut tail = Text::new();
    if let Some(e) = exp {
        push_exponent(&mut tail, e, spec.upper);
    }
    // The body, the zeros beyond MAX_FRACTION and the exponent form one
    // field; write it in its pieces with the padding computed over all.
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
