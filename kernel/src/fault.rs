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

/// Opcodes of instructions that raise #GP in ring 3 because they are
/// privileged (CLI, STI, HLT, IN/OUT, and 0F 01/06/08/09/20-23/30/32).
fn is_privileged(code: &[u8]) -> bool {
    match code {
        [0xfa | 0xfb | 0xf4 | 0xe4..=0xe7 | 0xec..=0xef, ..] => true,
        [0x0f, second, ..] => matches!(
            second,
            0x01 | 0x06 | 0x08 | 0x09 | 0x20..=0x23 | 0x30 | 0x32
        ),
        _ => false,
    }
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
            let mut code = [0u8; 2];
            let read = crate::mm::user_copy::read(fault.frame.rip, &mut code);
            if read.is_ok() && is_privileged(&code) {
                status::PRIVILEGED_INSTRUCTION
            } else {
                status::ACCESS_VIOLATION
            }
        }
        _ => status::UNHANDLED_EXCEPTION,
    }
}

/// A fault in ring 3 ends only its process: log the analysis, record the
/// fault, and mark the thread to end on its way back to ring 3.
fn user_fault(fault: &Fault) {
    // A first touch of a demand-zero page: map it and resume.
    if fault.vector() == 14 && fault.frame.error_code & 1 == 0 {
        let write = fault.frame.error_code & 2 != 0;
        if let Some(Ok(true)) = crate::task::with_current(|p| p.demand_fault(fault.cr2, write)) {
            crate::arch::exceptions::count_demand_fault();
            return;
        }
    }
    let status = user_status(fault);
    let known = crate::task::with_current(|p| {
        let address = if fault.vector() == 14 { fault.cr2 } else { 0 };
        p.set_fault(fault.vector(), address, fault.frame.rip);
        log::warn!(
            "process {} '{}' faulted; ending it with status {status:#010x}",
            p.id(),
            p.name()
        );
    });
    if known.is_none() {
        log::warn!("a fault in ring 3 with no current process; status {status:#010x}");
    }
    crate::logger::block(format_args!("{}\n", Analysis(fault)));
    if let Some(t) = crate::task::sched::current() {
        t.request_exit(status);
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
    emergency(format_args!("\n{}\n", Analysis(fault)));
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
    emergency(format_args!(
        "FATAL: kernel stopped after an unrecoverable exception\n"
    ));
    stop()
}

/// Stops the machine after a fatal error. The milestone kernel leaves QEMU
/// with the "fatal" status so the host runner knows at once.
pub fn stop() -> ! {
    #[cfg(feature = "milestones")]
    crate::milestones::exit(crate::milestones::Exit::Fatal);
    crate::arch::cpu::halt_forever()
}
