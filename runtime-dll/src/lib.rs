//! runtime.dll: Ferrite's native interface and C runtime for programs.
//!
//! Every program imports from this DLL; it is the only user code that makes
//! system calls (through `ferrite_sys::syscall`). Exports:
//!
//! - the native interface ([`native`]): `GetSystemInfo`, `GetProcessInfo`,
//!   `Sleep`, `ExitProcess`, `ExitThread`, `OutputDebugStringA` and the raw
//!   `FerriteSyscall`;
//! - the C runtime: `<string.h>` and `<ctype.h>` from the `crt` crate
//!   (exported under their C names), and formatted output to the debug
//!   console ([`stdio`]): `printf`, `vprintf`, `snprintf`, `vsnprintf`,
//!   `sprintf`, `vsprintf`, `puts`, `putchar`.
//!
//! Everything is `extern "C"`, which on this target is the Win64
//! convention.
// Built for x86_64-pc-windows-msvc. On other targets (a host `cargo clippy
// --workspace`) it links std only so that it type-checks; it never runs there.
#![cfg_attr(windows, no_std)]

pub mod native;
pub mod stdio;
mod varargs;

// The exports of `crt` (memcpy, strlen, isalpha, ...) are `#[no_mangle]`
// items of a dependency; naming the crate links it, and a cdylib exports
// every such item.
use crt as _;

#[cfg(windows)]
use core::fmt::Write;

/// A fixed buffer for the panic message.
#[cfg(windows)]
struct PanicText {
    bytes: [u8; 256],
    len: usize,
}

#[cfg(windows)]
impl Write for PanicText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - 1 - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(windows)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let mut text = PanicText {
        bytes: [0; 256],
        len: 0,
    };
    match info.location() {
        Some(at) => write!(text, "runtime.dll: panic at {at}: {}", info.message()),
        None => write!(text, "runtime.dll: panic: {}", info.message()),
    }
    .ok();
    // One line per DEBUG_WRITE: a multi-line message is joined.
    text.bytes[..text.len]
        .iter_mut()
        .filter(|b| **b == b'\n')
        .for_each(|b| *b = b' ');
    text.len = text.len.min(text.bytes.len() - 2);
    text.bytes[text.len] = b'\n';
    native::debug_write(&text.bytes[..text.len + 1]);
    native::ExitProcess(abi::exit_code::PANIC)
}
