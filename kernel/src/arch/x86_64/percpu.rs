//! Per-CPU state reached through the GS base, on every CPU.
//!
//! In the kernel, IA32_GS_BASE points at this CPU's [`PerCpu`]; while a
//! user thread runs, `swapgs` has parked that pointer in
//! IA32_KERNEL_GS_BASE. The SYSCALL entry and the exception stubs swap it
//! back before touching `gs:`. The bootstrap CPU's block is a static; each
//! other CPU's is allocated when it is started and lives for ever.
//!
//! CPU numbers are dense (0 = bootstrap, then the order the CPUs came
//! online); [`online_count`] only grows, and a number is published (with
//! its APIC id) before the CPU runs anything that looks it up.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use x86_64::registers::model_specific::{GsBase, KernelGsBase};
use x86_64::VirtAddr;

/// Byte offsets into [`PerCpu`], used by the entry asm.
pub const OFFSET_KERNEL_RSP: usize = 8;
/// Scratch slot for the user RSP during SYSCALL entry.
pub const OFFSET_USER_RSP: usize = 16;
/// This CPU's number.
pub const OFFSET_CPU_ID: usize = 24;
/// This CPU's TSS.
const OFFSET_TSS: usize = 32;
/// Most CPUs the kernel's per-CPU tables have room for.
pub const MAX_CPUS: usize = 64;

/// One CPU's state. The layout is fixed: the entry asm uses the offsets.
/// Each block has cache lines of its own (128 bytes: a line and the one
/// an adjacent-line prefetch pairs with it): the SYSCALL entry writes
/// `user_rsp` on every call, and two CPUs writing one line would bounce
/// it between them on every call.
#[repr(C, align(128))]
pub struct PerCpu {
    /// Points at itself, so `gs:[0]` yields the block's address.
    self_ptr: u64,
    /// Top of the running thread's kernel stack (SYSCALL entry stack).
    kernel_rsp: u64,
    /// User RSP saved by the SYSCALL entry.
    user_rsp: u64,
    /// Logical CPU number.
    cpu_id: u64,
    /// Address of this CPU's TSS.
    tss: u64,
}

impl PerCpu {
    const fn new(cpu_id: u64) -> Self {
        Self {
            self_ptr: 0,
            kernel_rsp: 0,
            user_rsp: 0,
            cpu_id,
            tss: 0,
        }
    }
}

struct PerCpuCell(UnsafeCell<PerCpu>);

// SAFETY: each CPU touches only its own block, through GS, with
// interrupts disabled.
unsafe impl Sync for PerCpuCell {}

/// Every CPU's block, in the kernel image: a starting CPU loads its own
/// before it takes any lock (a lock's spin loop reads the CPU number).
static BLOCKS: [PerCpuCell; MAX_CPUS] = {
    let mut blocks = [const { PerCpuCell(UnsafeCell::new(PerCpu::new(0))) }; MAX_CPUS];
    let mut i = 0;
    while i < MAX_CPUS {
        blocks[i] = PerCpuCell(UnsafeCell::new(PerCpu::new(i as u64)));
        i += 1;
    }
    blocks
};

/// CPUs online (numbers 0..count are valid).
static ONLINE: AtomicUsize = AtomicUsize::new(1);
/// APIC id of each CPU number.
static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// Loads GS with `block` (after setting its self pointer).
///
/// # Safety
/// `block` must be a 'static per-CPU block no other CPU uses.
unsafe fn load(block: *mut PerCpu) {
    // SAFETY: the caller gives us this CPU's own 'static block; loading
    // GS_BASE only changes where `gs:` addresses go, and KERNEL_GS_BASE = 0
    // is what user mode will see after `swapgs`.
    unsafe {
        (*block).self_ptr = block as u64;
        GsBase::write(VirtAddr::new(block as u64));
        KernelGsBase::write(VirtAddr::new(0));
    }
}

/// Points GS at the bootstrap CPU's block.
pub fn init_bsp() {
    // SAFETY: block 0 belongs to the CPU running this, the first and only
    // one so far.
    unsafe { load(BLOCKS[0].0.get()) };
}

/// Reserves the next CPU number for a CPU about to start, with its APIC
/// id; the number becomes visible through [`online_count`] only when the
/// CPU calls [`init_ap`].
pub fn next_number() -> Option<usize> {
    let n = ONLINE.load(Ordering::Acquire);
    (n < MAX_CPUS).then_some(n)
}

/// On a newly started CPU, first thing: points GS at the block of CPU
/// number `number` (from [`next_number`]). The number is published later
/// ([`publish`]), once the CPU can take IPIs.
pub fn init_ap(number: usize) {
    let Some(block) = BLOCKS.get(number).filter(|_| number > 0) else {
        super::cpu::halt_forever()
    };
    // SAFETY: each number is given to one CPU only (smp.rs never hands a
    // number out twice), so this block is this CPU's alone.
    unsafe { load(block.0.get()) };
}

/// Publishes CPU number `number` with its APIC id: from now on the
/// scheduler may place threads on it and shootdowns include it.
pub fn publish(number: usize, apic_id: u32) {
    APIC_IDS[number].store(apic_id, Ordering::Relaxed);
    ONLINE.store(number + 1, Ordering::Release);
}

/// Records the bootstrap CPU's APIC id.
pub fn set_bsp_apic_id(apic_id: u32) {
    APIC_IDS[0].store(apic_id, Ordering::Relaxed);
}

/// CPUs online.
pub fn online_count() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Bit n set for each online CPU number n.
pub fn online_mask() -> u64 {
    match online_count() {
        n if n >= 64 => u64::MAX,
        n => (1u64 << n) - 1,
    }
}

/// The APIC id of CPU number `cpu`.
pub fn apic_id_of(cpu: usize) -> u32 {
    APIC_IDS[cpu.min(MAX_CPUS - 1)].load(Ordering::Relaxed)
}

/// Sets the stack the CPU switches to on SYSCALL and on interrupts or
/// exceptions from ring 3 (the TSS RSP0 follows it).
pub fn set_kernel_stack(top: u64) {
    super::cpu::without_interrupts(|| {
        write_slot::<OFFSET_KERNEL_RSP>(top);
        super::gdt::set_rsp0(top);
    });
}

fn read_slot<const OFF: usize>() -> u64 {
    let value: u64;
    // A single load: a migration to another CPU cannot split it.
    // SAFETY: GS points at this CPU's block from `init_bsp`/`init_ap` on
    // (never the user's GS outside the entry stubs); OFF is a field offset.
    unsafe {
        core::arch::asm!(
            "mov {}, gs:[{off}]",
            out(reg) value,
            off = const OFF,
            options(nostack, preserves_flags, readonly)
        )
    };
    value
}

fn write_slot<const OFF: usize>(value: u64) {
    // SAFETY: as in `read_slot`; writes only this CPU's own block.
    unsafe {
        core::arch::asm!(
            "mov gs:[{off}], {}",
            in(reg) value,
            off = const OFF,
            options(nostack, preserves_flags)
        )
    };
}

/// This CPU's number (0 for the bootstrap CPU), read through GS.
pub fn cpu_id() -> usize {
    (read_slot::<OFFSET_CPU_ID>() as usize).min(MAX_CPUS - 1)
}

/// This CPU's TSS address (0 before its GDT is loaded).
pub(super) fn tss() -> u64 {
    read_slot::<OFFSET_TSS>()
}

pub(super) fn set_tss(tss: u64) {
    write_slot::<OFFSET_TSS>(tss);
}
