//! Threads, processes, handles, waits, events, pipes, time and memory:
//! Win32-shaped exports over Ferrite's M3 system calls.
//!
//! Handles are `u64` values (`HANDLE`); 0 means failure where Win32
//! returns NULL. Functions returning `BOOL` give 1 or 0. The reason for a
//! failure is not kept (there is no `GetLastError` yet).

use abi::nr;
use core::ffi::{c_char, c_void};
use ferrite_sys::call;

/// Win32's `INFINITE` time-out.
pub const INFINITE: u32 = 0xFFFF_FFFF;
/// `WAIT_FAILED`.
pub const WAIT_FAILED: u32 = 0xFFFF_FFFF;

/// A thread's entry function.
pub type ThreadStart = extern "C" fn(*mut c_void) -> u32;

pub(crate) fn handle(r: abi::SysResult) -> u64 {
    r.unwrap_or(0)
}

pub(crate) fn boolean(r: abi::SysResult) -> i32 {
    i32::from(r.is_ok())
}

pub(crate) fn cstr_len(s: *const c_char) -> usize {
    if s.is_null() {
        0
    } else {
        // SAFETY: the caller passes a NUL-terminated string (Win32 rule).
        unsafe { crt::string::strlen(s) }
    }
}

/// Starts a thread running `start(param)` (Win32 argument order; the
/// attributes and the thread id pointer may be null, `flags` must be 0).
///
/// # Safety
/// `thread_id` must be null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CreateThread(
    _attributes: *const c_void,
    stack_size: usize,
    start: ThreadStart,
    param: *mut c_void,
    flags: u32,
    thread_id: *mut u32,
) -> u64 {
    if flags != 0 {
        return 0;
    }
    // SAFETY: CREATE_THREAD reads no memory.
    let h = handle(unsafe {
        call(
            nr::CREATE_THREAD,
            [start as usize as u64, param as u64, stack_size as u64, 0, 0],
        )
    });
    if h != 0 && !thread_id.is_null() {
        // SAFETY: the caller passes a writable u32 or null.
        unsafe { *thread_id = 0 };
    }
    h
}

/// Waits for one object: 0 when signalled, `WAIT_TIMEOUT`, or
/// `WAIT_FAILED`.
#[unsafe(no_mangle)]
pub extern "C" fn WaitForSingleObject(h: u64, ms: u32) -> u32 {
    // SAFETY: the one handle is read from this stack slot.
    unsafe { WaitForMultipleObjects(1, &h, 0, ms) }
}

/// Waits for any of `count` objects (or, with `wait_all`, for all of them
/// at once): the index (0 for all), `WAIT_TIMEOUT` or `WAIT_FAILED`.
///
/// # Safety
/// `handles` must point at `count` handles.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WaitForMultipleObjects(
    count: u32,
    handles: *const u64,
    wait_all: i32,
    ms: u32,
) -> u32 {
    let timeout = if ms == INFINITE {
        u64::MAX
    } else {
        u64::from(ms)
    };
    let args = [
        handles as u64,
        u64::from(count),
        u64::from(wait_all != 0),
        timeout,
        0,
    ];
    // SAFETY: the kernel reads `count` handles from `handles` (checked).
    match unsafe { call(nr::WAIT_MULTIPLE, args) } {
        Ok(v) => v as u32,
        Err(_) => WAIT_FAILED,
    }
}

fn exit_code(h: u64, out: *mut u32) -> i32 {
    // SAFETY: GET_EXIT_CODE reads no memory.
    match unsafe { call(nr::GET_EXIT_CODE, [h, 0, 0, 0, 0]) } {
        Ok(code) if !out.is_null() => {
            // SAFETY: the caller passes a writable u32 (checked not null).
            unsafe { *out = code as u32 };
            1
        }
        _ => 0,
    }
}

/// The exit code of a process, or `STILL_ACTIVE` (259) while it runs.
///
/// # Safety
/// `code` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetExitCodeProcess(h: u64, code: *mut u32) -> i32 {
    exit_code(h, code)
}

/// The exit code of a thread, or `STILL_ACTIVE` while it runs.
///
/// # Safety
/// `code` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetExitCodeThread(h: u64, code: *mut u32) -> i32 {
    exit_code(h, code)
}

/// Ends every thread of a process with `code`.
#[unsafe(no_mangle)]
pub extern "C" fn TerminateProcess(h: u64, code: u32) -> i32 {
    // SAFETY: TERMINATE_PROCESS reads no memory.
    boolean(unsafe { call(nr::TERMINATE_PROCESS, [h, u64::from(code), 0, 0, 0]) })
}

