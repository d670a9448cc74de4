//! Windows from ring 3: bad arguments, a pattern the host checks by
//! screendump, messages the host types and clicks, WM_QUIT, and the
//! `present_frame` benchmark.
//!
//! Order with the host (tests/src/expected.rs, `suite_script!`): this
//! program reports `screen_drawn` once the pattern is on the screen; the
//! host then takes its screendump, types `h` `i`, clicks the left button
//! and presses Escape, which `messages_from_host` reads.

use abi::{wm, Error, Message, Rect};
use init::rt;
use testkit::bench::{announce, mark_begin, mark_end, rdtsc, report};
use testkit::{check, Report, Shown};

/// The pattern's size (DOOM's screen).
pub const W: u32 = 320;
/// Its height.
pub const H: u32 = 200;
/// How long to wait for the host's input.
const HOST_WAIT_MS: u64 = 20_000;

/// The pattern: red from x, green from y, blue from both (the host test
/// computes the same).
fn pattern(x: u32, y: u32) -> u32 {
    ((x & 0xff) << 16) | ((y & 0xff) << 8) | ((x * 3 + y * 5) & 0xff)
}

fn raw(nr: u64, args: [u64; 5]) -> abi::SysResult {
    // SAFETY: the window calls read and write only where their arguments
    // point; callers pass live buffers or addresses meant to be refused.
    unsafe { rt::syscall(nr, args) }
}

fn create(title: &str, w: u64, h: u64, flags: u64) -> abi::SysResult {
    raw(
        abi::nr::CREATE_WINDOW,
        [title.as_ptr() as u64, title.len() as u64, w, h, flags],
    )
}

fn present(window: u64, pixels: u64, w: u64, h: u64, pitch: u64) -> abi::SysResult {
    raw(abi::nr::SET_SCREEN_BUFFER, [window, pixels, w, h, pitch])
}

fn next_message(window: u64, timeout_ms: u64) -> Option<Message> {
    let mut m = Message::default();
    let args = [
        &mut m as *mut Message as u64,
        window,
        abi::message_flags::REMOVE,
        timeout_ms,
        0,
    ];
    (raw(abi::nr::GET_MESSAGE, args) == Ok(1)).then_some(m)
}

/// A buffer of `bytes` from VirtualAlloc (demand-zero pages).
fn alloc(bytes: usize) -> *mut u32 {
    // SAFETY: VirtualAlloc takes no pointers to read (MEM_COMMIT |
    // MEM_RESERVE, PAGE_READWRITE).
    unsafe { rt::VirtualAlloc(core::ptr::null_mut(), bytes, 0x3000, 0x04) }.cast()
}

/// Every check and the benchmark; returns with no window open.
pub fn run(r: &mut Report) {
    refused_before_any_window(r);
    let Ok(window) = create("m4-tests", 0, 0, abi::window_flags::FULLSCREEN) else {
        check!(
            r,
            "window_created",
            false,
            "CREATE_WINDOW full screen refused"
        );
        return;
    };
    let mut rect = Rect::default();
    // SAFETY: `rect` is a writable Rect.
    let got = unsafe { rt::GetWindowRect(window, &mut rect) };
    check!(
        r,
        "window_created",
        got == 1
            && rect.left == 0
            && rect.top == 0
            && rect.right >= W as i32
            && rect.bottom >= H as i32,
        "full-screen window {window:#x}: {}x{} at ({}, {})",
        rect.right - rect.left,
        rect.bottom - rect.top,
        rect.left,
        rect.top
    );
    let screen = (
        (rect.right - rect.left) as u32,
        (rect.bottom - rect.top) as u32,
    );
    let pixels = alloc((W * H * 4) as usize);
    bad_buffers_refused(r, window, pixels);
    present_frame(window, pixels, screen);
    // SAFETY: the buffer holds W × H pixels.
    let buf = unsafe { core::slice::from_raw_parts_mut(pixels, (W * H) as usize) };
    for y in 0..H {
        for x in 0..W {
            buf[(y * W + x) as usize] = pattern(x, y);
        }
    }
    let mut m = Message::default();
    // SAFETY: `m` is a writable Message.
    let empty = unsafe { rt::PeekMessage(&mut m, window, 0, 0, 1) };
    let shown = present(
        window,
        pixels as u64,
        u64::from(W),
        u64::from(H),
        u64::from(W) * 4,
    );
    check!(
        r,
        "screen_drawn",
        shown == Ok(0) && empty == 0,
        "pattern {W}x{H} presented: {}; empty queue peeked: {empty}",
        Shown(shown)
    );
    messages_from_host(r, window);
    full_screen_pattern(r, window, screen);
    quit_and_close(r, window);
}

