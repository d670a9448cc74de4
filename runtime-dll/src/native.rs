//! The native interface: system information, process control, debug text.

use abi::{nr, ProcessInfo, SystemInfo};
use core::ffi::c_char;
use ferrite_sys::syscall;

/// Writes bytes to the debug console (one DEBUG_WRITE); returns what the
/// kernel returned.
pub(crate) fn debug_write(bytes: &[u8]) -> u64 {
    // SAFETY: DEBUG_WRITE only reads `bytes`, which is a valid slice.
    unsafe {
        syscall(
            nr::DEBUG_WRITE,
            bytes.as_ptr() as u64,
            bytes.len() as u64,
            0,
            0,
            0,
        )
    }
}

/// A call's result as the `i32` the exports return: 0, or `-(error code)`.
fn status(rax: u64) -> i32 {
    match abi::decode(rax) {
        Ok(_) => 0,
        Err(e) => -(e as i32),
    }
}

/// Fills `*info`; returns 0, or `-(abi::Error)` (e.g. -1 for a bad pointer).
///
/// # Safety
/// `info` is checked by the kernel; if it is writable it must be memory the
/// caller lets the call overwrite.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetSystemInfo(info: *mut SystemInfo) -> i32 {
    // SAFETY: the kernel checks the pointer; the caller owns the memory.
    status(unsafe { syscall(nr::GET_SYSTEM_INFO, info as u64, 0, 0, 0, 0) })
}

/// Fills `*info`; returns 0, or `-(abi::Error)`.
///
/// # Safety
/// As for [`GetSystemInfo`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetProcessInfo(info: *mut ProcessInfo) -> i32 {
    // SAFETY: the kernel checks the pointer; the caller owns the memory.
    status(unsafe { syscall(nr::GET_PROCESS_INFO, info as u64, 0, 0, 0, 0) })
}

/// Waits at least `ms` milliseconds.
#[unsafe(no_mangle)]
pub extern "C" fn Sleep(ms: u32) {
    // SAFETY: SLEEP touches no memory.
    unsafe { syscall(nr::SLEEP, u64::from(ms), 0, 0, 0, 0) };
}

/// Ends the process with `code`, after writing out any unfinished line of
/// `printf` output.
#[unsafe(no_mangle)]
pub extern "C" fn ExitProcess(code: u32) -> ! {
    crate::stdio::flush();
    // SAFETY: EXIT_PROCESS touches no memory and does not return.
    unsafe { syscall(nr::EXIT_PROCESS, u64::from(code), 0, 0, 0, 0) };
    unreachable()
}

/// Ends the calling thread with `code` (the last thread's code is the
/// process's).
#[unsafe(no_mangle)]
pub extern "C" fn ExitThread(code: u32) -> ! {
    crate::stdio::flush();
    // SAFETY: EXIT_THREAD touches no memory and does not return.
    unsafe { syscall(nr::EXIT_THREAD, u64::from(code), 0, 0, 0, 0) };
    unreachable()
}

/// Where a call that cannot return did: stop with an invalid opcode (the
/// kernel ends the process with ILLEGAL_INSTRUCTION).
fn unreachable() -> ! {
    loop {
        // SAFETY: `ud2` raises #UD; it has no other effect.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
    }
}

/// Writes a NUL-terminated string to the debug console, unchanged.
///
/// # Safety
/// `s` must be null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn OutputDebugStringA(s: *const c_char) {
    if s.is_null() {
        return;
    }
    crate::stdio::flush();
    // SAFETY: the caller passes a NUL-terminated string.
    let len = unsafe { crt::string::strlen(s) };
    // SAFETY: DEBUG_WRITE only reads the `len` bytes at `s`.
    unsafe { syscall(nr::DEBUG_WRITE, s as u64, len as u64, 0, 0, 0) };
}

/// Any system call, raw: returns RAX as the kernel left it (for tests).
///
/// # Safety
/// As for `ferrite_sys::syscall`: the call may write wherever its arguments
/// say, or end the process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn FerriteSyscall(
    nr: u64,
    a1: u64,
    a2: u64,
    a3: u64,
    a4: u64,
    a5: u64,
) -> u64 {
    // SAFETY: forwarded contract.
    unsafe { syscall(nr, a1, a2, a3, a4, a5) }
}
