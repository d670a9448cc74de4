//! runtime.dll's exports, as programs import them.
//!
//! `raw-dylib`: the linker builds the import table from these declarations
//! alone (no import library on disk); each becomes an import by name from
//! `runtime.dll`. The memory functions are not imported: every image has
//! its own (the `crt` crate), which the compiler's own calls need anyway.

use abi::{Message, ProcessInfo, Rect, SystemInfo};
use core::ffi::{c_char, c_int, c_void};

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

    /// Starts a thread (Win32 argument order).
    pub fn CreateThread(
        attributes: *const c_void,
        stack_size: usize,
        start: extern "C" fn(*mut c_void) -> u32,
        param: *mut c_void,
        flags: u32,
        thread_id: *mut u32,
    ) -> u64;
    /// Waits for one object: 0, `WAIT_TIMEOUT` (0x102) or `WAIT_FAILED`.
    pub fn WaitForSingleObject(h: u64, ms: u32) -> u32;
    /// Waits for any of `count` objects.
    pub fn WaitForMultipleObjects(count: u32, handles: *const u64, wait_all: i32, ms: u32) -> u32;
    /// A process's exit code or STILL_ACTIVE.
    pub fn GetExitCodeProcess(h: u64, code: *mut u32) -> i32;
    /// A thread's exit code or STILL_ACTIVE.
    pub fn GetExitCodeThread(h: u64, code: *mut u32) -> i32;
    /// Ends every thread of a process.
    pub fn TerminateProcess(h: u64, code: u32) -> i32;
    /// Closes a handle.
    pub fn CloseHandle(h: u64) -> i32;
    /// The calling process's pseudo-handle.
    pub fn GetCurrentProcess() -> u64;
    /// The calling thread's pseudo-handle.
    pub fn GetCurrentThread() -> u64;
    /// Lets another thread run: 1 if one did.
    pub fn SwitchToThread() -> i32;
    /// Restricts a thread to some CPUs: the previous mask, 0 on failure.
    pub fn SetThreadAffinityMask(h: u64, mask: usize) -> usize;
    /// The CPU the caller runs on.
    pub fn GetCurrentProcessorNumber() -> u32;
    /// Milliseconds since boot.
    pub fn GetTickCount64() -> u64;
    /// The performance counter.
    pub fn QueryPerformanceCounter(out: *mut i64) -> i32;
    /// The performance counter's frequency.
    pub fn QueryPerformanceFrequency(out: *mut i64) -> i32;
    /// Creates an event.
    pub fn CreateEventA(
        attributes: *const c_void,
        manual_reset: i32,
        initial_state: i32,
        name: *const c_char,
    ) -> u64;
    /// Sets an event.
    pub fn SetEvent(h: u64) -> i32;
    /// Resets an event.
    pub fn ResetEvent(h: u64) -> i32;
    /// Starts a program from the boot modules with arguments.
    pub fn CreateProcess(module: *const c_char, args: *const c_char) -> u64;
    /// CreateProcess with `abi::create_flags`.
    pub fn FerriteCreateProcess(module: *const c_char, args: *const c_char, flags: u64) -> u64;
    /// The arguments after the program name.
    pub fn GetCommandLineA() -> *const c_char;
    /// Opens (or creates) a named pipe.
    pub fn OpenPipe(name: *const c_char) -> u64;
    /// Writes to a pipe.
    pub fn WriteFile(
        h: u64,
        buf: *const c_void,
        len: u32,
        written: *mut u32,
        overlapped: *mut c_void,
    ) -> i32;
    /// Reads from a pipe.
    pub fn ReadFile(
        h: u64,
        buf: *mut c_void,
        len: u32,
        read: *mut u32,
        overlapped: *mut c_void,
    ) -> i32;
    /// Demand-zero memory.
    pub fn VirtualAlloc(addr: *mut c_void, size: usize, kind: u32, protect: u32) -> *mut c_void;
    /// Releases VirtualAlloc memory.
    pub fn VirtualFree(addr: *mut c_void, size: usize, kind: u32) -> i32;

    /// Creates and shows a window: its handle, or 0.
    pub fn CreateWindow(title: *const c_char, width: i32, height: i32, flags: u32) -> u64;
    /// A window's client rectangle on the screen: 1, or 0.
    pub fn GetWindowRect(window: u64, rect: *mut Rect) -> i32;
    /// Waits for a message: 1, 0 for WM_QUIT, -1 on error.
    pub fn GetMessage(msg: *mut Message, window: u64, first: u32, last: u32) -> i32;
    /// A message if there is one: 1, else 0.
    pub fn PeekMessage(msg: *mut Message, window: u64, first: u32, last: u32, remove: u32) -> i32;
    /// Shows a 32-bit XRGB buffer in a window: 1, or 0.
    pub fn SetScreenBuffer(
        window: u64,
        pixels: *const u32,
        width: u32,
        height: u32,
        pitch: u32,
    ) -> i32;
    /// Posts WM_QUIT to the calling thread's windows.
    pub fn PostQuitMessage(code: i32);

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
