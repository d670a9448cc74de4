//! GDT and TSS: kernel/user segments and the IST stacks for fatal exceptions.

use alloc::vec::Vec;
use core::cell::UnsafeCell;
use x86_64::instructions::segmentation::{Segment, CS, DS, ES, SS};
use x86_64::instructions::tables::load_tss;
use x86_64::structures::gdt::{Descriptor, GlobalDescriptorTable, SegmentSelector};
use x86_64::structures::tss::TaskStateSegment;
use x86_64::VirtAddr;

/// Selector layout, fixed for SYSRET later: STAR[63:48] = 0x10 gives user SS
/// = 0x18|3 and user CS = 0x20|3 (Intel SDM Vol. 2B, SYSRET).
pub const KERNEL_CODE: u16 = 0x08;
/// Kernel data/stack selector.
pub const KERNEL_DATA: u16 = 0x10;
/// TSS selector (a 16-byte system descriptor).
pub const TSS_SELECTOR: u16 = 0x28;

/// IST slots (1-based in the IDT gate, 0-based in the TSS array).
pub const IST_DOUBLE_FAULT: u8 = 1;
/// NMI gets its own stack: it can arrive in the middle of anything.
pub const IST_NMI: u8 = 2;
/// Machine check likewise.
pub const IST_MACHINE_CHECK: u8 = 3;

const IST_STACK_SIZE: usize = 16 * 1024;

#[repr(C, align(16))]
struct IstStack(UnsafeCell<[u8; IST_STACK_SIZE]>);

// SAFETY: the stacks are only ever used by the CPU while delivering an
// exception through the IST; Rust code never forms references into them.
unsafe impl Sync for IstStack {}

impl IstStack {
    const fn new() -> Self {
        Self(UnsafeCell::new([0; IST_STACK_SIZE]))
    }

    fn top(&self) -> VirtAddr {
        VirtAddr::from_ptr(self.0.get()) + IST_STACK_SIZE as u64
    }
}

static IST_STACKS: [IstStack; 3] = [IstStack::new(), IstStack::new(), IstStack::new()];

/// A CPU's GDT and TSS: read by the CPU on privilege changes and IST
/// deliveries, written by the kernel (IST slots at start, RSP0 on every
/// switch). The bootstrap CPU's are statics; each other CPU's are leaked
/// heap blocks.
struct Tables {
    tss: UnsafeCell<TaskStateSegment>,
    gdt: UnsafeCell<GlobalDescriptorTable<8>>,
}

// SAFETY: Rust code only accesses a CPU's tables through raw pointers in
// this module, with interrupts disabled, on the CPU that owns them (or
// before that CPU runs).
unsafe impl Sync for Tables {}

impl Tables {
    const fn new() -> Self {
        Self {
            tss: UnsafeCell::new(TaskStateSegment::new()),
            gdt: UnsafeCell::new(GlobalDescriptorTable::new()),
        }
    }
}

static BSP_TABLES: Tables = Tables::new();

/// This CPU's TSS (the bootstrap CPU's before GS is set up).
fn this_tss() -> *mut TaskStateSegment {
    match super::percpu::tss() {
        0 => BSP_TABLES.tss.get(),
        tss => tss as *mut TaskStateSegment,
    }
}

/// Points IST slot `slot` (1-based) of this CPU's TSS at a new stack top.
pub fn set_ist_stack(slot: u8, top: u64) {
    let index = usize::from(slot.clamp(1, 7) - 1);
    super::cpu::without_interrupts(|| {
        // SAFETY: the TSS is 'static; with interrupts off nothing on this
        // CPU can use the IST slot while it changes, and no Rust reference
        // to the TSS exists (see Tables).
        unsafe { (*this_tss()).interrupt_stack_table[index] = VirtAddr::new_truncate(top) };
    });
}

/// Sets the stack this CPU loads on a switch to ring 0 (TSS RSP0).
pub fn set_rsp0(top: u64) {
    super::cpu::without_interrupts(|| {
        // SAFETY: as in `set_ist_stack`: the CPU reads RSP0 only on a
        // privilege change, which cannot happen on this CPU right now.
        unsafe { (*this_tss()).privilege_stack_table[0] = VirtAddr::new_truncate(top) };
    });
}

