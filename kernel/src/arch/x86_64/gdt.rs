//! GDT and TSS: kernel/user segments and the IST stacks for fatal exceptions.

use core::cell::UnsafeCell;
use spin::Once;
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

/// The TSS: read by the CPU on privilege changes and IST deliveries,
/// written by the kernel (IST slots now, RSP0 per thread later).
struct TssCell(UnsafeCell<TaskStateSegment>);

// SAFETY: Rust code only accesses the TSS through raw pointers in this
// module, with interrupts disabled on the single CPU that uses it.
unsafe impl Sync for TssCell {}

static TSS: TssCell = TssCell(UnsafeCell::new(TaskStateSegment::new()));
static GDT: Once<GlobalDescriptorTable<8>> = Once::new();

/// Points IST slot `slot` (1-based) at a new stack top.
pub fn set_ist_stack(slot: u8, top: u64) {
    let index = usize::from(slot.clamp(1, 7) - 1);
    super::cpu::without_interrupts(|| {
        // SAFETY: the TSS is 'static; with interrupts off nothing on this
        // CPU can use the IST slot while it changes, and no Rust reference
        // to the TSS exists (see TssCell).
        unsafe { (*TSS.0.get()).interrupt_stack_table[index] = VirtAddr::new_truncate(top) };
    });
}

/// Sets the stack the CPU loads on a switch to ring 0 (TSS RSP0).
pub fn set_rsp0(top: u64) {
    super::cpu::without_interrupts(|| {
        // SAFETY: as in `set_ist_stack`: the CPU reads RSP0 only on a
        // privilege change, which cannot happen on this CPU right now.
        unsafe { (*TSS.0.get()).privilege_stack_table[0] = VirtAddr::new_truncate(top) };
    });
}

/// User code and data selectors (RPL 3), for the IRETQ into ring 3.
pub const USER_CODE: u16 = 0x20 | 3;
/// User stack/data selector.
pub const USER_DATA: u16 = 0x18 | 3;

/// Builds and loads the GDT, reloads the segment registers and loads TR.
pub fn init() {
    for (slot, stack) in IST_STACKS.iter().enumerate() {
        set_ist_stack(slot as u8 + 1, stack.top().as_u64());
    }
    let gdt = GDT.call_once(|| {
        let mut gdt = GlobalDescriptorTable::new();
        gdt.append(Descriptor::kernel_code_segment());
        gdt.append(Descriptor::kernel_data_segment());
        gdt.append(Descriptor::user_data_segment());
        gdt.append(Descriptor::user_code_segment());
        // SAFETY: the TSS is a 'static that lives as long as the GDT.
        gdt.append(unsafe { Descriptor::tss_segment_unchecked(TSS.0.get()) });
        gdt
    });
    gdt.load();
    // SAFETY: the selectors index the descriptors appended above, in the GDT
    // just loaded; the TSS descriptor points at a 'static TSS.
    unsafe {
        CS::set_reg(SegmentSelector(KERNEL_CODE));
        SS::set_reg(SegmentSelector(KERNEL_DATA));
        DS::set_reg(SegmentSelector(KERNEL_DATA));
        ES::set_reg(SegmentSelector(KERNEL_DATA));
        load_tss(SegmentSelector(TSS_SELECTOR));
    }
}

/// Where the GDT and TSS live and what the IST slots hold, for self-checks.
pub fn expected() -> (u64, u16, [u64; 3]) {
    let gdt = GDT.get().map_or(0, |g| g as *const _ as u64);
    let limit = GDT.get().map_or(0, |g| g.limit());
    // SAFETY: reading IST slots through the raw pointer; see TssCell.
    let ist = unsafe {
        let t = TSS.0.get();
        [
            (*t).interrupt_stack_table[0].as_u64(),
            (*t).interrupt_stack_table[1].as_u64(),
            (*t).interrupt_stack_table[2].as_u64(),
        ]
    };
    (gdt, limit, ist)
}
