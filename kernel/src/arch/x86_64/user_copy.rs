//! Copies between kernel buffers and user memory that survive bad pointers.
//!
//! Each copy instruction has an `.extable` entry: a fault on an unmapped or
//! read-only user page resumes at the fixup, which returns an error. With
//! SMAP on, the copy runs between STAC and CLAC (Intel SDM Vol. 3A §4.6).

use super::exceptions::PROBE_FAULT;
use super::probe::ProbeFault;
use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};

global_asm!(
    ".section .text.user_copy, \"ax\"",
    ".global ferrite_copy_user_smap",
    // Eight bytes a step, then the 0-7 left: `rep movsb` alone costs a
    // counted instruction a byte under QEMU's -icount and is slow under TCG
    // (a 640x400 frame is 1 MB).
    "ferrite_copy_user_smap:",
    "    mov rcx, rdx",
    "    shr rcx, 3",
    "    and edx, 7",
    "    xor eax, eax",
    "    stac",
    "2:  rep movsq",
    "    mov ecx, edx",
    "6:  rep movsb",
    "    xor edx, edx",
    "    clac",
    "    ret",
    "3:  clac",
    "    ret",
    ".global ferrite_copy_user_plain",
    "ferrite_copy_user_plain:",
    "    mov rcx, rdx",
    "    shr rcx, 3",
    "    and edx, 7",
    "    xor eax, eax",
    "4:  rep movsq",
    "    mov ecx, edx",
    "7:  rep movsb",
    "    xor edx, edx",
    "5:  ret",
    ".section .extable, \"a\"",
    "    .quad 2b, 3b",
    "    .quad 6b, 3b",
    "    .quad 4b, 5b",
    "    .quad 7b, 5b",
);

#[repr(C)]
struct CopyReturn {
    rax: u64,
    rdx: u64,
}

extern "C" {
    fn ferrite_copy_user_smap(dst: *mut u8, src: *const u8, len: usize) -> CopyReturn;
    fn ferrite_copy_user_plain(dst: *mut u8, src: *const u8, len: usize) -> CopyReturn;
}

static SMAP: AtomicBool = AtomicBool::new(false);

/// Records whether CR4.SMAP is on (so copies must use STAC/CLAC).
pub(super) fn set_smap(on: bool) {
    SMAP.store(on, Ordering::Relaxed);
}

/// Copies `len` bytes from `src` to `dst`, one of which is user memory.
///
/// # Safety
/// The kernel side must be valid for the access (`dst` writable for `len`
/// bytes when it is the kernel buffer, `src` readable when it is); the
/// user side must lie entirely in the user half (the caller checks the
/// range): faults there are turned into an error, not a crash.
pub unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> Result<(), ProbeFault> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: per this function's contract; the routines only move bytes
    // between the two ranges and return through their fixup on a fault.
    let r = unsafe {
        if SMAP.load(Ordering::Relaxed) {
            ferrite_copy_user_smap(dst, src, len)
        } else {
            ferrite_copy_user_plain(dst, src, len)
        }
    };
    if r.rax & PROBE_FAULT != 0 {
        Err(ProbeFault {
            vector: r.rax as u8,
            error_code: (r.rax >> 8) as u32,
            address: r.rdx,
        })
    } else {
        Ok(())
    }
}
