//! Exception entry stubs, the trap frame, fixups and the fault analysis.
//!
//! Every one of the 32 exception vectors enters through a stub that pushes
//! the vector (and a zero where the CPU pushes no error code), saves the
//! general-purpose registers and calls [`exception_dispatch`] with the frame.
//! The dispatcher resumes at a registered fixup when kernel code faulted in a
//! probe (see `probe.rs`), counts breakpoints, and hands anything else to the
//! fatal handler the kernel installed.

use core::arch::global_asm;
use core::fmt;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;
use spin::Once;

global_asm!(
    ".macro EXC_STUB vec, has_err",
    "    .p2align 4",
    "exception_stub_\\vec:",
    "    .if \\has_err == 0",
    "    push 0",
    "    .endif",
    "    push \\vec",
    "    .if \\vec == 2 || \\vec == 18",
    "    jmp paranoid_common",
    "    .else",
    "    jmp trap_common",
    "    .endif",
    ".endm",
    ".section .text.exceptions, \"ax\"",
    "EXC_STUB 0, 0",
    "EXC_STUB 1, 0",
    "EXC_STUB 2, 0",
    "EXC_STUB 3, 0",
    "EXC_STUB 4, 0",
    "EXC_STUB 5, 0",
    "EXC_STUB 6, 0",
    "EXC_STUB 7, 0",
    "EXC_STUB 8, 1",
    "EXC_STUB 9, 0",
    "EXC_STUB 10, 1",
    "EXC_STUB 11, 1",
    "EXC_STUB 12, 1",
    "EXC_STUB 13, 1",
    "EXC_STUB 14, 1",
    "EXC_STUB 15, 0",
    "EXC_STUB 16, 0",
    "EXC_STUB 17, 1",
    "EXC_STUB 18, 0",
    "EXC_STUB 19, 0",
    "EXC_STUB 20, 0",
    "EXC_STUB 21, 1",
    "EXC_STUB 22, 0",
    "EXC_STUB 23, 0",
    "EXC_STUB 24, 0",
    "EXC_STUB 25, 0",
    "EXC_STUB 26, 0",
    "EXC_STUB 27, 0",
    "EXC_STUB 28, 0",
    "EXC_STUB 29, 1",
    "EXC_STUB 30, 1",
    "EXC_STUB 31, 0",
    // Interrupt vectors 32-255: one 16-byte stub each, in vector order.
    ".p2align 4",
    ".global irq_stubs",
    "irq_stubs:",
    ".set irq_vector, 32",
    ".rept 224",
    "    .p2align 4",
    "    push 0",
    "    push irq_vector",
    "    jmp trap_common",
    "    .set irq_vector, irq_vector + 1",
    ".endr",
    // NMI and #MC can arrive anywhere, even between a `swapgs` and the
    // instruction that leaves the kernel, so the saved CS does not tell
    // which GS base is live: IA32_GS_BASE does (a kernel base has bit 63
    // set; Intel SDM Vol. 3A §6.14.6 on IST delivery).
    "paranoid_common:",
    "    push rax",
    "    push rcx",
    "    push rdx",
    "    mov ecx, 0xc0000101",
    "    rdmsr",
    "    test edx, edx",
    "    js 1f",
    "    swapgs",
    "    bts qword ptr [rsp + 24], 63",
    "1:  lfence",
    "    pop rdx",
    "    pop rcx",
    "    pop rax",
    "    jmp trap_save",
    // Everything else: CS.RPL = 3 in the CPU's frame (3 words up) means the
    // user's GS base is live. Bit 63 of the vector slot records the swap,
    // so the exit undoes exactly what the entry did. LFENCE keeps a
    // mispredicted branch from running kernel code on the user's GS.
    "trap_common:",
    "    test byte ptr [rsp + 24], 3",
    "    jz 1f",
    "    swapgs",
    "    bts qword ptr [rsp], 63",
    "1:  lfence",
    "trap_save:",
    // Clean flags on every entry (a user's or an interrupted user copy's
    // AC would switch SMAP off for the handler; IF is already off).
    "    push 2",
    "    popfq",
    "    push rax",
    "    push rbx",
    "    push rcx",
    "    push rdx",
    "    push rsi",
    "    push rdi",
    "    push rbp",
    "    push r8",
    "    push r9",
    "    push r10",
    "    push r11",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    // 5 CPU words + error + vector + 15 registers = 22 words: RSP is
    // 16-byte aligned here because the CPU aligned it before pushing
    // (Intel SDM Vol. 3A §6.14.2).
    "    mov rdi, rsp",
    "    call {dispatch}",
    // The return address of every handler called from an exception or
    // interrupt: a stack walk that reaches it finds the TrapFrame at RSP.
    ".global ferrite_trap_return",
    "ferrite_trap_return:",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop r11",
    "    pop r10",
    "    pop r9",
    "    pop r8",
    "    pop rbp",
    "    pop rdi",
    "    pop rsi",
    "    pop rdx",
    "    pop rcx",
    "    pop rbx",
    "    pop rax",
    "    btr qword ptr [rsp], 63",
    "    jnc 3f",
    "    swapgs",
    "3:  add rsp, 16",
    "    iretq",
    ".section .rodata.exceptions, \"a\"",
    ".p2align 3",
    ".global exception_stub_table",
    "exception_stub_table:",
    ".quad exception_stub_0",
    ".quad exception_stub_1",
    ".quad exception_stub_2",
    ".quad exception_stub_3",
    ".quad exception_stub_4",
    ".quad exception_stub_5",
    ".quad exception_stub_6",
    ".quad exception_stub_7",
    ".quad exception_stub_8",
    ".quad exception_stub_9",
    ".quad exception_stub_10",
    ".quad exception_stub_11",
    ".quad exception_stub_12",
    ".quad exception_stub_13",
    ".quad exception_stub_14",
    ".quad exception_stub_15",
    ".quad exception_stub_16",
    ".quad exception_stub_17",
    ".quad exception_stub_18",
    ".quad exception_stub_19",
    ".quad exception_stub_20",
    ".quad exception_stub_21",
    ".quad exception_stub_22",
    ".quad exception_stub_23",
    ".quad exception_stub_24",
    ".quad exception_stub_25",
    ".quad exception_stub_26",
    ".quad exception_stub_27",
    ".quad exception_stub_28",
    ".quad exception_stub_29",
    ".quad exception_stub_30",
    ".quad exception_stub_31",
    dispatch = sym exception_dispatch,
);

