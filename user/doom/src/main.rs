//! doom.exe: doomgeneric's engine as a Ferrite program.
//!
//! The engine is C (compiled by `build.rs`, linked against runtime.dll's C
//! runtime); this file is its platform layer, the six `DG_*` functions
//! doomgeneric asks of a port, over runtime.dll's native interface:
//!
//! - `DG_Init`: a window as large as the screen allows; the 640×400 frame
//!   is drawn into it at the largest integer scale that fits, centred
//!   (`-scale N`, an option of ours, asks for N× instead: the timedemo
//!   boots use `-scale 1`, the frame copied 1:1 as the Linux peer does);
//! - `DG_DrawFrame`: `SetScreenBuffer` with the engine's frame;
//! - `DG_SleepMs`: `Sleep`; `DG_GetTicksMs`: milliseconds since start;
//! - `DG_GetKey`: drains the window's messages into a queue of DOOM key
//!   events (`doomkeys`), one event per call; Alt+F4 (`WM_CLOSE`) quits
//!   the engine as its own menu does;
//! - `DG_SetWindowTitle`: kept for the log only (windows have no title
//!   bar to show it).
//!
//! `main` hands the command line to `doomgeneric_Create` and then ticks
//! the engine until it exits (through runtime.dll's `exit`).
// A PE program for Ferrite, built for x86_64-pc-windows-msvc; on other
// targets (a host `cargo clippy --workspace`) it links std only to
// type-check.
#![cfg_attr(windows, no_std)]
#![no_main]

mod imports;

use abi::{message_flags, wm, Message};
use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, CStr};
use core::sync::atomic::{AtomicU64, Ordering};
use doomkeys::KeyQueue;
use init::rt;

/// The engine's frame (doomgeneric.h's DOOMGENERIC_RESX × RESY, which
/// build.rs sets).
const WIDTH: u32 = 640;
const HEIGHT: u32 = 400;
/// The window asked for without `-scale`: cut to the screen by the window
/// system, so the frame is drawn at the largest factor that fits.
const WINDOW_SCALE: u32 = 4;
/// The largest `-scale`.
const MAX_SCALE: u32 = 8;

unsafe extern "C" {
    /// The engine's frame buffer, XRGB8888, allocated by
    /// `doomgeneric_Create`.
    static DG_ScreenBuffer: *mut u32;
    fn doomgeneric_Create(argc: c_int, argv: *mut *mut c_char);
    fn doomgeneric_Tick();
    /// The engine's orderly quit (saves what it can, then `exit(0)`).
    fn I_Quit();
}

/// State only the engine's one thread touches (every `DG_*` call comes
/// from it).
struct EngineOnly<T>(UnsafeCell<T>);

// SAFETY: the engine is single-threaded and the only caller of the DG_*
// functions, the sole users of these values; no other thread exists.
unsafe impl<T> Sync for EngineOnly<T> {}

static KEYS: EngineOnly<KeyQueue> = EngineOnly(UnsafeCell::new(KeyQueue::new()));
static WINDOW: AtomicU64 = AtomicU64::new(0);
static START_MS: AtomicU64 = AtomicU64::new(0);
/// The window's size in frames (`-scale N`, or [`WINDOW_SCALE`]).
static SCALE: AtomicU64 = AtomicU64::new(WINDOW_SCALE as u64);

/// The N of a `-scale N` among the arguments (1 ..= MAX_SCALE), if any.
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings.
unsafe fn scale_option(argc: c_int, argv: *const *const c_char) -> Option<u32> {
    let arg = |i: c_int| {
        // SAFETY: i < argc, so the pointer is one of argv's strings.
        unsafe { CStr::from_ptr(*argv.add(i as usize)) }.to_bytes()
    };
    let at = (1..argc.saturating_sub(1)).find(|&i| arg(i) == b"-scale")?;
    let n: u32 = core::str::from_utf8(arg(at + 1)).ok()?.parse().ok()?;
    (1..=MAX_SCALE).contains(&n).then_some(n)
}

fn say(text: &CStr) {
    // SAFETY: a NUL-terminated string printed through "%s".
    unsafe { rt::printf(c"%s".as_ptr(), text.as_ptr()) };
}

