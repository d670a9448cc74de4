//! paint.exe: the demo `make qemu` boots into. A person draws with the
//! mouse (left button paints, right erases, the wheel sizes the brush),
//! picks a colour from the bar at the top, types characters (echoed on
//! the debug console), clears with `c` and leaves with Escape or Alt+F4.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc; on other
// targets (a host `cargo clippy --workspace`) it links std only to
// type-check.
#![cfg_attr(windows, no_std)]
#![no_main]

mod canvas;

use abi::{wm, Message, Rect};
use canvas::{Canvas, H, W};
use init::rt;

init::main!(run);

const VK_ESCAPE: u64 = 0x1b;

fn say(text: &core::ffi::CStr) {
    // SAFETY: a NUL-terminated format without conversions.
    unsafe { rt::printf(text.as_ptr()) };
}

fn run() -> i32 {
    // SAFETY: the title is a NUL-terminated string.
    let window = unsafe { rt::CreateWindow(c"paint".as_ptr(), 2 * W as i32, 2 * H as i32, 0) };
    if window == 0 {
        say(c"paint: no window (is there a framebuffer?)\n");
        return 1;
    }
    let mut rect = Rect::default();
    // SAFETY: `rect` is a writable Rect.
    unsafe { rt::GetWindowRect(window, &mut rect) };
    let Some(mut canvas) = Canvas::new(
        (rect.right - rect.left) as u32,
        (rect.bottom - rect.top) as u32,
    ) else {
        say(c"paint: out of memory\n");
        return 1;
    };
    say(c"paint: ready. Draw with the mouse (left paints, right erases, wheel sizes the brush), pick a colour on the top bar, type to echo, c clears, Esc quits\n");
    canvas.show(window);
    let mut m = Message::default();
    // SAFETY: `m` is a writable Message.
    while unsafe { rt::GetMessage(&mut m, 0, 0, 0) } == 1 {
        match m.message {
            wm::KEYDOWN if m.wparam == VK_ESCAPE => break,
            wm::CLOSE => break,
            wm::CHAR => typed(&mut canvas, m.wparam),
            wm::MOUSEMOVE | wm::LBUTTONDOWN | wm::RBUTTONDOWN => {
                let (x, y) = (
                    (m.lparam & 0xffff) as i16,
                    ((m.lparam >> 16) & 0xffff) as i16,
                );
                canvas.pointer(i32::from(x), i32::from(y), m.wparam);
            }
            wm::MOUSEWHEEL => canvas.brush(((m.wparam >> 16) as u16 as i16) > 0),
            _ => {}
        }
        // Draw once the queue is empty, not once per message.
        // SAFETY: `m` is a writable Message; nothing is removed.
        if unsafe { rt::PeekMessage(&mut m, 0, 0, 0, 0) } == 0 {
            canvas.show(window);
        }
    }
    say(c"paint: bye\n");
    0
}

fn typed(canvas: &mut Canvas, unit: u64) {
    if unit == u64::from(b'c') {
        canvas.clear();
    }
    let c = u8::try_from(unit)
        .ok()
        .filter(|c| c.is_ascii_graphic() || *c == b' ');
    if let Some(c) = c {
        // SAFETY: `%c` takes an int.
        unsafe { rt::printf(c"paint: typed '%c'\n".as_ptr(), i32::from(c)) };
    }
}
