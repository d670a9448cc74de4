//! The ring-3 side of Ferrite's system calls: one inline-asm helper.
//!
//! Every system call runtime.dll makes goes through [`syscall`]; programs
//! use runtime.dll's exports instead (`FerriteSyscall` for raw calls), except
//! where a measurement must see the bare instruction (`null_syscall`).
#![no_std]

use core::arch::asm;

/// Makes system call `nr` with five arguments (unused ones are ignored by
/// the kernel) and returns RAX as the kernel left it (see [`abi::decode`]).
///
/// Convention (`abi` crate docs): number in RAX, arguments in RDI, RSI,
/// RDX, R10, R8; the `syscall` instruction itself overwrites RCX (return
/// RIP) and R11 (RFLAGS) — Intel SDM vol. 2B, SYSCALL.
///
/// # Safety
/// Pointer arguments are checked by the kernel, but a call that writes
/// user memory (e.g. `GET_SYSTEM_INFO`) writes wherever it is told within
/// this process: the caller must own the memory it names, as for any
/// store. Calls that end the process or thread do not return.
#[inline(always)]
pub unsafe fn syscall(nr: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> u64 {
    let ret: u64;
    // SAFETY: the caller upholds the call's contract (above). The kernel
    // preserves every register but RAX, RCX and R11, which are declared
    // here, and uses its own stack.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") a4,
            in("r8") a5,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// [`syscall`] with its result decoded.
///
/// # Safety
/// As for [`syscall`].
#[inline(always)]
pub unsafe fn call(nr: u64, args: [u64; 5]) -> abi::SysResult {
    // SAFETY: forwarded contract.
    abi::decode(unsafe { syscall(nr, args[0], args[1], args[2], args[3], args[4]) })
}