/// User code and data selectors (RPL 3), for the IRETQ into ring 3.
pub const USER_CODE: u16 = 0x20 | 3;
/// User stack/data selector.
pub const USER_DATA: u16 = 0x18 | 3;

/// Builds and loads the bootstrap CPU's GDT, reloads the segment
/// registers and loads TR (GS must point at its per-CPU block).
pub fn init() {
    for (slot, stack) in IST_STACKS.iter().enumerate() {
        // SAFETY: the BSP's TSS, before anything can use its IST slots.
        unsafe {
            (*BSP_TABLES.tss.get()).interrupt_stack_table[slot] = stack.top();
        }
    }
    load(&BSP_TABLES);
}

/// Moves `value` to the heap for ever, or fails if the heap is full.
fn leak_one<T>(value: T) -> Result<&'static mut T, ()> {
    let mut v = Vec::new();
    v.try_reserve_exact(1).map_err(|_| ())?;
    v.push(value);
    Ok(&mut v.leak()[0])
}

/// On a newly started CPU: builds its own GDT and TSS with IST stacks at
/// `ist_tops` (#DF, NMI, #MC) and loads them. Fails if the heap is full.
pub fn init_ap(ist_tops: [u64; 3]) -> Result<(), ()> {
    let tables = leak_one(Tables::new())?;
    for (slot, top) in ist_tops.iter().enumerate() {
        tables.tss.get_mut().interrupt_stack_table[slot] = VirtAddr::new_truncate(*top);
    }
    load(tables);
    Ok(())
}

fn load(tables: &'static Tables) {
    // SAFETY: this CPU's tables, not yet loaded: nothing else reads them.
    let gdt = unsafe { &mut *tables.gdt.get() };
    *gdt = GlobalDescriptorTable::new();
    gdt.append(Descriptor::kernel_code_segment());
    gdt.append(Descriptor::kernel_data_segment());
    gdt.append(Descriptor::user_data_segment());
    gdt.append(Descriptor::user_code_segment());
    // SAFETY: the TSS is 'static (as the tables are) and lives as long as
    // the GDT.
    gdt.append(unsafe { Descriptor::tss_segment_unchecked(tables.tss.get()) });
    // SAFETY: the GDT is 'static and complete.
    unsafe { gdt.load_unsafe() };
    // SAFETY: the selectors index the descriptors appended above, in the GDT
    // just loaded; the TSS descriptor points at a 'static TSS.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        SS::set_reg(SegmentSelector(KERNEL_DATA));
        DS::set_reg(SegmentSelector(KERNEL_DATA));
        ES::set_reg(SegmentSelector(KERNEL_DATA));
        load_tss(SegmentSelector(TSS_SELECTOR));
    }
    super::percpu::set_tss(tables.tss.get() as u64);
}

/// Where this CPU's GDT and TSS live and what its IST slots hold, for
/// self-checks: (GDT address, GDT limit, IST tops, TSS address).
pub fn expected() -> (u64, u16, [u64; 3], u64) {
    let tss = this_tss();
    let gdt = match super::percpu::tss() {
        0 => BSP_TABLES.gdt.get(),
        t => {
            // The GDT follows the TSS in `Tables`.
            let base = t - core::mem::offset_of!(Tables, tss) as u64;
            (base + core::mem::offset_of!(Tables, gdt) as u64) as *mut GlobalDescriptorTable<8>
        }
    };
    // SAFETY: reading this CPU's loaded tables through raw pointers; see
    // Tables.
    unsafe {
        (
            gdt as u64,
            (*gdt).limit(),
            [
                (*tss).interrupt_stack_table[0].as_u64(),
                (*tss).interrupt_stack_table[1].as_u64(),
                (*tss).interrupt_stack_table[2].as_u64(),
            ],
            tss as u64,
        )
    }
}
