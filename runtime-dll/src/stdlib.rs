//! `<stdlib.h>` conversions that set `errno`, and `system`.
//!
//! The parsing is `crt::stdlib`'s (host-tested against glibc); this glue
//! only stores `errno`. `atoi`, `atof`, `abs`, `qsort`, `rand`, ... and
//! `<math.h>` come from `crt` under their C names directly.

use core::ffi::{c_char, c_int, c_long, c_longlong, c_ulong, c_ulonglong};
use crt::stdlib::{ConvError, Converted};

/// `ERANGE` (MSVC's number).
const ERANGE: i32 = 34;
/// `EINVAL` (MSVC's number).
const EINVAL: i32 = 22;

fn value<T>(c: Converted<T>) -> T {
    match c.error {
        Some(ConvError::Range) => crate::file::set_errno(ERANGE),
        Some(ConvError::Base) => crate::file::set_errno(EINVAL),
        None => {}
    }
    c.value
}

/// `long strtol(const char *s, char **end, int base)` (32-bit `long`).
///
/// # Safety
/// `s` must be NUL-terminated; `end` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strtol(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_long {
    // SAFETY: the caller's contract.
    value(unsafe { crt::stdlib::strtol(s, end, base) })
}

/// `unsigned long strtoul(const char *s, char **end, int base)`.
///
/// # Safety
/// As for [`strtol`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strtoul(s: *const c_char, end: *mut *mut c_char, base: c_int) -> c_ulong {
    // SAFETY: the caller's contract.
    value(unsafe { crt::stdlib::strtoul(s, end, base) })
}

/// `long long strtoll(const char *s, char **end, int base)`.
///
/// # Safety
/// As for [`strtol`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strtoll(
    s: *const c_char,
    end: *mut *mut c_char,
    base: c_int,
) -> c_longlong {
    // SAFETY: the caller's contract.
    value(unsafe { crt::stdlib::strtoll(s, end, base) })
}

/// `unsigned long long strtoull(const char *s, char **end, int base)`.
///
/// # Safety
/// As for [`strtol`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strtoull(
    s: *const c_char,
    end: *mut *mut c_char,
    base: c_int,
) -> c_ulonglong {
    // SAFETY: the caller's contract.
    value(unsafe { crt::stdlib::strtoull(s, end, base) })
}

/// `double strtod(const char *s, char **end)`.
///
/// # Safety
/// As for [`strtol`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strtod(s: *const c_char, end: *mut *mut c_char) -> f64 {
    // SAFETY: the caller's contract.
    value(unsafe { crt::stdlib::strtod(s, end) })
}

/// `int system(const char *command)`: there is no command processor, so
/// `system(NULL)` is 0 and any command fails with -1.
#[unsafe(no_mangle)]
pub extern "C" fn system(command: *const c_char) -> c_int {
    if command.is_null() {
        0
    } else {
        -1
    }
}