extern "C" {
    static exception_stub_table: [u64; 32];
    static irq_stubs: [u8; 0];
    static __extable_start: [u64; 0];
    static __extable_end: [u64; 0];
}

/// Address of the entry stub for exception `vector` (< 32).
pub fn stub_address(vector: usize) -> u64 {
    // SAFETY: the table is 32 initialised quads in rodata, defined above.
    unsafe { exception_stub_table[vector] }
}

/// Address of the entry stub for interrupt vector `vector` (32–255): the
/// stubs are 16 bytes apart, in vector order.
pub fn irq_stub_address(vector: usize) -> u64 {
    // Taking the address of the asm symbol reads nothing.
    (&raw const irq_stubs) as u64 + (vector as u64 - 32) * 16
}

/// The registers saved on exception entry, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Exception vector, pushed by the stub (bit 63: the entry swapped GS).
    pub vector: u64,
    /// CPU error code, or 0 for vectors that have none.
    pub error_code: u64,
    /// Interrupted instruction (or the next one, for traps).
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// A fault as the kernel sees it: the frame plus CR2.
#[derive(Clone, Copy, Debug)]
pub struct Fault {
    /// Registers at the time of the exception.
    pub frame: TrapFrame,
    /// CR2 when the exception was taken (meaningful for #PF and #DF).
    pub cr2: u64,
}

impl Fault {
    /// The exception vector.
    pub fn vector(&self) -> u8 {
        self.frame.vector as u8
    }

    /// Whether the CPU was in ring 3.
    pub fn is_user(&self) -> bool {
        self.frame.cs & 3 == 3
    }
}

/// What the dispatcher did with a non-fatal exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A breakpoint: reported and resumed after the `int3`.
    Breakpoint,
    /// A fault in a probe: resumed at its fixup, which returns an error.
    Recovered,
}

/// The kernel's policy for exceptions, installed once at boot.
pub struct Policy {
    /// Called for exceptions that were handled and resume.
    pub report: fn(&Fault, Outcome),
    /// Called for any exception raised in ring 3: resolves it (demand
    /// paging) or marks the thread to end; `after_interrupt` follows.
    pub user_fault: fn(&Fault),
    /// Called for everything else; never returns.
    pub fatal: fn(&Fault) -> !,
    /// Called for interrupt vectors 32–255 with interrupts disabled.
    pub interrupt: fn(u8),
    /// Called after an interrupt was handled, with whether it came from
    /// ring 3 and whether the interrupted code had interrupts enabled (the
    /// scheduler may switch threads here).
    pub after_interrupt: fn(bool, bool),
}

