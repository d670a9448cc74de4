//! Ring 3: entering a user thread for the first time with IRETQ.
//!
//! A user thread's life in the kernel: it starts on its own kernel stack in
//! the scheduler's thread entry, which calls [`enter_user`] once. After
//! that the thread comes back into the kernel only through SYSCALL,
//! interrupts and exceptions, each on the top of the same kernel stack,
//! and leaves ring 3 for good by exiting in the scheduler.

use core::arch::global_asm;

global_asm!(
    ".section .text.user, \"ax\"",
    // ferrite_enter_user(rip [rdi], rsp [rsi], rcx [rdx], rdx [rcx])
    ".global ferrite_enter_user",
    "ferrite_enter_user:",
    "    push {user_ss}",
    "    push rsi",
    "    push 0x202",
    "    push {user_cs}",
    "    push rdi",
    "    mov r8, rdx",
    "    mov rdx, rcx",
    "    mov rcx, r8",
    "    xor eax, eax",
    "    xor ebx, ebx",
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
    // The user's GS base becomes live first; loading the data selectors
    // then clears the (user) FS and GS bases and leaves no kernel
    // selector behind.
    "    swapgs",
    "    push {user_ss}",
    "    pop r11",
    "    mov ds, r11d",
    "    mov es, r11d",
    "    mov fs, r11d",
    "    mov gs, r11d",
    "    xor r11d, r11d",
    "    iretq",
    user_ss = const super::gdt::USER_DATA,
    user_cs = const super::gdt::USER_CODE,
);

extern "C" {
    fn ferrite_enter_user(rip: u64, rsp: u64, rcx: u64, rdx: u64) -> !;
}

/// Enters ring 3 at `rip` with stack pointer `rsp`, RCX = `rcx`, RDX =
/// `rdx`, every other register zero, RFLAGS = IF (interrupts on, so the
/// thread can be preempted). The FPU state is the thread's own (restored by
/// the context switch). A non-user `rip` or `rsp` ends the thread instead.
///
/// The current address space must be the thread's (the switch loaded it).
pub fn enter_user(rip: u64, rsp: u64, rcx: u64, rdx: u64) -> ! {
    let user = |a: u64| a < abi::USER_END;
    super::cpu::disable_interrupts();
    if !user(rip) || !user(rsp) {
        panic!("enter_user with a kernel address (rip {rip:#x}, rsp {rsp:#x})");
    }
    // SAFETY: rip and rsp are user-half addresses (checked) and the IRETQ
    // frame selects ring-3 segments: the thread cannot touch kernel pages.
    // The per-CPU kernel stack is this thread's (set by the switch).
    unsafe { ferrite_enter_user(rip, rsp, rcx, rdx) }
}