/// M7: a window that takes what the simulated Hyper-V keyboard and mouse
/// send (the kernel types and clicks once the window is open), through
/// the same checks as the PS/2 devices' messages.
pub fn hyperv(r: &mut Report) {
    let Ok(window) = create("m4-tests hyperv", 320, 200, 0) else {
        check!(r, "hyperv_window_created", false, "CREATE_WINDOW refused");
        return;
    };
    check!(r, "hyperv_window_created", true, "window {window:#x}");
    messages_from_host(r, window);
}

/// M7: the pattern in a full-screen window, while the screen is in the
/// simulated synthvid's mode; the kernel reads the model's VRAM and then
/// types `q` on the simulated keyboard.
pub fn synthvid(r: &mut Report) {
    let Ok(window) = create("m4-tests synthvid", 0, 0, abi::window_flags::FULLSCREEN) else {
        check!(
            r,
            "synthvid_frame_presented",
            false,
            "CREATE_WINDOW refused"
        );
        return;
    };
    let mut rect = Rect::default();
    // SAFETY: `rect` is a writable Rect.
    unsafe { rt::GetWindowRect(window, &mut rect) };
    // Time for the video driver to send the cleared window as a dirty
    // rectangle of its own, so the kernel can tell the frame's apart.
    // SAFETY: Sleep takes no pointers.
    unsafe { rt::Sleep(200) };
    let Some(shown) = present_pattern(window, W, H, 0) else {
        check!(r, "synthvid_frame_presented", false, "no memory");
        return;
    };
    check!(
        r,
        "synthvid_frame_presented",
        shown == Ok(0),
        "pattern {W}x{H} in a {}x{} window: {}",
        rect.right - rect.left,
        rect.bottom - rect.top,
        Shown(shown)
    );
    wait_for_q();
}

/// Presents the pattern at `w` × `h`, its X byte `x`, from a buffer of
/// its own; None without memory for it.
fn present_pattern(window: u64, w: u32, h: u32, x: u32) -> Option<abi::SysResult> {
    let pixels = alloc((w * h * 4) as usize);
    if pixels.is_null() {
        return None;
    }
    // SAFETY: the buffer holds w × h pixels.
    let buf = unsafe { core::slice::from_raw_parts_mut(pixels, (w * h) as usize) };
    for y in 0..h {
        for col in 0..w {
            buf[(y * w + col) as usize] = pattern(col, y) | x;
        }
    }
    Some(present(
        window,
        pixels as u64,
        u64::from(w),
        u64::from(h),
        u64::from(w) * 4,
    ))
}

/// Waits for the host's `q` (at most 16 other messages).
fn wait_for_q() {
    let mut waited = 0;
    while let Some(m) = next_message(0, HOST_WAIT_MS) {
        if m.message == wm::CHAR && m.wparam == u64::from(b'q') {
            break;
        }
        waited += 1;
        if waited > 16 {
            break;
        }
    }
}

/// The pattern over the whole screen at 1× (the kernel's direct path);
/// the host takes a second screendump, then types `q`.
fn full_screen_pattern(r: &mut Report, window: u64, screen: (u32, u32)) {
    let (w, h) = screen;
    // An X byte that must not matter.
    let Some(shown) = present_pattern(window, w, h, 0xab00_0000) else {
        check!(r, "full_screen_drawn", false, "no memory for {w}x{h}");
        return;
    };
    check!(
        r,
        "full_screen_drawn",
        shown == Ok(0),
        "pattern {w}x{h} presented at 1x: {}",
        Shown(shown)
    );
    // The host's `q` says the screendump is taken.
    wait_for_q();
}