/// Closes a handle.
#[unsafe(no_mangle)]
pub extern "C" fn CloseHandle(h: u64) -> i32 {
    // SAFETY: CLOSE_HANDLE reads no memory.
    boolean(unsafe { call(nr::CLOSE_HANDLE, [h, 0, 0, 0, 0]) })
}

/// The calling process's pseudo-handle.
#[unsafe(no_mangle)]
pub extern "C" fn GetCurrentProcess() -> u64 {
    abi::CURRENT_PROCESS
}

/// The calling thread's pseudo-handle.
#[unsafe(no_mangle)]
pub extern "C" fn GetCurrentThread() -> u64 {
    abi::CURRENT_THREAD
}

/// Restricts thread `h` to the CPUs in `mask` (bit n = CPU n): the
/// previous mask, or 0 on failure (an empty mask after dropping CPUs that
/// do not run, a bad handle).
#[unsafe(no_mangle)]
pub extern "C" fn SetThreadAffinityMask(h: u64, mask: usize) -> usize {
    // SAFETY: SET_THREAD_AFFINITY reads no memory.
    unsafe { call(nr::SET_THREAD_AFFINITY, [h, mask as u64, 0, 0, 0]) }.map_or(0, |m| m as usize)
}

/// The number of the CPU the caller is running on.
#[unsafe(no_mangle)]
pub extern "C" fn GetCurrentProcessorNumber() -> u32 {
    // SAFETY: GET_CPU_NUMBER reads no memory.
    unsafe { call(nr::GET_CPU_NUMBER, [0; 5]) }.map_or(0, |n| n as u32)
}

/// Lets another ready thread run: 1 if one did.
#[unsafe(no_mangle)]
pub extern "C" fn SwitchToThread() -> i32 {
    // SAFETY: YIELD reads no memory.
    unsafe { call(nr::YIELD, [0; 5]) }.map_or(0, |v| v as i32)
}

fn clock(which: u64) -> u64 {
    // SAFETY: GET_TIME reads no memory.
    unsafe { call(nr::GET_TIME, [which, 0, 0, 0, 0]) }.unwrap_or(0)
}

/// Milliseconds since boot.
#[unsafe(no_mangle)]
pub extern "C" fn GetTickCount64() -> u64 {
    clock(abi::clock::TICK_COUNT_MS)
}

/// The performance counter (nanoseconds since boot).
///
/// # Safety
/// `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn QueryPerformanceCounter(out: *mut i64) -> i32 {
    if out.is_null() {
        return 0;
    }
    // SAFETY: the caller passes a writable i64.
    unsafe { *out = clock(abi::clock::PERFORMANCE_COUNTER) as i64 };
    1
}

/// The performance counter's frequency (10^9).
///
/// # Safety
/// `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn QueryPerformanceFrequency(out: *mut i64) -> i32 {
    if out.is_null() {
        return 0;
    }
    // SAFETY: the caller passes a writable i64.
    unsafe { *out = clock(abi::clock::PERFORMANCE_FREQUENCY) as i64 };
    1
}

/// Creates an event (the attributes and the name must be null).
#[unsafe(no_mangle)]
pub extern "C" fn CreateEventA(
    _attributes: *const c_void,
    manual_reset: i32,
    initial_state: i32,
    name: *const c_char,
) -> u64 {
    if !name.is_null() {
        return 0;
    }
    let args = [
        u64::from(manual_reset != 0),
        u64::from(initial_state != 0),
        0,
        0,
        0,
    ];
    // SAFETY: CREATE_EVENT reads no memory.
    handle(unsafe { call(nr::CREATE_EVENT, args) })
}

/// Sets an event.
#[unsafe(no_mangle)]
pub extern "C" fn SetEvent(h: u64) -> i32 {
    // SAFETY: SET_EVENT reads no memory.
    boolean(unsafe { call(nr::SET_EVENT, [h, 0, 0, 0, 0]) })
}

/// Resets an event.
#[unsafe(no_mangle)]
pub extern "C" fn ResetEvent(h: u64) -> i32 {
    // SAFETY: RESET_EVENT reads no memory.
    boolean(unsafe { call(nr::RESET_EVENT, [h, 0, 0, 0, 0]) })
}

/// Starts the program `module` (a boot module name such as `hello.exe`)
/// with the arguments `args` (may be null); returns its process handle.
///
/// # Safety
/// Both must be null or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CreateProcess(module: *const c_char, args: *const c_char) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { FerriteCreateProcess(module, args, 0) }
}

/// [`CreateProcess`] with `abi::create_flags`.
///
/// # Safety
/// As for [`CreateProcess`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FerriteCreateProcess(
    module: *const c_char,
    args: *const c_char,
    flags: u64,
) -> u64 {
    let a = [
        module as u64,
        cstr_len(module) as u64,
        args as u64,
        cstr_len(args) as u64,
        flags,
    ];
    // SAFETY: the kernel reads the two strings (checked).
    handle(unsafe { call(nr::CREATE_PROCESS, a) })
}

