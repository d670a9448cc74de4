//! Address spaces that share the kernel half, and their teardown.

use crate::entry::{self, PRESENT};
use crate::space::{new_table, ENTRIES, KERNEL_HALF};
use crate::{AddressSpace, Flags, FrameSource, KernelHalf, MapError, PageSize, PhysMem};

impl AddressSpace {
    /// Creates a [`KernelHalf::Shared`] address space whose PML4 entries
    /// 256..511 are copies of `kernel`'s (call
    /// [`AddressSpace::fill_kernel_half`] on `kernel` first, so that later
    /// kernel mappings show up in every copy).
    pub fn new_sharing(
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
        kernel: &AddressSpace,
    ) -> Result<Self, MapError> {
        let pml4 = new_table(mem, frames)?;
        for i in KERNEL_HALF as u64..ENTRIES {
            let e = mem.read_u64(kernel.pml4 + i * 8);
            mem.write_u64(pml4 + i * 8, e);
        }
        Ok(AddressSpace {
            pml4,
            kernel_half: KernelHalf::Shared,
        })
    }

    /// Gives every empty PML4 entry 256..511 a zeroed PDPT (256 frames at
    /// most), so that copies made by [`AddressSpace::new_sharing`] see every
    /// later kernel mapping. On `OutOfFrames` the PDPTs made so far stay.
    pub fn fill_kernel_half(
        &mut self,
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
    ) -> Result<(), MapError> {
        for i in KERNEL_HALF as u64..ENTRIES {
            let at = self.pml4 + i * 8;
            if mem.read_u64(at) & PRESENT == 0 {
                let t = new_table(mem, frames)?;
                mem.write_u64(at, entry::table(t, false));
            }
        }
        Ok(())
    }

    /// Frees every page table of this address space, the PML4 included
    /// (but under [`KernelHalf::Shared`] nothing below entries 256..511).
    /// Leaf pages are not touched: unmap and free them first (see
    /// [`AddressSpace::mappings`]). Returns the number of frames freed. The
    /// address space must not be loaded in CR3 on any CPU.
    pub fn destroy(self, mem: &mut impl PhysMem, frames: &mut impl FrameSource) -> usize {
        self.destroy_with_leaves(mem, frames, |_, _, _, _| {})
    }

    /// Tears the address space down in one pass without allocating: calls
    /// `leaf(frames, phys, size, flags)` for every mapped page below the
    /// kernel half (the caller frees the frame, through `frames` if it
    /// likes), and frees every page table as [`AddressSpace::destroy`] does. Returns the number of table frames
    /// freed. The address space must not be loaded in CR3 on any CPU.
    pub fn destroy_with_leaves<F: FrameSource>(
        self,
        mem: &mut impl PhysMem,
        frames: &mut F,
        mut leaf: impl FnMut(&mut F, u64, PageSize, Flags),
    ) -> usize {
        let last = match self.kernel_half {
            KernelHalf::Shared => KERNEL_HALF as u64,
            KernelHalf::Owned => ENTRIES,
        };
        let mut freed = 1;
        for_present(mem, self.pml4, last, |mem, _, e| {
            freed += free_tree_and_leaves(mem, frames, entry::table_address(e), 1, &mut leaf);
        });
        frames.free_table_frame(self.pml4);
        freed
    }
}

/// Frees the table at `table` (level 1..=3) and every table below it,
/// reporting every leaf it finds; returns how many tables that was.
fn free_tree_and_leaves<F: FrameSource>(
    mem: &mut impl PhysMem,
    frames: &mut F,
    table: u64,
    level: usize,
    leaf: &mut impl FnMut(&mut F, u64, PageSize, Flags),
) -> usize {
    let mut freed = 1;
    for_present(mem, table, ENTRIES, |mem, _, e| {
        if level == 3 || entry::is_leaf(e, level) {
            let size = PageSize::at_level(level);
            let (phys, flags) = entry::decode_leaf(e, size);
            leaf(frames, phys, size, flags);
        } else {
            freed += free_tree_and_leaves(mem, frames, entry::table_address(e), level + 1, leaf);
        }
    });
    frames.free_table_frame(table);
    freed
}

/// Calls `f(mem, index, entry)` for each present entry among the first
/// `count` (a multiple of 8) of the table at `table`, reading eight at a
/// time and skipping blocks with none present: user tables are sparse.
fn for_present<M: PhysMem>(
    mem: &mut M,
    table: u64,
    count: u64,
    mut f: impl FnMut(&mut M, u64, u64),
) {
    for block in 0..count / 8 {
        let entries = mem.read_8(table + block * 64);
        if entries.iter().fold(0, |any, e| any | e) & PRESENT == 0 {
            continue;
        }
        for (i, &e) in (block * 8..).zip(entries.iter()) {
            if e & PRESENT != 0 {
                f(mem, i, e);
            }
        }
    }
}
