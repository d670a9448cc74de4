//! The printf engine against the host C library's `snprintf`, format by
//! format (only formats whose meaning is the same on Linux and Win64: no
//! `%l`, which is 64 bits on LP64 and 32 on LLP64).

use crt::format::{format, Arg, ArgList, BufferSink};
use std::ffi::{c_char, c_int, CStr};

fn fmt(f: &str, args: &[Arg]) -> String {
    let mut buf = [0u8; 2048];
    let mut sink = BufferSink::new(&mut buf);
    let n = format(&mut sink, f.as_bytes(), &mut ArgList::new(args));
    let stored = sink.finish();
    assert_eq!(n, stored, "{f}: count vs stored");
    String::from_utf8(buf[..stored].to_vec()).unwrap()
}

unsafe extern "C" {
    fn snprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ...) -> c_int;
}

/// Formats with ours and with the host's snprintf and compares.
macro_rules! same {
    ($f:literal $(, $a:expr)*) => {{
        let mut theirs = [0u8; 2048];
        // SAFETY: the buffer holds 2048 bytes; every argument matches its
        // conversion in the literal format.
        let n = unsafe {
            snprintf(theirs.as_mut_ptr().cast(), theirs.len(), $f.as_ptr() $(, Host::host(&$a))*)
        };
        let theirs = CStr::from_bytes_until_nul(&theirs).unwrap().to_str().unwrap();
        let ours = fmt($f.to_str().unwrap(), &[$(Host::ours(&$a)),*]);
        assert_eq!(ours, theirs, "format {:?}", $f);
        assert_eq!(ours.len(), n as usize, "count of {:?}", $f);
    }};
}

trait Host {
    type C;
    fn host(&self) -> Self::C;
    fn ours(&self) -> Arg<'_>;
}

impl Host for i32 {
    type C = i32;
    fn host(&self) -> i32 {
        *self
    }
    fn ours(&self) -> Arg<'_> {
        Arg::Int(i64::from(*self))
    }
}

impl Host for i64 {
    type C = i64;
    fn host(&self) -> i64 {
        *self
    }
    fn ours(&self) -> Arg<'_> {
        Arg::Int(*self)
    }
}

impl Host for f64 {
    type C = f64;
    fn host(&self) -> f64 {
        *self
    }
    fn ours(&self) -> Arg<'_> {
        Arg::Float(*self)
    }
}

impl Host for &CStr {
    type C = *const c_char;
    fn host(&self) -> *const c_char {
        self.as_ptr()
    }
    fn ours(&self) -> Arg<'_> {
        Arg::Str(Some(self.to_bytes()))
    }
}

#[test]
fn integers_match_the_host_libc() {
    for v in [0, 1, -1, 42, -42, 255, 65535, i32::MAX, i32::MIN] {
        same!(c"%d %i %u %x %X %o", v, v, v, v, v, v);
        same!(
            c"[%8d][%-8d][%08d][%+d][% d][%.5d][%8.5d][%-+8.3d]",
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v
        );
        same!(
            c"[%#x][%#X][%#o][%#10x][%#-10o][%#010x][%.0d][%.0x]",
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v
        );
        same!(c"[%hhd][%hhu][%hd][%hu][%hhx]", v, v, v, v, v);
        same!(
            c"[%*d][%-*d][%.*d][%*.*d]",
            6i32,
            v,
            6i32,
            v,
            4i32,
            v,
            8i32,
            3i32,
            v
        );
    }
    for v in [0i64, -1, i64::MIN, i64::MAX, 0x1234_5678_9abc_def0] {
        same!(
            c"%lld %llu %llx %#llo %20lld %-20llu| %zx %jd %td",
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v
        );
    }
}

#[test]
fn strings_and_chars_match_the_host_libc() {
    for s in [c"", c"a", c"hello", c"a longer string than the width"] {
        same!(
            c"[%s][%10s][%-10s][%.2s][%10.3s][%-10.0s][%*s][%.*s]",
            s,
            s,
            s,
            s,
            s,
            s,
            7i32,
            s,
            3i32,
            s
        );
    }
    same!(c"[%c][%5c][%-5c][%c]", 65i32, 66i32, 67i32, 0x141i32);
}

#[test]
fn floats_match_the_host_libc() {
    let values = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        1.5,
        2.5,
        0.1,
        0.125,
        0.375,
        std::f64::consts::PI,
        -std::f64::consts::E,
        100.0,
        123456.789,
        1e6,
        1e-4,
        1e-5,
        9.9999,
        99999.95,
        0.00012345,
        1e21,
        1.7976931348623157e308,
        5e-324,
        2.2250738585072014e-308,
        123456789012345678.0,
        0.9999999,
        1e15,
        6.02214076e23,
        -1e-300,
        35.0,
        65536.0,
    ];
    for v in values {
        same!(c"%f %e %g %F %E %G", v, v, v, v, v, v);
        same!(
            c"[%.0f][%.1f][%.3f][%.10f][%.0e][%.1e][%.12e][%.0g][%.1g][%.2g][%.10g][%.17g]",
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v
        );
        same!(
            c"[%12.3f][%-12.3f][%012.3f][%+.2f][% .2f][%#.0f][%#.0e][%#g][%#.3g][%015.4e]",
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v,
            v
        );
        same!(c"[%*.*f][%-*.*g]", 12i32, 4i32, v, 14i32, 6i32, v);
    }
    for v in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        same!(c"[%f][%e][%g][%F][%10f][%-10e][%+g]", v, v, v, v, v, v, v);
    }
}

#[test]
fn long_precisions_match_the_host_libc() {
    // Each output stays under the 2048-byte buffers of `same!`.
    // `%#g` keeps its trailing zeros: `%#.200g` of 0.01 has 201 fraction
    // digits, 142 of them past the exact value's last nonzero digit.
    for v in [0.01, 1.0, 123.456, 1e-5, -0.1, 5e-324] {
        same!(c"[%#.200g][%#.250g][%#.300g]", v, v, v);
        same!(c"[%.300g][%#.800g]", v, v);
        same!(c"[%#.800G][%-#1000.766g|]", v, v);
        same!(c"[%.250e][%.766e]", v, v);
        same!(c"[%.800E][%.250f][%#.0f]", v, v, v);
        same!(c"[%.1100f]", v);
    }
    // Doubles below 2^-148 (about 2.8e-45) can have nonzero fraction
    // digits past the 200th (the old cap), up to the 1074th (5e-324); the
    // largest subnormal has 767 significant digits.
    let largest_subnormal = f64::from_bits(0x000f_ffff_ffff_ffff);
    let subnormal = f64::from_bits(10_000);
    for v in [1e-50, -1e-300, largest_subnormal, 5e-324, subnormal] {
        same!(c"[%.300f][%.770e]", v, v);
        same!(c"[%.1074f]", v);
        same!(c"[%.800g][%#.770g]", v, v);
    }
    same!(c"[%.1074f]", f64::MAX);
    same!(c"[%#.400g][%.320f]", f64::MAX, f64::MAX);
}
