//! `<stdlib.h>` numbers and algorithms: strtol and friends, strtod, atoi,
//! abs, qsort, bsearch, rand.
//!
//! The conversions that set `errno` (`strto*`) return a [`Converted`]
//! holding the value and the error, and runtime.dll exports them (it owns
//! `errno`), as it does the rest (`runtime-dll/src/cnames.rs`). `long` is 32 bits on the Windows target (LLP64) and
//! 64 on the Linux host: `c_long` follows the target, and the parsing is
//! written once for any width.

use crate::ctype::isspace;
use core::ffi::{c_char, c_int, c_long, c_longlong, c_uint, c_ulong, c_ulonglong, c_void};
use core::sync::atomic::{AtomicU32, Ordering};

/// What went wrong in a conversion (runtime.dll maps it to `errno`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvError {
    /// The value was out of range (`ERANGE`); the result is clamped.
    Range,
    /// The base was not 0 or 2..=36 (`EINVAL`); nothing was read.
    Base,
}

/// A conversion's result: the value, and the error if there was one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Converted<T> {
    /// The value (clamped on a range error).
    pub value: T,
    /// The error to put in `errno`, if any.
    pub error: Option<ConvError>,
}

/// An integer as `strtol` reads it, before it is fitted to a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntText {
    /// A `-` sign came first.
    pub negative: bool,
    /// The digits' value, if it fits in 64 bits.
    pub magnitude: Option<u64>,
    /// Bytes read, from the start of the input; 0 when there is no number.
    pub len: usize,
}

fn space(b: u8) -> bool {
    isspace(c_int::from(b)) != 0
}

fn digit(b: u8, base: u32) -> Option<u32> {
    char::from(b).to_digit(base)
}

/// Reads the longest prefix of `s` that is an integer in `base` (0: the
/// prefix decides: `0x` hexadecimal, `0` octal, else decimal; 16 also
/// takes a `0x`), after spaces and one sign. `None` for a bad base.
pub fn scan_integer(s: &[u8], base: u32) -> Option<IntText> {
    if base == 1 || base > 36 {
        return None;
    }
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = s.iter().take_while(|&&b| space(b)).count();
    let negative = at(i) == b'-';
    if matches!(at(i), b'-' | b'+') {
        i += 1;
    }
    let hex_prefix = at(i) == b'0' && at(i + 1) | 0x20 == b'x' && digit(at(i + 2), 16).is_some();
    let base = match base {
        0 if hex_prefix => 16,
        0 if at(i) == b'0' => 8,
        0 => 10,
        b => b,
    };
    if base == 16 && hex_prefix {
        i += 2;
    }
    let start = i;
    let mut magnitude = Some(0u64);
    while let Some(d) = digit(at(i), base) {
        magnitude = magnitude
            .and_then(|m| m.checked_mul(u64::from(base)))
            .and_then(|m| m.checked_add(u64::from(d)));
        i += 1;
    }
    let len = if i == start { 0 } else { i };
    Some(IntText {
        negative,
        magnitude,
        len,
    })
}

impl IntText {
    /// The value for a signed type of range `min..=max` (`strtol`).
    pub fn signed(&self, min: i64, max: i64) -> Converted<i64> {
        let m = self.magnitude;
        let (value, over) = if self.negative {
            let limit = min.unsigned_abs();
            match m {
                Some(m) if m <= limit => (0i64.wrapping_sub_unsigned(m), false),
                _ => (min, true),
            }
        } else {
            match m {
                Some(m) if m <= max as u64 => (m as i64, false),
                _ => (max, true),
            }
        };
        Converted {
            value,
            error: over.then_some(ConvError::Range),
        }
    }

    /// The value for an unsigned type of maximum `max` (`strtoul`: a
    /// negative number is negated in the type, as C says).
    pub fn unsigned(&self, max: u64) -> Converted<u64> {
        match self.magnitude {
            Some(m) if m <= max => Converted {
                value: if self.negative {
                    m.wrapping_neg() & max
                } else {
                    m
                },
                error: None,
            },
            _ => Converted {
                value: max,
                error: Some(ConvError::Range),
            },
        }
    }
}

/// The bytes of the C string `s`.
///
/// # Safety
/// `s` must be a NUL-terminated string that outlives the result.
unsafe fn bytes<'a>(s: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(s.cast::<u8>(), crate::string::strlen(s)) }
}