static POLICY: Once<Policy> = Once::new();
static BREAKPOINTS: AtomicUsize = AtomicUsize::new(0);
static RECOVERED: AtomicU64 = AtomicU64::new(0);

/// Installs the kernel's exception policy (first call wins).
pub fn set_policy(policy: Policy) {
    POLICY.call_once(|| policy);
}

/// Number of breakpoints handled so far.
pub fn breakpoint_count() -> usize {
    BREAKPOINTS.load(Ordering::Relaxed)
}

/// Per CPU, each in lines of its own: a count all CPUs bumped would
/// bounce its line between them on every fault.
static DEMAND_FAULTS: [CachePadded<AtomicU64>; super::percpu::MAX_CPUS] =
    [const { CachePadded::new(AtomicU64::new(0)) }; super::percpu::MAX_CPUS];

/// Counts a user page fault resolved by mapping a demand-zero page.
pub fn count_demand_fault() {
    DEMAND_FAULTS[super::percpu::cpu_id()].fetch_add(1, Ordering::Relaxed);
}

/// Demand-zero page faults resolved so far, on all CPUs.
pub fn demand_fault_count() -> u64 {
    DEMAND_FAULTS
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
}

/// Number of probe faults recovered so far.
pub fn recovered_count() -> u64 {
    RECOVERED.load(Ordering::Relaxed)
}

/// Fault flag in a probe's result word (see `probe.rs`).
pub const PROBE_FAULT: u64 = 1 << 63;

/// Looks up `rip` in the exception fixup table.
fn fixup_for(rip: u64) -> Option<u64> {
    // SAFETY: the linker script brackets the `.extable` section with these
    // symbols; it holds (fault RIP, fixup RIP) quad pairs emitted by probe
    // asm, so the range is valid, aligned and initialised for the whole run.
    let table: &[u64] = unsafe {
        let start = __extable_start.as_ptr();
        let len = (__extable_end.as_ptr() as usize - start as usize) / 8;
        core::slice::from_raw_parts(start, len)
    };
    table
        .chunks_exact(2)
        .find(|pair| pair[0] == rip)
        .map(|pair| pair[1])
}

/// The fault RIPs of the `.extable` entries: every kernel instruction
/// whose fault may resume at a fixup.
pub fn fixup_sites() -> impl Iterator<Item = u64> {
    // SAFETY: as in `fixup_for`.
    let table: &[u64] = unsafe {
        let start = __extable_start.as_ptr();
        let len = (__extable_end.as_ptr() as usize - start as usize) / 8;
        core::slice::from_raw_parts(start, len)
    };
    table.chunks_exact(2).map(|pair| pair[0])
}

/// Whether a kernel fault with `vector` (and CR2 `cr2`) at the fixup site
/// `rip` may resume at its fixup.
///
/// The memory probes (`probe.rs`) exist to touch any address: they take
/// the faults a memory access can raise (#SS, #GP, #PF, #AC). Every other
/// site is a user-memory copy (`user_copy.rs`), whose caller checked that
/// the user side lies in `[USER_MIN, USER_END)`: there only a #PF at a
/// user address is the user's fault. A #PF at a kernel address (the kernel
/// side of the copy is bad), or a #GP/#SS/#AC (a non-canonical kernel
/// pointer: the user side is canonical), is a kernel bug and stays fatal.
pub fn fixup_accepts(rip: u64, vector: u8, cr2: u64) -> bool {
    if super::probe::is_probe_access(rip) {
        return matches!(vector, 12 | 13 | 14 | 17);
    }
    vector == 14 && (abi::USER_MIN..abi::USER_END).contains(&cr2)
}

