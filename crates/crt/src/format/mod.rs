//! The printf engine: parses a C format string and writes to a [`Sink`].
//!
//! It knows nothing of pointers or `va_list`s: arguments come from an
//! [`Args`] source (runtime.dll's walks Win64 argument slots; tests use an
//! [`ArgList`]), output goes to a [`Sink`] (a bounded buffer for
//! `vsnprintf`, the debug console for `vprintf`).
//!
//! Supported (C11 §7.21.6.1): `%d %i %u %x %X %o %c %s %p %% %f %F %e %E
//! %g %G`; flags `- + space # 0`; width and precision, literal or `*`;
//! length modifiers `hh h l ll L z j t q I I32 I64`. Integer sizes follow
//! Win64 (LLP64): `long` is 32 bits, `size_t` and pointers 64. `%p` prints
//! `0x` and lower-case hex digits. `%n` is refused: it consumes its
//! argument and writes nothing. An unknown conversion is copied out as it
//! was written.
#![forbid(unsafe_code)]

mod args;
mod float;
mod spec;

pub use args::{Arg, ArgList, Args};
use spec::{Conversion, Spec};

/// Where formatted bytes go.
pub trait Sink {
    /// Takes the next bytes of output.
    fn write(&mut self, bytes: &[u8]);
}

/// Counts and stores output into a byte buffer, C `snprintf` style: at most
/// `buf.len() - 1` bytes plus a NUL are stored, everything is counted.
pub struct BufferSink<'a> {
    buf: &'a mut [u8],
    /// Bytes stored so far (without the NUL).
    stored: usize,
}

impl<'a> BufferSink<'a> {
    /// A sink over `buf` (which may be empty: then it only counts).
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, stored: 0 }
    }

    /// Writes the terminating NUL (if the buffer has any room) and returns
    /// the bytes stored before it.
    pub fn finish(self) -> usize {
        if let Some(b) = self.buf.get_mut(self.stored) {
            *b = 0;
        }
        self.stored
    }
}

impl Sink for BufferSink<'_> {
    fn write(&mut self, bytes: &[u8]) {
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.stored);
        let n = bytes.len().min(room);
        self.buf[self.stored..self.stored + n].copy_from_slice(&bytes[..n]);
        self.stored += n;
    }
}

/// A sink that counts what passes through it to another sink.
struct Counted<'s, S: Sink> {
    inner: &'s mut S,
    count: usize,
}

impl<S: Sink> Counted<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        self.count += bytes.len();
        self.inner.write(bytes);
    }

    fn repeat(&mut self, byte: u8, n: usize) {
        let chunk = [byte; 32];
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            self.put(&chunk[..k]);
            left -= k;
        }
    }

    /// Writes `prefix` (sign, `0x`), then `body`, padded to `width` with
    /// spaces (left or right) or, for `zero`, with zeros after the prefix.
    fn field(&mut self, spec: &Spec, prefix: &[u8], zeros: usize, body: &[u8], zero_pad: bool) {
        let len = prefix.len() + zeros + body.len();
        let pad = spec.width.saturating_sub(len);
        if spec.left {
            self.put(prefix);
            self.repeat(b'0', zeros);
            self.put(body);
            self.repeat(b' ', pad);
        } else if zero_pad {
            self.put(prefix);
            self.repeat(b'0', zeros + pad);
            self.put(body);
        } else {
            self.repeat(b' ', pad);
            self.put(prefix);
            self.repeat(b'0', zeros);
            self.put(body);
        }
    }
}

/// Formats `fmt` (without its NUL) with `args` into `sink`; returns the
/// number of bytes written.
pub fn format(sink: &mut impl Sink, fmt: &[u8], args: &mut impl Args) -> usize {
    let mut out = Counted {
        inner: sink,
        count: 0,
    };
    let mut rest = fmt;
    while !rest.is_empty() {
        let literal = rest.iter().position(|&b| b == b'%').unwrap_or(rest.len());
        out.put(&rest[..literal]);
        rest = &rest[literal..];
        if rest.is_empty() {
            break;
        }
        let (spec, used) = Spec::parse(&rest[1..], args);
        let text = &rest[..1 + used];
        rest = &rest[1 + used..];
        match spec.conversion {
            Conversion::Percent => out.put(b"%"),
            Conversion::Unknown => out.put(text),
            _ => convert(&mut out, &spec, args),
        }
    }
    out.count
}

fn convert<S: Sink>(out: &mut Counted<'_, S>, spec: &Spec, args: &mut impl Args) {
    match spec.conversion {
        Conversion::Signed => {
            let v = spec.length.signed(args.int());
            let sign = spec.sign_prefix(v < 0);
            integer(out, spec, sign, v.unsigned_abs(), 10, false);
        }
        Conversion::Unsigned(base) => {
            let v = spec.length.unsigned(args.int());
            let upper = spec.upper;
            let prefix: &[u8] = match (spec.alt && v != 0, base, upper) {
                (true, 16, false) => b"0x",
                (true, 16, true) => b"0X",
                _ => b"",
            };
            integer(out, spec, prefix, v, base, upper);
        }
        Conversion::Pointer => {
            let v = args.int();
            integer(out, spec, b"0x", v, 16, false);
        }
        Conversion::Char => {
            let c = [args.int() as u8];
            out.field(spec, b"", 0, &c, false);
        }
        Conversion::String => {
            let limit = spec.precision.unwrap_or(usize::MAX);
            let s = args.string(limit).unwrap_or(b"(null)");
            let s = &s[..s.len().min(limit)];
            out.field(spec, b"", 0, s, false);
        }
        Conversion::Float(kind) => float::format(out, spec, kind, args.float()),
        Conversion::Count => {
            args.int();
        }
        Conversion::Percent | Conversion::Unknown => {}
    }
}

/// Writes an integer's digits with C's precision, `#` and `0` rules.
fn integer<S: Sink>(
    out: &mut Counted<'_, S>,
    spec: &Spec,
    prefix: &[u8],
    v: u64,
    base: u64,
    upper: bool,
) {
    let mut digits = [0u8; 24];
    let mut start = digits.len();
    let mut n = v;
    let set: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    // Precision 0 with value 0 prints no digits (C11 §7.21.6.1p8).
    if v != 0 || spec.precision != Some(0) {
        loop {
            start -= 1;
            digits[start] = set[(n % base) as usize];
            n /= base;
            if n == 0 {
                break;
            }
        }
    }
    // `%#o` makes the first digit a zero.
    if spec.alt && base == 8 && digits.get(start) != Some(&b'0') {
        start -= 1;
        digits[start] = b'0';
    }
    let body = &digits[start..];
    let zeros = spec.precision.map_or(0, |p| p.saturating_sub(body.len()));
    // The 0 flag is ignored with a precision or with `-`.
    let zero_pad = spec.zero && spec.precision.is_none() && !spec.left;
    out.field(spec, prefix, zeros, body, zero_pad);
}

#[cfg(test)]
mod tests;
