//! `<string.h>` functions on NUL-terminated C strings.
//!
//! Comparisons treat characters as `unsigned char`, as C requires.

use core::ffi::{c_char, c_int};
use core::ptr::null_mut;

/// Reads byte `i` of `s`.
///
/// # Safety
/// `s + i` must be readable.
#[inline(always)]
unsafe fn at(s: *const c_char, i: usize) -> u8 {
    // SAFETY: the caller guarantees `s + i` is readable.
    unsafe { *s.add(i).cast::<u8>() }
}

/// Length of `s`, not counting the NUL.
///
/// # Safety
/// `s` must point to a NUL-terminated string.
// LLVM turns byte-counting loops into calls to `strlen`, so every image
// needs one of its own (feature `intrinsics`).
#[cfg_attr(feature = "intrinsics", unsafe(no_mangle))]
pub unsafe extern "C" fn strlen(s: *const c_char) -> usize {
    let mut n = 0;
    // SAFETY: every byte up to and including the NUL is readable.
    while unsafe { at(s, n) } != 0 {
        n += 1;
    }
    n
}

/// Length of `s`, at most `max` (reads no further than `max` bytes).
///
/// # Safety
/// `s` must be readable up to its NUL or for `max` bytes, whichever is first.
pub unsafe extern "C" fn strnlen(s: *const c_char, max: usize) -> usize {
    let mut n = 0;
    // SAFETY: n < max, and no NUL has been seen before n.
    while n < max && unsafe { at(s, n) } != 0 {
        n += 1;
    }
    n
}

/// Compares two strings: <0, 0 or >0.
///
/// # Safety
/// Both must be NUL-terminated strings.
pub unsafe extern "C" fn strcmp(a: *const c_char, b: *const c_char) -> c_int {
    // SAFETY: both strings are NUL-terminated; usize::MAX never limits.
    unsafe { strncmp(a, b, usize::MAX) }
}

/// Compares at most `n` characters of two strings.
///
/// # Safety
/// Both must be readable up to their NUL or for `n` bytes.
pub unsafe extern "C" fn strncmp(a: *const c_char, b: *const c_char, n: usize) -> c_int {
    for i in 0..n {
        // SAFETY: no NUL was seen before i in either string, and i < n.
        let (x, y) = unsafe { (at(a, i), at(b, i)) };
        if x != y || x == 0 {
            return c_int::from(x) - c_int::from(y);
        }
    }
    0
}

/// Copies `src` with its NUL to `dst`; returns `dst`.
///
/// # Safety
/// `src` NUL-terminated; `dst` writable for `strlen(src) + 1` bytes; no
/// overlap.
pub unsafe extern "C" fn strcpy(dst: *mut c_char, src: *const c_char) -> *mut c_char {
    let mut i = 0;
    loop {
        // SAFETY: i is at most strlen(src), inside both buffers.
        let c = unsafe { at(src, i) };
        // SAFETY: as above.
        unsafe { *dst.add(i) = c as c_char };
        if c == 0 {
            return dst;
        }
        i += 1;
    }
}

/// Copies at most `n` bytes of `src`, padding `dst` with NULs up to `n`
/// (so `dst` is not terminated when `src` is `n` bytes or longer).
///
/// # Safety
/// `dst` writable for `n` bytes; `src` readable up to its NUL or `n` bytes.
pub unsafe extern "C" fn strncpy(dst: *mut c_char, src: *const c_char, n: usize) -> *mut c_char {
    // SAFETY: the caller's guarantees, as documented.
    let len = unsafe { strnlen(src, n) };
    for i in 0..n {
        // SAFETY: i < len reads inside src; i < n writes inside dst.
        let c = if i < len { unsafe { at(src, i) } } else { 0 };
        // SAFETY: i < n.
        unsafe { *dst.add(i) = c as c_char };
    }
    dst
}

