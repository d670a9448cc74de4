//! runtime.dll: Ferrite's native interface and C runtime for programs.
//!
//! Every program imports from this DLL; it is the only user code that makes
//! system calls (through `ferrite_sys::syscall`). Exports:
//!
//! - the native interface ([`native`]): `GetSystemInfo`, `GetProcessInfo`,
//!   `Sleep`, `ExitProcess`, `ExitThread`, `OutputDebugStringA` and the raw
//!   `FerriteSyscall`;
//! - threads, processes and handles ([`threads`]): `CreateThread`,
//!   `WaitForSingleObject`, `WaitForMultipleObjects`, `GetExitCodeProcess`,
//!   `GetExitCodeThread`, `TerminateProcess`, `CloseHandle`,
//!   `GetCurrentProcess`, `GetCurrentThread`, `SwitchToThread`,
//!   `GetTickCount64`, `QueryPerformanceCounter`,
//!   `QueryPerformanceFrequency`, `CreateEventA`, `SetEvent`, `ResetEvent`,
//!   `CreateProcess`, `GetCommandLineA`, `OpenPipe`, `ReadFile`,
//!   `WriteFile`, `VirtualAlloc`, `VirtualFree`;
//! - windows ([`window`]): `CreateWindow`, `GetWindowRect`, `GetMessage`,
//!   `PeekMessage`, `SetScreenBuffer`, `PostQuitMessage`;
//! - the C runtime: `<string.h>` (but for `memcpy`, `memmove`, `memset`,
//!   `memcmp`, `memchr` and `strlen`, which every image has of its own), `<ctype.h>`,
//!   `<math.h>` and `<stdlib.h>`'s `atoi`, `atol`, `atoll`, `atof`, `abs`,
//!   `labs`, `llabs`, `qsort`, `bsearch`, `rand`, `srand` from the `crt`
//!   crate, under their C names ([`cnames`]), and formatted output to the debug
//!   console ([`stdio`]): `printf`, `vprintf`, `snprintf`, `vsnprintf`,
//!   `sprintf`, `vsprintf`, `puts`, `putchar`, `sscanf`, `vsscanf`;
//! - sockets ([`socket`]): `UdpBind`, `UdpSendTo`, `UdpReceiveFrom`,
//!   `TcpListen`, `TcpAccept`, `TcpConnect`, `TcpSend`, `TcpReceive`;
//! - files by path ([`dir`]): `GetFileInfo`, `ReadDirectory`, `remove`,
//!   `rename`, `mkdir`, `_mkdir`, `access`;
//! - `FILE` streams over the boot files and disk files, `errno` and
//!   `exit` ([`file`]):
//!   `fopen`, `fclose`, `fread`, `fwrite`, `fseek`, `ftell`, `_fseeki64`,
//!   `_ftelli64`, `rewind`, `fflush`, `feof`, `ferror`, `clearerr`,
//!   `fgetc`, `getc`, `getchar`, `fgets`, `ungetc`, `fputc`, `putc`,
//!   `fputs`, `setvbuf`, `setbuf`, `fprintf`, `vfprintf`,
//!   `__acrt_iob_func` (stdin/stdout/stderr), `_errno`, `atexit`, `exit`,
//!   `_exit`, `abort`,
//!   `_assert`. C code includes the headers in `runtime-dll/include`.
//! - the heap ([`heap`]): `malloc`, `calloc`, `realloc`, `free`,
//!   `strdup`, `strndup`, `FerriteHeapStats`; conversions that set
//!   `errno` ([`stdlib`]): `strtol`, `strtoul`, `strtoll`, `strtoull`,
//!   `strtod`, and `system`.
//!
//! Everything is `extern "C"`, which on this target is the Win64
//! convention.
// Built for x86_64-pc-windows-msvc. On other targets (a host `cargo clippy
// --workspace`) it links std only so that it type-checks; it never runs there.
#![cfg_attr(windows, no_std)]

pub mod cnames;
pub mod dir;
pub mod file;
pub mod heap;
pub mod native;
pub mod socket;
pub mod stdio;
pub mod stdlib;
pub mod threads;
mod varargs;
pub mod window;

// The intrinsics of `crt` (memcpy, __chkstk, ...) are `#[no_mangle]` items
// of a dependency; naming the crate links it, and a cdylib exports every
// such item.
use crt as _;

#[cfg(windows)]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let line = crt::panic_line::PanicLine::new("runtime.dll: ", info);
    native::debug_write(line.text());
    native::ExitProcess(abi::exit_code::PANIC)
}