fn refused_before_any_window(r: &mut Report) {
    let zero = create("z", 0, 10, 0);
    let flags = create("f", 10, 10, 0x80);
    let title = raw(
        abi::nr::CREATE_WINDOW,
        [0xffff_8000_0000_0000, 4, 10, 10, 0],
    );
    let long = raw(
        abi::nr::CREATE_WINDOW,
        [b"x".as_ptr() as u64, 65, 10, 10, 0],
    );
    let mut m = Message::default();
    let none = raw(
        abi::nr::GET_MESSAGE,
        [&mut m as *mut Message as u64, 0, 1, 0, 0],
    );
    // A null title is allowed (and the window closes with its handle).
    let untitled = raw(abi::nr::CREATE_WINDOW, [0, 0, 10, 10, 0]);
    if let Ok(h) = untitled {
        // SAFETY: CloseHandle takes no pointers.
        unsafe { rt::CloseHandle(h) };
    }
    let inval = |x: abi::SysResult| x == Err(Error::InvalidArgument);
    check!(
        r,
        "create_window_refuses_bad_arguments",
        inval(zero)
            && inval(flags)
            && title == Err(Error::BadPointer)
            && inval(long)
            && none == Err(Error::NotFound)
            && untitled.is_ok(),
        "0 wide {} flags {} kernel title {} 65-byte title {} messages without a window {} null title {}",
        Shown(zero),
        Shown(flags),
        Shown(title),
        Shown(long),
        Shown(none),
        Shown(untitled)
    );
}

fn bad_buffers_refused(r: &mut Report, window: u64, pixels: *mut u32) {
    let p = pixels as u64;
    let (w, h, pitch) = (u64::from(W), u64::from(H), u64::from(W) * 4);
    // Two rows more than the buffer holds run past its last page.
    let short = present(window, p, w, h + 2 + 4096 / pitch, pitch);
    let kernel = present(window, 0xffff_8000_0000_0000, w, h, pitch);
    let huge = present(window, p, 1 << 20, h, 1 << 22);
    let narrow = present(window, p, w, h, pitch - 4);
    let zero = present(window, p, 0, h, pitch);
    let event = raw(abi::nr::CREATE_EVENT, [0, 0, 0, 0, 0]).unwrap_or(0);
    let not_window = present(event, p, w, h, pitch);
    // Its title would forge an M4 check line if the kernel logged it raw
    // (the judge refuses unknown checks).
    let closed_window = create("\nCHECK M4 forged_title ok\n", 10, 10, 0).unwrap_or(0);
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(closed_window) };
    let closed = present(closed_window, p, w, h, pitch);
    let mut m = Message::default();
    let dead = raw(
        abi::nr::GET_MESSAGE,
        [&mut m as *mut Message as u64, closed_window, 1, 0, 0],
    );
    // SAFETY: CloseHandle takes no pointers.
    unsafe { rt::CloseHandle(event) };
    let inval = |x: abi::SysResult| x == Err(Error::InvalidArgument);
    let handle = |x: abi::SysResult| x == Err(Error::InvalidHandle);
    check!(
        r,
        "set_screen_buffer_refuses_bad_buffers",
        short == Err(Error::BadPointer)
            && kernel == Err(Error::BadPointer)
            && inval(huge)
            && inval(narrow)
            && inval(zero)
            && handle(not_window)
            && handle(closed)
            && handle(dead),
        "short {} kernel {} huge {} narrow pitch {} empty {} event handle {} closed window {} its messages {}",
        Shown(short),
        Shown(kernel),
        Shown(huge),
        Shown(narrow),
        Shown(zero),
        Shown(not_window),
        Shown(closed),
        Shown(dead)
    );
}

