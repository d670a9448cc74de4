//! The C runtime functions the engine takes from runtime.dll.
//!
//! The engine's C objects call these by their plain names; `raw-dylib`
//! makes the linker build their import thunks from these declarations
//! (as the Init library does for the native interface), so they bind to
//! runtime.dll's exports. Nothing in Rust calls them. `memcpy`,
//! `memset` and `strlen` are not here: every image has its own (the Init library's
//! `crt` intrinsics).
#![allow(dead_code)]

use core::ffi::{c_char, c_int, c_long, c_void};

#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    fn malloc(size: usize) -> *mut c_void;
    fn calloc(n: usize, size: usize) -> *mut c_void;
    fn realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn free(p: *mut c_void);
    fn strdup(s: *const c_char) -> *mut c_char;
    fn system(command: *const c_char) -> c_int;
    fn exit(status: c_int) -> !;
    fn _errno() -> *mut c_int;
    fn __acrt_iob_func(index: u32) -> *mut c_void;
    fn fopen(path: *const c_char, mode: *const c_char) -> *mut c_void;
    fn fclose(f: *mut c_void) -> c_int;
    fn fread(buf: *mut c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fwrite(buf: *const c_void, size: usize, n: usize, f: *mut c_void) -> usize;
    fn fseek(f: *mut c_void, offset: c_long, whence: c_int) -> c_int;
    fn ftell(f: *mut c_void) -> c_long;
    fn fflush(f: *mut c_void) -> c_int;
    fn fprintf(f: *mut c_void, fmt: *const c_char, ...) -> c_int;
    fn vfprintf(f: *mut c_void, fmt: *const c_char, args: *mut c_void) -> c_int;
    fn vsnprintf(buf: *mut c_char, n: usize, fmt: *const c_char, args: *mut c_void) -> c_int;
    fn snprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ...) -> c_int;
    fn sscanf(s: *const c_char, fmt: *const c_char, ...) -> c_int;
    fn puts(s: *const c_char) -> c_int;
    fn putchar(c: c_int) -> c_int;
    fn remove(path: *const c_char) -> c_int;
    fn rename(from: *const c_char, to: *const c_char) -> c_int;
    fn mkdir(path: *const c_char, mode: u32) -> c_int;
    fn strcmp(a: *const c_char, b: *const c_char) -> c_int;
    fn strncmp(a: *const c_char, b: *const c_char, n: usize) -> c_int;
    fn strcasecmp(a: *const c_char, b: *const c_char) -> c_int;
    fn strncasecmp(a: *const c_char, b: *const c_char, n: usize) -> c_int;
    fn strncpy(dst: *mut c_char, src: *const c_char, n: usize) -> *mut c_char;
    fn strchr(s: *const c_char, c: c_int) -> *mut c_char;
    fn strrchr(s: *const c_char, c: c_int) -> *mut c_char;
    fn strstr(hay: *const c_char, needle: *const c_char) -> *mut c_char;
    fn isspace(c: c_int) -> c_int;
    fn toupper(c: c_int) -> c_int;
    fn atoi(s: *const c_char) -> c_int;
    fn atof(s: *const c_char) -> f64;
    fn abs(n: c_int) -> c_int;
    fn fabs(x: f64) -> f64;
}
