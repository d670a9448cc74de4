//! What the kernel does with exceptions: report, recover or stop.
#![forbid(unsafe_code)]

use crate::arch::exceptions::{self, Analysis, Fault, Outcome, PageFaultCode};
use crate::logger::emergency;

/// The policy the arch layer's dispatcher calls.
pub const POLICY: exceptions::Policy = exceptions::Policy {
    report,
    user_fault,
    fatal,
    interrupt: crate::irq::dispatch,
    after_interrupt,
};

/// After an interrupt or a user fault: the scheduler's chance to preempt,
/// and the point where a thread asked to exit ends.
fn after_interrupt(from_user: bool, interrupts_were_on: bool) {
    crate::task::sched::after_interrupt(from_user, interrupts_were_on);
}

/// Longest x86 instruction (Intel SDM Vol. 2A §2.3.11).
const MAX_INSTRUCTION: usize = 15;

/// Whether `byte` is an instruction prefix in 64-bit mode: a legacy prefix
/// (66, 67, F2, F3, F0 and the segment overrides 2E 36 3E 26 64 65; Intel
/// SDM Vol. 2A §2.1.1) or REX (40–4F, §2.2.1).
fn is_prefix(byte: u8) -> bool {
    matches!(
        byte,
        0x66 | 0x67 | 0xf2 | 0xf3 | 0xf0 | 0x2e | 0x36 | 0x3e | 0x26 | 0x64 | 0x65 | 0x40..=0x4f
    )
}

/// Whether the instruction at the start of `code` raises #GP in ring 3
/// because it is privileged, after any prefixes: CLI, STI, HLT, IN/OUT and
/// INS/OUTS (IOPL 0), 0F 00 /0–/3 (SLDT and STR under UMIP, LLDT, LTR),
/// 0F 01 (LGDT, LIDT, LMSW, INVLPG, SWAPGS; SGDT, SIDT, SMSW under UMIP),
/// 0F 06 CLTS, 0F 07 SYSRET, 0F 08 INVD, 0F 09 WBINVD, 0F 20–23 MOV to or
/// from CR/DR, 0F 30 WRMSR, 0F 32 RDMSR, 0F 33 RDPMC (CR4.PCE clear) and
/// 0F 35 SYSEXIT (Intel SDM Vol. 2, each instruction's protected-mode
/// exceptions: "#GP(0) if the CPL is greater than 0").
fn is_privileged(code: &[u8]) -> bool {
    let start = code
        .iter()
        .position(|&b| !is_prefix(b))
        .unwrap_or(code.len());
    match &code[start..] {
        [0xfa | 0xfb | 0xf4 | 0x6c..=0x6f | 0xe4..=0xe7 | 0xec..=0xef, ..] => true,
        [0x0f, 0x00, modrm, ..] => (modrm >> 3) & 7 <= 3,
        [0x0f, second, ..] => matches!(
            second,
            0x01 | 0x06..=0x09 | 0x20..=0x23 | 0x30 | 0x32 | 0x33 | 0x35
        ),
        _ => false,
    }
}

/// Up to [`MAX_INSTRUCTION`] bytes of the current process's code at `rip`,
/// and how many could be read: an instruction may end just before an
/// unmapped page, so the part on the next page is read separately and may
/// be missing.
fn code_at(rip: u64) -> ([u8; MAX_INSTRUCTION], usize) {
    let mut code = [0u8; MAX_INSTRUCTION];
    let in_page = (0x1000 - (rip & 0xfff)) as usize;
    let first = in_page.min(MAX_INSTRUCTION);
    if crate::mm::user_copy::read(rip, &mut code[..first]).is_err() {
        return (code, 0);
    }
    if first < MAX_INSTRUCTION
        && crate::mm::user_copy::read(rip + first as u64, &mut code[first..]).is_ok()
    {
        return (code, MAX_INSTRUCTION);
    }
    (code, first)
}

