//! The kernel image's own layout, from the linker script's symbols.

use crate::arch::cpu::without_interrupts;
use crate::sync::SpinLock;
use alloc::collections::BTreeMap;
use core::ops::Range;

extern "C" {
    static __kernel_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __data_end: u8;
    static __boot_stack_guard: u8;
    static __boot_stack_bottom: u8;
    static __boot_stack_top: u8;
    static __kernel_end: u8;
}

macro_rules! symbol {
    ($s:ident) => {
        // Taking the address of a linker symbol never reads it.
        (&raw const $s) as u64
    };
}

/// Virtual ranges of the kernel image's parts (see linker.ld).
#[derive(Clone, Debug)]
pub struct KernelLayout {
    /// Whole image.
    pub image: Range<u64>,
    /// Code: read + execute.
    pub text: Range<u64>,
    /// Read-only data (and the exception fixup table).
    pub rodata: Range<u64>,
    /// Data and bss: read + write.
    pub data: Range<u64>,
    /// The unmapped page below the boot stack.
    pub boot_stack_guard: Range<u64>,
    /// The boot stack.
    pub boot_stack: Range<u64>,
}

/// The kernel's layout as linked.
pub fn kernel() -> KernelLayout {
    KernelLayout {
        image: symbol!(__kernel_start)..symbol!(__kernel_end),
        text: symbol!(__text_start)..symbol!(__text_end),
        rodata: symbol!(__rodata_start)..symbol!(__rodata_end),
        data: symbol!(__data_start)..symbol!(__data_end),
        boot_stack_guard: symbol!(__boot_stack_guard)..symbol!(__boot_stack_bottom),
        boot_stack: symbol!(__boot_stack_bottom)..symbol!(__boot_stack_top),
    }
}

/// Guard pages of kernel stacks outside the image: page address → owner.
static GUARDS: SpinLock<BTreeMap<u64, &'static str>> = SpinLock::new(BTreeMap::new());

/// Records the guard page at `page` (for fault diagnosis).
pub fn register_guard(page: u64, owner: &'static str) {
    without_interrupts(|| GUARDS.lock().insert(page, owner));
}

/// Forgets a guard page.
pub fn unregister_guard(page: u64) {
    without_interrupts(|| GUARDS.lock().remove(&page));
}

/// Names the guard page `addr` falls in, if any: a fault there means a
/// kernel stack overflowed. Never blocks (fault paths call it).
pub fn guard_page_owner(addr: u64) -> Option<&'static str> {
    if kernel().boot_stack_guard.contains(&addr) {
        return Some("boot stack");
    }
    let guards = GUARDS.try_lock()?;
    guards.get(&(addr & !0xfff)).copied()
}