/// Appends `src` to `dst`; returns `dst`.
///
/// # Safety
/// Both NUL-terminated; `dst` has room for the result; no overlap.
pub unsafe extern "C" fn strcat(dst: *mut c_char, src: *const c_char) -> *mut c_char {
    // SAFETY: the caller's guarantees, as documented.
    unsafe { strcpy(dst.add(strlen(dst)), src) };
    dst
}

/// Appends at most `n` bytes of `src` to `dst`, then a NUL.
///
/// # Safety
/// `dst` NUL-terminated with room for `min(n, strlen(src)) + 1` more bytes;
/// `src` readable up to its NUL or `n` bytes; no overlap.
pub unsafe extern "C" fn strncat(dst: *mut c_char, src: *const c_char, n: usize) -> *mut c_char {
    // SAFETY: the caller's guarantees, as documented.
    unsafe {
        let end = dst.add(strlen(dst));
        let len = strnlen(src, n);
        for i in 0..len {
            *end.add(i) = at(src, i) as c_char;
        }
        *end.add(len) = 0;
    }
    dst
}

/// The first `(char)c` in `s` (the terminator itself when `c` is 0).
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn strchr(s: *const c_char, c: c_int) -> *mut c_char {
    let c = c as u8;
    let mut i = 0;
    loop {
        // SAFETY: i never passes the NUL.
        let x = unsafe { at(s, i) };
        if x == c {
            // SAFETY: the same in-range offset.
            return unsafe { s.add(i) }.cast_mut();
        }
        if x == 0 {
            return null_mut();
        }
        i += 1;
    }
}

/// The last `(char)c` in `s` (the terminator itself when `c` is 0).
///
/// # Safety
/// `s` must be NUL-terminated.
pub unsafe extern "C" fn strrchr(s: *const c_char, c: c_int) -> *mut c_char {
    let c = c as u8;
    let mut found = null_mut();
    let mut i = 0;
    loop {
        // SAFETY: i never passes the NUL.
        let x = unsafe { at(s, i) };
        if x == c {
            // SAFETY: the same in-range offset.
            found = unsafe { s.add(i) }.cast_mut();
        }
        if x == 0 {
            return found;
        }
        i += 1;
    }
}

/// The first occurrence of `needle` in `hay` (`hay` itself for an empty
/// needle), or null.
///
/// # Safety
/// Both must be NUL-terminated.
pub unsafe extern "C" fn strstr(hay: *const c_char, needle: *const c_char) -> *mut c_char {
    // SAFETY: both strings are NUL-terminated.
    let n = unsafe { strlen(needle) };
    let mut i = 0;
    loop {
        // SAFETY: strncmp stops at the NUL of the haystack's tail, which
        // lies at or after offset i (checked below before advancing).
        if unsafe { strncmp(hay.add(i), needle, n) } == 0 {
            // SAFETY: offset i is inside hay.
            return unsafe { hay.add(i) }.cast_mut();
        }
        // SAFETY: i is not past the NUL of hay.
        if unsafe { at(hay, i) } == 0 {
            return null_mut();
        }
        i += 1;
    }
}

/// Compares at most `n` characters of two strings, ignoring ASCII case
/// (both sides as lower case, as glibc compares).
///
/// # Safety
/// Both must be readable up to their NUL or for `n` bytes.
pub unsafe extern "C" fn strncasecmp(a: *const c_char, b: *const c_char, n: usize) -> c_int {
    for i in 0..n {
        // SAFETY: no NUL was seen before i in either string, and i < n.
        let (x, y) = unsafe { (at(a, i), at(b, i)) };
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y || x == 0 {
            return c_int::from(x) - c_int::from(y);
        }
    }
    0
}