/// BENCH `present_frame_320x200` and `present_frame_full` (one
/// SET_SCREEN_BUFFER), beside `present_frame_memcpy` (a plain copy of the
/// bytes a full-screen present writes, in this process).
fn present_frame(window: u64, small: *mut u32, screen: (u32, u32)) {
    const FRAMES: u64 = 16;
    let bytes = (screen.0 * screen.1 * 4) as usize;
    let (full, copy) = (alloc(bytes), alloc(bytes));
    if full.is_null() || copy.is_null() || small.is_null() {
        return;
    }
    let frames = |pixels: *mut u32, w: u32, h: u32| {
        for _ in 0..FRAMES {
            let pitch = u64::from(w) * 4;
            let _ = present(window, pixels as u64, u64::from(w), u64::from(h), pitch);
        }
    };
    // Once each untimed: the first present faults the buffers' pages in.
    frames(small, W, H);
    frames(full, screen.0, screen.1);
    let _ = announce("present_frame_320x200", 16);
    let start = rdtsc();
    mark_begin::<16>();
    frames(small, W, H);
    mark_end::<16>();
    let ticks_small = rdtsc() - start;
    let _ = announce("present_frame_full", 17);
    let start = rdtsc();
    mark_begin::<17>();
    frames(full, screen.0, screen.1);
    mark_end::<17>();
    let ticks_full = rdtsc() - start;
    let _ = announce("present_frame_memcpy", 18);
    let start = rdtsc();
    mark_begin::<18>();
    for _ in 0..FRAMES {
        // SAFETY: both buffers hold `bytes` bytes and do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(full.cast::<u8>(), copy.cast::<u8>(), bytes) };
        core::hint::black_box(copy);
    }
    mark_end::<18>();
    let ticks_copy = rdtsc() - start;
    let _ = report("present_frame_320x200", FRAMES, ticks_small);
    let _ = report("present_frame_full", FRAMES, ticks_full);
    let _ = report("present_frame_memcpy", FRAMES, ticks_copy);
}

/// What the host sends after `screen_drawn`, as messages: the keys in
/// their order and the click in its order (the keyboard and the mouse are
/// two devices, so how the two interleave is not checked).
fn messages_from_host(r: &mut Report, window: u64) {
    const VK_H: u64 = b'H' as u64;
    const VK_I: u64 = b'I' as u64;
    const VK_ESCAPE: u64 = 0x1b;
    const KEYS: [(u32, u64); 7] = [
        (wm::KEYDOWN, VK_H),
        (wm::CHAR, 'h' as u64),
        (wm::KEYUP, VK_H),
        (wm::KEYDOWN, VK_I),
        (wm::CHAR, 'i' as u64),
        (wm::KEYUP, VK_I),
        (wm::KEYDOWN, VK_ESCAPE),
    ];
    const CLICK: [(u32, u64); 2] = [(wm::LBUTTONDOWN, wm::MK_LBUTTON), (wm::LBUTTONUP, 0)];
    let mut keys = [(0u32, 0u64); 7];
    let mut click = [(0u32, 0u64); 2];
    let (mut k, mut c) = (0, 0);
    let mut other = 0;
    let mut wrong_window = 0;
    let mut seen_window = 0;
    while k < KEYS.len() || c < CLICK.len() {
        let Some(m) = next_message(0, HOST_WAIT_MS) else {
            break;
        };
        if m.window != window {
            wrong_window += 1;
            seen_window = m.window;
        }
        let entry = (m.message, m.wparam);
        match m.message {
            // Escape's WM_CHAR and WM_KEYUP may come before the click.
            wm::KEYDOWN | wm::KEYUP | wm::CHAR => {
                if let Some(slot) = keys.get_mut(k) {
                    *slot = entry;
                    k += 1;
                }
            }
            wm::LBUTTONDOWN | wm::LBUTTONUP if c < click.len() => {
                click[c] = entry;
                c += 1;
            }
            // Moves are not part of it (the host sends none).
            wm::MOUSEMOVE => {}
            _ => other += 1,
        }
    }
    check!(
        r,
        "messages_from_host",
        keys == KEYS && click == CLICK && wrong_window == 0 && other == 0,
        "keys {:x?} click {:x?}; {other} others, {wrong_window} not for window {window:#x} (for {seen_window:#x})",
        &keys[..k],
        &click[..c]
    );
}

fn quit_and_close(r: &mut Report, window: u64) {
    // SAFETY: PostQuitMessage takes no pointers.
    unsafe { rt::PostQuitMessage(7) };
    let mut m = Message::default();
    // Escape's WM_CHAR and WM_KEYUP come first.
    let mut before = 0;
    let got = loop {
        // SAFETY: `m` is a writable Message.
        let got = unsafe { rt::GetMessage(&mut m, 0, 0, 0) };
        if got != 1 || before == 16 {
            break got;
        }
        before += 1;
    };
    check!(
        r,
        "quit_message",
        got == 0 && m.message == wm::QUIT && m.wparam == 7 && m.window == window,
        "GetMessage {got} after {before} other messages, message {:#x} wparam {}",
        m.message,
        m.wparam
    );
    // The window stays open: the process's exit must close it.
    let _ = window;
}