/// Opens the pipe called `name`, creating it if needed.
///
/// # Safety
/// `name` must be NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn OpenPipe(name: *const c_char) -> u64 {
    let a = [name as u64, cstr_len(name) as u64, 0, 0, 0];
    // SAFETY: the kernel reads the name (checked).
    handle(unsafe { call(nr::OPEN_PIPE, a) })
}

/// Writes to a pipe (all of it, 512 bytes at a time), blocking while it
/// is full. `overlapped` must be null.
///
/// # Safety
/// `buf` must hold `len` bytes; `written` must be null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn WriteFile(
    h: u64,
    buf: *const c_void,
    len: u32,
    written: *mut u32,
    overlapped: *mut c_void,
) -> i32 {
    if !overlapped.is_null() {
        return 0;
    }
    let mut done = 0u32;
    while done < len {
        let a = [h, buf as u64 + u64::from(done), u64::from(len - done), 0, 0];
        // SAFETY: the kernel reads from the caller's buffer (checked).
        match unsafe { call(nr::PIPE_WRITE, a) } {
            Ok(0) | Err(_) => break,
            Ok(n) => done += n as u32,
        }
    }
    if !written.is_null() {
        // SAFETY: the caller passes a writable u32.
        unsafe { *written = done };
    }
    i32::from(done == len)
}

/// Reads from a pipe, blocking until at least one byte is there.
/// `overlapped` must be null.
///
/// # Safety
/// `buf` must have room for `len` bytes; `read` must be null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ReadFile(
    h: u64,
    buf: *mut c_void,
    len: u32,
    read: *mut u32,
    overlapped: *mut c_void,
) -> i32 {
    if !overlapped.is_null() {
        return 0;
    }
    // SAFETY: the kernel writes to the caller's buffer (checked).
    let r = unsafe { call(nr::PIPE_READ, [h, buf as u64, u64::from(len), 0, 0]) };
    if !read.is_null() {
        // SAFETY: the caller passes a writable u32.
        unsafe { *read = r.unwrap_or(0) as u32 };
    }
    boolean(r)
}

/// `MEM_COMMIT | MEM_RESERVE` (both are needed).
const MEM_COMMIT_RESERVE: u32 = 0x1000 | 0x2000;
/// `MEM_RELEASE`.
const MEM_RELEASE: u32 = 0x8000;

/// Reserves and commits demand-zero memory (`addr` must be null; `type`
/// must be `MEM_COMMIT | MEM_RESERVE`; `protect` `PAGE_READONLY` (0x02)
/// or `PAGE_READWRITE` (0x04)).
#[unsafe(no_mangle)]
pub extern "C" fn VirtualAlloc(
    addr: *mut c_void,
    size: usize,
    kind: u32,
    protect: u32,
) -> *mut c_void {
    let prot = match protect {
        0x02 => abi::protection::READ,
        0x04 => abi::protection::READ | abi::protection::WRITE,
        _ => return core::ptr::null_mut(),
    };
    if !addr.is_null() || kind != MEM_COMMIT_RESERVE {
        return core::ptr::null_mut();
    }
    // SAFETY: ALLOCATE_LAZY reads no memory.
    match unsafe { call(nr::ALLOCATE_LAZY, [size as u64, prot, 0, 0, 0]) } {
        Ok(at) => at as *mut c_void,
        Err(_) => core::ptr::null_mut(),
    }
}

/// Releases what [`VirtualAlloc`] returned (`size` 0 and `MEM_RELEASE`).
#[unsafe(no_mangle)]
pub extern "C" fn VirtualFree(addr: *mut c_void, size: usize, kind: u32) -> i32 {
    if size != 0 || kind != MEM_RELEASE {
        return 0;
    }
    // SAFETY: FREE_PAGES with size 0 frees the whole lazy region at addr.
    boolean(unsafe { call(nr::FREE_PAGES, [addr as u64, 0, 0, 0, 0]) })
}

static mut COMMAND_LINE: [u8; 1025] = [0; 1025];

/// The command line (the arguments after the program name), read once.
#[unsafe(no_mangle)]
pub extern "C" fn GetCommandLineA() -> *const c_char {
    let line = &raw mut COMMAND_LINE;
    // SAFETY: the buffer is this DLL's; the kernel writes at most 1024
    // bytes, so the last byte stays NUL. Programs are single-threaded
    // when they first ask (InitProcess does, before `main`).
    unsafe {
        if (*line)[0] == 0 {
            let _ = call(nr::GET_COMMAND_LINE, [line as u64, 1024, 0, 0, 0]);
        }
        line.cast::<c_char>()
    }
}
