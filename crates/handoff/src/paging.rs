//! 4-level page-table construction over an abstract table memory (§7).
//!
//! The loader backs [`TableMemory`] with UEFI pages; the tests with a
//! `Vec`. Entry bits follow Intel SDM Vol. 3A §4.5, tables 4-14 to 4-20.

use crate::PAGE_SIZE;
use core::fmt;

/// Present.
const P: u64 = 1 << 0;
/// Writable.
const W: u64 = 1 << 1;
/// User-accessible.
const U: u64 = 1 << 2;
/// Page-level write-through (PAT index bit 0).
const PWT: u64 = 1 << 3;
/// Page size (in PDPT/PD entries): a 1 GiB / 2 MiB leaf.
const PS: u64 = 1 << 7;
/// PAT index bit 2 in a 4 KiB PTE.
const PAT_4K: u64 = 1 << 7;
/// PAT index bit 2 in a 2 MiB / 1 GiB leaf.
const PAT_LARGE: u64 = 1 << 12;
/// Execute-disable.
const NX: u64 = 1 << 63;
/// Physical address bits of an entry (bits 12..=51).
const ADDR: u64 = 0x000f_ffff_ffff_f000;
/// Size of a 2 MiB page.
pub const LARGE_PAGE: u64 = 0x20_0000;

/// Caching of a mapping (§7: PAT0 WB, PAT5 WC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// PAT index 0.
    WriteBack,
    /// PAT index 5 (PAT=1, PCD=0, PWT=1).
    WriteCombining,
}

/// Permissions and caching of a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr {
    /// Writes allowed.
    pub writable: bool,
    /// Instruction fetches allowed (else NX, when `nx` is on).
    pub executable: bool,
    /// Cache type.
    pub caching: Caching,
}

impl Attr {
    /// HHDM attributes: RW, executable, write-back (§7).
    pub const HHDM: Self = Self {
        writable: true,
        executable: true,
        caching: Caching::WriteBack,
    };

    fn leaf_bits(self, large: bool, nx: bool) -> u64 {
        let mut bits = P;
        if self.writable {
            bits |= W;
        }
        if !self.executable && nx {
            bits |= NX;
        }
        if self.caching == Caching::WriteCombining {
            bits |= PWT | if large { PAT_LARGE } else { PAT_4K };
        }
        if large {
            bits |= PS;
        }
        bits
    }
}

/// What to do when a page is already mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Keep the existing mapping (used to fill the HHDM around the
    /// framebuffer's WC pages).
    Skip,
    /// Fail unless the existing leaf is identical.
    Error,
}

/// Why a mapping could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No memory for another table.
    OutOfTables,
    /// Address or length not 4 KiB aligned, or the range wraps.
    Unaligned,
    /// The page is already mapped differently.
    Conflict {
        /// The virtual address.
        virt: u64,
    },
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfTables => write!(f, "out of memory for page tables"),
            Self::Unaligned => write!(f, "mapping is not 4 KiB aligned"),
            Self::Conflict { virt } => write!(f, "page {virt:#x} is already mapped differently"),
        }
    }
}

/// Physical memory holding page tables.
pub trait TableMemory {
    /// Allocates a zeroed 4 KiB table and returns its physical address.
    fn new_table(&mut self) -> Result<u64, MapError>;
    /// Reads entry `index` of the table at `table`.
    fn read(&self, table: u64, index: usize) -> u64;
    /// Writes entry `index` of the table at `table`.
    fn write(&mut self, table: u64, index: usize, value: u64);
}

/// A 4-level address space under construction.
pub struct PageTables<M> {
    mem: M,
    root: u64,
    nx: bool,
}

fn index(virt: u64, level: u32) -> usize {
    ((virt >> (12 + 9 * level)) & 0x1ff) as usize
}

impl<M: TableMemory> PageTables<M> {
    /// Starts an empty address space; `nx` says whether the CPU has NX.
    pub fn new(mut mem: M, nx: bool) -> Result<Self, MapError> {
        let root = mem.new_table()?;
        Ok(Self { mem, root, nx })
    }

    /// Physical address of the PML4.
    #[must_use]
    pub fn root(&self) -> u64 {
        self.root
    }

    /// The table memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Returns the next-level table under entry `idx` of `table`,
    /// creating it if empty; `None` if the entry is a large leaf.
    fn descend(&mut self, table: u64, idx: usize) -> Result<Option<u64>, MapError> {
        let e = self.mem.read(table, idx);
        if e & P == 0 {
            let next = self.mem.new_table()?;
            // Intermediate entries: present, writable, user (§7).
            self.mem.write(table, idx, next | P | W | U);
            return Ok(Some(next));
        }
        if e & PS != 0 {
            return Ok(None);
        }
        Ok(Some(e & ADDR))
    }

