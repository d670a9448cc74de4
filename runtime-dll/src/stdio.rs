//! Formatted output: the `printf` family over the `crt` engine.
//!
//! Console output (`printf`, `puts`, `putchar`) is line-buffered: each
//! complete line goes to the kernel in one DEBUG_WRITE, so lines from
//! different calls or threads never interleave mid-line. An unfinished
//! line is written out when the buffer fills, before `OutputDebugStringA`,
//! and at `ExitProcess`/`ExitThread`.
//!
//! `fprintf`/`fputs`/`fwrite` on `stdout` and `stderr` (in `file`) write
//! into the same line buffer, so all console output keeps its order.
//! `sscanf`/`vsscanf` read a string with the `crt` scan engine.
//!
//! A Win64 `va_list` is a pointer to consecutive 8-byte argument slots
//! ([`VaList`]); the variadic entry points are trampolines in `varargs`.

use crate::native::debug_write;
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int};
use core::sync::atomic::{AtomicBool, Ordering};
use crt::format::{format, Args, BufferSink, Sink};
use crt::scan::{scan, Store};

/// A C `va_list`: the next 8-byte argument slot.
#[repr(transparent)]
pub struct VaList(*const u64);

impl Args for VaList {
    fn int(&mut self) -> u64 {
        // SAFETY: the `v*printf` contract: the slots hold at least as many
        // arguments as the format consumes.
        let v = unsafe { self.0.read_unaligned() };
        self.0 = self.0.wrapping_add(1);
        v
    }

    fn float(&mut self) -> f64 {
        // Win64 passes a variadic double in its integer slot too.
        f64::from_bits(self.int())
    }

    fn string(&mut self, limit: usize) -> Option<&[u8]> {
        let p = self.int() as *const c_char;
        if p.is_null() {
            return None;
        }
        // SAFETY: the format contract: a `%s` argument is a string, read
        // up to its NUL or the precision; it lives through this call.
        unsafe {
            let n = crt::string::strnlen(p, limit);
            Some(core::slice::from_raw_parts(p.cast::<u8>(), n))
        }
    }
}

/// The bytes of the C string `fmt`.
///
/// # Safety
/// `fmt` must be a NUL-terminated string that outlives the result.
unsafe fn c_bytes<'a>(fmt: *const c_char) -> &'a [u8] {
    // SAFETY: the caller's contract.
    unsafe { core::slice::from_raw_parts(fmt.cast::<u8>(), crt::string::strlen(fmt)) }
}

fn clamp(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

/// The console's line buffer, behind a spin lock.
struct Stdout {
    locked: AtomicBool,
    line: UnsafeCell<Line>,
}

struct Line {
    bytes: [u8; 256],
    len: usize,
}

// SAFETY: `line` is only reached while `locked` is held (see `with`).
unsafe impl Sync for Stdout {}

static STDOUT: Stdout = Stdout {
    locked: AtomicBool::new(false),
    line: UnsafeCell::new(Line {
        bytes: [0; 256],
        len: 0,
    }),
};

impl Stdout {
    /// Runs `f` on the line buffer; `wait` false gives up at once if another
    /// caller holds it (the exit path must not wait on a dead thread).
    fn with<R>(&self, wait: bool, f: impl FnOnce(&mut Line) -> R) -> Option<R> {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            if !wait {
                return None;
            }
            core::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference.
        let r = f(unsafe { &mut *self.line.get() });
        self.locked.store(false, Ordering::Release);
        Some(r)
    }
}

impl Line {
    fn flush(&mut self) {
        if self.len > 0 {
            debug_write(&self.bytes[..self.len]);
            self.len = 0;
        }
    }
}

impl Sink for Line {
    fn write(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let room = self.bytes.len() - self.len;
            let nl = bytes.iter().position(|&b| b == b'\n');
            let take = nl.map_or(bytes.len(), |i| i + 1).min(room);
            self.bytes[self.len..self.len + take].copy_from_slice(&bytes[..take]);
            self.len += take;
            bytes = &bytes[take..];
            if self.len == self.bytes.len() || self.bytes[self.len - 1] == b'\n' {
                self.flush();
            }
        }
    }
}

/// Writes out an unfinished line, if any and if no one else is writing.
pub(crate) fn flush() {
    STDOUT.with(false, Line::flush);
}

/// Writes bytes into the console's line buffer.
pub(crate) fn console_write(bytes: &[u8]) {
    STDOUT.with(true, |line| line.write(bytes));
}

/// Writes out an unfinished line, waiting for other writers.
pub(crate) fn console_flush() {
    STDOUT.with(true, Line::flush);
}

