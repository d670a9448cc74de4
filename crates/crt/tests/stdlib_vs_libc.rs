//! `<stdlib.h>`, `<strings.h>` and `<math.h>` against the host C library
//! (glibc): the same inputs must give the same values, ends and `errno`.
//!
//! On the Linux host `long` is 64 bits, so `crt`'s `strtol` (whose type
//! follows the target) is compared with glibc's 64-bit one; the 32-bit
//! clamping of the Windows target is unit-tested in `crt::stdlib`.

use crt::stdlib::{self as ours, ConvError, Converted};
use proptest::prelude::*;
use std::ffi::{c_char, c_double, c_int, c_long, c_ulong, c_void, CString};
use std::ptr::null_mut;

mod libc {
    use super::*;
    unsafe extern "C" {
        pub fn __errno_location() -> *mut c_int;
        pub fn strtol(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_long;
        pub fn strtoul(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_ulong;
        pub fn strtoll(s: *const c_char, end: *mut *mut c_char, base: c_int) -> i64;
        pub fn strtoull(s: *const c_char, end: *mut *mut c_char, base: c_int) -> u64;
        pub fn strtod(s: *const c_char, end: *mut *mut c_char) -> c_double;
        pub fn atoi(s: *const c_char) -> c_int;
        pub fn atol(s: *const c_char) -> c_long;
        pub fn atof(s: *const c_char) -> c_double;
        pub fn strcasecmp(a: *const c_char, b: *const c_char) -> c_int;
        pub fn strncasecmp(a: *const c_char, b: *const c_char, n: usize) -> c_int;
        pub fn fmod(x: c_double, y: c_double) -> c_double;
        pub fn floor(x: c_double) -> c_double;
        pub fn ceil(x: c_double) -> c_double;
        pub fn sqrt(x: c_double) -> c_double;
    }
}

const ERANGE: c_int = 34;
const EINVAL: c_int = 22;

fn errno_of<T>(c: &Converted<T>) -> c_int {
    match c.error {
        None => 0,
        Some(ConvError::Range) => ERANGE,
        Some(ConvError::Base) => EINVAL,
    }
}

/// Runs glibc's `f` on `s`: the value, the end offset and errno.
fn theirs<T>(
    s: &CString,
    f: impl FnOnce(*const c_char, *mut *mut c_char) -> T,
) -> (T, usize, c_int) {
    let mut end = null_mut();
    // SAFETY: glibc's errno slot of this thread.
    unsafe { *libc::__errno_location() = 0 };
    let v = f(s.as_ptr(), &mut end);
    // SAFETY: as above.
    let errno = unsafe { *libc::__errno_location() };
    (v, offset(s, end), errno)
}

/// Runs ours the same way.
fn ours_of<T>(
    s: &CString,
    f: impl FnOnce(*const c_char, *mut *mut c_char) -> Converted<T>,
) -> (T, usize, c_int) {
    let mut end = null_mut();
    let c = f(s.as_ptr(), &mut end);
    let errno = errno_of(&c);
    (c.value, offset(s, end), errno)
}

/// Where `end` points in `s`; `usize::MAX` if it was left null.
fn offset(s: &CString, end: *mut c_char) -> usize {
    if end.is_null() {
        usize::MAX
    } else {
        end as usize - s.as_ptr() as usize
    }
}

macro_rules! same_int {
    ($f:ident, $s:expr, $base:expr) => {{
        let s = CString::new($s).unwrap();
        // SAFETY: `s` is NUL-terminated and `end` writable, for both.
        let t = theirs(&s, |p, e| unsafe { libc::$f(p, e, $base) });
        // SAFETY: as above.
        let o = ours_of(&s, |p, e| unsafe { ours::$f(p, e, $base) });
        assert_eq!(o, t, "{}({:?}, {})", stringify!($f), $s, $base);
    }};
}

fn all_integer_functions(s: &str, base: c_int) {
    same_int!(strtol, s, base);
    same_int!(strtoul, s, base);
    same_int!(strtoll, s, base);
    same_int!(strtoull, s, base);
}

#[test]
fn integers_match_glibc() {
    let inputs = [
        "0",
        "42",
        "  -42",
        "+7",
        "\t\n\x0b\x0c\r 9",
        "0x1A",
        "0X1a",
        "0x",
        "0xz",
        "-0x10",
        "017",
        "08",
        "0",
        "",
        "   ",
        "-",
        "+",
        "--1",
        "+-1",
        "12abc",
        "zz",
        "Zz9",
        "1010",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551615",
        "-18446744073709551616",
        "99999999999999999999999999",
        "0xffffffffffffffff",
        "0x10000000000000000",
        "-1",
        "2147483648",
        "4294967296",
    ];
    for s in inputs {
        for base in [0, 2, 8, 10, 16, 36, 1, 37, -1] {
            all_integer_functions(s, base);
        }
    }
}

#[test]
fn ato_functions_match_glibc() {
    for s in [
        "0",
        "  -123xyz",
        "+2147483647",
        "-2147483648",
        "junk",
        "0x10",
        "  7 8",
    ] {
        let c = CString::new(s).unwrap();
        // SAFETY: NUL-terminated strings.
        unsafe {
            assert_eq!(ours::atoi(c.as_ptr()), libc::atoi(c.as_ptr()), "atoi {s:?}");
            assert_eq!(ours::atol(c.as_ptr()), libc::atol(c.as_ptr()), "atol {s:?}");
        }
    }
}

fn same_double(s: &str) {
    let c = CString::new(s).unwrap();
    // SAFETY: `c` is NUL-terminated and `end` writable, for both.
    let (tv, tend, terr) = theirs(&c, |p, e| unsafe { libc::strtod(p, e) });
    // SAFETY: as above.
    let (ov, oend, oerr) = ours_of(&c, |p, e| unsafe { ours::strtod(p, e) });
    let bits = |v: f64| if v.is_nan() { u64::MAX } else { v.to_bits() };
    assert_eq!(
        (bits(ov), oend, oerr),
        (bits(tv), tend, terr),
        "strtod({s:?}): {ov} vs {tv}"
    );
    // SAFETY: NUL-terminated.
    let (oa, ta) = unsafe { (ours::atof(c.as_ptr()), libc::atof(c.as_ptr())) };
    assert_eq!(bits(oa), bits(ta), "atof({s:?})");
}

#[test]
fn doubles_match_glibc() {
    let inputs = [
        "1.5",
        "-0.25",
        "3e2",
        "  12abc",
        "0",
        "-0",
        "0.0",
        ".5",
        "5.",
        ".",
        "-.",
        "+.e1",
        "1e",
        "1e+",
        "1e-2",
        "1E2x",
        "0.1",
        "0.3",
        "123456789012345678901234567890",
        "3.14159265358979",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "1e308",
        "1e309",
        "-1e309",
        "1e-330",
        "0e-999",
        "4.9e-324",
        "inf",
        "-INF",
        "infinity",
        "Infinityx",
        "infinit",
        "nan",
        "-nan",
        "nan(123)",
        "nan(",
        "nanx",
        "0x1p4",
        "0x1.8",
        "-0x.8p1",
        "0x",
        "0xp1",
        "0x1p",
        "0X10P-2",
        "  \t+42.0e0",
        "e5",
        "12.34.56",
        "0.000001",
        "1000000.0",
    ];
    for s in inputs {
        same_double(s);
    }
}

#[test]
fn case_blind_comparisons_match_glibc() {
    let words = [
        "", "a", "A", "ab", "AB", "aB", "b", "_", "[", "`", "{", "Doom", "DOOM2", "\u{e9}",
    ];
    for a in words {
        for b in words {
            let (ca, cb) = (CString::new(a).unwrap(), CString::new(b).unwrap());
            // SAFETY: NUL-terminated strings.
            unsafe {
                let o = crt::string::strcasecmp(ca.as_ptr(), cb.as_ptr()).signum();
                let t = libc::strcasecmp(ca.as_ptr(), cb.as_ptr()).signum();
                assert_eq!(o, t, "strcasecmp({a:?}, {b:?})");
                for n in 0..4 {
                    let o = crt::string::strncasecmp(ca.as_ptr(), cb.as_ptr(), n).signum();
                    let t = libc::strncasecmp(ca.as_ptr(), cb.as_ptr(), n).signum();
                    assert_eq!(o, t, "strncasecmp({a:?}, {b:?}, {n})");
                }
            }
        }
    }
}

unsafe extern "C" fn by_key(a: *const c_void, b: *const c_void) -> c_int {
    // SAFETY: the arrays sorted below hold (key, tag) pairs of u16.
    let (a, b) = unsafe { (*a.cast::<[u16; 2]>(), *b.cast::<[u16; 2]>()) };
    a[0].cmp(&b[0]) as c_int
}

fn double() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        (-1e6f64..1e6),
        (-100i32..100).prop_map(f64::from),
        (any::<i32>(), -60i32..60).prop_map(|(m, e)| f64::from(m) * 2f64.powi(e)),
    ]
}