extern "C" fn exception_dispatch(frame: &mut TrapFrame) {
    let vector = (frame.vector & 0xff) as u8;
    if vector >= 32 {
        if let Some(p) = POLICY.get() {
            (p.interrupt)(vector);
            (p.after_interrupt)(frame.cs & 3 == 3, frame.rflags & 0x200 != 0);
        }
        return;
    }
    let fault = Fault {
        frame: *frame,
        cr2: super::cpu::cr2(),
    };
    let policy = POLICY.get();
    // NMI, #DF and #MC are about the machine, not the running thread:
    // they never end a user process and never take a fixup.
    if fault.vector() == 2 && super::smp::stopping() {
        super::smp::park_stopped(frame.rip);
    }
    if matches!(fault.vector(), 2 | 8 | 18) {
        match policy {
            Some(p) => (p.fatal)(&fault),
            None => super::cpu::halt_forever(),
        }
    }
    if fault.is_user() {
        match policy {
            Some(p) => {
                (p.user_fault)(&fault);
                (p.after_interrupt)(true, false);
                return;
            }
            None => super::cpu::halt_forever(),
        }
    }
    if fault.vector() == 3 {
        BREAKPOINTS.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = policy {
            (p.report)(&fault, Outcome::Breakpoint);
        }
        return;
    }
    if !fault.is_user() {
        if let Some((fixup, rsp)) =
            super::probe::exec_fixup(frame.rip).filter(|_| fault.vector() == 14)
        {
            RECOVERED.fetch_add(1, Ordering::Relaxed);
            frame.rax = PROBE_FAULT | (frame.error_code & 0xffff_ffff) << 8 | u64::from(vector);
            frame.rdx = fault.cr2;
            frame.rip = fixup;
            frame.rsp = rsp;
            if let Some(p) = policy {
                (p.report)(&fault, Outcome::Recovered);
            }
            return;
        }
        if let Some(fixup) =
            fixup_for(frame.rip).filter(|_| fixup_accepts(frame.rip, vector, fault.cr2))
        {
            RECOVERED.fetch_add(1, Ordering::Relaxed);
            frame.rax = PROBE_FAULT | (frame.error_code & 0xffff_ffff) << 8 | u64::from(vector);
            frame.rdx = fault.cr2;
            frame.rip = fixup;
            if let Some(p) = policy {
                (p.report)(&fault, Outcome::Recovered);
            }
            return;
        }
    }
    match policy {
        Some(p) => (p.fatal)(&fault),
        None => {
            let mut w = super::serial::EmergencyWriter;
            let _ = fmt::write(&mut w, format_args!("{}", Analysis(&fault)));
            super::cpu::halt_forever()
        }
    }
}

/// Mnemonic and name of an exception vector (Intel SDM Vol. 3A §6.15, AMD
/// APM Vol. 2 §8.2 for 28–30).
pub fn vector_name(vector: u8) -> (&'static str, &'static str) {
    match vector {
        0 => ("#DE", "divide error"),
        1 => ("#DB", "debug"),
        2 => ("NMI", "non-maskable interrupt"),
        3 => ("#BP", "breakpoint"),
        4 => ("#OF", "overflow"),
        5 => ("#BR", "BOUND range exceeded"),
        6 => ("#UD", "invalid opcode"),
        7 => ("#NM", "device not available"),
        8 => ("#DF", "double fault"),
        9 => ("#CSO", "coprocessor segment overrun"),
        10 => ("#TS", "invalid TSS"),
        11 => ("#NP", "segment not present"),
        12 => ("#SS", "stack-segment fault"),
        13 => ("#GP", "general protection"),
        14 => ("#PF", "page fault"),
        16 => ("#MF", "x87 floating-point error"),
        17 => ("#AC", "alignment check"),
        18 => ("#MC", "machine check"),
        19 => ("#XM", "SIMD floating-point exception"),
        20 => ("#VE", "virtualization exception"),
        21 => ("#CP", "control protection"),
        28 => ("#HV", "hypervisor injection"),
        29 => ("#VC", "VMM communication"),
        30 => ("#SX", "security exception"),
        _ => ("#??", "reserved vector"),
    }
}

/// Whether the CPU pushes an error code for `vector` (Intel SDM Vol. 3A
/// Table 6-1).
pub fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17 | 21 | 29 | 30)
}

/// Decoded #PF error code (Intel SDM Vol. 3A §4.7, Figure 4-12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFaultCode {
    /// P: the page was present (protection violation) rather than absent.
    pub present: bool,
    /// W/R: the access was a write.
    pub write: bool,
    /// U/S: the access came from ring 3.
    pub user: bool,
    /// RSVD: a reserved bit was set in a paging entry.
    pub reserved_bit: bool,
    /// I/D: the access was an instruction fetch.
    pub fetch: bool,
    /// PK: protection-key violation.
    pub protection_key: bool,
    /// SS: shadow-stack access.
    pub shadow_stack: bool,
}

impl PageFaultCode {
    /// Decodes a #PF error code.
    pub fn decode(code: u64) -> Self {
        Self {
            present: code & 1 != 0,
            write: code & 2 != 0,
            user: code & 4 != 0,
            reserved_bit: code & 8 != 0,
            fetch: code & 16 != 0,
            protection_key: code & 32 != 0,
            shadow_stack: code & 64 != 0,
        }
    }
}

