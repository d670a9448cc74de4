//! The C runtime's pure functions under their C names: `<string.h>`,
//! `<ctype.h>`, `<stdlib.h>`'s conversions, sorting and `rand`, and
//! `<math.h>`, each a call into the `crt` crate.
//!
//! They are exported here, not by `crt` itself, so that programs get them
//! from runtime.dll: the only C-named functions `crt` defines are the ones
//! the compiler expects inside every image (`memcpy` and friends,
//! `strlen`, `__chkstk`, `_fltused`; feature `intrinsics`). A program therefore
//! carries no second copy of the C library, and state such as `rand`'s
//! seed is runtime.dll's alone.

use core::ffi::{c_char, c_int, c_long, c_longlong, c_uint, c_void};

/// Defines each `fn name(args) -> ret = path;` as the C export `name`
/// calling `path` with the same arguments.
macro_rules! c_exports {
    ($( fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $path:path; )*) => {
        $(
            #[doc = concat!("`", stringify!($name), "`, exported under its C name (`", stringify!($path), "`).")]
            ///
            /// # Safety
            /// The C function's contract (see the `crt` function it calls).
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
                // SAFETY: the caller keeps the C contract, which is the
                // crt function's.
                #[allow(unused_unsafe)]
                unsafe { $path($($arg),*) }
            }
        )*
    };
}

c_exports! {
    fn strnlen(s: *const c_char, max: usize) -> usize = crt::string::strnlen;
    fn strcmp(a: *const c_char, b: *const c_char) -> c_int = crt::string::strcmp;
    fn strncmp(a: *const c_char, b: *const c_char, n: usize) -> c_int = crt::string::strncmp;
    fn strcpy(dst: *mut c_char, src: *const c_char) -> *mut c_char = crt::string::strcpy;
    fn strncpy(dst: *mut c_char, src: *const c_char, n: usize) -> *mut c_char = crt::string::strncpy;
    fn strcat(dst: *mut c_char, src: *const c_char) -> *mut c_char = crt::string::strcat;
    fn strncat(dst: *mut c_char, src: *const c_char, n: usize) -> *mut c_char = crt::string::strncat;
    fn strchr(s: *const c_char, c: c_int) -> *mut c_char = crt::string::strchr;
    fn strrchr(s: *const c_char, c: c_int) -> *mut c_char = crt::string::strrchr;
    fn strstr(hay: *const c_char, needle: *const c_char) -> *mut c_char = crt::string::strstr;
    fn strcasecmp(a: *const c_char, b: *const c_char) -> c_int = crt::string::strcasecmp;
    fn strncasecmp(a: *const c_char, b: *const c_char, n: usize) -> c_int = crt::string::strncasecmp;
    fn isalpha(c: c_int) -> c_int = crt::ctype::isalpha;
    fn isdigit(c: c_int) -> c_int = crt::ctype::isdigit;
    fn isspace(c: c_int) -> c_int = crt::ctype::isspace;
    fn isupper(c: c_int) -> c_int = crt::ctype::isupper;
    fn islower(c: c_int) -> c_int = crt::ctype::islower;
    fn isalnum(c: c_int) -> c_int = crt::ctype::isalnum;
    fn isprint(c: c_int) -> c_int = crt::ctype::isprint;
    fn ispunct(c: c_int) -> c_int = crt::ctype::ispunct;
    fn isxdigit(c: c_int) -> c_int = crt::ctype::isxdigit;
    fn toupper(c: c_int) -> c_int = crt::ctype::toupper;
    fn tolower(c: c_int) -> c_int = crt::ctype::tolower;
    fn atoi(s: *const c_char) -> c_int = crt::stdlib::atoi;
    fn atol(s: *const c_char) -> c_long = crt::stdlib::atol;
    fn atoll(s: *const c_char) -> c_longlong = crt::stdlib::atoll;
    fn atof(s: *const c_char) -> f64 = crt::stdlib::atof;
    fn abs(n: c_int) -> c_int = crt::stdlib::abs;
    fn labs(n: c_long) -> c_long = crt::stdlib::labs;
    fn llabs(n: c_longlong) -> c_longlong = crt::stdlib::llabs;
    fn qsort(base: *mut c_void, n: usize, size: usize, cmp: crt::stdlib::Compare) = crt::stdlib::qsort;
    fn bsearch(key: *const c_void, base: *const c_void, n: usize, size: usize, cmp: crt::stdlib::Compare) -> *mut c_void = crt::stdlib::bsearch;
    fn srand(seed: c_uint) = crt::stdlib::srand;
    fn rand() -> c_int = crt::stdlib::rand;
    fn fabs(x: f64) -> f64 = crt::math::fabs;
    fn trunc(x: f64) -> f64 = crt::math::trunc;
    fn floor(x: f64) -> f64 = crt::math::floor;
    fn ceil(x: f64) -> f64 = crt::math::ceil;
    fn sqrt(x: f64) -> f64 = crt::math::sqrt;
    fn fmod(x: f64, y: f64) -> f64 = crt::math::fmod;
}
