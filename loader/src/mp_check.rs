//! Check build only (`--features mp-check`): proves the parked APs leave
//! in the promised state (§8 "MP").
//!
//! After the APs are parked, the loader plays the kernel: it writes each
//! AP's `goto_address` with the HHDM alias of [`ferrite_mp_probe`], which
//! records the registers the protocol fixes into a per-AP [`ApState`]
//! (passed in `extra_argument`) and halts. The BSP compares them with
//! what the BSP itself gets at kernel entry, logs one line per AP, sends
//! the APs INIT (so the kernel's reclaim cannot hurt them) and clears the
//! two fields again. A phantom CPU (APIC id 0x7e) is added to the MADT
//! list so the time-out path runs too.

use crate::arena::hhdm;
use crate::cpu;
use crate::error::LoaderError;
use crate::memory::Tracker;
use crate::serial::Com1;
use core::arch::global_asm;
use core::fmt::Write;
use core::mem::{offset_of, size_of};
use core::sync::atomic::{AtomicU64, Ordering};
use handoff::cpus::{MadtCpu, MadtCpus};
use handoff::memmap::MemType;
use handoff::responses::{MemmapEntry, GDT_LIMIT};
use handoff::PAGE_SIZE;

/// APIC id of the phantom CPU that never answers.
pub const PHANTOM_APIC_ID: u32 = 0x7e;

/// What the probe records on one AP.
#[derive(Clone, Copy, Default)]
#[repr(C)]
pub struct ApState {
    done: u64,
    gprs_or: u64,
    rflags: u64,
    rsp: u64,
    ret: u64,
    rdi: u64,
    cr0: u64,
    cr3: u64,
    cr4: u64,
    efer: u64,
    pat: u64,
    mtrr_def: u64,
    apic_base: u64,
    cpuid_apic: u64,
    x2apic_id: u64,
    segs: [u64; 6],
    gdtr: [u8; 16],
    idtr: [u8; 16],
}

global_asm!(
    ".section .text",
    ".global ferrite_mp_probe",
    ".balign 16",
    "ferrite_mp_probe:",
    "pushfq",
    "or rax, rbx",
    "or rax, rcx",
    "or rax, rdx",
    "or rax, rsi",
    "or rax, rbp",
    "or rax, r8",
    "or rax, r9",
    "or rax, r10",
    "or rax, r11",
    "or rax, r12",
    "or rax, r13",
    "or rax, r14",
    "or rax, r15",
    "mov rsi, [rdi + 24]",
    "mov [rsi + {gprs}], rax",
    "pop rax",
    "mov [rsi + {rflags}], rax",
    "mov [rsi + {rsp}], rsp",
    "mov rax, [rsp]",
    "mov [rsi + {ret}], rax",
    "mov [rsi + {rdi}], rdi",
    "mov rax, cr0",
    "mov [rsi + {cr0}], rax",
    "mov rax, cr3",
    "mov [rsi + {cr3}], rax",
    "mov rax, cr4",
    "mov [rsi + {cr4}], rax",
    "mov ecx, 0xc0000080",
    "rdmsr",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [rsi + {efer}], rax",
    "mov ecx, 0x277",
    "rdmsr",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [rsi + {pat}], rax",
    "mov ecx, 0x2ff",
    "rdmsr",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [rsi + {mtrr_def}], rax",
    "mov ecx, 0x1b",
    "rdmsr",
    "shl rdx, 32",
    "or rax, rdx",
    "mov [rsi + {apic_base}], rax",
    "mov r8, rsi",
    "mov eax, 1",
    "cpuid",
    "shr ebx, 24",
    "mov [r8 + {cpuid_apic}], rbx",
    "xor eax, eax",
    "cpuid",
    "cmp eax, 0xb",
    "jb 2f",
    "mov eax, 0xb",
    "xor ecx, ecx",
    "cpuid",
    "mov [r8 + {x2apic_id}], rdx",
    "2:",
    "mov ax, cs",
    "mov [r8 + {segs}], ax",
    "mov ax, ds",
    "mov [r8 + {segs} + 8], ax",
    "mov ax, es",
    "mov [r8 + {segs} + 16], ax",
    "mov ax, fs",
    "mov [r8 + {segs} + 24], ax",
    "mov ax, gs",
    "mov [r8 + {segs} + 32], ax",
    "mov ax, ss",
    "mov [r8 + {segs} + 40], ax",
    "sgdt [r8 + {gdtr}]",
    "sidt [r8 + {idtr}]",
    "mov qword ptr [r8 + {done}], 1",
    "3:",
    "cli",
    "hlt",
    "jmp 3b",
    done = const offset_of!(ApState, done),
    gprs = const offset_of!(ApState, gprs_or),
    rflags = const offset_of!(ApState, rflags),
    rsp = const offset_of!(ApState, rsp),
    ret = const offset_of!(ApState, ret),
    rdi = const offset_of!(ApState, rdi),
    cr0 = const offset_of!(ApState, cr0),
    cr3 = const offset_of!(ApState, cr3),
    cr4 = const offset_of!(ApState, cr4),
    efer = const offset_of!(ApState, efer),
    pat = const offset_of!(ApState, pat),
    mtrr_def = const offset_of!(ApState, mtrr_def),
    apic_base = const offset_of!(ApState, apic_base),
    cpuid_apic = const offset_of!(ApState, cpuid_apic),
    x2apic_id = const offset_of!(ApState, x2apic_id),
    segs = const offset_of!(ApState, segs),
    gdtr = const offset_of!(ApState, gdtr),
    idtr = const offset_of!(ApState, idtr),
);

