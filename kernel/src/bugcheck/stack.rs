//! The bugcheck's call stack: DWARF unwinding and symbols of the kernel.
//!
//! Frames are unwound by the call-frame information in the kernel ELF's
//! `.debug_frame` (and `.eh_frame`, where assembly has some), so frames
//! of functions that keep no frame pointer are found too. The walk
//! crosses the entry stubs: at an exception or interrupt stub's return
//! address the interrupted context's TrapFrame lies on the stack and the
//! walk goes on from its registers (or ends at a user RIP); at the
//! system-call dispatcher's return address the walk ends with the user's
//! RIP from the SyscallFrame. Each frame is named from the kernel's
//! DWARF by `symbolize`, in an arena scope; without debug data the frame
//! shows its raw address.

use crate::arch::backtrace;
use crate::logger::emergency;
use spin::{Mutex, Once};
use symbolize::{demangled, Symbols};
use unwind::dwarf::{CallFrameInfo, Scratch};
use unwind::{reg, Registers, StopReason};

/// Frames printed at most; a deeper stack (a runaway recursion) is walked
/// on to its end and summarised.
const MAX_PRINTED: usize = 40;
/// Frames walked at most.
const MAX_WALKED: usize = 20_000;

/// The kernel's symbols and the unwinder's scratch state, made at boot.
struct Debug {
    symbols: Option<Symbols<'static>>,
    scratch: Mutex<Scratch>,
}

static DEBUG: Once<Debug> = Once::new();

/// Reads the kernel file's section table (no DWARF is parsed until a
/// bugcheck asks). Call once the boot information is published.
pub fn init(kernel_file: Option<&'static [u8]>) {
    let debug = DEBUG.call_once(|| Debug {
        symbols: kernel_file.and_then(|f| Symbols::new(f).ok()),
        scratch: Mutex::new(Scratch::new()),
    });
    match &debug.symbols {
        Some(s) if s.has_dwarf() => {
            log::info!("bugcheck: call stacks named from the kernel file's DWARF")
        }
        Some(_) => {
            log::warn!("bugcheck: the kernel file has no DWARF; call stacks show symbols only")
        }
        None => log::warn!("bugcheck: no kernel file; call stacks show raw addresses"),
    }
}

/// The kernel's stack memory, read through the fault-proof probes.
struct KernelMemory;

impl unwind::Memory for KernelMemory {
    fn read_u64(&self, address: u64) -> Option<u64> {
        backtrace::read_u64(address)
    }
}

/// Prints the call stack that starts at `regs`: `fault` says whether
/// `regs.rip` is an interrupted instruction (rather than a point inside
/// the caller of the bugcheck).
pub fn print(regs: Registers, fault: bool) {
    emergency(format_args!("call stack (innermost first):\n"));
    let debug = DEBUG.get();
    let symbols = debug.and_then(|d| d.symbols.as_ref());
    let section = |name| symbols.and_then(|s| s.section(name)).unwrap_or((&[], 0));
    let (debug_frame, _) = section(".debug_frame");
    let (eh_frame, eh_address) = section(".eh_frame");
    let cfi = CallFrameInfo::new(debug_frame, eh_frame, eh_address, 0);
    let mut local = None;
    let mut guard = debug.and_then(|d| d.scratch.try_lock());
    let scratch = match guard.as_deref_mut() {
        Some(s) => s,
        None => local.insert(Scratch::new()),
    };
    let mut walk = Walk {
        symbols,
        printed: 0,
        repeated: 0,
        last_pc: 0,
    };
    let mut regs = regs;
    let mut first = fault;
    for _ in 0..MAX_WALKED {
        if !first && regs.rip == backtrace::trap_return() {
            match regs.rsp().and_then(backtrace::trap_frame_at) {
                Some(frame) => {
                    walk.flush();
                    let vector = frame.vector as u8;
                    let (mnemonic, name) = crate::arch::exceptions::vector_name(vector);
                    if vector >= 32 {
                        emergency(format_args!("  -- interrupt, vector {vector} --\n"));
                    } else {
                        emergency(format_args!("  -- exception {mnemonic} {name} --\n"));
                    }
                    if frame.cs & 3 == 3 {
                        emergency(format_args!(
                            "  user mode: RIP {:#018x} RSP {:#018x}\n",
                            frame.rip, frame.rsp
                        ));
                        return;
                    }
                    regs = backtrace::trap_registers(&frame);
                    first = true;
                    continue;
                }
                None => return end(&mut walk, StopReason::Unreadable),
            }
        }
        if !first && regs.rip == backtrace::syscall_return() {
            walk.flush();
            match regs.rsp().and_then(backtrace::syscall_frame_at) {
                Some(frame) => {
                    let user = backtrace::syscall_registers(&frame);
                    emergency(format_args!(
                        "  -- system call {} from user mode --\n  user mode: RIP {:#018x} RSP {:#018x}\n",
                        frame.rax,
                        user.rip,
                        user.gpr[reg::RSP].unwrap_or(0)
                    ));
                }
                None => emergency(format_args!("  -- system call (frame unreadable) --\n")),
            }
            return;
        }
        walk.frame(if first { regs.rip } else { regs.rip - 1 }, regs.rip);
        if let Err(reason) = cfi.step(scratch, &mut regs, &KernelMemory, first) {
            return end(&mut walk, reason);
        }
        first = false;
    }
    walk.flush();
    emergency(format_args!("  (walk stopped after {MAX_WALKED} frames)\n"));
}