/// Stores `s + len` (or `s` when `len` is 0: nothing was read) in `*end`.
///
/// # Safety
/// `end` must be null or writable; `len` at most `strlen(s)`.
unsafe fn set_end(end: *mut *mut c_char, s: *const c_char, len: usize) {
    if !end.is_null() {
        // SAFETY: the caller's contract.
        unsafe { *end = s.add(len).cast_mut() };
    }
}

/// `strtol`-shaped: reads an integer, stores the end, fits it with `fit`.
///
/// # Safety
/// `s` NUL-terminated; `end` null or writable.
unsafe fn strto<T: Copy + Default>(
    s: *const c_char,
    end: *mut *mut c_char,
    base: c_int,
    fit: impl FnOnce(&IntText) -> Converted<T>,
) -> Converted<T> {
    // SAFETY: the caller's contract.
    let text = u32::try_from(base)
        .ok()
        .and_then(|b| scan_integer(unsafe { bytes(s) }, b));
    let Some(text) = text else {
        // `*end` is left alone, as glibc leaves it.
        return Converted {
            value: T::default(),
            error: Some(ConvError::Base),
        };
    };
    // SAFETY: `text.len` is inside the string.
    unsafe { set_end(end, s, text.len) };
    fit(&text)
}

/// `strtol`: a `long` (32 bits on Windows).
///
/// # Safety
/// `s` must be NUL-terminated; `end` null or writable.
// `long` is 32 bits on the Windows target and 64 on the host: the
// conversion does something on one of them.
#[allow(clippy::useless_conversion)]
pub unsafe fn strtol(s: *const c_char, end: *mut *mut c_char, base: c_int) -> Converted<c_long> {
    let (min, max) = (i64::from(c_long::MIN), i64::from(c_long::MAX));
    // SAFETY: the caller's contract.
    unsafe { strto(s, end, base, |t| narrow(t.signed(min, max))) }
}

/// `strtoll`: a `long long`.
///
/// # Safety
/// As for [`strtol`].
pub unsafe fn strtoll(
    s: *const c_char,
    end: *mut *mut c_char,
    base: c_int,
) -> Converted<c_longlong> {
    // SAFETY: the caller's contract.
    unsafe { strto(s, end, base, |t| t.signed(i64::MIN, i64::MAX)) }
}

/// `strtoul`: an `unsigned long`.
///
/// # Safety
/// As for [`strtol`].
// `long` is 32 bits on the Windows target and 64 on the host: the
// conversion does something on one of them.
#[allow(clippy::useless_conversion)]
pub unsafe fn strtoul(s: *const c_char, end: *mut *mut c_char, base: c_int) -> Converted<c_ulong> {
    // SAFETY: the caller's contract.
    unsafe {
        strto(s, end, base, |t| {
            narrow(t.unsigned(u64::from(c_ulong::MAX)))
        })
    }
}

/// `strtoull`: an `unsigned long long`.
///
/// # Safety
/// As for [`strtol`].
pub unsafe fn strtoull(
    s: *const c_char,
    end: *mut *mut c_char,
    base: c_int,
) -> Converted<c_ulonglong> {
    // SAFETY: the caller's contract.
    unsafe { strto(s, end, base, |t| t.unsigned(u64::MAX)) }
}

/// A converted value in the narrower type it was clamped to.
fn narrow<A, B: TryFrom<A> + Default>(c: Converted<A>) -> Converted<B> {
    Converted {
        value: B::try_from(c.value).unwrap_or_default(),
        error: c.error,
    }
}

/// `strtod`: a `double`.
///
/// # Safety
/// As for [`strtol`].
pub unsafe fn strtod(s: *const c_char, end: *mut *mut c_char) -> Converted<f64> {
    // SAFETY: the caller's contract.
    let (value, len, range) = crate::math::scan_float(unsafe { bytes(s) });
    // SAFETY: `len` is inside the string.
    unsafe { set_end(end, s, len) };
    Converted {
        value,
        error: range.then_some(ConvError::Range),
    }
}

/// `atoi`: a decimal `int` (clamped when out of range, as MSVC's is).
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn atoi(s: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    let t = scan_integer(unsafe { bytes(s) }, 10);
    let v = t.map_or(0, |t| t.signed(c_int::MIN.into(), c_int::MAX.into()).value);
    v as c_int
}

/// `atol`: a decimal `long`.
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn atol(s: *const c_char) -> c_long {
    // SAFETY: the caller's contract.
    unsafe { strtol(s, core::ptr::null_mut(), 10) }.value
}