proptest! {
    #[test]
    fn integer_text_matches_glibc(s in "[ \t+-]{0,2}(0[xX]?)?[0-9a-zA-Z]{0,24}", base in 0..=37) {
        all_integer_functions(&s, base);
    }

    #[test]
    fn decimal_text_matches_glibc(s in " ?[+-]?[0-9]{0,20}(\\.[0-9]{0,20})?([eE][+-]?[0-9]{1,3})?[a-z]?") {
        same_double(&s);
    }

    #[test]
    fn math_matches_glibc(x in double(), y in double()) {
        let bits = |v: f64| if v.is_nan() { u64::MAX } else { v.to_bits() };
        // SAFETY: pure functions of their arguments.
        unsafe {
            prop_assert_eq!(bits(crt::math::fmod(x, y)), bits(libc::fmod(x, y)), "fmod({}, {})", x, y);
            prop_assert_eq!(bits(crt::math::floor(x)), bits(libc::floor(x)), "floor({})", x);
            prop_assert_eq!(bits(crt::math::ceil(x)), bits(libc::ceil(x)), "ceil({})", x);
            prop_assert_eq!(bits(crt::math::sqrt(x)), bits(libc::sqrt(x)), "sqrt({})", x);
        }
    }

    #[test]
    fn qsort_sorts_and_bsearch_finds(keys in prop::collection::vec(0u16..50, 0..300), probe in 0u16..60) {
        let mut v: Vec<[u16; 2]> = keys.iter().enumerate().map(|(i, &k)| [k, i as u16]).collect();
        let mut want = v.clone();
        want.sort_by_key(|e| e[0]);
        // SAFETY: `v` holds `len` 4-byte elements; `by_key` reads them.
        unsafe { ours::qsort(v.as_mut_ptr().cast(), v.len(), 4, by_key) };
        prop_assert_eq!(v.iter().map(|e| e[0]).collect::<Vec<_>>(), want.iter().map(|e| e[0]).collect::<Vec<_>>());
        let mut tags: Vec<u16> = v.iter().map(|e| e[1]).collect();
        tags.sort();
        prop_assert_eq!(tags, (0..v.len() as u16).collect::<Vec<_>>(), "a permutation");
        let key = [probe, 0];
        // SAFETY: as above; `key` is one element.
        let p = unsafe { ours::bsearch((&raw const key).cast(), v.as_ptr().cast(), v.len(), 4, by_key) };
        if keys.contains(&probe) {
            prop_assert!(!p.is_null());
            // SAFETY: bsearch returned an element of `v`.
            prop_assert_eq!(unsafe { *p.cast::<[u16; 2]>() }[0], probe);
        } else {
            prop_assert!(p.is_null());
        }
    }
}
