//! The kernel heap: `talc`, growing on demand into its own virtual window.
//!
//! When talc runs out it asks [`FrameHeapSource`] for more: the next
//! pages of the heap window (a PML4 slot of its own, shared by every
//! address space), each backed by any free frame. So the heap never needs
//! physically contiguous memory, and heap growth may use the frame
//! allocator's kernel reserve: it keeps working after user programs have
//! taken every other frame. A failed growth makes the allocation fail:
//! fallible APIs (`try_reserve`, ...) see an error, and only infallible
//! ones end in the allocation-error panic.

use super::{frame_alloc, kernel_space, phys};
use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};
use paging::{Flags, PageSize};
use talc::base::binning::Binning;
use talc::base::Talc;
use talc::TalcLock;

/// Smallest growth step.
const GROW_BYTES: u64 = 256 << 10;
/// The heap window: PML4 slot 416, 512 GiB (see `mm::layout` for the
/// kernel half's map).
pub const WINDOW_BASE: u64 = 0xffff_d000_0000_0000;
/// Size of the window.
pub const WINDOW_SIZE: u64 = 512 << 30;

static GROWN_BYTES: AtomicU64 = AtomicU64::new(0);
static FAILED_GROWTHS: AtomicU64 = AtomicU64::new(0);

/// Heap memory source: fresh pages at the top of the heap window.
#[derive(Debug)]
pub struct FrameHeapSource;

/// Maps `bytes` of fresh pages at `at`; undoes everything on failure.
fn map_pages(at: u64, bytes: u64) -> bool {
    let flags = Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
    for off in (0..bytes).step_by(4096) {
        let mapped = frame_alloc::alloc_kernel().and_then(|frame| {
            phys::zero_frame(frame);
            kernel_space::map(at + off, frame, PageSize::Size4K, flags).inspect_err(|_| {
                let _ = frame_alloc::free(frame);
            })
        });
        if mapped.is_err() {
            for undo in (0..off).step_by(4096) {
                if let Ok((frame, _)) = kernel_space::unmap(at + undo) {
                    let _ = frame_alloc::free(frame);
                }
            }
            return false;
        }
    }
    true
}

// SAFETY: `acquire` never touches the heap lock or the global allocator:
// it calls the frame allocator and the kernel page tables, neither of
// which allocates, and `claim`.
unsafe impl talc::source::Source for FrameHeapSource {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        let need = (layout.size() + layout.align() + 4096) as u64;
        let bytes = need.max(GROW_BYTES).next_multiple_of(4096);
        // The heap lock is held: nobody else moves the top meanwhile.
        let top = GROWN_BYTES.load(Ordering::Relaxed);
        if top + bytes > WINDOW_SIZE || !map_pages(WINDOW_BASE + top, bytes) {
            FAILED_GROWTHS.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        let base = (WINDOW_BASE + top) as *mut u8;
        // SAFETY: the pages were just mapped for the heap alone, writable,
        // for the kernel's life (the heap never gives memory back).
        let claimed = unsafe { talc.claim(base, bytes as usize) };
        if claimed.is_none() {
            FAILED_GROWTHS.fetch_add(1, Ordering::Relaxed);
            return Err(());
        }
        GROWN_BYTES.store(top + bytes, Ordering::Relaxed);
        Ok(())
    }
}

static HEAP: TalcLock<crate::sync::IrqSpinRaw, FrameHeapSource> = TalcLock::new(FrameHeapSource);

/// The global allocator: talc, until a bugcheck switches to its arena
/// (`emergency_heap`); from then on talc is never entered again.
struct KernelAllocator;

#[global_allocator]
static ALLOCATOR: KernelAllocator = KernelAllocator;

// SAFETY: both allocators return memory that is valid for `layout` and
// handed to no one else; each pointer is freed by the allocator it came
// from (the arena knows its own range), and a bugcheck leaks older talc
// memory instead of freeing it.
unsafe impl GlobalAlloc for KernelAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if super::emergency_heap::active() {
            return super::emergency_heap::alloc(layout);
        }
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { HEAP.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if super::emergency_heap::contains(ptr) {
            super::emergency_heap::dealloc(ptr, layout);
        } else if !super::emergency_heap::active() {
            // SAFETY: `ptr` came from talc with `layout` (the caller's
            // contract; it is not the arena's).
            unsafe { HEAP.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !super::emergency_heap::active() {
            // SAFETY: the caller's contract for `realloc`, passed on; a
            // pointer from before a bugcheck is talc's.
            return unsafe { HEAP.realloc(ptr, layout, new_size) };
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        let new = super::emergency_heap::alloc(new_layout);
        if !new.is_null() {
            // SAFETY: `ptr` is valid for `layout.size()` bytes (the caller's
            // contract), `new` for `new_size`, and they do not overlap (the
            // arena hands out fresh ranges).
            unsafe { core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
            // SAFETY: `ptr` and `layout` as the caller gave them.
            unsafe { self.dealloc(ptr, layout) };
        }
        new
    }
}

/// Heap statistics.
#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    /// Bytes in live allocations.
    pub allocated: usize,
    /// Live allocations.
    pub allocations: usize,
    /// Bytes the heap mapped into its window.
    pub claimed: u64,
    /// Free fragments.
    pub fragments: usize,
    /// Growth requests the frame allocator could not satisfy.
    pub failed_growths: u64,
}

/// Current statistics.
pub fn stats() -> HeapStats {
    crate::arch::cpu::without_interrupts(|| {
        let talc = HEAP.lock();
        let c = talc.counters();
        HeapStats {
            allocated: c.allocated_bytes,
            allocations: c.allocation_count,
            claimed: GROWN_BYTES.load(Ordering::Relaxed),
            fragments: c.fragment_count,
            failed_growths: FAILED_GROWTHS.load(Ordering::Relaxed),
        }
    })
}