/// `atoll`: a decimal `long long`.
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn atoll(s: *const c_char) -> c_longlong {
    // SAFETY: the caller's contract.
    unsafe { strtoll(s, core::ptr::null_mut(), 10) }.value
}

/// `atof`: `strtod(s, NULL)`.
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn atof(s: *const c_char) -> f64 {
    // SAFETY: the caller's contract.
    unsafe { strtod(s, core::ptr::null_mut()) }.value
}

/// `abs` (`abs(INT_MIN)` is `INT_MIN`, as two's complement gives).
pub extern "C" fn abs(n: c_int) -> c_int {
    n.wrapping_abs()
}

/// `labs`.
pub extern "C" fn labs(n: c_long) -> c_long {
    n.wrapping_abs()
}

/// `llabs`.
pub extern "C" fn llabs(n: c_longlong) -> c_longlong {
    n.wrapping_abs()
}

/// A `qsort`/`bsearch` comparison function.
pub type Compare = unsafe extern "C" fn(*const c_void, *const c_void) -> c_int;

/// Swaps elements `i` and `j` (`size` bytes each) of `base`.
///
/// # Safety
/// Both elements must lie inside the array.
unsafe fn swap(base: *mut u8, size: usize, i: usize, j: usize) {
    if i != j {
        // SAFETY: distinct elements of the array do not overlap.
        unsafe { core::ptr::swap_nonoverlapping(base.add(i * size), base.add(j * size), size) };
    }
}

/// Moves element `root` down the max-heap of the first `n` elements.
///
/// # Safety
/// As for [`qsort`], with `n` at most the array's length.
unsafe fn sift_down(base: *mut u8, size: usize, cmp: Compare, mut root: usize, n: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= n {
            return;
        }
        // SAFETY: every index used is below n.
        unsafe {
            let at = |i: usize| base.add(i * size).cast::<c_void>().cast_const();
            if child + 1 < n && cmp(at(child), at(child + 1)) < 0 {
                child += 1;
            }
            if cmp(at(root), at(child)) >= 0 {
                return;
            }
            swap(base, size, root, child);
        }
        root = child;
    }
}

/// `qsort`: sorts `n` elements of `size` bytes in place (heapsort: no
/// recursion, no allocation, not stable).
///
/// # Safety
/// `base` must hold `n` elements of `size` bytes, readable and writable;
/// `cmp` must be a comparison that is safe to call on any two of them.
pub unsafe extern "C" fn qsort(base: *mut c_void, n: usize, size: usize, cmp: Compare) {
    if n < 2 || size == 0 {
        return;
    }
    let base = base.cast::<u8>();
    // SAFETY: all indexes are below n (the caller's array).
    unsafe {
        for root in (0..n / 2).rev() {
            sift_down(base, size, cmp, root, n);
        }
        for end in (1..n).rev() {
            swap(base, size, 0, end);
            sift_down(base, size, cmp, 0, end);
        }
    }
}

/// `bsearch`: an element of the sorted array equal to `*key`, or null.
///
/// # Safety
/// `base` must hold `n` elements of `size` bytes sorted by `cmp`, which
/// must be safe to call with `key` and any element.
pub unsafe extern "C" fn bsearch(
    key: *const c_void,
    base: *const c_void,
    n: usize,
    size: usize,
    cmp: Compare,
) -> *mut c_void {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // SAFETY: mid < n, inside the caller's array.
        let elem = unsafe { base.cast::<u8>().add(mid * size) }.cast::<c_void>();
        // SAFETY: the caller's contract.
        match unsafe { cmp(key, elem) } {
            0 => return elem.cast_mut(),
            c if c < 0 => hi = mid,
            _ => lo = mid + 1,
        }
    }
    core::ptr::null_mut()
}

/// `RAND_MAX`.
pub const RAND_MAX: c_int = 0x7fff;

static SEED: AtomicU32 = AtomicU32::new(1);

fn next(state: u32) -> u32 {
    // A linear congruential step with the multiplier and increment that
    // Microsoft's C runtime uses, so sequences match MSVC's.
    state.wrapping_mul(214_013).wrapping_add(2_531_011)
}

/// `srand`: restarts the `rand` sequence from `seed`.
pub extern "C" fn srand(seed: c_uint) {
    SEED.store(seed, Ordering::Relaxed);
}