/// The program's C entry point (called by the Init library).
///
/// # Safety
/// `argv` holds `argc` NUL-terminated strings and a NULL (the Init
/// library's promise), alive for the whole process.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    START_MS.store(
        // SAFETY: no memory is touched.
        unsafe { rt::GetTickCount64() },
        Ordering::Relaxed,
    );
    // SAFETY: the caller's argv.
    if let Some(n) = unsafe { scale_option(argc, argv) } {
        SCALE.store(u64::from(n), Ordering::Relaxed);
    }
    // SAFETY: the engine takes the C argv; it never writes through it
    // (and ignores the options it does not know, such as -scale).
    unsafe { doomgeneric_Create(argc, argv as *mut *mut c_char) };
    loop {
        // SAFETY: the engine was created above.
        unsafe { doomgeneric_Tick() };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn DG_Init() {
    let scale = SCALE.load(Ordering::Relaxed) as u32;
    // SAFETY: the title is a NUL-terminated string.
    let window = unsafe {
        rt::CreateWindow(
            c"DOOM".as_ptr(),
            (WIDTH * scale) as i32,
            (HEIGHT * scale) as i32,
            0,
        )
    };
    if window == 0 {
        say(c"doom: no window (is there a 32-bpp framebuffer?); running without a screen\n");
    }
    WINDOW.store(window, Ordering::Relaxed);
}

#[unsafe(no_mangle)]
pub extern "C" fn DG_DrawFrame() {
    let window = WINDOW.load(Ordering::Relaxed);
    // SAFETY: the engine allocated DG_ScreenBuffer before the first frame
    // and never moves it.
    let pixels = unsafe { DG_ScreenBuffer };
    if window != 0 && !pixels.is_null() {
        // SAFETY: the buffer holds WIDTH × HEIGHT pixels, rows 4 × WIDTH
        // bytes apart.
        unsafe { rt::SetScreenBuffer(window, pixels, WIDTH, HEIGHT, 4 * WIDTH) };
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn DG_SleepMs(ms: u32) {
    // SAFETY: no memory is touched.
    unsafe { rt::Sleep(ms) };
}

#[unsafe(no_mangle)]
pub extern "C" fn DG_GetTicksMs() -> u32 {
    // SAFETY: no memory is touched.
    let now = unsafe { rt::GetTickCount64() };
    now.wrapping_sub(START_MS.load(Ordering::Relaxed)) as u32
}

/// Moves the window's waiting messages into the key queue.
fn pump(keys: &mut KeyQueue) {
    let window = WINDOW.load(Ordering::Relaxed);
    if window == 0 {
        return;
    }
    let mut m = Message::default();
    // SAFETY: `m` is a writable Message.
    while unsafe { rt::PeekMessage(&mut m, window, 0, 0, message_flags::REMOVE as u32) } == 1 {
        match m.message {
            wm::KEYDOWN | wm::KEYUP => {
                if let Ok(vk) = u8::try_from(m.wparam) {
                    keys.push_vk(vk, m.message == wm::KEYDOWN);
                }
            }
            wm::CLOSE => {
                // SAFETY: the engine's own quit path, from its thread.
                unsafe { I_Quit() };
                rt::exit_process(0)
            }
            _ => {}
        }
    }
}

/// # Safety
/// `pressed` and `key` must be writable (the engine's locals).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn DG_GetKey(pressed: *mut c_int, key: *mut u8) -> c_int {
    // SAFETY: only the engine's thread gets here (see `EngineOnly`).
    let keys = unsafe { &mut *KEYS.0.get() };
    pump(keys);
    match keys.pop() {
        Some(e) => {
            // SAFETY: the caller's contract.
            unsafe {
                *pressed = c_int::from(e.pressed);
                *key = e.key;
            }
            1
        }
        None => 0,
    }
}

/// # Safety
/// `title` must be a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn DG_SetWindowTitle(title: *const c_char) {
    if !title.is_null() {
        // SAFETY: the caller's contract; "%s" reads up to its NUL.
        unsafe { rt::printf(c"doom: window title \"%s\"\n".as_ptr(), title) };
    }
}
