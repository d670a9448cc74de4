//! An address space: map, unmap, protect and translate pages.

use crate::entry::{self, ACCESSED, DIRTY, PRESENT, USER, WRITABLE};
use crate::{is_canonical, Flags, Flush, FrameSource, MapError, PageSize, PhysMem};

/// Entries per table (Intel SDM Vol. 3A §4.5: 512 × 8 bytes).
pub(crate) const ENTRIES: u64 = 512;
/// First PML4 entry of the kernel half (0xffff_8000_0000_0000 and up).
pub(crate) const KERNEL_HALF: usize = 256;
/// Physical addresses are below 2^52 (MAXPHYADDR, §4.1.4).
const PHYS_LIMIT: u64 = 1 << 52;

/// Who owns the tables below PML4 entries 256..511.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelHalf {
    /// Shared with other address spaces: those PML4 entries are never
    /// cleared and their PDPTs never freed (deeper tables, being reached
    /// only through the shared PDPTs, are still freed when empty). A PDPT
    /// that `map` creates there is seen only by this PML4 and copies made
    /// afterwards: fill the kernel half once at boot.
    Shared,
    /// Owned by this address space alone: empty tables are freed everywhere.
    Owned,
}

/// The result of [`AddressSpace::translate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The physical address `virt` maps to (page base + offset).
    pub phys: u64,
    /// The size of the page that maps it.
    pub size: PageSize,
    /// The page's flags.
    pub flags: Flags,
}

/// A raw leaf entry, for diagnostics (fault analysis, tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeafEntry {
    /// Physical address of the entry itself.
    pub entry_phys: u64,
    /// Its value.
    pub value: u64,
    /// The size of the page it maps.
    pub size: PageSize,
}

/// What [`AddressSpace::unmap`] removed, and the TLB flush it owes.
#[must_use = "carries the TLB flush and the frame the page mapped"]
#[derive(Debug, PartialEq, Eq)]
pub struct Unmapped {
    /// The physical base of the page (now the caller's to free or keep).
    pub phys: u64,
    /// Its size.
    pub size: PageSize,
    /// The TLB invalidation the caller must do.
    pub flush: Flush,
}

/// The tables visited on the way to a leaf.
struct Path {
    /// `tables[l]` is the table at level `l` (0 = PML4 .. 3 = PT).
    tables: [u64; 4],
    /// Level of the leaf entry.
    level: usize,
    /// The leaf entry.
    entry: u64,
}

/// Index of `virt` in a table of `level` (0 = PML4 .. 3 = PT, §4.5).
pub(crate) const fn index(virt: u64, level: usize) -> u64 {
    (virt >> (39 - 9 * level as u32)) & (ENTRIES - 1)
}

/// Physical address of the entry for `virt` in `table` at `level`.
pub(crate) const fn slot(table: u64, virt: u64, level: usize) -> u64 {
    table + index(virt, level) * 8
}

/// A 4-level address space rooted at a PML4.
#[derive(Debug, PartialEq, Eq)]
pub struct AddressSpace {
    pub(crate) pml4: u64,
    pub(crate) kernel_half: KernelHalf,
}

impl AddressSpace {
    /// Wraps an existing PML4 at physical address `pml4`.
    #[must_use]
    pub const fn from_root(pml4: u64, kernel_half: KernelHalf) -> Self {
        AddressSpace { pml4, kernel_half }
    }

    /// Creates an address space with a fresh, zeroed PML4.
    pub fn new(
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
        kernel_half: KernelHalf,
    ) -> Result<Self, MapError> {
        let pml4 = new_table(mem, frames)?;
        Ok(AddressSpace { pml4, kernel_half })
    }

    /// Physical address of the PML4 (the value for CR3).
    #[must_use]
    pub const fn pml4(&self) -> u64 {
        self.pml4
    }

    /// The kernel-half policy.
    #[must_use]
    pub const fn kernel_half(&self) -> KernelHalf {
        self.kernel_half
    }