extern "C" {
    static ferrite_mp_probe: u8;
}

/// Adds the phantom CPU to the MADT's list.
pub fn with_phantom(mut found: MadtCpus) -> MadtCpus {
    found.cpus.push(MadtCpu {
        uid: 0xee,
        apic_id: PHANTOM_APIC_ID,
        x2apic_entry: false,
    });
    found
}

/// Per-AP state records, allocated before ExitBootServices.
pub struct Records {
    base: u64,
    count: usize,
}

impl Records {
    /// Room for `count` records.
    pub fn new(tracker: &mut Tracker, count: usize) -> Result<Self, LoaderError> {
        let bytes = (count.max(1) * size_of::<ApState>()) as u64;
        let base = tracker.alloc(
            bytes.div_ceil(PAGE_SIZE),
            MemType::BootloaderReclaimable,
            false,
        )?;
        Ok(Self { base, count })
    }
}

/// What the BSP expects of every AP.
pub struct Expected {
    /// The kernel's PML4.
    pub pml4: u64,
    /// Physical base of the §8 GDT.
    pub gdt: u64,
    /// Whether EFER.NXE is on.
    pub nx: bool,
    /// Whether x2APIC mode is on.
    pub x2apic: bool,
}

/// One started AP: its info (physical), stack top (HHDM), APIC id.
pub type Ap = (u64, u64, u32);

