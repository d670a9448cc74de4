//! One conversion specification: `%[flags][width][.precision][length]conv`.

use super::Args;

/// Integer size of a length modifier, in bits (Win64, LLP64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Length(u32);

impl Length {
    /// Sign-extends the low bits of an argument slot.
    pub(super) fn signed(self, slot: u64) -> i64 {
        let shift = 64 - self.0;
        ((slot << shift) as i64) >> shift
    }

    /// Zero-extends the low bits of an argument slot.
    pub(super) fn unsigned(self, slot: u64) -> u64 {
        let shift = 64 - self.0;
        (slot << shift) >> shift
    }
}

/// Kind of floating-point conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FloatKind {
    /// `%f`: fixed notation.
    Fixed,
    /// `%e`: d.ddde±dd.
    Exponent,
    /// `%g`: the shorter of the two, trailing zeros removed.
    General,
}

/// What a specification converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Conversion {
    /// `%d`, `%i`.
    Signed,
    /// `%u` (10), `%o` (8), `%x`/`%X` (16).
    Unsigned(u64),
    /// `%p`.
    Pointer,
    /// `%c`.
    Char,
    /// `%s`.
    String,
    /// `%f %F %e %E %g %G`.
    Float(FloatKind),
    /// `%n` (refused: consumes its argument only).
    Count,
    /// `%%`.
    Percent,
    /// Anything else; copied out verbatim.
    Unknown,
}

/// A parsed specification.
#[derive(Clone, Copy, Debug)]
pub(super) struct Spec {
    pub left: bool,
    pub plus: bool,
    pub space: bool,
    pub alt: bool,
    pub zero: bool,
    pub width: usize,
    pub precision: Option<usize>,
    pub length: Length,
    pub upper: bool,
    pub conversion: Conversion,
}

/// Widths and precisions past this are clamped (no real format needs
/// more, and it bounds the padding loops).
const MAX_FIELD: usize = 1 << 20;

fn number(s: &[u8], i: &mut usize) -> usize {
    let mut n = 0usize;
    while let Some(d) = s.get(*i).filter(|b| b.is_ascii_digit()) {
        n = (n * 10 + usize::from(d - b'0')).min(MAX_FIELD);
        *i += 1;
    }
    n
}

impl Spec {
    /// The sign prefix of a signed conversion: `-` for a negative value,
    /// else `+` with the `+` flag, a space with the ` ` flag, or nothing.
    pub fn sign_prefix(&self, negative: bool) -> &'static [u8] {
        if negative {
            b"-"
        } else if self.plus {
            b"+"
        } else if self.space {
            b" "
        } else {
            b""
        }
    }

    /// Parses the specification after a `%`, taking `*` arguments from
    /// `args`; returns it with the number of bytes it spans.
    pub(super) fn parse(s: &[u8], args: &mut impl Args) -> (Self, usize) {
        let mut spec = Spec {
            left: false,
            plus: false,
            space: false,
            alt: false,
            zero: false,
            width: 0,
            precision: None,
            length: Length(32),
            upper: false,
            conversion: Conversion::Unknown,
        };
        let mut i = 0;
        while let Some(&f) = s.get(i) {
            match f {
                b'-' => spec.left = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.alt = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            i += 1;
        }
        if s.get(i) == Some(&b'*') {
            i += 1;
            let w = args.int() as i32;
            spec.left |= w < 0;
            spec.width = (w.unsigned_abs() as usize).min(MAX_FIELD);
        } else {
            spec.width = number(s, &mut i);
        }
        if s.get(i) == Some(&b'.') {
            i += 1;
            if s.get(i) == Some(&b'*') {
                i += 1;
                let p = args.int() as i32;
                // A negative precision is taken as if it were omitted.
                spec.precision = usize::try_from(p).ok().map(|p| p.min(MAX_FIELD));
            } else {
                spec.precision = Some(number(s, &mut i));
            }
        }
        let rest = &s[i..];
        let (bits, len) = if rest.starts_with(b"I64") {
            (64, 3)
        } else if rest.starts_with(b"I32") {
            (32, 3)
        } else if rest.starts_with(b"hh") {
            (8, 2)
        } else if rest.starts_with(b"ll") {
            (64, 2)
        } else {
            match rest.first() {
                Some(b'h') => (16, 1),
                // Win64 is LLP64: long is 32 bits; `L` (long double) is
                // double on MSVC and changes nothing.
                Some(b'l' | b'L') => (32, 1),
                Some(b'q' | b'j' | b'z' | b't' | b'I') => (64, 1),
                _ => (32, 0),
            }
        };
        spec.length = Length(bits);
        i += len;
        if let Some(&c) = s.get(i) {
            i += 1;
            spec.upper = c.is_ascii_uppercase();
            spec.conversion = match c {
                b'd' | b'i' => Conversion::Signed,
                b'u' => Conversion::Unsigned(10),
                b'o' => Conversion::Unsigned(8),
                b'x' | b'X' => Conversion::Unsigned(16),
                b'p' => Conversion::Pointer,
                b'c' => Conversion::Char,
                b's' => Conversion::String,
                b'f' | b'F' => Conversion::Float(FloatKind::Fixed),
                b'e' | b'E' => Conversion::Float(FloatKind::Exponent),
                b'g' | b'G' => Conversion::Float(FloatKind::General),
                b'n' => Conversion::Count,
                b'%' => Conversion::Percent,
                _ => Conversion::Unknown,
            };
        }
        (spec, i)
    }
}