    /// Maps `[virt, virt+len)` to `[phys, phys+len)`. With `large`, uses
    /// 2 MiB pages where both addresses are aligned and the PD slot is
    /// free; elsewhere 4 KiB pages.
    pub fn map(
        &mut self,
        virt: u64,
        phys: u64,
        len: u64,
        attr: Attr,
        large: bool,
        existing: Existing,
    ) -> Result<(), MapError> {
        if !(virt | phys | len).is_multiple_of(PAGE_SIZE)
            || virt.checked_add(len - len.min(1)).is_none()
            || phys.checked_add(len).is_none()
        {
            return Err(MapError::Unaligned);
        }
        let mut done = 0;
        while done < len {
            let (v, p) = (virt.wrapping_add(done), phys + done);
            let step = self.map_one(v, p, len - done, attr, large, existing)?;
            done += step;
        }
        Ok(())
    }

    /// Maps one page at `v` and returns how many bytes it covered.
    fn map_one(
        &mut self,
        v: u64,
        p: u64,
        left: u64,
        attr: Attr,
        large: bool,
        existing: Existing,
    ) -> Result<u64, MapError> {
        let pdpt = self
            .descend(self.root, index(v, 3))?
            .ok_or(MapError::Conflict { virt: v })?;
        let Some(pd) = self.descend(pdpt, index(v, 2))? else {
            return self.clash(v, existing, 0, 0).map(|()| PAGE_SIZE);
        };
        let pd_idx = index(v, 1);
        let pde = self.mem.read(pd, pd_idx);
        let want_large = large
            && v.is_multiple_of(LARGE_PAGE)
            && p.is_multiple_of(LARGE_PAGE)
            && left >= LARGE_PAGE;
        if pde & P == 0 && want_large {
            self.mem
                .write(pd, pd_idx, p | attr.leaf_bits(true, self.nx));
            return Ok(LARGE_PAGE);
        }
        if pde & P != 0 && pde & PS != 0 {
            let new = p | attr.leaf_bits(true, self.nx);
            let span = LARGE_PAGE - (v % LARGE_PAGE);
            return self.clash(v, existing, pde, new).map(|()| span.min(left));
        }
        let pt = self
            .descend(pd, pd_idx)?
            .ok_or(MapError::Conflict { virt: v })?;
        let pt_idx = index(v, 0);
        let old = self.mem.read(pt, pt_idx);
        let new = p | attr.leaf_bits(false, self.nx);
        if old & P != 0 {
            return self.clash(v, existing, old, new).map(|()| PAGE_SIZE);
        }
        self.mem.write(pt, pt_idx, new);
        Ok(PAGE_SIZE)
    }

    fn clash(&self, virt: u64, existing: Existing, old: u64, new: u64) -> Result<(), MapError> {
        match existing {
            Existing::Skip => Ok(()),
            Existing::Error if old == new && old != 0 => Ok(()),
            Existing::Error => Err(MapError::Conflict { virt }),
        }
    }

    /// Walks the tables: physical address and leaf entry for `virt`.
    #[must_use]
    pub fn translate(&self, virt: u64) -> Option<(u64, u64)> {
        let mut table = self.root;
        for level in (0..4).rev() {
            let e = self.mem.read(table, index(virt, level));
            if e & P == 0 {
                return None;
            }
            let leaf = level == 0 || e & PS != 0;
            if leaf {
                let size = 1u64 << (12 + 9 * level);
                let base = if level == 0 {
                    e & ADDR
                } else {
                    e & ADDR & !PAT_LARGE
                };
                return Some((base + (virt & (size - 1)), e));
            }
            table = e & ADDR;
        }
        None
    }
}

