//! Bugchecks: what the kernel prints when it stops on one of its own bugs.
//!
//! Every kernel panic (failed assertion, arithmetic overflow, explicit
//! `panic!`) and every fatal exception ends here. The report is, in
//! order: the reason (the panic message, or the fault analysis), the call
//! stack of the failing context with each frame's function and
//! `file:line` (inlined functions included, from the kernel's own DWARF,
//! see [`stack`]), then the registers.
//!
//! A bugcheck allocates nothing from the kernel heap: from its first line
//! the global allocator serves a fixed arena (`mm::emergency_heap`), and
//! it reads memory only through fault-proof probes. A second panic or
//! fault inside a bugcheck does not start another one: it says so and
//! stops the machine with what was printed.
#![forbid(unsafe_code)]

pub mod stack;

use crate::arch::exceptions::{Analysis, Fault};
use crate::logger::emergency;
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The CPU running a bugcheck, plus one (0: none).
static OWNER: AtomicUsize = AtomicUsize::new(0);

/// Claims the bugcheck for this CPU. A second entry on the same CPU (a
/// fault or panic inside the bugcheck) stops at once; another CPU that
/// fails meanwhile waits to be stopped by the first.
fn claim(what: core::fmt::Arguments<'_>) {
    let me = crate::arch::percpu::cpu_id() + 1;
    match OWNER.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {}
        Err(owner) if owner == me => {
            emergency(format_args!(
                "\nBUGCHECK: {what} inside the bugcheck; stopping with what was printed\n"
            ));
            end();
        }
        Err(_) => crate::arch::cpu::halt_forever(),
    }
}

/// A kernel panic: the message and where it was raised, the call stack
/// from the panic handler down, and the registers there.
pub fn panic(info: &PanicInfo<'_>) -> ! {
    let regs = crate::arch::backtrace::here();
    match info.location() {
        Some(at) => claim(format_args!("a panic (at {at})")),
        None => claim(format_args!("a panic")),
    }
    crate::mm::emergency_heap::enter();
    emergency(format_args!("\nKERNEL PANIC: {info}\n"));
    stop_others();
    stack::print(regs, false);
    stack::print_registers(&regs);
    finish();
}

/// A fatal exception: the fault analysis and diagnosis, the call stack of
/// the faulting context, and its registers.
pub fn fatal(fault: &Fault, diagnosis: impl FnOnce()) -> ! {
    claim(format_args!(
        "exception {} at RIP {:#x}",
        fault.vector(),
        fault.frame.rip
    ));
    crate::mm::emergency_heap::enter();
    emergency(format_args!(
        "\n{}\n",
        crate::arch::exceptions::Summary(fault)
    ));
    diagnosis();
    stop_others();
    stack::print(crate::arch::backtrace::trap_registers(&fault.frame), true);
    emergency(format_args!("{}\n", Analysis::registers(fault)));
    emergency(format_args!(
        "FATAL: kernel stopped after an unrecoverable exception\n"
    ));
    finish();
}

/// Stops the other CPUs and reports where they were.
fn stop_others() {
    if !crate::smp::stop_others_and_report() {
        // Another CPU is stopping the machine; its NMI parks this one.
        crate::arch::cpu::halt_forever()
    }
}

/// The arena's figures, then the end.
fn finish() -> ! {
    let (high, refused) = crate::mm::emergency_heap::usage();
    emergency(format_args!(
        "bugcheck: symbol lookups used {} KiB of the {} KiB arena{}\n",
        high.div_ceil(1024),
        crate::mm::emergency_heap::ARENA_BYTES / 1024,
        if refused > 0 {
            " (some were refused)"
        } else {
            ""
        }
    ));
    end()
}

/// Leaves QEMU with the "fatal" status in the milestone kernel; halts.
fn end() -> ! {
    #[cfg(feature = "milestones")]
    crate::milestones::exit(crate::milestones::Exit::Fatal);
    crate::arch::cpu::halt_forever()
}
