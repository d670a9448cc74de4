//! Page flags, page sizes and cache types, independent of the entry format.

use bitflags::bitflags;

bitflags! {
    /// What a mapping allows. These are abstract flags: where each lands in
    /// an entry depends on the level (the PAT bit moves, see
    /// [`crate::entry`]). Present is implied by being mapped; no flags at
    /// all means read-only, supervisor, executable, write-back.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct Flags: u16 {
        /// Writes allowed (R/W).
        const WRITABLE = 1 << 0;
        /// Ring 3 may access it (U/S).
        const USER = 1 << 1;
        /// Page-level write-through (PWT): PAT index bit 0.
        const WRITE_THROUGH = 1 << 2;
        /// Page-level cache disable (PCD): PAT index bit 1.
        const CACHE_DISABLE = 1 << 3;
        /// PAT: PAT index bit 2.
        const PAT = 1 << 4;
        /// Survives CR3 reloads in the TLB (G; needs CR4.PGE).
        const GLOBAL = 1 << 5;
        /// Instruction fetches fault (XD; needs EFER.NXE).
        const NO_EXECUTE = 1 << 6;
        /// Software bit: the frame is not this mapping's to free (shared
        /// with other address spaces; the processor ignores the bit).
        const SHARED = 1 << 7;
        /// The three bits that select the PAT entry.
        const CACHE_BITS = Self::WRITE_THROUGH.bits()
            | Self::CACHE_DISABLE.bits()
            | Self::PAT.bits();
    }
}

/// A page size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageSize {
    /// 4 KiB, mapped by a PTE.
    Size4K,
    /// 2 MiB, mapped by a PDE with PS = 1.
    Size2M,
    /// 1 GiB, mapped by a PDPTE with PS = 1.
    Size1G,
}

impl PageSize {
    /// Every size, smallest first.
    pub const ALL: [PageSize; 3] = [PageSize::Size4K, PageSize::Size2M, PageSize::Size1G];

    /// The size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => 1 << 12,
            PageSize::Size2M => 1 << 21,
            PageSize::Size1G => 1 << 30,
        }
    }

    /// The table level holding a leaf of this size: 0 = PML4 .. 3 = PT.
    pub(crate) const fn leaf_level(self) -> usize {
        match self {
            PageSize::Size4K => 3,
            PageSize::Size2M => 2,
            PageSize::Size1G => 1,
        }
    }

    /// The size of a leaf found at `level` (1..=3).
    pub(crate) const fn at_level(level: usize) -> Self {
        match level {
            1 => PageSize::Size1G,
            2 => PageSize::Size2M,
            _ => PageSize::Size4K,
        }
    }
}

/// The PAT MSR value Limine programs: entries 0..7 are WB, WT, UC-, UC,
/// WP, WC, UC, UC (one byte each, entry 0 in the lowest byte).
pub const LIMINE_PAT: u64 = 0x0000_0105_0007_0406;

/// A memory type (Intel SDM Vol. 3A, "Memory Cache Control", Table
/// "Memory Types That Can Be Encoded With PAT").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CacheType {
    /// Write-back (PAT encoding 06h): ordinary RAM.
    WriteBack,
    /// Write-through (04h).
    WriteThrough,
    /// Uncached, overridable by MTRRs (07h).
    UncachedMinus,
    /// Uncacheable (00h): device registers.
    Uncacheable,
    /// Write-combining (01h): framebuffers.
    WriteCombining,
    /// Write-protected (05h).
    WriteProtected,
}

impl CacheType {
    /// Decodes one PAT MSR byte; reserved encodings give `None`.
    #[must_use]
    pub const fn from_pat_encoding(byte: u8) -> Option<Self> {
        match byte {
            0x00 => Some(CacheType::Uncacheable),
            0x01 => Some(CacheType::WriteCombining),
            0x04 => Some(CacheType::WriteThrough),
            0x05 => Some(CacheType::WriteProtected),
            0x06 => Some(CacheType::WriteBack),
            0x07 => Some(CacheType::UncachedMinus),
            _ => None,
        }
    }
}

impl Flags {
    /// These flags with the cache bits replaced by the ones that select
    /// `cache` under [`LIMINE_PAT`]. The PAT index is PAT·4 + PCD·2 + PWT
    /// (Intel SDM Vol. 3A, "Selecting a Memory Type from the PAT").
    #[must_use]
    pub const fn with_cache(self, cache: CacheType) -> Self {
        let bits = match cache {
            CacheType::WriteBack => Flags::empty(),           // index 0
            CacheType::WriteThrough => Flags::WRITE_THROUGH,  // index 1
            CacheType::UncachedMinus => Flags::CACHE_DISABLE, // index 2
            CacheType::Uncacheable => Flags::CACHE_BITS.difference(Flags::PAT), // 3
            CacheType::WriteCombining => Flags::PAT.union(Flags::WRITE_THROUGH), // 5
            CacheType::WriteProtected => Flags::PAT,          // index 4
        };
        self.difference(Flags::CACHE_BITS).union(bits)
    }

    /// The PAT entry these flags select (0..=7).
    #[must_use]
    pub const fn pat_index(self) -> u8 {
        (self.contains(Flags::PAT) as u8) << 2
            | (self.contains(Flags::CACHE_DISABLE) as u8) << 1
            | self.contains(Flags::WRITE_THROUGH) as u8
    }

    /// The memory type these flags select under the PAT MSR value `pat`.
    #[must_use]
    pub const fn cache_type_with(self, pat: u64) -> Option<CacheType> {
        CacheType::from_pat_encoding((pat >> (8 * self.pat_index() as u32)) as u8)
    }

    /// The memory type these flags select under [`LIMINE_PAT`].
    #[must_use]
    pub const fn cache_type(self) -> CacheType {
        match self.cache_type_with(LIMINE_PAT) {
            Some(c) => c,
            None => CacheType::Uncacheable, // unreachable: LIMINE_PAT is all valid
        }
    }
}