/// How a walk ended, said once.
fn end(walk: &mut Walk<'_>, reason: StopReason) {
    walk.flush();
    let why = match reason {
        StopReason::NoUnwindInfo => return,
        StopReason::BadUnwindInfo => "unwind information it cannot follow",
        StopReason::Unreadable => "a stack slot that cannot be read",
        StopReason::BadFrame => "a frame that does not lead further up the stack",
    };
    emergency(format_args!("  (walk ended at {why})\n"));
}

/// The frames printed so far, and a run of repeats being counted.
struct Walk<'a> {
    symbols: Option<&'a Symbols<'static>>,
    printed: usize,
    repeated: usize,
    last_pc: u64,
}

impl Walk<'_> {
    /// One frame: `pc` is the address looked up (a return address minus
    /// one), `shown` the address printed.
    fn frame(&mut self, pc: u64, shown: u64) {
        if pc == self.last_pc {
            self.repeated += 1;
            return;
        }
        self.flush();
        self.last_pc = pc;
        if self.printed == MAX_PRINTED {
            emergency(format_args!("  ... (more frames not shown)\n"));
        }
        self.printed += 1;
        if self.printed > MAX_PRINTED {
            return;
        }
        let number = self.printed - 1;
        let Some(symbols) = self.symbols else {
            emergency(format_args!("  #{number:<2} {shown:#018x}\n"));
            return;
        };
        let named = crate::mm::emergency_heap::scope(|| {
            let mut line = 0;
            symbols
                .frames(pc, |f| {
                    let name = f.function.map(demangled);
                    let prefix = if line == 0 { "" } else { "  inlined into " };
                    if line == 0 {
                        emergency(format_args!("  #{number:<2} {shown:#018x} "));
                    } else {
                        emergency(format_args!("                          "));
                    }
                    match name {
                        Some(n) => emergency(format_args!("{prefix}{n}")),
                        None => emergency(format_args!("{prefix}(unnamed)")),
                    }
                    match (f.location, f.offset) {
                        (Some(l), _) => emergency(format_args!(" at {l}\n")),
                        (None, Some(off)) => emergency(format_args!("+{off:#x}\n")),
                        (None, None) => emergency(format_args!("\n")),
                    }
                    line += 1;
                })
                .is_ok()
        });
        if !named {
            emergency(format_args!("  #{number:<2} {shown:#018x} (no symbol)\n"));
        }
    }

    /// Ends a run of repeated frames (a recursion) with its count.
    fn flush(&mut self) {
        if self.repeated > 0 {
            emergency(format_args!(
                "       ... the frame above repeated {} more times (recursion)\n",
                self.repeated
            ));
            self.printed += 1;
            self.repeated = 0;
        }
    }
}

/// The registers a panic's stack walk started from.
pub fn print_registers(regs: &Registers) {
    let value = |r: usize| regs.gpr[r].unwrap_or(0);
    emergency(format_args!(
        "registers at the panic:\n  RIP {:#018x} RSP {:#018x} RBP {:#018x} RBX {:#018x}\n  R12 {:#018x} R13 {:#018x} R14 {:#018x} R15 {:#018x}\n",
        regs.rip,
        value(reg::RSP),
        value(reg::RBP),
        value(reg::RBX),
        value(12),
        value(13),
        value(14),
        value(15)
    ));
}
