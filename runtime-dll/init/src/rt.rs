//! runtime.dll's exports, as programs import them.
//!
//! `raw-dylib`: the linker builds the import table from these declarations
//! alone (no import library on disk); each becomes an import by name from
//! `runtime.dll`. The memory functions are not imported: every image has
//! its own (the `crt` crate), which the compiler's own calls need anyway.

use abi::{ProcessInfo, SystemInfo};
use core::ffi::{c_char, c_int};

// (`raw-dylib` exists only for Windows targets; elsewhere, e.g. a host
// `cargo clippy --workspace`, the block is checked as plain declarations.)
#[cfg_attr(windows, link(name = "runtime", kind = "raw-dylib"))]
unsafe extern "C" {
    /// Fills a SystemInfo: 0, or `-(abi::Error)`.
    pub fn GetSystemInfo(info: *mut SystemInfo) -> i32;
    /// Fills a ProcessInfo: 0, or `-(abi::Error)`.
    pub fn GetProcessInfo(info: *mut ProcessInfo) -> i32;
    /// Waits at least `ms` milliseconds.
    pub fn Sleep(ms: u32);
    /// Ends the process.
    pub fn ExitProcess(code: u32) -> !;
    /// Ends the calling thread.
    pub fn ExitThread(code: u32) -> !;
    /// Writes a NUL-terminated string to the debug console.
    pub fn OutputDebugStringA(s: *const c_char);
    /// Any system call, raw: RAX as the kernel left it.
    pub fn FerriteSyscall(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> u64;

    /// C `printf` to the debug console (line-buffered).
    pub fn printf(fmt: *const c_char, ...) -> c_int;
    /// C `snprintf`.
    pub fn snprintf(buf: *mut c_char, n: usize, fmt: *const c_char, ...) -> c_int;
    /// C `sprintf`.
    pub fn sprintf(buf: *mut c_char, fmt: *const c_char, ...) -> c_int;
    /// C `puts`.
    pub fn puts(s: *const c_char) -> c_int;
    /// C `putchar`.
    pub fn putchar(c: c_int) -> c_int;
}

/// [`ExitProcess`], safe to call.
pub fn exit_process(code: u32) -> ! {
    // SAFETY: ExitProcess takes no pointers.
    unsafe { ExitProcess(code) }
}

/// [`ExitThread`], safe to call.
pub fn exit_thread(code: u32) -> ! {
    // SAFETY: ExitThread takes no pointers.
    unsafe { ExitThread(code) }
}

/// [`FerriteSyscall`] with its result decoded.
///
/// # Safety
/// As for the system call made: it may write where its arguments point.
pub unsafe fn syscall(nr: u64, args: [u64; 5]) -> abi::SysResult {
    // SAFETY: forwarded contract.
    abi::decode(unsafe { FerriteSyscall(nr, args[0], args[1], args[2], args[3], args[4]) })
}
