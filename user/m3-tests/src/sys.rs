//! Small helpers over runtime.dll's exports.

use core::ffi::c_void;
use init::rt;

/// The performance counter in nanoseconds.
pub fn now_ns() -> u64 {
    let mut t = 0i64;
    // SAFETY: `t` is a writable i64.
    unsafe { rt::QueryPerformanceCounter(&mut t) };
    t as u64
}

/// A decimal number (0 if there is none).
pub fn parse(s: &[u8]) -> u64 {
    s.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'))
}

/// Starts a thread running `f(arg)`.
pub fn thread(f: extern "C" fn(*mut c_void) -> u32, arg: usize) -> u64 {
    // SAFETY: null attributes and thread-id pointer are allowed.
    unsafe {
        rt::CreateThread(
            core::ptr::null(),
            0,
            f,
            arg as *mut c_void,
            0,
            core::ptr::null_mut(),
        )
    }
}

/// The exit code of a thread or process handle (None if refused).
pub fn exit_code_thread(h: u64) -> Option<u32> {
    let mut code = 0;
    // SAFETY: `code` is a writable u32.
    (unsafe { rt::GetExitCodeThread(h, &mut code) } != 0).then_some(code)
}

/// The exit code of a process handle (None if refused).
pub fn exit_code_process(h: u64) -> Option<u32> {
    let mut code = 0;
    // SAFETY: `code` is a writable u32.
    (unsafe { rt::GetExitCodeProcess(h, &mut code) } != 0).then_some(code)
}

/// Starts this program again with `args` (NUL-terminated).
pub fn spawn_self(args: &[u8]) -> u64 {
    // SAFETY: both strings are NUL-terminated literals or buffers.
    unsafe { rt::CreateProcess(c"m3-tests.exe".as_ptr(), args.as_ptr().cast()) }
}

/// Opens a named pipe (`name` NUL-terminated).
pub fn pipe(name: &core::ffi::CStr) -> u64 {
    // SAFETY: `name` is NUL-terminated.
    unsafe { rt::OpenPipe(name.as_ptr()) }
}

/// Writes all of `data` to a pipe.
pub fn send(h: u64, data: &[u8]) -> bool {
    let mut n = 0;
    // SAFETY: `data` is a live slice, `n` a writable u32.
    unsafe {
        rt::WriteFile(
            h,
            data.as_ptr().cast(),
            data.len() as u32,
            &mut n,
            core::ptr::null_mut(),
        ) != 0
    }
}

/// Reads exactly `buf.len()` bytes from a pipe.
pub fn receive(h: u64, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        let mut n = 0;
        // SAFETY: the rest of `buf` is writable, `n` a writable u32.
        let ok = unsafe {
            rt::ReadFile(
                h,
                buf[got..].as_mut_ptr().cast(),
                (buf.len() - got) as u32,
                &mut n,
                core::ptr::null_mut(),
            )
        };
        if ok == 0 || n == 0 {
            return false;
        }
        got += n as usize;
    }
    true
}

/// Free memory by GetSystemInfo.
pub fn free_memory() -> u64 {
    let mut info = abi::SystemInfo::default();
    // SAFETY: `info` is a writable SystemInfo.
    unsafe { rt::GetSystemInfo(&mut info) };
    info.free_memory
}

/// Formats `n` as decimal into `buf` after `prefix`, NUL-terminated.
pub fn args<'a>(buf: &'a mut [u8; 64], prefix: &[u8], n: u64, suffix: &[u8]) -> &'a [u8] {
    let mut at = 0;
    for &b in prefix {
        buf[at] = b;
        at += 1;
    }
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut v = n;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in (0..len).rev() {
        buf[at] = digits[i];
        at += 1;
    }
    for &b in suffix {
        buf[at] = b;
        at += 1;
    }
    buf[at] = 0;
    &buf[..=at]
}

/// Demand-zero memory (null if refused).
pub fn lazy(bytes: usize) -> *mut u8 {
    // SAFETY: VirtualAlloc takes no pointers to read.
    unsafe { rt::VirtualAlloc(core::ptr::null_mut(), bytes, 0x3000, 0x04) }.cast()
}

/// Committed read-write memory, every page present (null if refused).
pub fn committed(bytes: usize) -> *mut u8 {
    let rw = abi::protection::READ | abi::protection::WRITE;
    // SAFETY: ALLOCATE_PAGES reads no memory.
    match unsafe { ferrite_sys::call(abi::nr::ALLOCATE_PAGES, [bytes as u64, rw, 0, 0, 0]) } {
        Ok(p) => p as *mut u8,
        Err(_) => core::ptr::null_mut(),
    }
}

/// Releases [`committed`] memory.
pub fn release_committed(p: *mut u8, bytes: usize) {
    // SAFETY: FREE_PAGES reads no memory.
    let _ = unsafe { ferrite_sys::call(abi::nr::FREE_PAGES, [p as u64, bytes as u64, 0, 0, 0]) };
}

/// Releases [`lazy`] memory.
pub fn release(p: *mut u8) {
    // SAFETY: `p` came from VirtualAlloc.
    unsafe { rt::VirtualFree(p.cast(), 0, 0x8000) };
}
