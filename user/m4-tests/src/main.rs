//! m4-tests.exe: the M4 user-mode checks, reported to the milestone kernel.
//!
//! The device tree through GET_DEVICE ([`devices`]), then windows,
//! messages and pixels ([`windows`]). With the argument `hyperv` (M7) it
//! only opens a window and takes the keys and the click the simulated
//! Hyper-V keyboard and mouse send ([`windows::hyperv`]); with `synthvid`
//! it draws the pattern full screen and waits for the kernel to look at
//! the simulated VRAM ([`windows::synthvid`]).
//!
//! The kernel runs it after its own M4 checks, so the device tree it walks
//! already has the test drivers' bindings.
// A PE program for Ferrite, built for x86_64-pc-windows-msvc; on other
// targets (a host `cargo clippy --workspace`) it links std only to
// type-check.
#![cfg_attr(windows, no_std)]
#![no_main]

mod devices;
mod windows;

use testkit::Report;

init::main!(run);

/// Whether the command line holds `word`.
fn argument(word: &[u8]) -> bool {
    // SAFETY: GetCommandLineA returns a NUL-terminated string that lives
    // as long as the process.
    let line = unsafe { core::ffi::CStr::from_ptr(init::rt::GetCommandLineA()) };
    line.to_bytes().split(|&b| b == b' ').any(|w| w == word)
}

fn run() -> i32 {
    let mut r = Report::new();
    if argument(b"hyperv") {
        windows::hyperv(&mut r);
    } else if argument(b"synthvid") {
        windows::synthvid(&mut r);
    } else {
        devices::tree_is_listed(&mut r);
        devices::bad_arguments_are_refused(&mut r);
        windows::run(&mut r);
    }
    if r.all_passed() {
        0
    } else {
        1
    }
}