    /// Maps the page of `size` at `virt` to `phys`. Both must be aligned to
    /// `size`; missing tables are allocated and zeroed. Tables on the way
    /// get P+W, and U if `flags` has USER, so the leaf decides. No flush is
    /// needed: the slot was not present (§4.10.4.3).
    pub fn map(
        &mut self,
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
        virt: u64,
        phys: u64,
        size: PageSize,
        flags: Flags,
    ) -> Result<(), MapError> {
        check_virt(virt)?;
        let mask = size.bytes() - 1;
        if virt & mask != 0 {
            return Err(MapError::Misaligned { addr: virt });
        }
        if phys & mask != 0 {
            return Err(MapError::Misaligned { addr: phys });
        }
        if phys >= PHYS_LIMIT - mask {
            return Err(MapError::PhysOutOfRange { phys });
        }
        let user = flags.contains(Flags::USER);
        let leaf_level = size.leaf_level();
        let mut tables = [self.pml4, 0, 0, 0];
        for level in 0..leaf_level {
            let at = slot(tables[level], virt, level);
            let e = mem.read_u64(at);
            tables[level + 1] = if e & PRESENT == 0 {
                match new_table(mem, frames) {
                    Ok(t) => {
                        mem.write_u64(at, entry::table(t, user));
                        t
                    }
                    Err(err) => {
                        self.prune(mem, frames, &tables, virt, level);
                        return Err(err);
                    }
                }
            } else if entry::is_leaf(e, level) {
                let size = PageSize::at_level(level);
                return Err(MapError::HugePageInTheWay { virt, size });
            } else {
                entry::table_address(e)
            };
        }
        let at = slot(tables[leaf_level], virt, leaf_level);
        let e = mem.read_u64(at);
        if e & PRESENT != 0 {
            return Err(if entry::is_leaf(e, leaf_level) {
                MapError::AlreadyMapped { virt, size }
            } else {
                MapError::TableInTheWay { virt }
            });
        }
        mem.write_u64(at, entry::leaf(phys, size, flags));
        if user {
            allow_user(mem, &tables, virt, leaf_level);
        }
        Ok(())
    }

    /// Removes the page that starts at `virt` and frees the tables that
    /// become empty (policy permitting). The page's frame is not freed: it
    /// is returned in [`Unmapped::phys`].
    pub fn unmap(
        &mut self,
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
        virt: u64,
    ) -> Result<Unmapped, MapError> {
        let path = self.leaf_path(mem, virt)?;
        let size = PageSize::at_level(path.level);
        mem.write_u64(slot(path.tables[path.level], virt, path.level), 0);
        self.prune(mem, frames, &path.tables, virt, path.level);
        let (phys, _) = entry::decode_leaf(path.entry, size);
        Ok(Unmapped {
            phys,
            size,
            flush: Flush::new(virt),
        })
    }

    /// Replaces the flags of the page that starts at `virt` (keeping its
    /// frame and its accessed/dirty bits).
    pub fn protect(
        &mut self,
        mem: &mut impl PhysMem,
        virt: u64,
        flags: Flags,
    ) -> Result<Flush, MapError> {
        let path = self.leaf_path(mem, virt)?;
        let size = PageSize::at_level(path.level);
        let (phys, _) = entry::decode_leaf(path.entry, size);
        let kept = path.entry & (ACCESSED | DIRTY);
        let at = slot(path.tables[path.level], virt, path.level);
        mem.write_u64(at, entry::leaf(phys, size, flags) | kept);
        if flags.contains(Flags::USER) {
            allow_user(mem, &path.tables, virt, path.level);
        }
        Ok(Flush::new(virt))
    }

    /// The physical address, page size and flags of the page mapping
    /// `virt`; `None` if unmapped or non-canonical.
    #[must_use]
    pub fn translate(&self, mem: &impl PhysMem, virt: u64) -> Option<Translation> {
        let path = self.walk(mem, virt)?;
        let size = PageSize::at_level(path.level);
        let (base, flags) = entry::decode_leaf(path.entry, size);
        Some(Translation {
            phys: base + (virt & (size.bytes() - 1)),
            size,
            flags,
        })
    }

    /// The raw leaf entry mapping `virt`, if any.
    #[must_use]
    pub fn leaf_entry(&self, mem: &impl PhysMem, virt: u64) -> Option<LeafEntry> {
        let path = self.walk(mem, virt)?;
        Some(LeafEntry {
            entry_phys: slot(path.tables[path.level], virt, path.level),
            value: path.entry,
            size: PageSize::at_level(path.level),
        })
    }

