//! The Init library: what every Ferrite PE program links.
//!
//! - `InitProcess`, the PE entry point of every program (link argument
//!   `/ENTRY:InitProcess`): its first instruction is the `boot_to_user`
//!   benchmark marker (id 0); it calls the program's
//!   `extern "C" fn main(argc: i32, argv: *const *const c_char) -> i32` with
//!   `argv = { module name, NULL }` and ends the process with its result.
//! - `InitThread(entry, arg)`, where the kernel starts every further thread
//!   (exported by name from the program: `/EXPORT:InitThread`): it calls
//!   `entry(arg)` and ends the thread with its result.
//! - The `#[panic_handler]`: the message goes to the debug console, then
//!   the process ends with [`abi::exit_code::PANIC`].
//! - [`rt`]: the declarations of runtime.dll's exports.
//! - Through the `crt` crate: `memcpy` and friends, `__chkstk`, `_fltused`,
//!   which the compiler expects inside every image.
//!
//! A Rust program supplies its `main` with [`main!`].
#![no_std]

pub mod rt;

use core::ffi::{c_char, c_void};
// `crt` defines the compiler's intrinsics under their C names; naming the
// crate links it into every program.
use crt as _;

unsafe extern "C" {
    /// The program's main function (see [`main!`]).
    fn main(argc: i32, argv: *const *const c_char) -> i32;
}

/// The PE entry point of every program.
///
/// The kernel enters it in ring 3 with RSP ≡ 8 (mod 16), as after a call,
/// and 32 bytes of home space above (`abi` crate docs, "Process start").
///
/// # Safety
/// Only the kernel calls it, once, as the process's first code.
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn InitProcess() -> ! {
    core::arch::naked_asm!(
        // Benchmark marker, id 0 (benchmarks.md): nop [rax + 0x4d420000].
        ".byte 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x42, 0x4d",
        // 8 to realign RSP to 16, 32 of home space for the callee.
        "sub rsp, 40",
        "call {start}",
        "ud2",
        start = sym process_start,
    );
}

/// An absolute pointer to the entry point, kept by `#[used]`: it gives every
/// program at least one DIR64 base relocation, so every image has a
/// `.reloc` directory and the kernel relocates all of them the same way
/// (a program whose code is all RIP-relative would otherwise have none).
#[used]
static ENTRY_POINTER: unsafe extern "C" fn() -> ! = InitProcess;

/// Most arguments `argv` holds (the program name included).
const MAX_ARGS: usize = 16;

/// `InitProcess` continued in Rust: builds `argv` (the program name, then
/// the command line split at spaces), runs `main`, exits.
extern "C" fn process_start() -> ! {
    let mut info = abi::ProcessInfo::default();
    // SAFETY: `info` is a writable ProcessInfo on this stack.
    unsafe { rt::GetProcessInfo(&mut info) };
    // The name is NUL-padded; one more byte keeps it terminated when full.
    let mut name = [0u8; 33];
    name[..32].copy_from_slice(&info.name);
    // Our own copy of the command line, cut into NUL-terminated words.
    let mut line = [0u8; 1025];
    // SAFETY: GetCommandLineA returns a NUL-terminated string of at most
    // 1024 bytes that lives as long as the process.
    let len = unsafe {
        let src = rt::GetCommandLineA();
        let mut n = 0;
        while n < 1024 && *src.add(n) != 0 {
            line[n] = *src.add(n) as u8;
            n += 1;
        }
        n
    };
    // Spaces end the words; each word start is an argument.
    for b in line[..len].iter_mut().filter(|b| **b == b' ') {
        *b = 0;
    }
    let mut argv = [core::ptr::null::<c_char>(); MAX_ARGS + 1];
    argv[0] = name.as_ptr().cast();
    let mut argc = 1;
    for at in 0..len {
        let starts = line[at] != 0 && (at == 0 || line[at - 1] == 0);
        if starts && argc < MAX_ARGS {
            argv[argc] = line[at..].as_ptr().cast();
            argc += 1;
        }
    }
    // SAFETY: `main` is the program's, with the C signature declared above;
    // argv is a NULL-terminated array of NUL-terminated strings that live
    // until the process ends (this frame never returns).
    let code = unsafe { main(argc as i32, argv.as_ptr()) };
    rt::exit_process(code as u32)
}

/// A thread's entry function: `u32 entry(void *arg)`.
pub type ThreadEntry = extern "C" fn(arg: *mut c_void) -> u32;

/// Where the kernel starts every thread after the first: RCX = `entry`,
/// RDX = `arg`, the stack as at `InitProcess`.
#[unsafe(no_mangle)]
pub extern "C" fn InitThread(entry: ThreadEntry, arg: *mut c_void) -> ! {
    let code = entry(arg);
    rt::exit_thread(code)
}

/// Defines the program's C `main` as a call to the Rust function `$f`
/// (`fn() -> i32`, the exit code).
///
/// ```ignore
/// init::main!(run);
/// fn run() -> i32 { 0 }
/// ```
#[macro_export]
macro_rules! main {
    ($f:path) => {
        /// The program's `main`, called by the Init library's entry point.
        #[unsafe(no_mangle)]
        pub extern "C" fn main(_argc: i32, _argv: *const *const core::ffi::c_char) -> i32 {
            $f()
        }
    };
}

// Only for Windows targets: on others (a host `cargo clippy --workspace`)
// the programs link std, which has its own.
#[cfg(windows)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let line = crt::panic_line::PanicLine::new("", info);
    // SAFETY: `c_str` is NUL-terminated.
    unsafe { rt::OutputDebugStringA(line.c_str().as_ptr().cast()) };
    rt::exit_process(abi::exit_code::PANIC)
}
