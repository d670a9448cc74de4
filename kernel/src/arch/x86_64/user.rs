//! Ring 3: entering a user thread with IRETQ and leaving it for good.
//!
//! [`run_user`] saves the kernel's callee-saved registers and stack pointer
//! in the per-CPU block and IRETQs into ring 3. The thread comes back only
//! through [`leave_user`] (its exit system call or a fatal fault), which
//! restores that kernel context and makes `run_user` return the status.

use core::arch::global_asm;
use core::sync::atomic::{AtomicBool, Ordering};

global_asm!(
    ".section .text.user, \"ax\"",
    ".global ferrite_enter_user",
    "ferrite_enter_user:",
    "    push rbx",
    "    push rbp",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov gs:[{return_rsp}], rsp",
    // A clean x87/SSE state: nothing of the previous thread's registers
    // reaches this one (FNINIT, zeroed XMM0-15, default MXCSR 0x1F80).
    "    fninit",
    "    push 0x1f80",
    "    ldmxcsr [rsp]",
    "    add rsp, 8",
    "    pxor xmm0, xmm0",
    "    pxor xmm1, xmm1",
    "    pxor xmm2, xmm2",
    "    pxor xmm3, xmm3",
    "    pxor xmm4, xmm4",
    "    pxor xmm5, xmm5",
    "    pxor xmm6, xmm6",
    "    pxor xmm7, xmm7",
    "    pxor xmm8, xmm8",
    "    pxor xmm9, xmm9",
    "    pxor xmm10, xmm10",
    "    pxor xmm11, xmm11",
    "    pxor xmm12, xmm12",
    "    pxor xmm13, xmm13",
    "    pxor xmm14, xmm14",
    "    pxor xmm15, xmm15",
    "    push {user_ss}",
    "    push rsi",
    "    push rdx",
    "    push {user_cs}",
    "    push rdi",
    "    xor eax, eax",
    "    xor ebx, ebx",
    "    xor ecx, ecx",
    "    xor edx, edx",
    "    xor esi, esi",
    "    xor edi, edi",
    "    xor ebp, ebp",
    "    xor r8d, r8d",
    "    xor r9d, r9d",
    "    xor r10d, r10d",
    "    xor r11d, r11d",
    "    xor r12d, r12d",
    "    xor r13d, r13d",
    "    xor r14d, r14d",
    "    xor r15d, r15d",
    "    swapgs",
    "    iretq",
    ".global ferrite_leave_user",
    "ferrite_leave_user:",
    "    mov rsp, gs:[{return_rsp}]",
    // Whatever flags the user context left (AC, NT, ...) stay behind.
    "    push 2",
    "    popfq",
    "    mov rax, rdi",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbp",
    "    pop rbx",
    "    ret",
    return_rsp = const super::percpu::OFFSET_RETURN_RSP,
    user_ss = const super::gdt::USER_DATA,
    user_cs = const super::gdt::USER_CODE,
);

extern "C" {
    fn ferrite_enter_user(rip: u64, rsp: u64, rflags: u64) -> u64;
    fn ferrite_leave_user(status: u64) -> !;
}

/// RFLAGS for a new user thread: bit 1 (always set). Interrupts stay off in
/// ring 3 until the kernel handles device interrupts (M3).
const USER_RFLAGS: u64 = 0x2;

static IN_USER: AtomicBool = AtomicBool::new(false);

/// Runs a user thread from `rip` with stack pointer `rsp` until it leaves
/// through [`leave_user`]; returns the status it left with. `kernel_stack`
/// is the top of the thread's kernel stack (SYSCALL entry and TSS RSP0);
/// afterwards both point nowhere, so a stale stack is never reused.
///
/// The caller must have loaded the thread's address space (CR3).
pub fn run_user(rip: u64, rsp: u64, kernel_stack: u64) -> u64 {
    let canonical_user = |a: u64| a < abi::USER_END;
    if !canonical_user(rip) || !canonical_user(rsp) {
        return u64::from(abi::status::ACCESS_VIOLATION);
    }
    super::percpu::set_kernel_stack(kernel_stack);
    IN_USER.store(true, Ordering::Relaxed);
    // SYSCALL and exceptions come back on the kernel stack the caller set;
    // `leave_user` restores the context saved here and returns from it.
    // SAFETY: rip and rsp are user-half addresses (checked) and the IRETQ
    // frame selects ring-3 segments: the thread cannot touch kernel pages.
    let status = unsafe { ferrite_enter_user(rip, rsp, USER_RFLAGS) };
    IN_USER.store(false, Ordering::Relaxed);
    super::percpu::set_kernel_stack(0);
    status
}

/// Ends the current user thread: returns to `run_user`'s caller with
/// `status`. Called from a system call or a fault taken in ring 3.
///
/// Nothing on the abandoned kernel stack is dropped: callers must not own
/// heap memory or hold a lock guard in any frame below this call.
pub fn leave_user(status: u64) -> ! {
    if !IN_USER.load(Ordering::Relaxed) {
        panic!("leave_user without a user thread running");
    }
    // SAFETY: a user thread is running (checked), so `run_user` saved a
    // kernel context in the per-CPU block; we are on that thread's kernel
    // stack, which is abandoned: nothing on it is used again.
    unsafe { ferrite_leave_user(status) }
}
