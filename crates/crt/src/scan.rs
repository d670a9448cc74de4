//! The `sscanf` engine: reads a byte string by a C format into a [`Store`].
//!
//! Like the printf engine it knows nothing of pointers: each assignment
//! goes to a [`Store`] (runtime.dll's writes through the next pointer of a
//! `va_list`; tests record the values).
//!
//! Supported (C11 §7.21.6.2): `%d %i %u %o %x %X %p %s %c %n %%` and
//! `%[...]` scansets (`^` and `a-z` ranges), `*` (no assignment), widths
//! and the length modifiers `hh h l ll L q j z t I I32 I64`, sized for
//! Win64 (LLP64: `l` is 32 bits). Whitespace in the format skips any
//! whitespace in the input; other bytes must match. Integers convert like
//! `strtol`/`strtoul` on 64 bits (saturating) and are then cut to their
//! size, and `0x` is taken as a prefix even with no digit after it: the
//! same results as glibc's `sscanf`, which the host tests compare with.
//! Floating-point conversions and wide characters (`%ls`, `%lc`) are not
//! supported: the scan stops there, as at a matching failure.
#![forbid(unsafe_code)]

/// `EOF`: what [`scan`] returns when the input ends before anything has
/// been assigned.
pub const EOF: i32 = -1;

/// Where assignments go, in the order of the format's conversions.
pub trait Store {
    /// Stores the low `bytes` bytes (1, 2, 4 or 8) of `value` through the
    /// next pointer argument.
    fn integer(&mut self, bytes: usize, value: u64);
    /// Stores `text` through the next pointer argument, followed by a NUL
    /// if `nul` (`%s`, `%[`; not `%c`).
    fn text(&mut self, text: &[u8], nul: bool);
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Input<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(is_space) {
            self.at += 1;
        }
    }

    /// Takes bytes while `f` holds, at most `width`.
    fn take_while(&mut self, width: usize, f: impl Fn(u8) -> bool) -> &[u8] {
        let start = self.at;
        while self.at - start < width && self.peek().is_some_and(&f) {
            self.at += 1;
        }
        &self.bytes[start..self.at]
    }
}

/// Why a scan stopped early.
enum Stop {
    /// The input ended (C's input failure).
    Input,
    /// The input did not match, or the format is not supported.
    Match,
}

/// Reads `input` (without its NUL) by `fmt` (without its NUL); returns the
/// number of assignments made, or [`EOF`] if the input ended before the
/// first one.
pub fn scan(input: &[u8], fmt: &[u8], store: &mut impl Store) -> i32 {
    let mut assigned = 0;
    let mut input = Input {
        bytes: input,
        at: 0,
    };
    match run(&mut input, fmt, store, &mut assigned) {
        Err(Stop::Input) if assigned == 0 => EOF,
        _ => assigned,
    }
}

fn run(
    input: &mut Input,
    fmt: &[u8],
    store: &mut impl Store,
    assigned: &mut i32,
) -> Result<(), Stop> {
    let mut f = 0;
    while let Some(&c) = fmt.get(f) {
        f += 1;
        if is_space(c) {
            input.skip_space();
            continue;
        }
        if c != b'%' {
            match input.peek() {
                None => return Err(Stop::Input),
                Some(b) if b == c => input.at += 1,
                Some(_) => return Err(Stop::Match),
            }
            continue;
        }
        let (spec, used) = Spec::parse(&fmt[f..]).ok_or(Stop::Match)?;
        f += used;
        if convert(input, &spec, store)? && !spec.suppress {
            *assigned += 1;
        }
    }
    Ok(())
}

/// One conversion: `%[*][width][length]conversion`.
struct Spec<'f> {
    suppress: bool,
    width: Option<usize>,
    /// Bytes of an integer target.
    size: usize,
    /// A length modifier other than the integer sizes (`l` on `%s`).
    wide: bool,
    conversion: u8,
    /// The bytes between `%[` and its `]`.
    set: &'f [u8],
}

