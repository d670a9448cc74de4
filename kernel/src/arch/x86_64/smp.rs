//! Starting the other CPUs through the Limine MP response, and stopping
//! them all.
//!
//! The loader parks each AP in its own memory, polling the CPU entry's
//! `goto_address` (limine-protocol.md §8). [`send`] stores the address of
//! [`ApStart`] in the entry's `extra_argument` and then the entry stub in
//! `goto_address`; the AP arrives on the loader's stack and page tables,
//! and the stub loads the kernel's page-table root and stack from the
//! `ApStart` before it calls into Rust. Nothing of the loader's is used
//! after that, so bootloader memory can be reclaimed once every AP has
//! reported in.

use core::arch::global_asm;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use limine::mp::Cpu;

/// What an AP needs before it can run Rust code on a kernel stack. The
/// layout is fixed: the entry stub reads it.
#[repr(C)]
pub struct ApStart {
    /// Physical address of the kernel's PML4.
    pub root: u64,
    /// Top of the kernel stack the AP switches to.
    pub stack_top: u64,
    /// The Rust function the AP calls, with `arg`.
    pub main: extern "C" fn(u64) -> !,
    /// Its argument.
    pub arg: u64,
}

global_asm!(
    ".section .text.ap_entry, \"ax\"",
    // Arrives from the loader's parking loop: RDI = this CPU's MP entry
    // (its extra_argument at +24 holds the ApStart), loader stack and
    // page tables, interrupts off.
    ".global ferrite_ap_entry",
    "ferrite_ap_entry:",
    "    mov rax, [rdi + 24]",
    "    mov rcx, [rax]",
    "    mov cr3, rcx",
    "    mov rsp, [rax + 8]",
    "    mov rdi, [rax + 24]",
    "    xor ebp, ebp",
    "    call [rax + 16]",
    "    ud2",
);

extern "C" {
    fn ferrite_ap_entry(cpu: &Cpu) -> !;
}

/// Start records, one per CPU number. They live in the kernel image, which
/// the loader's page tables map too (the AP reads its record before it
/// switches to the kernel's tables; the kernel heap is not mapped there).
struct StartSlot(UnsafeCell<ApStart>);

// SAFETY: slot n is written only by `send` for CPU number n, before that
// CPU is sent on (the SeqCst stores in `send` order the write before it),
// and read only by that CPU's entry stub afterwards.
unsafe impl Sync for StartSlot {}

extern "C" fn never(_: u64) -> ! {
    super::cpu::halt_forever()
}

static STARTS: [StartSlot; super::percpu::MAX_CPUS] = [const {
    StartSlot(UnsafeCell::new(ApStart {
        root: 0,
        stack_top: 0,
        main: never,
        arg: 0,
    }))
}; super::percpu::MAX_CPUS];

/// Sends the parked AP `cpu` on as CPU number `number` with `start`.
/// Each number is sent at most once.
pub fn send(cpu: &'static Cpu, number: usize, start: ApStart) {
    let Some(slot) = STARTS.get(number) else {
        return;
    };
    // SAFETY: this number's slot has not been handed to any CPU yet (each
    // number is sent once), so nothing reads it while it is written.
    unsafe { *slot.0.get() = start };
    cpu.extra.store(slot.0.get() as u64, Ordering::SeqCst);
    // The crate's write is a SeqCst store, ordered after the ones above.
    cpu.goto_address.write(ferrite_ap_entry);
}

/// Set once some CPU has begun stopping the others.
static STOPPING: AtomicBool = AtomicBool::new(false);
/// CPUs that have stopped for the stopper.
static STOPPED: AtomicUsize = AtomicUsize::new(0);
/// Where each stopped CPU was interrupted (RIP), by CPU number.
static STOPPED_AT: [AtomicU64; super::percpu::MAX_CPUS] =
    [const { AtomicU64::new(0) }; super::percpu::MAX_CPUS];

/// Makes this CPU the one that stops the machine: sends every other
/// online CPU an NMI and waits (up to `wait_ns`) until they have parked.
/// Returns how many stopped, or None if another CPU is already stopping
/// the machine (then this one should simply halt).
pub fn stop_others(wait_ns: u64) -> Option<usize> {
    if STOPPING.swap(true, Ordering::SeqCst) {
        return None;
    }
    let me = super::percpu::cpu_id();
    let online = super::percpu::online_count();
    for cpu in (0..online).filter(|&c| c != me) {
        super::lapic::send_nmi(super::percpu::apic_id_of(cpu));
    }
    let ticks = (u128::from(super::tsc::frequency()) * u128::from(wait_ns) / 1_000_000_000) as u64;
    let start = super::cpu::rdtsc();
    while STOPPED.load(Ordering::Acquire) < online - 1
        && super::cpu::rdtsc().wrapping_sub(start) < ticks
    {
        core::hint::spin_loop();
    }
    Some(STOPPED.load(Ordering::Acquire))
}

/// Whether a stop is in progress (an NMI now means "park").
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Acquire)
}

/// On an NMI during a stop: records where this CPU was and parks it.
pub fn park_stopped(rip: u64) -> ! {
    STOPPED_AT[super::percpu::cpu_id()].store(rip, Ordering::Relaxed);
    STOPPED.fetch_add(1, Ordering::AcqRel);
    super::cpu::halt_forever()
}

/// Where stopped CPU `cpu` was interrupted (0 if it did not stop).
pub fn stopped_at(cpu: usize) -> u64 {
    STOPPED_AT[cpu.min(super::percpu::MAX_CPUS - 1)].load(Ordering::Relaxed)
}
