//! Ferrite's C runtime core: string.h, ctype.h, printf, CRT intrinsics.
//!
//! The pure logic of runtime.dll's C runtime lives here so that it builds
//! for the host and is unit-tested there (`cargo test -p crt`), and builds
//! unchanged for `x86_64-pc-windows-msvc`, where runtime.dll exports it.
//!
//! - [`format`]: the printf engine over an argument source and an output
//!   sink, with no pointers in it (`#![forbid(unsafe_code)]`).
//! - [`ctype`]: the `<ctype.h>` classifiers (safe).
//! - [`mem`], [`string`]: `<string.h>` over raw C pointers.
//! - [`stdio`]: the `FILE` stream engine over a backend (safe), `errno`
//!   codes and the `atexit` table; [`scan`]: the `sscanf` engine (safe).
//! - [`heap`]: `malloc`, `calloc`, `realloc`, `free` (talc over arenas
//!   from a growth callback) that refuse pointers they never returned.
//! - [`stdlib`]: `strtol`/`strtod` and friends, `atoi`, `abs`, `qsort`,
//!   `bsearch`, `rand`; [`math`]: `fabs`, `floor`, `ceil`, `sqrt`, `fmod`.
//! - `msvc` (feature `intrinsics` on Windows targets): `__chkstk` and
//!   `_fltused`, which the MSVC target's code generator expects a CRT to
//!   provide.
//!
//! With the `intrinsics` feature the functions the compiler expects inside
//! every image are defined under their C names (`memcpy`, `memmove`,
//! `memset`, `memcmp`, `memchr`, `strlen`, `__chkstk`, `_fltused`); everything else
//! keeps its Rust name, and runtime.dll exports it under the C name
//! (`runtime-dll/src/cnames.rs`), so a program carries no second copy of
//! the C library. Without the feature nothing is C-named, so the host's
//! libc is never shadowed in tests. The crate is `#![no_builtins]`:
//! LLVM must not turn the loops that implement `memcpy` into calls to
//! `memcpy`.
#![cfg_attr(not(test), no_std)]
#![no_builtins]

pub mod ctype;
pub mod format;
pub mod heap;
pub mod math;
pub mod mem;
#[cfg(all(feature = "intrinsics", target_os = "windows", target_arch = "x86_64"))]
mod msvc;
pub mod panic_line;
pub mod scan;
pub mod stdio;
pub mod stdlib;
pub mod string;
