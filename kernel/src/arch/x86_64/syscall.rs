//! SYSCALL/SYSRET: MSR setup and the entry path into the kernel's dispatcher.

use core::arch::global_asm;
use spin::Once;
use x86_64::registers::model_specific::{Efer, EferFlags, Msr};

/// IA32_STAR, IA32_LSTAR, IA32_FMASK (Intel SDM Vol. 4, Table 2-2).
const IA32_STAR: u32 = 0xc000_0081;
const IA32_LSTAR: u32 = 0xc000_0082;
const IA32_FMASK: u32 = 0xc000_0084;
/// RFLAGS bits cleared on entry: TF, IF, DF, IOPL, NT, AC (a user-set NT
/// would otherwise make the kernel's next IRETQ fault).
const FMASK: u64 = 0x100 | 0x200 | 0x400 | 0x3000 | 0x4000 | 0x4_0000;
/// RFLAGS bits a user thread may carry back through SYSRET: CF PF AF ZF SF
/// TF IF DF OF AC ID; never IOPL, NT, RF or VM (bit 1 is always set).
const USER_RFLAGS_MASK: u64 = 0x0024_0fd5;

/// Registers of a user thread at a system call, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SyscallFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub rbp: u64,
    pub rbx: u64,
    pub r9: u64,
    pub r8: u64,
    pub r10: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    /// System-call number on entry, result on exit.
    pub rax: u64,
    /// User RIP after the `syscall` (from RCX).
    pub rip: u64,
    /// User RFLAGS (from R11).
    pub rflags: u64,
    /// User RSP.
    pub rsp: u64,
}

impl SyscallFrame {
    /// The call's number.
    pub fn number(&self) -> u64 {
        self.rax
    }

    /// The five arguments, in ABI order (RDI, RSI, RDX, R10, R8).
    pub fn args(&self) -> [u64; 5] {
        [self.rdi, self.rsi, self.rdx, self.r10, self.r8]
    }
}

global_asm!(
    ".section .text.syscall, \"ax\"",
    ".global ferrite_syscall_entry",
    "ferrite_syscall_entry:",
    "    swapgs",
    "    mov gs:[{user_rsp}], rsp",
    "    mov rsp, gs:[{kernel_rsp}]",
    "    push qword ptr gs:[{user_rsp}]",
    "    push r11",
    "    push rcx",
    "    push rax",
    "    push rdi",
    "    push rsi",
    "    push rdx",
    "    push r10",
    "    push r8",
    "    push r9",
    "    push rbx",
    "    push rbp",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    // 16 words on a 16-byte aligned stack top: RSP stays aligned. DF is
    // already clear: FMASK clears it on every SYSCALL.
    "    mov rdi, rsp",
    "    call {dispatch}",
    // The return address of the system-call dispatcher: a stack walk that
    // reaches it finds the SyscallFrame at RSP.
    ".global ferrite_syscall_return",
    "ferrite_syscall_return:",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbp",
    "    pop rbx",
    "    pop r9",
    "    pop r8",
    "    pop r10",
    "    pop rdx",
    "    pop rsi",
    "    pop rdi",
    "    pop rax",
    "    pop rcx",
    "    pop r11",
    "    pop rsp",
    "    swapgs",
    "    sysretq",
    user_rsp = const super::percpu::OFFSET_USER_RSP,
    kernel_rsp = const super::percpu::OFFSET_KERNEL_RSP,
    dispatch = sym syscall_dispatch,
);

extern "C" {
    fn ferrite_syscall_entry();
}

/// The kernel's system-call handler and what runs on every return to
/// ring 3 (exit requests, pending reschedules).
struct Hooks {
    handler: fn(&mut SyscallFrame),
    before_return: fn(&mut SyscallFrame),
}

static HOOKS: Once<Hooks> = Once::new();

extern "C" fn syscall_dispatch(frame: &mut SyscallFrame) {
    let Some(hooks) = HOOKS.get() else {
        frame.rax = u64::MAX;
        return;
    };
    // The entry stub runs with IF = 0 (FMASK); the handler may block and
    // be preempted, so it runs with interrupts on.
    super::cpu::enable_interrupts();
    (hooks.handler)(frame);
    super::cpu::disable_interrupts();
    frame.rflags = (frame.rflags & USER_RFLAGS_MASK) | 0x2;
    // The hook returns with interrupts still off (a switch inside it
    // restores the state it found), which SYSRET's path needs.
    (hooks.before_return)(frame);
    debug_assert!(!super::cpu::interrupts_enabled());
}

/// Whether `rip` may be given to SYSRET: one that is not canonical would
/// fault in ring 0 with the user's RSP (Intel SDM Vol. 2B, SYSRET).
pub fn sysret_safe(rip: u64) -> bool {
    x86_64::VirtAddr::try_new(rip).is_ok_and(|v| v.as_u64() < abi::USER_END)
}

/// Enables SYSCALL and points it at the kernel's `handler`; `before_return`
/// runs (interrupts off) after each call, before SYSRET, and must not
/// return if the frame's RIP fails [`sysret_safe`].
pub fn init(handler: fn(&mut SyscallFrame), before_return: fn(&mut SyscallFrame)) {
    HOOKS.call_once(|| Hooks {
        handler,
        before_return,
    });
    let star =
        (u64::from(super::gdt::KERNEL_DATA) << 48) | (u64::from(super::gdt::KERNEL_CODE) << 32);
    // STAR: kernel CS 0x08/SS 0x10; SYSRET gives user SS 0x18|3, CS 0x20|3.
    // FMASK clears IF/TF/DF/IOPL/NT/AC on entry; SCE turns SYSCALL on.
    // SAFETY: LSTAR is the entry stub above, which switches to the per-CPU
    // kernel stack before it uses any stack.
    unsafe {
        Msr::new(IA32_STAR).write(star);
        Msr::new(IA32_LSTAR).write(ferrite_syscall_entry as *const () as u64);
        Msr::new(IA32_FMASK).write(FMASK);
        Efer::update(|f| f.insert(EferFlags::SYSTEM_CALL_EXTENSIONS));
    }
}
