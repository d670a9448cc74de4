//! Kernel stacks in kernel virtual ranges, each with an unmapped guard page.

use super::{frame_alloc, kernel_space, kva, layout, phys, MmError};
use paging::{Flags, PageSize};

const PAGE: u64 = 4096;

/// The owner name of thread kernel stacks (in fault reports).
pub const THREAD_STACK: &str = "thread kernel stack";

/// A kernel stack: `pages` mapped pages above one unmapped guard page.
#[derive(Debug)]
pub struct KernelStack {
    base: u64,
    pages: u64,
}

impl KernelStack {
    /// Allocates and maps a zeroed stack of `pages` pages.
    pub fn new(pages: u64, owner: &'static str) -> Result<Self, MmError> {
        let base = kva::alloc((pages + 1) * PAGE, PAGE)?;
        let mut stack = Self { base, pages: 0 };
        for i in 1..=pages {
            let frame = frame_alloc::alloc()?;
            phys::zero_frame(frame);
            let flags = Flags::WRITABLE | Flags::NO_EXECUTE | Flags::GLOBAL;
            if let Err(e) = kernel_space::map(base + i * PAGE, frame, PageSize::Size4K, flags) {
                let _ = frame_alloc::free(frame);
                return Err(e); // `stack` drops and releases what was mapped
            }
            stack.pages = i;
        }
        layout::register_guard(base, owner);
        Ok(stack)
    }

    /// The initial stack pointer (one past the highest byte).
    pub fn top(&self) -> u64 {
        self.base + (self.pages + 1) * PAGE
    }

    /// Writes `words` at the very top of the stack (the last word just
    /// below `top()`) and returns the address of the first: a new thread's
    /// initial frame. Only a stack no thread runs on can be written
    /// (`&mut self`).
    pub fn write_top(&mut self, words: &[u64]) -> u64 {
        let bytes = (words.len() as u64 * 8).min(self.pages * PAGE);
        let start = self.top() - bytes;
        // SAFETY: `[start, top)` lies in the mapped pages of this stack,
        // which `&mut self` proves nobody else uses.
        unsafe {
            core::ptr::copy_nonoverlapping(words.as_ptr(), start as *mut u64, (bytes / 8) as usize)
        };
        start
    }

    /// The guard page's range.
    pub fn guard(&self) -> core::ops::Range<u64> {
        self.base..self.base + PAGE
    }

    /// Keeps the stack for the kernel's whole life.
    pub fn leak(self) -> u64 {
        let top = self.top();
        core::mem::forget(self);
        top
    }
}

impl Drop for KernelStack {
    fn drop(&mut self) {
        layout::unregister_guard(self.base);
        let freed = kernel_space::unmap_pages(self.base + PAGE, self.pages, |frame| {
            if let Err(e) = frame_alloc::free(frame) {
                log::error!("stack frame {frame:#x}: {e} (bug)");
            }
        });
        if let Err(e) = freed {
            // The frames still mapped stay, and so does the range: nothing
            // is reused while a mapping may live.
            log::error!("stack page unmap: {e} (bug)");
            return;
        }
        if let Err(e) = kva::free(self.base, (self.pages + 1) * PAGE) {
            log::error!("stack range: {e} (bug)");
        }
    }
}

/// Pages of each IST stack (#DF, NMI, #MC), on every CPU: room for a
/// bugcheck, which walks and names the stack from the #DF handler.
pub const IST_PAGES: u64 = 8;

/// Replaces the boot-time IST stacks (in .bss, unguarded) with guarded
/// stacks from the kernel virtual range.
pub fn move_ist_stacks() -> Result<(), MmError> {
    for (slot, owner) in [
        (1u8, "#DF IST stack"),
        (2, "NMI IST stack"),
        (3, "#MC IST stack"),
    ] {
        let top = KernelStack::new(IST_PAGES, owner)?.leak();
        crate::arch::set_ist_stack(slot, top);
    }
    Ok(())
}
