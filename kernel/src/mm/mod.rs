//! Memory management: frames, the kernel's page tables, heap, virtual ranges.
//!
//! Start-up order (see [`init`]): the frame allocator from the loader's
//! memory map; the kernel's own PML4 (HHDM, W^X kernel image, WC
//! framebuffer) replacing the loader's tables; the heap, which grows from
//! frames on demand; the kernel virtual range allocator. Once the kernel
//! holds its own copy of the loader's answers, [`reclaim_loader_memory`]
//! returns bootloader-reclaimable memory to the frame allocator.
//!
//! Locks: `kernel_space` → `frame_alloc` and `heap` → `frame_alloc`; the
//! frame allocator never allocates, so there is no cycle. All mm locks are
//! taken with interrupts disabled, and interrupt handlers never allocate.

pub mod acpi_memory;
pub mod blk_queue;
pub mod dma;
pub mod emergency_heap;
pub mod frame_alloc;
pub mod heap;
pub mod hhdm;
pub mod kernel_space;
pub mod kva;
pub mod layout;
pub mod mmio;
pub mod net_queues;
pub mod phys;
pub mod stack;
pub mod user_copy;
pub mod user_space;

use core::fmt;

/// Why memory management could not do something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MmError {
    /// The loader gave no memory map or no HHDM.
    MissingResponse(&'static str),
    /// The frame allocator refused.
    Frames(frames::FrameError),
    /// A page-table operation failed.
    Map(paging::MapError),
    /// The kernel virtual range allocator refused.
    Range(vrange::RangeError),
    /// A kernel page the loader should have mapped is not mapped.
    KernelNotMapped(u64),
    /// A subsystem was used before `init`.
    NotInitialised(&'static str),
    /// Too many physical pieces to map with the protections they need.
    Fragmented(&'static str),
    /// A device register range overlaps one already handed out.
    AlreadyClaimed(u64),
}

impl fmt::Display for MmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingResponse(what) => write!(f, "the loader gave no {what}"),
            Self::Frames(e) => write!(f, "frame allocator: {e}"),
            Self::Map(e) => write!(f, "page tables: {e}"),
            Self::Range(e) => write!(f, "kernel virtual ranges: {e}"),
            Self::KernelNotMapped(v) => write!(f, "kernel page {v:#x} is not mapped by the loader"),
            Self::NotInitialised(what) => write!(f, "{what} used before initialisation"),
            Self::Fragmented(what) => write!(f, "{what} is in too many physical pieces"),
            Self::AlreadyClaimed(p) => write!(f, "registers at {p:#x} are already owned"),
        }
    }
}

impl From<frames::FrameError> for MmError {
    fn from(e: frames::FrameError) -> Self {
        Self::Frames(e)
    }
}

impl From<paging::MapError> for MmError {
    fn from(e: paging::MapError) -> Self {
        Self::Map(e)
    }
}

impl From<vrange::RangeError> for MmError {
    fn from(e: vrange::RangeError) -> Self {
        Self::Range(e)
    }
}

/// What `init` set up, for the log and the milestone checks.
#[derive(Clone, Copy, Debug)]
pub struct MmReport {
    /// Bytes of frame bitmap and where it lives (physical).
    pub bitmap: (u64, u64),
    /// What the kernel's page tables cover.
    pub space: kernel_space::SpaceReport,
}

/// Brings up memory management on the loader's hand-off.
pub fn init(handoff: &crate::boot::Handoff) -> Result<MmReport, MmError> {
    let offset = handoff
        .hhdm_offset
        .ok_or(MmError::MissingResponse("HHDM"))?;
    hhdm::init(offset);
    let bitmap = frame_alloc::init(handoff.memory_map())?;
    let space = kernel_space::build_and_switch(handoff)?;
    kva::init(space.hhdm_end)?;
    stack::move_ist_stacks()?;
    Ok(MmReport { bitmap, space })
}

/// Returns bootloader-reclaimable memory (the loader's page tables,
/// responses, stack and the kernel file) to the frame allocator. Call only
/// after everything needed from the loader has been copied.
pub fn reclaim_loader_memory() -> u64 {
    frame_alloc::reclaim()
}
