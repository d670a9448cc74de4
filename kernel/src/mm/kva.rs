//! Kernel virtual address ranges: stacks, MMIO windows, large buffers.

use super::MmError;
use crate::arch::cpu::without_interrupts;
use crate::sync::SpinLock;
use vrange::RangeAllocator;

/// Start of the window: PML4 slot 384, far above any HHDM of a machine
/// with less than 64 TiB of physical address space.
pub const BASE: u64 = 0xffff_c000_0000_0000;
/// Size of the window: one PML4 slot (512 GiB).
pub const SIZE: u64 = 512 << 30;

static RANGES: SpinLock<Option<RangeAllocator>> = SpinLock::new(None);

/// Starts the allocator; the HHDM must end below the window.
pub fn init(hhdm_end: u64) -> Result<(), MmError> {
    if hhdm_end > BASE {
        return Err(MmError::Range(vrange::RangeError::Exhausted {
            bytes: hhdm_end - BASE,
        }));
    }
    let ranges = RangeAllocator::new(BASE, SIZE);
    without_interrupts(|| *RANGES.lock() = Some(ranges));
    Ok(())
}

fn with<R>(f: impl FnOnce(&mut RangeAllocator) -> R) -> Result<R, MmError> {
    without_interrupts(|| match RANGES.lock().as_mut() {
        Some(r) => Ok(f(r)),
        None => Err(MmError::NotInitialised("kernel virtual ranges")),
    })
}

/// Reserves `bytes` of kernel virtual space aligned to `align`.
pub fn alloc(bytes: u64, align: u64) -> Result<u64, MmError> {
    with(|r| r.alloc(bytes, align))?.map_err(MmError::from)
}

/// Returns a range.
pub fn free(start: u64, bytes: u64) -> Result<(), MmError> {
    with(|r| r.free(start, bytes))?.map_err(MmError::from)
}

/// Free bytes left in the window.
pub fn free_bytes() -> u64 {
    with(|r| r.free_bytes()).unwrap_or(0)
}