    /// Whether every page of `[virt, virt + len)` is mapped with the
    /// access `need` asks for, judged as the CPU judges it: `USER` and
    /// `WRITABLE` (the only flags looked at) count only where every level
    /// of the walk sets them (Intel SDM Vol. 3A §4.6). An empty range is
    /// allowed; one that wraps or leaves the canonical halves is not.
    ///
    /// A table is read once for the run of neighbouring entries the range
    /// covers in it, not once per page: checking a large buffer costs
    /// about one entry read per page.
    #[must_use]
    pub fn allows(&self, mem: &impl PhysMem, virt: u64, len: u64, need: Flags) -> bool {
        if len == 0 {
            return true;
        }
        let Some(last) = virt.checked_add(len - 1) else {
            return false;
        };
        let mut bits = 0;
        if need.contains(Flags::USER) {
            bits |= USER;
        }
        if need.contains(Flags::WRITABLE) {
            bits |= WRITABLE;
        }
        let grants = |e: u64| e & PRESENT != 0 && e & bits == bits;
        // The page (of whatever size) holding `at`, walked from the PML4.
        let mut at = virt;
        loop {
            if !is_canonical(at) {
                return false;
            }
            let mut table = self.pml4;
            let mut level = 0;
            loop {
                let e = mem.read_u64(slot(table, at, level));
                if !grants(e) {
                    return false;
                }
                if entry::is_leaf(e, level) {
                    break;
                }
                if level == 3 {
                    return false;
                }
                table = entry::table_address(e);
                level += 1;
            }
            // Along the leaf's table while its entries are leaves that
            // grant the access; the levels above are the same for them.
            let size = PageSize::at_level(level).bytes();
            loop {
                let Some(next) = (at & !(size - 1)).checked_add(size) else {
                    return true;
                };
                if next > last {
                    return true;
                }
                at = next;
                if index(at, level) == 0 {
                    break; // past this table: walk again from the PML4
                }
                let e = mem.read_u64(slot(table, at, level));
                if !grants(e) {
                    return false;
                }
                if !entry::is_leaf(e, level) {
                    break; // a deeper table: walk again from the PML4
                }
            }
        }
    }

    /// The path to the leaf mapping `virt`, which must be its first byte.
    fn leaf_path(&self, mem: &impl PhysMem, virt: u64) -> Result<Path, MapError> {
        check_virt(virt)?;
        let path = self.walk(mem, virt).ok_or(MapError::NotMapped { virt })?;
        if virt & (PageSize::at_level(path.level).bytes() - 1) != 0 {
            return Err(MapError::Misaligned { addr: virt });
        }
        Ok(path)
    }

    /// Walks to the present leaf mapping `virt`.
    fn walk(&self, mem: &impl PhysMem, virt: u64) -> Option<Path> {
        if !is_canonical(virt) {
            return None;
        }
        let mut tables = [self.pml4, 0, 0, 0];
        for level in 0..4 {
            let e = mem.read_u64(slot(tables[level], virt, level));
            if e & PRESENT == 0 {
                return None;
            }
            if entry::is_leaf(e, level) {
                return Some(Path {
                    tables,
                    level,
                    entry: e,
                });
            }
            if level < 3 {
                tables[level + 1] = entry::table_address(e);
            }
        }
        None
    }

    /// Frees `tables[deepest]` and its ancestors while they are empty,
    /// never the PML4 and never a shared kernel-half PDPT.
    fn prune(
        &self,
        mem: &mut impl PhysMem,
        frames: &mut impl FrameSource,
        tables: &[u64; 4],
        virt: u64,
        deepest: usize,
    ) {
        for level in (1..=deepest).rev() {
            let shared = level == 1
                && index(virt, 0) >= KERNEL_HALF as u64
                && self.kernel_half == KernelHalf::Shared;
            if shared || !is_empty(mem, tables[level]) {
                return;
            }
            mem.write_u64(slot(tables[level - 1], virt, level - 1), 0);
            frames.free_table_frame(tables[level]);
        }
    }
}

/// Rejects non-canonical addresses.
fn check_virt(virt: u64) -> Result<(), MapError> {
    if is_canonical(virt) {
        Ok(())
    } else {
        Err(MapError::NonCanonical { virt })
    }
}

/// A zeroed table frame from `frames`.
pub(crate) fn new_table(
    mem: &mut impl PhysMem,
    frames: &mut impl FrameSource,
) -> Result<u64, MapError> {
    let t = frames.alloc_table_frame().ok_or(MapError::OutOfFrames)?;
    for i in 0..ENTRIES {
        mem.write_u64(t + i * 8, 0);
    }
    Ok(t)
}

/// Whether every entry of `table` is zero.
fn is_empty(mem: &impl PhysMem, table: u64) -> bool {
    (0..ENTRIES).all(|i| mem.read_u64(table + i * 8) == 0)
}

/// Sets U on the table entries above a user leaf at `leaf_level`.
fn allow_user(mem: &mut impl PhysMem, tables: &[u64; 4], virt: u64, leaf_level: usize) {
    for (level, table) in tables.iter().enumerate().take(leaf_level) {
        let at = slot(*table, virt, level);
        let e = mem.read_u64(at);
        if e & USER == 0 {
            mem.write_u64(at, e | USER);
        }
    }
}