/// Sends every AP to the probe, checks and logs what it recorded.
pub fn run(records: &Records, aps: impl Iterator<Item = Ap>, want: &Expected, rate_ticks: u64) {
    let mtrr_def = if cpu::has_mtrr() {
        // SAFETY: CPUID says MTRRs exist, so IA32_MTRR_DEF_TYPE does.
        unsafe { cpu::rdmsr(0x2ff) }
    } else {
        0
    };
    let probe = hhdm(core::ptr::addr_of!(ferrite_mp_probe) as u64);
    let (mut checked, mut good) = (0, 0);
    for (n, (info, stack_top, apic_id)) in aps.enumerate().take(records.count) {
        let rec = records.base + (n * size_of::<ApState>()) as u64;
        let goto = info + 16;
        let extra = info + 24;
        // SAFETY: `info` is a started AP's `limine_smp_info` in the
        // arena; the AP only reads `goto_address` (atomically), and
        // `extra_argument` is written before it.
        unsafe { (extra as *mut u64).write_volatile(hhdm(rec)) };
        // SAFETY: aligned u64 inside the info, shared with the AP.
        let goto = unsafe { AtomicU64::from_ptr(goto as *mut u64) };
        goto.store(probe, Ordering::Release);
        // SAFETY: `rec` is our record `n`, aligned; the AP writes `done`.
        let done = unsafe { AtomicU64::from_ptr(rec as *mut u64) };
        let deadline = cpu::rdtsc() + rate_ticks * 100_000;
        while done.load(Ordering::Acquire) == 0 && cpu::rdtsc() < deadline {
            core::hint::spin_loop();
        }
        checked += 1;
        // SAFETY: the AP is halted (or never came); the record is ours.
        let s = unsafe { (rec as *const ApState).read_volatile() };
        if s.done == 0 {
            let _ = writeln!(Com1, "loader: MP check: APIC id {apic_id}: no answer");
        } else if report(&s, apic_id, hhdm(info), stack_top, want, mtrr_def) {
            good += 1;
        }
        goto.store(0, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { (extra as *mut u64).write_volatile(0) };
    }
    let _ = writeln!(
        Com1,
        "loader: MP check: {good} of {checked} AP(s) in the promised state"
    );
}

/// Logs the memory map type of each physical address the APs live in;
/// all must be BOOTLOADER_RECLAIMABLE (§8 "MP").
pub fn memmap_types(entries: &[MemmapEntry], places: impl Iterator<Item = (&'static str, u64)>) {
    let want = MemType::BootloaderReclaimable.raw();
    for (what, addr) in places {
        let kind = entries
            .iter()
            .find(|e| e.base <= addr && addr - e.base < e.length)
            .map(|e| e.kind);
        let verdict = if kind == Some(want) { "ok" } else { "WRONG" };
        let _ = writeln!(
            Com1,
            "loader: MP check: {what} at {addr:#x} has memory map type {kind:?}: {verdict}"
        );
    }
}

/// Compares one record; logs `ok` or each mismatch. Returns all-ok.
fn report(s: &ApState, id: u32, info: u64, top: u64, w: &Expected, mtrr: u64) -> bool {
    let limit = |d: &[u8; 16]| u64::from(u16::from_le_bytes([d[0], d[1]]));
    let base = |d: &[u8; 16]| u64::from_le_bytes(d[2..10].try_into().unwrap_or([0; 8]));
    let apic_id = if w.x2apic { s.x2apic_id } else { s.cpuid_apic };
    let x2_on = s.apic_base & (3 << 10) == 3 << 10;
    let pat = if cpu::has_pat() {
        0x0000_0105_0007_0406
    } else {
        s.pat
    };
    let checks: [(&str, u64, u64); 23] = [
        ("other GPRs (OR)", s.gprs_or, 0),
        ("RFLAGS", s.rflags, 0x2),
        ("RSP", s.rsp, top - 8),
        ("return address", s.ret, 0),
        ("RDI", s.rdi, info),
        ("CR0", s.cr0, 0x8001_0011),
        ("CR3", s.cr3, w.pml4),
        ("CR4", s.cr4, 0x20),
        ("EFER", s.efer, 0x500 | if w.nx { 0x800 } else { 0 }),
        ("PAT", s.pat, pat),
        ("MTRR default type", s.mtrr_def, mtrr),
        ("x2APIC mode", u64::from(x2_on), u64::from(w.x2apic)),
        ("APIC id", apic_id, u64::from(id)),
        ("CS", s.segs[0], 0x28),
        ("DS", s.segs[1], 0x30),
        ("ES", s.segs[2], 0x30),
        ("FS", s.segs[3], 0x30),
        ("GS", s.segs[4], 0x30),
        ("SS", s.segs[5], 0x30),
        ("GDTR base", base(&s.gdtr), hhdm(w.gdt)),
        ("GDTR limit", limit(&s.gdtr), u64::from(GDT_LIMIT)),
        ("IDTR base", base(&s.idtr), 0),
        ("IDTR limit", limit(&s.idtr), 0),
    ];
    let mut ok = true;
    for (name, got, want) in checks {
        if got != want {
            ok = false;
            let _ = writeln!(
                Com1,
                "loader: MP check: APIC id {id}: {name} = {got:#x}, expected {want:#x}"
            );
        }
    }
    if ok {
        let _ = writeln!(
            Com1,
            "loader: MP check: APIC id {id}: ok (RSP {:#x}, RDI {:#x}, CR3 {:#x}, EFER {:#x})",
            s.rsp, s.rdi, s.cr3, s.efer
        );
    }
    ok
}