/// `vprintf`: formats to the console; returns the bytes written.
///
/// # Safety
/// `fmt` is a format string and `va` holds the arguments it consumes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vprintf(fmt: *const c_char, va: VaList) -> c_int {
    let mut va = va;
    // SAFETY: the caller's contract.
    let fmt = unsafe { c_bytes(fmt) };
    clamp(
        STDOUT
            .with(true, |line| format(line, fmt, &mut va))
            .unwrap_or(0),
    )
}

/// `vsnprintf`: formats into `buf` (at most `n - 1` bytes and a NUL);
/// returns the length the whole output has (C99), even if cut.
///
/// # Safety
/// `buf` is writable for `n` bytes (or `n` is 0); `fmt` and `va` as for
/// [`vprintf`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vsnprintf(
    buf: *mut c_char,
    n: usize,
    fmt: *const c_char,
    va: VaList,
) -> c_int {
    let mut va = va;
    let out: &mut [u8] = if n == 0 || buf.is_null() {
        &mut []
    } else {
        // SAFETY: the caller passes `n` writable bytes at `buf`.
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), n) }
    };
    let mut sink = BufferSink::new(out);
    // SAFETY: the caller's contract.
    let count = format(&mut sink, unsafe { c_bytes(fmt) }, &mut va);
    sink.finish();
    clamp(count)
}

/// Stores every byte at a raw pointer (for `vsprintf`, which has no bound).
struct Unbounded(*mut u8);

impl Sink for Unbounded {
    fn write(&mut self, bytes: &[u8]) {
        // SAFETY: `vsprintf`'s contract: the buffer holds the whole output.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.0, bytes.len());
            self.0 = self.0.add(bytes.len());
        }
    }
}

/// `vsprintf`: formats into `buf`, which must be large enough; returns the
/// length written (without the NUL).
///
/// # Safety
/// `buf` must hold the whole output and its NUL; `fmt` and `va` as for
/// [`vprintf`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vsprintf(buf: *mut c_char, fmt: *const c_char, va: VaList) -> c_int {
    let mut va = va;
    let mut sink = Unbounded(buf.cast());
    // SAFETY: the caller's contract.
    let count = format(&mut sink, unsafe { c_bytes(fmt) }, &mut va);
    // SAFETY: the buffer has room for the NUL after the output.
    unsafe { *sink.0 = 0 };
    clamp(count)
}

/// `puts`: writes `s` and a newline to the console; returns 0.
///
/// # Safety
/// `s` must be a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn puts(s: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    let s = unsafe { c_bytes(s) };
    STDOUT.with(true, |line| {
        line.write(s);
        line.write(b"\n");
    });
    0
}

/// `putchar`: writes one byte to the console; returns it.
#[unsafe(no_mangle)]
pub extern "C" fn putchar(c: c_int) -> c_int {
    STDOUT.with(true, |line| line.write(&[c as u8]));
    c_int::from(c as u8)
}

impl VaList {
    /// The next argument as a pointer.
    fn pointer(&mut self) -> *mut u8 {
        self.int() as *mut u8
    }
}

impl Store for VaList {
    fn integer(&mut self, bytes: usize, value: u64) {
        let p = self.pointer();
        if p.is_null() {
            return;
        }
        let v = value.to_le_bytes();
        // SAFETY: the `vsscanf` contract: the argument points at an object
        // of the conversion's size (`bytes` <= 8).
        unsafe { core::ptr::copy_nonoverlapping(v.as_ptr(), p, bytes.min(8)) };
    }

    fn text(&mut self, text: &[u8], nul: bool) {
        let p = self.pointer();
        if p.is_null() {
            return;
        }
        // SAFETY: the `vsscanf` contract: the argument points at a buffer
        // with room for the field (its width) and, for `%s`/`%[`, a NUL.
        unsafe {
            core::ptr::copy_nonoverlapping(text.as_ptr(), p, text.len());
            if nul {
                *p.add(text.len()) = 0;
            }
        }
    }
}

/// `vsscanf`: reads `s` by `fmt` into the pointers in `va`; returns the
/// assignments made, or `EOF` (-1) if `s` ended before the first one.
///
/// # Safety
/// `s` and `fmt` are NUL-terminated; `va` holds a pointer of the right
/// type, with room enough, for every assigning conversion of `fmt`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn vsscanf(s: *const c_char, fmt: *const c_char, va: VaList) -> c_int {
    if s.is_null() || fmt.is_null() {
        return -1;
    }
    let mut va = va;
    // SAFETY: the caller's contract.
    let (input, fmt) = unsafe { (c_bytes(s), c_bytes(fmt)) };
    scan(input, fmt, &mut va)
}