impl<'f> Spec<'f> {
    /// Parses the bytes after `%`; returns the spec and the bytes used.
    fn parse(fmt: &'f [u8]) -> Option<(Self, usize)> {
        let mut i = 0;
        let suppress = fmt.first() == Some(&b'*');
        if suppress {
            i += 1;
        }
        let digits = fmt[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let width = if digits > 0 {
            let mut w = 0usize;
            for &d in &fmt[i..i + digits] {
                w = w.saturating_mul(10).saturating_add(usize::from(d - b'0'));
            }
            Some(w).filter(|&w| w > 0)
        } else {
            None
        };
        i += digits;
        let rest = &fmt[i..];
        let (size, wide, len) = match rest {
            [b'h', b'h', ..] => (1, false, 2),
            [b'h', ..] => (2, false, 1),
            [b'l', b'l', ..] => (8, false, 2),
            [b'l', ..] => (4, true, 1),
            [b'I', b'6', b'4', ..] => (8, false, 3),
            [b'I', b'3', b'2', ..] => (4, false, 3),
            [b'I' | b'j' | b'z' | b't' | b'q' | b'L', ..] => (8, false, 1),
            _ => (4, false, 0),
        };
        i += len;
        let conversion = *fmt.get(i)?;
        i += 1;
        let mut set: &[u8] = &[];
        if conversion == b'[' {
            // `]` right after `[` or `[^` is a member, not the end.
            let start = i;
            let mut j = i;
            if fmt.get(j) == Some(&b'^') {
                j += 1;
            }
            if fmt.get(j) == Some(&b']') {
                j += 1;
            }
            j += fmt[j..].iter().position(|&b| b == b']')?;
            set = &fmt[start..j];
            i = j + 1;
        }
        let spec = Self {
            suppress,
            width,
            size,
            wide,
            conversion,
            set,
        };
        Some((spec, i))
    }
}

/// Whether `b` is in the scanset `set` (the bytes between `[` and `]`):
/// `^` first negates it; `a-z` is a range unless `-` is last.
fn in_set(set: &[u8], b: u8) -> bool {
    let (negate, m) = match set.split_first() {
        Some((b'^', rest)) => (true, rest),
        _ => (false, set),
    };
    let mut found = false;
    let mut k = 0;
    while k < m.len() {
        if k + 2 < m.len() && m[k + 1] == b'-' {
            found |= m[k] <= b && b <= m[k + 2];
            k += 3;
        } else {
            found |= m[k] == b;
            k += 1;
        }
    }
    found != negate
}

/// Runs one conversion; `Ok(true)` if it produced a value (assigned
/// unless suppressed), `Ok(false)` for `%n`.
fn convert(input: &mut Input, spec: &Spec, store: &mut impl Store) -> Result<bool, Stop> {
    let width = spec.width.unwrap_or(usize::MAX);
    match spec.conversion {
        b'n' => {
            if !spec.suppress {
                store.integer(spec.size, input.at as u64);
            }
            Ok(false)
        }
        b'%' => {
            input.skip_space();
            match input.peek() {
                None => Err(Stop::Input),
                Some(b'%') => {
                    input.at += 1;
                    Ok(false)
                }
                Some(_) => Err(Stop::Match),
            }
        }
        b'c' | b's' | b'[' if spec.wide => Err(Stop::Match),
        b'c' => {
            let n = spec.width.unwrap_or(1).min(input.bytes.len() - input.at);
            if n == 0 {
                return Err(Stop::Input);
            }
            let text = &input.bytes[input.at..input.at + n];
            input.at += n;
            if !spec.suppress {
                store.text(text, false);
            }
            Ok(true)
        }
        b's' => {
            input.skip_space();
            if input.peek().is_none() {
                return Err(Stop::Input);
            }
            let text = input.take_while(width, |b| !is_space(b));
            if !spec.suppress {
                store.text(text, true);
            }
            Ok(true)
        }
        b'[' => {
            if input.peek().is_none() {
                return Err(Stop::Input);
            }
            let text = input.take_while(width, |b| in_set(spec.set, b));
            if text.is_empty() {
                return Err(Stop::Match);
            }
            if !spec.suppress {
                store.text(text, true);
            }
            Ok(true)
        }
        b'd' | b'i' | b'u' | b'o' | b'x' | b'X' | b'p' => {
            let (base, signed, size) = match spec.conversion {
                b'd' => (10, true, spec.size),
                b'i' => (0, true, spec.size),
                b'u' => (10, false, spec.size),
                b'o' => (8, false, spec.size),
                b'p' => (16, false, 8),
                _ => (16, false, spec.size),
            };
            input.skip_space();
            if input.peek().is_none() {
                return Err(Stop::Input);
            }
            let v = integer(input, width, base, signed).ok_or(Stop::Match)?;
            if !spec.suppress {
                store.integer(size, v);
            }
            Ok(true)
        }
        _ => Err(Stop::Match),
    }
}

/// Reads an integer of `base` (0: by its prefix, as `%i`) in at most
/// `width` bytes, converting as `strtol` (`signed`) or `strtoul` do on
/// 64 bits; `None` if no digit came.
fn integer(input: &mut Input, width: usize, mut base: u32, signed: bool) -> Option<u64> {
    let mut left = width;
    let mut negative = false;
    if left > 0 && matches!(input.peek(), Some(b'+' | b'-')) {
        negative = input.peek() == Some(b'-');
        input.at += 1;
        left -= 1;
    }
    let mut digits = 0;
    if left > 0 && input.peek() == Some(b'0') {
        input.at += 1;
        left -= 1;
        digits = 1;
        if left > 0 && matches!(input.peek(), Some(b'x' | b'X')) && (base == 0 || base == 16) {
            base = 16;
            input.at += 1;
            left -= 1;
        } else if base == 0 {
            base = 8;
        }
    }
    if base == 0 {
        base = 10;
    }
    let mut value: u64 = 0;
    let mut overflow = false;
    while left > 0 {
        let Some(d) = input.peek().and_then(|b| char::from(b).to_digit(base)) else {
            break;
        };
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(v) => value = v,
            None => overflow = true,
        }
        input.at += 1;
        left -= 1;
        digits += 1;
    }
    if digits == 0 {
        return None;
    }
    Some(if signed {
        let limit = if negative {
            1u64 << 63
        } else {
            i64::MAX as u64
        };
        if overflow || value > limit {
            if negative {
                i64::MIN as u64
            } else {
                i64::MAX as u64
            }
        } else if negative {
            value.wrapping_neg()
        } else {
            value
        }
    } else if overflow {
        u64::MAX
    } else if negative {
        value.wrapping_neg()
    } else {
        value
    })
}
