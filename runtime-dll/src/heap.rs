//! `malloc`, `calloc`, `realloc`, `free`, `strdup`: crt's heap over
//! ALLOCATE_LAZY.
//!
//! The heap grows by whole lazily committed regions: at least 1 MiB, and
//! as much as it already has when the process's commit limit allows (so
//! DOOM's ~7.5 MB zone costs a handful of system calls). Pages get frames
//! when first touched. A `free`/`realloc` of a pointer that is not a live
//! block changes nothing and is reported on the debug console (the first
//! [`REPORTS`] of them; `FerriteHeapStats` counts them all).

use abi::nr;
use core::ffi::{c_char, c_void};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};
use crt::heap::{Grow, Heap, Locked, Refused, DEFAULT_MIN_GROW};
use ferrite_sys::call;

/// `ENOMEM` (MSVC's number).
const ENOMEM: i32 = 12;
/// Bad-pointer reports written before going quiet.
pub const REPORTS: usize = 16;

/// Fresh demand-zero memory from the kernel.
struct KernelGrow;

// SAFETY: ALLOCATE_LAZY gives a new page-aligned read-write region of
// `bytes` that nothing else in the process uses; the heap never frees it.
// It calls no heap function.
unsafe impl Grow for KernelGrow {
    fn grow(&mut self, bytes: usize) -> Option<NonNull<u8>> {
        let prot = abi::protection::READ | abi::protection::WRITE;
        // SAFETY: ALLOCATE_LAZY reads no memory.
        let at = unsafe { call(nr::ALLOCATE_LAZY, [bytes as u64, prot, 0, 0, 0]) };
        at.ok().and_then(|a| NonNull::new(a as *mut u8))
    }
}

static HEAP: Locked<KernelGrow> = Locked::new(Heap::new(KernelGrow, DEFAULT_MIN_GROW));
static REPORTED: AtomicUsize = AtomicUsize::new(0);

/// Writes "runtime.dll: <function>: <reason> 0x..." (the first REPORTS).
fn report(function: &str, r: Refused) {
    if REPORTED.fetch_add(1, Ordering::Relaxed) >= REPORTS {
        return;
    }
    let mut buf = [0u8; 96];
    let prefix = b"runtime.dll: ";
    buf[..prefix.len()].copy_from_slice(prefix);
    let n = r.line(function, &mut buf[prefix.len()..]).len();
    crate::native::debug_write(&buf[..prefix.len() + n]);
}

fn out_of_memory(p: *mut u8) -> *mut c_void {
    if p.is_null() {
        crate::file::set_errno(ENOMEM);
    }
    p.cast()
}

/// `void *malloc(size_t size)`: 16-aligned; null (errno ENOMEM) when the
/// commit limit is reached.
#[unsafe(no_mangle)]
pub extern "C" fn malloc(size: usize) -> *mut c_void {
    out_of_memory(HEAP.with(|h| h.malloc(size)))
}

/// `void *calloc(size_t n, size_t size)`: zeroed; null if `n * size`
/// overflows.
#[unsafe(no_mangle)]
pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    out_of_memory(HEAP.with(|h| h.calloc(n, size)))
}

/// `void free(void *p)`: null is fine; a pointer that is not a live block
/// is reported and ignored.
///
/// # Safety
/// After it returns, a block `p` was must not be used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    // SAFETY: the caller's contract.
    if let Err(r) = HEAP.with(|h| unsafe { h.free(p.cast()) }) {
        report("free", r);
    }
}

/// `void *realloc(void *p, size_t size)`: `realloc(NULL, n)` is
/// `malloc(n)`, `realloc(p, 0)` frees `p` and gives null; on failure null
/// and `p` unchanged. A bad `p` is reported and gives null.
///
/// # Safety
/// When the result is not `p`, the old block must not be used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: the caller's contract.
    match HEAP.with(|h| unsafe { h.realloc(p.cast(), size) }) {
        Ok(q) if size == 0 => q.cast(),
        Ok(q) => out_of_memory(q),
        Err(r) => {
            report("realloc", r);
            null_mut()
        }
    }
}

/// `char *strndup(const char *s, size_t n)`: a heap copy of at most `n`
/// bytes of `s`, NUL-terminated.
///
/// # Safety
/// `s` must be readable up to its NUL or for `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strndup(s: *const c_char, n: usize) -> *mut c_char {
    // SAFETY: the caller's contract.
    let len = unsafe { crt::string::strnlen(s, n) };
    let copy = malloc(len + 1).cast::<c_char>();
    if !copy.is_null() {
        // SAFETY: `copy` has len + 1 bytes; `s` has `len` readable ones.
        unsafe {
            core::ptr::copy_nonoverlapping(s, copy, len);
            *copy.add(len) = 0;
        }
    }
    copy
}

/// `char *strdup(const char *s)`: a heap copy of `s`.
///
/// # Safety
/// `s` must be NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn strdup(s: *const c_char) -> *mut c_char {
    // SAFETY: the caller's contract; usize::MAX never limits.
    unsafe { strndup(s, usize::MAX) }
}

/// The heap's figures, for a program's report line.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    /// Bytes in live blocks.
    pub in_use: u64,
    /// Live blocks.
    pub blocks: u64,
    /// Bytes of address space the heap has committed.
    pub arena_bytes: u64,
    /// Regions it got them in.
    pub arenas: u64,
    /// `free`/`realloc` calls refused for a bad pointer.
    pub refused: u64,
    /// Growths the kernel refused.
    pub failed_growths: u64,
}

/// The heap's figures now.
pub fn stats() -> HeapStats {
    let s = HEAP.with(|h| h.stats());
    HeapStats {
        in_use: s.in_use as u64,
        blocks: s.blocks as u64,
        arena_bytes: s.arena_bytes as u64,
        arenas: s.arenas as u64,
        refused: s.refused as u64,
        failed_growths: s.failed_growths as u64,
    }
}

/// `void FerriteHeapStats(HeapStats *out)`: fills `*out` with [`stats`].
///
/// # Safety
/// `out` must be null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FerriteHeapStats(out: *mut HeapStats) {
    if !out.is_null() {
        // SAFETY: the caller passes a writable HeapStats.
        unsafe { out.write(stats()) };
    }
}
