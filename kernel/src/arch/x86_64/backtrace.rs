//! What a stack walk needs from the CPU: registers, fault-proof reads of
//! kernel memory, and the entry stubs' frames.
//!
//! The walker itself (`crate::bugcheck`) is safe code over `unwind`; it
//! reads the stack only through [`read_u64`], which takes a fault as an
//! answer, so a corrupt frame pointer ends the walk and never faults the
//! bugcheck.

use super::exceptions::TrapFrame;
use super::syscall::SyscallFrame;
use core::arch::asm;
use unwind::{reg, Registers};

extern "C" {
    fn ferrite_trap_return();
    fn ferrite_syscall_return();
}

/// The return address of handlers called from the exception and
/// interrupt stubs: the TrapFrame lies at the caller's RSP.
pub fn trap_return() -> u64 {
    ferrite_trap_return as *const () as u64
}

/// The return address of the system-call dispatcher: the SyscallFrame
/// lies at the caller's RSP.
pub fn syscall_return() -> u64 {
    ferrite_syscall_return as *const () as u64
}

/// This point's registers: RIP (the `lea` itself), RSP and the
/// callee-saved registers the call-frame rules may refer to.
#[inline(always)]
pub fn here() -> Registers {
    let (rip, rsp, rbp, rbx, r12, r13, r14, r15): (u64, u64, u64, u64, u64, u64, u64, u64);
    // SAFETY: copies eight registers into outputs; reads and writes no
    // memory and changes no flags.
    unsafe {
        asm!(
            "lea {rip}, [rip]",
            "mov {rsp}, rsp",
            "mov {rbp}, rbp",
            "mov {rbx}, rbx",
            "mov {r12}, r12",
            "mov {r13}, r13",
            "mov {r14}, r14",
            "mov {r15}, r15",
            rip = out(reg) rip, rsp = out(reg) rsp, rbp = out(reg) rbp, rbx = out(reg) rbx,
            r12 = out(reg) r12, r13 = out(reg) r13, r14 = out(reg) r14, r15 = out(reg) r15,
            options(nomem, nostack, preserves_flags),
        );
    }
    let mut regs = Registers {
        rip,
        ..Registers::default()
    };
    for (number, value) in [
        (reg::RSP, rsp),
        (reg::RBP, rbp),
        (reg::RBX, rbx),
        (12, r12),
        (13, r13),
        (14, r14),
        (15, r15),
    ] {
        regs.gpr[number] = Some(value);
    }
    regs
}

/// The registers saved in an exception or interrupt frame.
pub fn trap_registers(t: &TrapFrame) -> Registers {
    let gpr = [
        t.rax, t.rdx, t.rcx, t.rbx, t.rsi, t.rdi, t.rbp, t.rsp, t.r8, t.r9, t.r10, t.r11, t.r12,
        t.r13, t.r14, t.r15,
    ];
    Registers {
        rip: t.rip,
        gpr: gpr.map(Some),
    }
}

/// The user registers saved at a system call (RCX and R11 hold the
/// return RIP and RFLAGS, so they are not known).
pub fn syscall_registers(s: &SyscallFrame) -> Registers {
    let gpr = [
        Some(s.rax),
        Some(s.rdx),
        None,
        Some(s.rbx),
        Some(s.rsi),
        Some(s.rdi),
        Some(s.rbp),
        Some(s.rsp),
        Some(s.r8),
        Some(s.r9),
        Some(s.r10),
        None,
        Some(s.r12),
        Some(s.r13),
        Some(s.r14),
        Some(s.r15),
    ];
    Registers { rip: s.rip, gpr }
}

/// The aligned 64-bit word at kernel address `addr`, or `None` if it is
/// not a kernel-half address or cannot be read (two probed 32-bit loads).
pub fn read_u64(addr: u64) -> Option<u64> {
    if addr < 0xffff_8000_0000_0000 || !addr.is_multiple_of(8) || addr > u64::MAX - 7 {
        return None;
    }
    let low = super::probe::read_u32(addr).ok()?;
    let high = super::probe::read_u32(addr + 4).ok()?;
    Some(u64::from(high) << 32 | u64::from(low))
}

/// `N` words read with [`read_u64`] from `addr` up.
fn words<const N: usize>(addr: u64) -> Option<[u64; N]> {
    let mut out = [0u64; N];
    for (i, word) in out.iter_mut().enumerate() {
        *word = read_u64(addr.checked_add(8 * i as u64)?)?;
    }
    Some(out)
}

/// The TrapFrame an entry stub saved at `addr`.
pub fn trap_frame_at(addr: u64) -> Option<TrapFrame> {
    let w: [u64; 22] = words(addr)?;
    Some(TrapFrame {
        r15: w[0],
        r14: w[1],
        r13: w[2],
        r12: w[3],
        r11: w[4],
        r10: w[5],
        r9: w[6],
        r8: w[7],
        rbp: w[8],
        rdi: w[9],
        rsi: w[10],
        rdx: w[11],
        rcx: w[12],
        rbx: w[13],
        rax: w[14],
        vector: w[15],
        error_code: w[16],
        rip: w[17],
        cs: w[18],
        rflags: w[19],
        rsp: w[20],
        ss: w[21],
    })
}

/// The SyscallFrame the system-call entry saved at `addr`.
pub fn syscall_frame_at(addr: u64) -> Option<SyscallFrame> {
    let w: [u64; 16] = words(addr)?;
    Some(SyscallFrame {
        r15: w[0],
        r14: w[1],
        r13: w[2],
        r12: w[3],
        rbp: w[4],
        rbx: w[5],
        r9: w[6],
        r8: w[7],
        r10: w[8],
        rdx: w[9],
        rsi: w[10],
        rdi: w[11],
        rax: w[12],
        rip: w[13],
        rflags: w[14],
        rsp: w[15],
    })
}