/// The NTSTATUS a user fault ends its process with.
fn user_status(fault: &Fault) -> u32 {
    use abi::status;
    match fault.vector() {
        0 => status::INTEGER_DIVIDE_BY_ZERO,
        3 => status::BREAKPOINT,
        6 => status::ILLEGAL_INSTRUCTION,
        14 if crate::task::with_current(|p| p.in_stack_guard(fault.cr2)).unwrap_or(false) => {
            status::STACK_OVERFLOW
        }
        14 => status::ACCESS_VIOLATION,
        13 => {
            let (code, len) = code_at(fault.frame.rip);
            if is_privileged(&code[..len]) {
                status::PRIVILEGED_INSTRUCTION
            } else {
                status::ACCESS_VIOLATION
            }
        }
        // A stack access at a non-canonical address (#SS(0)): Windows
        // reports it as an access violation too.
        12 => status::ACCESS_VIOLATION,
        _ => status::UNHANDLED_EXCEPTION,
    }
}

/// A fault in ring 3 ends only its process: log the analysis, record the
/// fault, and mark the thread to end on its way back to ring 3.
fn user_fault(fault: &Fault) {
    #[cfg(feature = "milestones")]
    entry_flags::record(entry_flags::Entry::Fault, fault.frame.rflags);
    // A first touch of a demand-zero page: map it and resume.
    if fault.vector() == 14 && fault.frame.error_code & 1 == 0 {
        let write = fault.frame.error_code & 2 != 0;
        // The frame is taken and zeroed before the process lock, so other
        // threads of the process (on other CPUs) fault in parallel; the
        // lock only covers the check and the mapping.
        let mut spare = crate::mm::frame_alloc::alloc_user().ok().inspect(|&f| {
            crate::mm::phys::zero_frame(f);
        });
        let resolved = crate::task::with_current(|p| p.demand_fault(fault.cr2, write, &mut spare));
        if let Some(f) = spare {
            let _ = crate::mm::frame_alloc::free(f);
        }
        if let Some(Ok(true)) = resolved {
            crate::arch::exceptions::count_demand_fault();
            return;
        }
    }
    let status = user_status(fault);
    let address = if fault.vector() == 14 { fault.cr2 } else { 0 };
    let current = crate::task::sched::current();
    match current.as_ref().and_then(|t| t.process()) {
        Some(process) => {
            // The whole process ends, as on Windows, unless it was
            // already ending: then its code stands.
            let ends = crate::task::end_by_fault(
                process,
                fault.vector(),
                address,
                fault.frame.rip,
                status,
            );
            let p = process.lock();
            if ends {
                log::warn!(
                    "process {} '{}' faulted; ending it with status {status:#010x}",
                    p.id(),
                    p.name()
                );
            } else {
                log::warn!(
                    "process {} '{}' faulted while ending; the thread ends, the exit code stands",
                    p.id(),
                    p.name()
                );
            }
        }
        None => log::warn!("a fault in ring 3 with no current process; status {status:#010x}"),
    }
    crate::logger::block(format_args!("{}\n", Analysis(fault)));
    let frames = crate::user_stack::report(fault);
    if let Some(process) = current.as_ref().and_then(|t| t.process()) {
        let mut p = process.lock();
        if p.fault_stack().is_empty() {
            p.set_fault_stack(frames);
        }
    }
    if let Some(t) = current {
        t.request_exit(status);
    }
}

/// The kernel's RFLAGS on paths entered from ring 3, for the milestone
/// check that NT, AC and DF set by a ring-3 program do not reach the
/// kernel (FMASK clears them on SYSCALL, the exception entry with
/// `popfq`).
#[cfg(feature = "milestones")]
pub mod entry_flags {
    use core::sync::atomic::{AtomicU64, Ordering};

    /// NT, AC and DF (Intel SDM Vol. 1 §3.4.3): what a ring-3 program can
    /// set with POPFQ that would change how kernel code runs.
    pub const WATCHED: u64 = 0x4000 | 0x4_0000 | 0x400;

