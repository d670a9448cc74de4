//! Copies between kernel buffers and user memory that survive bad pointers.
//!
//! Each copy instruction has an `.extable` entry: a fault on an unmapped or
//! read-only user page resumes at the fixup, which returns an error. With
//! SMAP on, the copy runs between STAC and CLAC (Intel SDM Vol. 3A §4.6).
//!
//! Where ring 3 has AVX (`fpu.rs`), a copy of [`AVX_MIN`] bytes or more
//! moves 256 bytes a step through YMM0-7, which it saves on the stack
//! first and restores on every way out: they hold the calling thread's
//! values, which a system call preserves.

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
    // ferrite_copy_rows_avx(job [rdi]: *const RowsJob): `rows` rows of
    // `len` (>= 256) bytes, each row in whole 256-byte blocks through
    // YMM0-7 (indexed from the blocks' end by a negative offset), then the
    // 0-255 left as above.
    ".global ferrite_copy_rows_avx",
    "ferrite_copy_rows_avx:",
    "    push rbp",
    "    mov rbp, rsp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    sub rsp, 256",
    "    and rsp, -32",
    "    vmovdqa [rsp], ymm0",
    "    vmovdqa [rsp + 32], ymm1",
    "    vmovdqa [rsp + 64], ymm2",
    "    vmovdqa [rsp + 96], ymm3",
    "    vmovdqa [rsp + 128], ymm4",
    "    vmovdqa [rsp + 160], ymm5",
    "    vmovdqa [rsp + 192], ymm6",
    "    vmovdqa [rsp + 224], ymm7",
    "    mov r14, [rdi]",
    "    mov r15, [rdi + 8]",
    "    mov r11, [rdi + 16]",
    "    mov r10, [rdi + 24]",
    "    mov r12, [rdi + 32]",
    "    mov r13, [rdi + 40]",
    "    mov r8, [rdi + 48]",
    "    mov rbx, r11",
    "    and rbx, -256",
    "    xor eax, eax",
    "    test r8, r8",
    "    jz 20f",
    "    stac",
    "20: lea rdi, [r14 + rbx]",
    "    lea rsi, [r15 + rbx]",
    "    mov r9, rbx",
    "    neg r9",
    "21: vmovdqu ymm0, [rsi + r9]",
    "22: vmovdqu ymm1, [rsi + r9 + 32]",
    "23: vmovdqu ymm2, [rsi + r9 + 64]",
    "24: vmovdqu ymm3, [rsi + r9 + 96]",
    "25: vmovdqu ymm4, [rsi + r9 + 128]",
    "26: vmovdqu ymm5, [rsi + r9 + 160]",
    "27: vmovdqu ymm6, [rsi + r9 + 192]",
    "28: vmovdqu ymm7, [rsi + r9 + 224]",
    "31: vmovdqu [rdi + r9], ymm0",
    "32: vmovdqu [rdi + r9 + 32], ymm1",
    "33: vmovdqu [rdi + r9 + 64], ymm2",
    "34: vmovdqu [rdi + r9 + 96], ymm3",
    "35: vmovdqu [rdi + r9 + 128], ymm4",
    "36: vmovdqu [rdi + r9 + 160], ymm5",
    "37: vmovdqu [rdi + r9 + 192], ymm6",
    "38: vmovdqu [rdi + r9 + 224], ymm7",
    "    add r9, 256",
    "    jnz 21b",
    "    mov ecx, r11d",
    "    and ecx, 255",
    "    mov edx, ecx",
    "    shr ecx, 3",
    "    and edx, 7",
    "41: rep movsq",
    "    mov ecx, edx",
    "42: rep movsb",
    "    add r14, r12",
    "    add r15, r13",
    "    dec r10",
    "    jnz 20b",
    "    xor edx, edx",
    // The way out, also the fixup (RAX and RDX then say what faulted).
    "45: test r8, r8",
    "    jz 46f",
    "    clac",
    "46: vmovdqa ymm0, [rsp]",
    "    vmovdqa ymm1, [rsp + 32]",
    "    vmovdqa ymm2, [rsp + 64]",
    "    vmovdqa ymm3, [rsp + 96]",
    "    vmovdqa ymm4, [rsp + 128]",
    "    vmovdqa ymm5, [rsp + 160]",
    "    vmovdqa ymm6, [rsp + 192]",
    "    vmovdqa ymm7, [rsp + 224]",
    "    lea rsp, [rbp - 40]",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
    ".section .extable, \"a\"",
    "    .quad 21b, 45b",
    "    .quad 22b, 45b",
    "    .quad 23b, 45b",
    "    .quad 24b, 45b",
    "    .quad 25b, 45b",
    "    .quad 26b, 45b",
    "    .quad 27b, 45b",
    "    .quad 28b, 45b",
    "    .quad 31b, 45b",
    "    .quad 32b, 45b",
    "    .quad 33b, 45b",
    "    .quad 34b, 45b",
    "    .quad 35b, 45b",
    "    .quad 36b, 45b",
    "    .quad 37b, 45b",
    "    .quad 38b, 45b",
    "    .quad 41b, 45b",
    "    .quad 42b, 45b",
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
    fn ferrite_copy_rows_avx(job: *const RowsJob) -> CopyReturn;
}

/// What `ferrite_copy_rows_avx` copies (field offsets are its operands).
#[repr(C)]
struct RowsJob {
    dst: *mut u8,
    src: *const u8,
    len: usize,
    rows: usize,
    dst_pitch: usize,
    src_pitch: usize,
    smap: u64,
}

/// The shortest copy that goes through the YMM registers: below it,
/// saving and restoring eight of them costs more than it saves.
pub const AVX_MIN: usize = 512;

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
    // SAFETY: one row of `len` bytes: the same contract.
    unsafe { copy_rows(dst, 0, src, 0, len, 1) }
}

/// Copies `rows` rows of `len` bytes, row `i` from `src + i * src_pitch`
/// to `dst + i * dst_pitch`; one side is user memory. Stops at the first
/// fault on the user side (earlier rows stay copied).
///
/// # Safety
/// As for [`copy`], for every row: the kernel side's rows must be valid
/// for the access, the user side's must lie in the user half.
pub unsafe fn copy_rows(
    dst: *mut u8,
    dst_pitch: usize,
    src: *const u8,
    src_pitch: usize,
    len: usize,
    rows: usize,
) -> Result<(), ProbeFault> {
    if len == 0 || rows == 0 {
        return Ok(());
    }
    let smap = SMAP.load(Ordering::Relaxed);
    let r = if len >= AVX_MIN && super::fpu::avx() {
        let job = RowsJob {
            dst,
            src,
            len,
            rows,
            dst_pitch,
            src_pitch,
            smap: u64::from(smap),
        };
        // SAFETY: per this function's contract; only moves bytes, returns
        // through its fixup on a fault; runs where XCR0 enables AVX, with
        // `len` >= 256, and hands back YMM0-7 as it found them.
        unsafe { ferrite_copy_rows_avx(&job) }
    } else {
        let mut r = CopyReturn { rax: 0, rdx: 0 };
        for i in 0..rows {
            let (d, s) = (
                dst.wrapping_add(i * dst_pitch),
                src.wrapping_add(i * src_pitch),
            );
            // SAFETY: per this function's contract, for row `i`; the
            // routines only move bytes and return through their fixup.
            r = unsafe {
                if smap {
                    ferrite_copy_user_smap(d, s, len)
                } else {
                    ferrite_copy_user_plain(d, s, len)
                }
            };
            if r.rax & PROBE_FAULT != 0 {
                break;
            }
        }
        r
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
