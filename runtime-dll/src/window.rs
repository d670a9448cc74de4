//! The window half of the native interface: windows, messages, pixels.

use crate::threads::{boolean, cstr_len, handle};
use abi::{message_flags, nr, Message, Rect};
use core::ffi::c_char;
use ferrite_sys::call;

/// Longest title the kernel keeps (bytes); a longer one is cut.
const TITLE_MAX: usize = 64;

/// Creates a window of `width` × `height` pixels centred on the screen,
/// or covering it with `flags` = [`abi::window_flags::FULLSCREEN`], and
/// shows it: its handle, or 0.
///
/// # Safety
/// `title` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn CreateWindow(
    title: *const c_char,
    width: i32,
    height: i32,
    flags: u32,
) -> u64 {
    let len = cstr_len(title).min(TITLE_MAX);
    let args = [
        title as u64,
        len as u64,
        width as u64,
        height as u64,
        u64::from(flags),
    ];
    // SAFETY: CREATE_WINDOW reads `len` bytes of the title, checked.
    handle(unsafe { call(nr::CREATE_WINDOW, args) })
}

/// Fills `*rect` with the window's client rectangle in screen pixels: 1,
/// or 0 for a bad window or pointer.
///
/// # Safety
/// `rect` is checked by the kernel; if writable it is the caller's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetWindowRect(window: u64, rect: *mut Rect) -> i32 {
    // SAFETY: the kernel checks the pointer.
    boolean(unsafe { call(nr::GET_WINDOW_RECT, [window, rect as u64, 0, 0, 0]) })
}

/// Waits for the next message of the calling thread's windows (of
/// `window` only, if not 0): 1, 0 for `WM_QUIT`, -1 on error (a bad
/// window or pointer, or a message range, which is not supported: pass
/// 0, 0).
///
/// # Safety
/// `msg` is checked by the kernel; if writable it is the caller's.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn GetMessage(msg: *mut Message, window: u64, first: u32, last: u32) -> i32 {
    if first != 0 || last != 0 {
        return -1;
    }
    let args = [msg as u64, window, message_flags::REMOVE, u64::MAX, 0];
    // SAFETY: the kernel checks the pointer.
    match unsafe { call(nr::GET_MESSAGE, args) } {
        // SAFETY: the kernel has just written a Message there.
        Ok(1) if unsafe { (*msg).message } == abi::wm::QUIT => 0,
        Ok(1) => 1,
        _ => -1,
    }
}

/// Looks for a message without waiting: 1 if there is one (taken off the
/// queue when `remove` has bit 0, Win32's `PM_REMOVE`), else 0.
///
/// # Safety
/// As for [`GetMessage`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn PeekMessage(
    msg: *mut Message,
    window: u64,
    first: u32,
    last: u32,
    remove: u32,
) -> i32 {
    if first != 0 || last != 0 {
        return 0;
    }
    let flags = u64::from(remove) & message_flags::REMOVE;
    // SAFETY: the kernel checks the pointer.
    i32::from(unsafe { call(nr::GET_MESSAGE, [msg as u64, window, flags, 0, 0]) } == Ok(1))
}

/// Shows a `width` × `height` buffer of 32-bit XRGB pixels, `pitch`
/// bytes from row to row, in the window (scaled by the largest integer
/// factor that fits, centred): 1, or 0 if refused.
///
/// # Safety
/// The kernel checks the whole buffer before it reads a pixel.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn SetScreenBuffer(
    window: u64,
    pixels: *const u32,
    width: u32,
    height: u32,
    pitch: u32,
) -> i32 {
    let args = [
        window,
        pixels as u64,
        u64::from(width),
        u64::from(height),
        u64::from(pitch),
    ];
    // SAFETY: SET_SCREEN_BUFFER only reads the buffer, checked.
    boolean(unsafe { call(nr::SET_SCREEN_BUFFER, args) })
}

/// Posts `WM_QUIT` with `code` to the calling thread's windows.
#[unsafe(no_mangle)]
pub extern "C" fn PostQuitMessage(code: i32) {
    // SAFETY: POST_QUIT reads no memory.
    let _ = unsafe { call(nr::POST_QUIT, [code as u32 as u64, 0, 0, 0, 0]) };
}