/// Leaf-entry queries for tests and logging.
pub mod entry {
    /// Whether a leaf entry allows writes.
    #[must_use]
    pub const fn writable(e: u64) -> bool {
        e & super::W != 0
    }
    /// Whether a leaf entry forbids instruction fetches.
    #[must_use]
    pub const fn no_execute(e: u64) -> bool {
        e & super::NX != 0
    }
    /// Whether a leaf entry selects PAT index 5 (write-combining).
    #[must_use]
    pub const fn write_combining(e: u64) -> bool {
        let pat = if e & super::PS != 0 {
            super::PAT_LARGE
        } else {
            super::PAT_4K
        };
        e & super::PWT != 0 && e & pat != 0 && e & (1 << 4) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// Tables in a `Vec`, "physical" addresses starting at 1 MiB.
    struct VecMem {
        tables: Vec<[u64; 512]>,
        limit: usize,
    }

    const BASE: u64 = 0x10_0000;

    impl TableMemory for VecMem {
        fn new_table(&mut self) -> Result<u64, MapError> {
            if self.tables.len() == self.limit {
                return Err(MapError::OutOfTables);
            }
            self.tables.push([0; 512]);
            Ok(BASE + (self.tables.len() as u64 - 1) * PAGE_SIZE)
        }
        fn read(&self, table: u64, index: usize) -> u64 {
            self.tables[((table - BASE) / PAGE_SIZE) as usize][index]
        }
        fn write(&mut self, table: u64, index: usize, value: u64) {
            self.tables[((table - BASE) / PAGE_SIZE) as usize][index] = value;
        }
    }

    fn tables(limit: usize) -> PageTables<VecMem> {
        PageTables::new(
            VecMem {
                tables: Vec::new(),
                limit,
            },
            true,
        )
        .unwrap()
    }

    const KERNEL: u64 = 0xffff_ffff_8000_0000;
    const RX: Attr = Attr {
        writable: false,
        executable: true,
        caching: Caching::WriteBack,
    };
    const RW: Attr = Attr {
        writable: true,
        executable: false,
        caching: Caching::WriteBack,
    };

    #[test]
    fn kernel_segments_and_guard_hole() {
        let mut pt = tables(64);
        pt.map(KERNEL, 0x20_0000, 0x2000, RX, false, Existing::Error)
            .unwrap();
        pt.map(
            KERNEL + 0x3000,
            0x20_3000,
            0x1000,
            RW,
            false,
            Existing::Error,
        )
        .unwrap();
        let (phys, e) = pt.translate(KERNEL + 0x1234).unwrap();
        assert_eq!(phys, 0x20_1234);
        assert!(!entry::writable(e) && !entry::no_execute(e));
        let (_, e) = pt.translate(KERNEL + 0x3008).unwrap();
        assert!(entry::writable(e) && entry::no_execute(e));
        assert_eq!(pt.translate(KERNEL + 0x2000), None, "hole stays unmapped");
        // Identical remap is fine, a different one is not.
        pt.map(KERNEL, 0x20_0000, 0x1000, RX, false, Existing::Error)
            .unwrap();
        assert_eq!(
            pt.map(KERNEL, 0x30_0000, 0x1000, RX, false, Existing::Error),
            Err(MapError::Conflict { virt: KERNEL })
        );
    }

    #[test]
    fn hhdm_uses_large_pages_and_skips_wc_framebuffer() {
        let hhdm = crate::HHDM_OFFSET;
        let mut pt = tables(64);
        let wc = Attr {
            caching: Caching::WriteCombining,
            ..Attr::HHDM
        };
        let fb = 0x8000_0000 + 0x1000;
        pt.map(hhdm + fb, fb, 0x3000, wc, true, Existing::Error)
            .unwrap();
        pt.map(hhdm, 0, 0x1_0000_0000, Attr::HHDM, true, Existing::Skip)
            .unwrap();
        let (phys, e) = pt.translate(hhdm + 0x1234_5678).unwrap();
        assert_eq!(phys, 0x1234_5678);
        assert!(e & PS != 0, "2 MiB leaf");
        let (phys, e) = pt.translate(hhdm + fb + 0x10).unwrap();
        assert_eq!(phys, fb + 0x10);
        assert!(entry::write_combining(e));
        let (_, e) = pt.translate(hhdm + 0x8000_0000).unwrap();
        assert!(!entry::write_combining(e), "neighbour page is WB");
        assert!(e & PS == 0, "the framebuffer's 2 MiB block is split");
        // 1 PML4 + 1 PDPT + 4 PD + 1 PT.
        assert_eq!(pt.memory().tables.len(), 7);
        assert_eq!(pt.translate(hhdm + 0x1_0000_0000), None);
    }

    #[test]
    fn large_wc_leaf_uses_bit_12() {
        let mut pt = tables(8);
        let wc = Attr {
            caching: Caching::WriteCombining,
            ..Attr::HHDM
        };
        pt.map(
            0x4000_0000,
            0x4000_0000,
            LARGE_PAGE,
            wc,
            true,
            Existing::Error,
        )
        .unwrap();
        let (phys, e) = pt.translate(0x4000_0010).unwrap();
        assert_eq!(phys, 0x4000_0010);
        assert!(e & PAT_LARGE != 0 && entry::write_combining(e));
    }

    #[test]
    fn errors() {
        let mut pt = tables(2);
        assert_eq!(
            pt.map(0x1001, 0, 0x1000, RW, false, Existing::Error),
            Err(MapError::Unaligned)
        );
        assert_eq!(
            pt.map(0x1000, 0, 0x1000, RW, false, Existing::Error),
            Err(MapError::OutOfTables)
        );
    }
}