/// Compares two strings ignoring ASCII case: <0, 0 or >0.
///
/// # Safety
/// Both must be NUL-terminated strings.
pub unsafe extern "C" fn strcasecmp(a: *const c_char, b: *const c_char) -> c_int {
    // SAFETY: both strings are NUL-terminated; usize::MAX never limits.
    unsafe { strncasecmp(a, b, usize::MAX) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::ffi::CStr;

    fn p(s: &CStr) -> *const c_char {
        s.as_ptr()
    }

    fn off(base: *const c_char, q: *mut c_char) -> Option<usize> {
        (!q.is_null()).then(|| q as usize - base as usize)
    }

    #[test]
    fn lengths_and_comparisons() {
        // SAFETY: every argument is a NUL-terminated literal.
        unsafe {
            assert_eq!(strlen(p(c"")), 0);
            assert_eq!(strlen(p(c"ferrite")), 7);
            assert_eq!(strnlen(p(c"ferrite"), 3), 3);
            assert_eq!(strnlen(p(c"fe"), 9), 2);
            assert_eq!(strcmp(p(c"abc"), p(c"abc")), 0);
            assert!(strcmp(p(c"abc"), p(c"abd")) < 0);
            assert!(strcmp(p(c"abc"), p(c"ab")) > 0);
            assert!(strcmp(p(c"\xe9"), p(c"a")) > 0, "unsigned compare");
            assert_eq!(strncmp(p(c"abcX"), p(c"abcY"), 3), 0);
            assert!(strncmp(p(c"abcX"), p(c"abcY"), 4) < 0);
            assert_eq!(strncmp(p(c"a"), p(c"b"), 0), 0);
        }
    }

    #[test]
    fn copies_and_appends() {
        let mut buf = [0x55 as c_char; 16];
        let b = buf.as_mut_ptr();
        // SAFETY: every write stays inside the 16-byte buffer.
        unsafe {
            strcpy(b, p(c"doom"));
            assert_eq!(CStr::from_ptr(b), c"doom");
            strcat(b, p(c"guy"));
            assert_eq!(CStr::from_ptr(b), c"doomguy");
            strncat(b, p(c"12345"), 2);
            assert_eq!(CStr::from_ptr(b), c"doomguy12");
            strncpy(b, p(c"ab"), 5);
            assert_eq!(&buf[..6], &[97, 98, 0, 0, 0, 117]);
            strncpy(b, p(c"wxyz"), 2);
            assert_eq!(&buf[..3], &[119, 120, 0]);
        }
    }

    #[test]
    fn searches() {
        let s = p(c"a/b/c");
        // SAFETY: every argument is a NUL-terminated literal.
        unsafe {
            assert_eq!(off(s, strchr(s, c_int::from(b'/'))), Some(1));
            assert_eq!(off(s, strrchr(s, c_int::from(b'/'))), Some(3));
            assert_eq!(off(s, strchr(s, 0)), Some(5));
            assert_eq!(off(s, strrchr(s, 0)), Some(5));
            assert_eq!(off(s, strchr(s, c_int::from(b'x'))), None);
            assert_eq!(off(s, strstr(s, p(c"b/c"))), Some(2));
            assert_eq!(off(s, strstr(s, p(c""))), Some(0));
            assert_eq!(off(s, strstr(s, p(c"c/"))), None);
            assert_eq!(off(s, strstr(p(c""), p(c"x"))), None);
        }
    }

    #[test]
    fn case_blind_comparisons() {
        // SAFETY: every argument is a NUL-terminated literal.
        unsafe {
            assert_eq!(strcasecmp(p(c"DOOM2.WAD"), p(c"doom2.wad")), 0);
            assert!(strcasecmp(p(c"abc"), p(c"ABD")) < 0);
            assert!(strcasecmp(p(c"ABC"), p(c"ab")) > 0);
            assert!(strcasecmp(p(c"_"), p(c"a")) < 0, "'_' is below 'a'");
            assert_eq!(strncasecmp(p(c"-IWADx"), p(c"-iwady"), 5), 0);
            assert!(strncasecmp(p(c"-IWADx"), p(c"-iwady"), 6) < 0);
            assert_eq!(strncasecmp(p(c"a"), p(c"B"), 0), 0);
        }
    }
}
