//! faults.exe: one deliberate ring-3 fault, picked by its module name.
//!
//! The kernel loads this one file under several names; each name is one
//! fault the kernel must turn into the process's exit status (`abi::status`)
//! without harm to anyone else. If the fault does not happen, the program
//! says so and exits with `abi::exit_code::FAULT_NOT_RAISED` (0xBAD).
//!
//! | module name       | does                                   | expected exit status   |
//! |-------------------|----------------------------------------|------------------------|
//! | `fault-pf.exe`    | writes to address 0                    | ACCESS_VIOLATION       |
//! | `fault-gp.exe`    | executes `cli`                         | PRIVILEGED_INSTRUCTION |
//! | `fault-ud.exe`    | executes `ud2`                         | ILLEGAL_INSTRUCTION    |
//! | `fault-de.exe`    | divides by zero (`div`)                | INTEGER_DIVIDE_BY_ZERO |
//! | `fault-kread.exe` | reads the kernel image (0xffffffff80000000) | ACCESS_VIOLATION  |
//! | `fault-peek.exe`  | reads `abi::testing::ISOLATION_PROBE_ADDRESS`, mapped only in another process | ACCESS_VIOLATION |
//! | `fault-ss.exe`    | pushes with a non-canonical RSP (#SS)   | ACCESS_VIOLATION       |
//! | `fault-sysret.exe`| executes `48 0f 07` (REX.W sysret, #GP) | PRIVILEGED_INSTRUCTION |
//! | `fault-stack.exe` | recurses without end (512-byte frames) | STACK_OVERFLOW         |
//! | `fault-skip.exe`  | writes 64 KiB below RSP, skipping the stack's guard page | ACCESS_VIOLATION |
// A PE program for Ferrite, built for x86_64-pc-windows-msvc. On other
// targets (a host `cargo clippy --workspace`) it links std only so that it
// type-checks; it is never run there.
#![cfg_attr(windows, no_std)]
#![no_main]

use core::arch::asm;
use core::ffi::{c_char, CStr};
use core::hint::black_box;
use init::rt;

init::main!(run);

/// Writes one line to the debug console (one DEBUG_WRITE).
fn say(line: &CStr) {
    // SAFETY: a NUL-terminated string.
    unsafe { rt::OutputDebugStringA(line.as_ptr()) };
}

/// Reads 8 bytes at `addr` (which must fault).
fn read(addr: u64) {
    // SAFETY: deliberately faulting; if the load succeeds it only reads.
    unsafe {
        asm!("mov {tmp}, qword ptr [{addr}]", addr = in(reg) addr, tmp = out(reg) _, options(nostack, readonly))
    };
}

/// Recurses until the stack runs out: each frame keeps 512 bytes live
/// (under a page, so no `__chkstk`: the stack grows through its guard
/// page, a page at a time, until the reservation ends).
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    frame[0] = depth as u8;
    recurse(depth + 1) + u64::from(black_box(&frame)[0])
}

fn run() -> i32 {
    let mut info = abi::ProcessInfo::default();
    // SAFETY: `info` is a writable ProcessInfo.
    unsafe { rt::GetProcessInfo(&mut info) };
    let end = info
        .name
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.name.len());
    let name = &info.name[..end];
    match name {
        b"fault-pf.exe" => {
            say(c"faults: fault-pf.exe writes to address 0 (expect ACCESS_VIOLATION)\n");
            // SAFETY: deliberately faulting store to the null page.
            unsafe { asm!("mov qword ptr [{p}], 1", p = in(reg) 0u64, options(nostack)) };
        }
        b"fault-gp.exe" => {
            say(c"faults: fault-gp.exe executes cli in ring 3 (expect PRIVILEGED_INSTRUCTION)\n");
            // SAFETY: deliberately faulting (#GP: IOPL is 0 in ring 3).
            unsafe { asm!("cli", options(nomem, nostack)) };
        }
        b"fault-ud.exe" => {
            say(c"faults: fault-ud.exe executes ud2 (expect ILLEGAL_INSTRUCTION)\n");
            // SAFETY: deliberately faulting (#UD).
            unsafe { asm!("ud2", options(nomem, nostack)) };
        }
        b"fault-de.exe" => {
            say(c"faults: fault-de.exe divides by zero (expect INTEGER_DIVIDE_BY_ZERO)\n");
            // SAFETY: deliberately faulting (#DE); changes only the
            // registers it names.
            unsafe {
                asm!(
                    "div {d}",
                    d = in(reg) core::hint::black_box(0u64),
                    inout("rax") 1u64 => _,
                    inout("rdx") 0u64 => _,
                    options(nomem, nostack)
                )
            };
        }
        b"fault-kread.exe" => {
            say(c"faults: fault-kread.exe reads the kernel image at 0xffffffff80000000 (expect ACCESS_VIOLATION)\n");
            read(0xffff_ffff_8000_0000);
        }
        b"fault-peek.exe" => {
            say(c"faults: fault-peek.exe reads 0x50000000, mapped only in another process (expect ACCESS_VIOLATION)\n");
            read(abi::testing::ISOLATION_PROBE_ADDRESS);
        }
        b"fault-ss.exe" => {
            say(c"faults: fault-ss.exe pushes with RSP 0x800000001000 (expect ACCESS_VIOLATION)\n");
            // SAFETY: deliberately faulting: the push's address is not
            // canonical, a stack-segment fault (Intel SDM Vol. 3A §6.15,
            // #SS); nothing runs after it (ud2 if it did not fault).
            unsafe {
                asm!(
                    "mov rsp, {p}",
                    "push rax",
                    "ud2",
                    p = in(reg) 0x8000_0000_1000u64,
                    options(noreturn)
                )
            };
        }
        b"fault-sysret.exe" => {
            say(c"faults: fault-sysret.exe executes REX.W sysret in ring 3 (expect PRIVILEGED_INSTRUCTION)\n");
            // SAFETY: deliberately faulting: SYSRET at CPL 3 raises #GP(0).
            unsafe { asm!(".byte 0x48, 0x0f, 0x07", options(nomem, nostack)) };
        }
        b"fault-stack.exe" => {
            say(c"faults: fault-stack.exe recurses without end (expect STACK_OVERFLOW)\n");
            black_box(recurse(0));
        }
        b"fault-skip.exe" => {
            say(c"faults: fault-skip.exe writes 64 KiB below RSP without probing (expect ACCESS_VIOLATION)\n");
            // SAFETY: deliberately faulting: the byte is in the stack's
            // reservation but below its guard page, so it is not mapped.
            unsafe { asm!("mov byte ptr [rsp - 0x10000], 1", options(nostack)) };
        }
        _ => {
            let mut line = [0u8; 96];
            // SAFETY: 96 writable bytes; %.32s reads at most the 32 name
            // bytes, NUL or not.
            unsafe {
                rt::snprintf(
                    line.as_mut_ptr().cast::<c_char>(),
                    line.len(),
                    c"faults: unknown variant %.32s: no fault to raise\n".as_ptr(),
                    info.name.as_ptr(),
                )
            };
            // SAFETY: snprintf NUL-terminated the line.
            unsafe { rt::OutputDebugStringA(line.as_ptr().cast()) };
            return abi::exit_code::FAULT_NOT_RAISED as i32;
        }
    }
    say(c"faults: the fault did not happen\n");
    abi::exit_code::FAULT_NOT_RAISED as i32
}