/// `rand`: the next number of the sequence, 0..=`RAND_MAX`.
pub extern "C" fn rand() -> c_int {
    let old = SEED
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(next(s)))
        .unwrap_or(1);
    ((next(old) >> 16) & 0x7fff) as c_int
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(s: &str, base: u32) -> (bool, Option<u64>, usize) {
        let t = scan_integer(s.as_bytes(), base).unwrap();
        (t.negative, t.magnitude, t.len)
    }

    #[test]
    fn integers_and_their_prefixes() {
        assert_eq!(int("  42z", 10), (false, Some(42), 4));
        assert_eq!(int("\t-17", 0), (true, Some(17), 4));
        assert_eq!(int("+0x1F", 0), (false, Some(31), 5));
        assert_eq!(int("0X1f", 16), (false, Some(31), 4));
        assert_eq!(int("1f", 16), (false, Some(31), 2));
        assert_eq!(int("0x", 0), (false, Some(0), 1), "just the 0");
        assert_eq!(int("0xg", 16), (false, Some(0), 1));
        assert_eq!(int("0755", 0), (false, Some(0o755), 4));
        assert_eq!(int("089", 0), (false, Some(0), 1));
        assert_eq!(int("zz", 36), (false, Some(35 * 36 + 35), 2));
        assert_eq!(int("1012", 2), (false, Some(5), 3));
        assert_eq!(int("  -", 10).2, 0);
        assert_eq!(int("", 10).2, 0);
        assert_eq!(int("99999999999999999999", 10), (false, None, 20));
        assert_eq!(scan_integer(b"1", 1), None);
        assert_eq!(scan_integer(b"1", 37), None);
    }

    #[test]
    fn fitting_to_32_and_64_bits() {
        let t = |s: &str| scan_integer(s.as_bytes(), 0).unwrap();
        let l32 = |s: &str| t(s).signed(i32::MIN.into(), i32::MAX.into());
        fn ok<T>(value: T) -> Converted<T> {
            Converted { value, error: None }
        }
        fn range<T>(value: T) -> Converted<T> {
            let error = Some(ConvError::Range);
            Converted { value, error }
        }
        assert_eq!(l32("2147483647"), ok(2147483647));
        assert_eq!(l32("2147483648"), range(2147483647));
        assert_eq!(l32("-2147483648"), ok(-2147483648));
        assert_eq!(l32("-2147483649"), range(-2147483648));
        assert_eq!(l32("-99999999999999999999"), range(-2147483648));
        let u32max = u64::from(u32::MAX);
        assert_eq!(t("4294967295").unsigned(u32max), ok(u32max));
        assert_eq!(t("4294967296").unsigned(u32max), range(u32max));
        assert_eq!(t("-1").unsigned(u32max), ok(u32max));
        assert_eq!(t("-4294967295").unsigned(u32max), ok(1));
        assert_eq!(
            t("-0x8000000000000000").signed(i64::MIN, i64::MAX),
            ok(i64::MIN)
        );
        assert_eq!(t("-1").unsigned(u64::MAX), ok(u64::MAX));
    }

    #[test]
    fn abs_qsort_bsearch_rand() {
        assert_eq!((abs(-5), abs(5), abs(i32::MIN)), (5, 5, i32::MIN));
        assert_eq!(llabs(-1 << 40), 1 << 40);
        unsafe extern "C" fn by_value(a: *const c_void, b: *const c_void) -> c_int {
            // SAFETY: qsort and bsearch pass pointers to i32 elements.
            let (a, b) = unsafe { (*a.cast::<i32>(), *b.cast::<i32>()) };
            a.cmp(&b) as c_int
        }
        let mut v: Vec<i32> = (0..500).map(|i| (i * 7919 % 503) - 250).collect();
        let mut sorted = v.clone();
        sorted.sort();
        // SAFETY: `v` holds 500 i32s; `by_value` compares i32s.
        unsafe { qsort(v.as_mut_ptr().cast(), v.len(), 4, by_value) };
        assert_eq!(v, sorted);
        for key in [-250, 0, 249, 1000] {
            // SAFETY: as above; `key` is an i32.
            let p = unsafe {
                bsearch(
                    (&raw const key).cast(),
                    v.as_ptr().cast(),
                    v.len(),
                    4,
                    by_value,
                )
            };
            let want = v.binary_search(&key).ok();
            assert_eq!(
                (!p.is_null()).then(|| (p as usize - v.as_ptr() as usize) / 4),
                want
            );
        }
        srand(1);
        let first: Vec<c_int> = (0..3).map(|_| rand()).collect();
        assert_eq!(
            first,
            [41, 18467, 6334],
            "MSVC's first numbers after srand(1)"
        );
    }
}