    /// A kernel path entered from ring 3.
    #[derive(Clone, Copy, Debug)]
    pub enum Entry {
        /// The system-call dispatcher.
        Syscall = 0,
        /// The user-fault path.
        Fault = 1,
    }

    /// Per entry: the union of the ring-3 RFLAGS, and of the kernel's.
    static SEEN: [[AtomicU64; 2]; 2] = [
        [AtomicU64::new(0), AtomicU64::new(0)],
        [AtomicU64::new(0), AtomicU64::new(0)],
    ];

    /// Records the kernel's RFLAGS now, at the top of `entry`, if the ring-3
    /// RFLAGS saved at the entry (`user`) have a watched bit set (only the
    /// flags check's programs set them).
    pub fn record(entry: Entry, user: u64) {
        let kernel = crate::arch::cpu::rflags();
        if user & WATCHED != 0 {
            SEEN[entry as usize][0].fetch_or(user, Ordering::Relaxed);
            SEEN[entry as usize][1].fetch_or(kernel, Ordering::Relaxed);
        }
    }

    /// Takes and clears what was recorded for `entry` since the last take:
    /// (ring-3 RFLAGS, kernel RFLAGS), each the union of the entries seen.
    pub fn take(entry: Entry) -> (u64, u64) {
        let [user, kernel] = &SEEN[entry as usize];
        (
            user.swap(0, Ordering::Relaxed),
            kernel.swap(0, Ordering::Relaxed),
        )
    }
}

fn report(fault: &Fault, outcome: Outcome) {
    match outcome {
        Outcome::Breakpoint => {
            log::info!("breakpoint (#BP) at RIP {:#x}, resuming", fault.frame.rip)
        }
        Outcome::Recovered if fault.vector() == 14 => log::debug!(
            "recovered #PF at RIP {:#x}: {} at {:#x} (error code {:#x})",
            fault.frame.rip,
            PageFaultCode::decode(fault.frame.error_code),
            fault.cr2,
            fault.frame.error_code
        ),
        Outcome::Recovered => {
            let (mnemonic, _) = exceptions::vector_name(fault.vector());
            log::debug!(
                "recovered {mnemonic} at RIP {:#x} (error code {:#x})",
                fault.frame.rip,
                fault.frame.error_code
            )
        }
    }
}

fn fatal(fault: &Fault) -> ! {
    crate::bugcheck::fatal(fault, || diagnose(fault))
}

/// The likely cause of a fatal fault, where one can be told.
fn diagnose(fault: &Fault) {
    // CR2 means something only for #PF and #DF (whose cause is a #PF).
    let cr2_guard = if matches!(fault.vector(), 8 | 14) {
        crate::mm::layout::guard_page_owner(fault.cr2)
    } else {
        None
    };
    let guard = cr2_guard.or_else(|| crate::mm::layout::guard_page_owner(fault.frame.rsp));
    if let Some(owner) = guard {
        emergency(format_args!(
            "  diagnosis: kernel stack overflow: the {owner} ran into its guard page \
             (CR2 {:#x}, RSP {:#x})\n",
            fault.cr2, fault.frame.rsp
        ));
    } else if fault.vector() == 8 {
        emergency(format_args!(
            "  diagnosis: a fault occurred while delivering another exception\n"
        ));
    }
}

/// Stops the machine after a fatal error. The milestone kernel leaves QEMU
/// with the "fatal" status so the host runner knows at once.
pub fn stop() -> ! {
    if !crate::smp::stop_others_and_report() {
        // Another CPU is stopping the machine; its NMI parks this one.
        crate::arch::cpu::halt_forever()
    }
    #[cfg(feature = "milestones")]
    crate::milestones::exit(crate::milestones::Exit::Fatal);
    crate::arch::cpu::halt_forever()
}