impl fmt::Display for PageFaultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let access = if self.fetch {
            "instruction fetch"
        } else if self.write {
            "write"
        } else {
            "read"
        };
        write!(
            f,
            "{} {} from {} mode",
            if self.present {
                "protection violation on"
            } else {
                "not-present page on"
            },
            access,
            if self.user { "user" } else { "supervisor" }
        )?;
        if self.reserved_bit {
            f.write_str(", reserved bit set in a paging entry")?;
        }
        if self.protection_key {
            f.write_str(", protection-key violation")?;
        }
        if self.shadow_stack {
            f.write_str(", shadow-stack access")?;
        }
        Ok(())
    }
}

/// Decoded selector error code of #TS/#NP/#SS/#GP (Intel SDM Vol. 3A §6.13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SelectorCode {
    /// EXT: caused by an event external to the program.
    pub external: bool,
    /// Which table the index refers to.
    pub table: &'static str,
    /// Descriptor index.
    pub index: u16,
}

impl SelectorCode {
    /// Decodes a selector error code.
    pub fn decode(code: u64) -> Self {
        let table = if code & 2 != 0 {
            "IDT"
        } else if code & 4 != 0 {
            "LDT"
        } else {
            "GDT"
        };
        Self {
            external: code & 1 != 0,
            table,
            index: ((code >> 3) & 0x1fff) as u16,
        }
    }
}

/// A fault analysis, printed when an exception is reported: the
/// [`Summary`], then the general-purpose registers.
pub struct Analysis<'a>(pub &'a Fault);

impl<'a> Analysis<'a> {
    /// The general-purpose registers of the analysis alone.
    pub fn registers(fault: &'a Fault) -> RegisterDump<'a> {
        RegisterDump(fault)
    }
}

impl fmt::Display for Analysis<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", Summary(self.0))?;
        write!(f, "{}", RegisterDump(self.0))
    }
}

/// The general-purpose registers of a fault.
pub struct RegisterDump<'a>(&'a Fault);

impl fmt::Display for RegisterDump<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.0.frame;
        writeln!(
            f,
            "  RAX {:#018x} RBX {:#018x} RCX {:#018x} RDX {:#018x}",
            t.rax, t.rbx, t.rcx, t.rdx
        )?;
        writeln!(
            f,
            "  RSI {:#018x} RDI {:#018x} RBP {:#018x} R8  {:#018x}",
            t.rsi, t.rdi, t.rbp, t.r8
        )?;
        writeln!(
            f,
            "  R9  {:#018x} R10 {:#018x} R11 {:#018x} R12 {:#018x}",
            t.r9, t.r10, t.r11, t.r12
        )?;
        write!(
            f,
            "  R13 {:#018x} R14 {:#018x} R15 {:#018x}",
            t.r13, t.r14, t.r15
        )
    }
}

/// What a fault was: vector, mode, decoded error code, RIP, RSP.
pub struct Summary<'a>(pub &'a Fault);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fault = self.0;
        let t = &fault.frame;
        let v = fault.vector();
        let (mnemonic, name) = vector_name(v);
        writeln!(
            f,
            "EXCEPTION {mnemonic} {name} (vector {v}) in {} mode",
            if fault.is_user() { "user" } else { "kernel" }
        )?;
        match v {
            14 => {
                writeln!(
                    f,
                    "  error code {:#x}: {}",
                    t.error_code,
                    PageFaultCode::decode(t.error_code)
                )?;
                writeln!(f, "  faulting address (CR2) {:#018x}", fault.cr2)?;
            }
            10..=13 if t.error_code == 0 => {
                writeln!(f, "  error code 0 (no selector involved)")?;
            }
            10..=13 => {
                let s = SelectorCode::decode(t.error_code);
                writeln!(
                    f,
                    "  error code {:#x}: selector index {} in the {}{}",
                    t.error_code,
                    s.index,
                    s.table,
                    if s.external { ", external event" } else { "" }
                )?;
            }
            8 => writeln!(
                f,
                "  error code {:#x}; CR2 {:#018x}",
                t.error_code, fault.cr2
            )?,
            _ if has_error_code(v) => writeln!(f, "  error code {:#x}", t.error_code)?,
            _ => {}
        }
        writeln!(
            f,
            "  RIP {:#018x}  CS {:#06x}  RFLAGS {:#010x}",
            t.rip, t.cs, t.rflags
        )?;
        write!(f, "  RSP {:#018x}  SS {:#06x}", t.rsp, t.ss)
    }
}
