//! What the kernel does with exceptions: report, recover or stop.
#![forbid(unsafe_code)]

use crate::arch::exceptions::{self, Analysis, Fault, Outcome, PageFaultCode};
use crate::logger::emergency;

/// The policy the arch layer's dispatcher calls.
pub const POLICY: exceptions::Policy = exceptions::Policy { report, fatal };

fn report(fault: &Fault, outcome: Outcome) {
    match outcome {
        Outcome::Breakpoint => {
            log::info!("breakpoint (#BP) at RIP {:#x}, resuming", fault.frame.rip)
        }
        Outcome::Recovered if fault.vector() == 14 => log::info!(
            "recovered #PF at RIP {:#x}: {} at {:#x} (error code {:#x})",
            fault.frame.rip,
            PageFaultCode::decode(fault.frame.error_code),
            fault.cr2,
            fault.frame.error_code
        ),
        Outcome::Recovered => {
            let (mnemonic, _) = exceptions::vector_name(fault.vector());
            log::info!(
                "recovered {mnemonic} at RIP {:#x} (error code {:#x})",
                fault.frame.rip,
                fault.frame.error_code
            )
        }
    }
}

fn fatal(fault: &Fault) -> ! {
    emergency(format_args!("\n{}\n", Analysis(fault)));
    let guard = crate::mm::layout::guard_page_owner(fault.cr2)
        .or_else(|| crate::mm::layout::guard_page_owner(fault.frame.rsp));
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
    emergency(format_args!("FATAL: kernel stopped after an unrecoverable exception\n"));
    stop()
}

/// Stops the machine after a fatal error. The milestone kernel leaves QEMU
/// with the "fatal" status so the host runner knows at once.
pub fn stop() -> ! {
    #[cfg(feature = "milestones")]
    crate::milestones::exit(crate::milestones::Exit::Fatal);
    crate::arch::cpu::halt_forever()
}
