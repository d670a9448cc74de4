//! Memory-map regions and their Limine kinds.

/// The type of a memory-map entry, as numbered by the Limine protocol
/// (`LIMINE_MEMMAP_*`, see `limine-protocol.md` in the shared docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RegionKind {
    /// 0: free RAM, handed to the allocator at construction.
    Usable,
    /// 1: never usable.
    Reserved,
    /// 2: ACPI tables; usable once the kernel has parsed them (not managed).
    AcpiReclaimable,
    /// 3: ACPI non-volatile storage.
    AcpiNvs,
    /// 4: memory the firmware reported as faulty.
    BadMemory,
    /// 5: loader data (responses, page tables, stacks); freed by `reclaim`.
    BootloaderReclaimable,
    /// 6: the kernel image and the boot modules.
    ExecutableAndModules,
    /// 7: the linear framebuffer.
    Framebuffer,
    /// Any other number; treated as reserved.
    Unknown,
}

impl RegionKind {
    /// Number of kinds, `Unknown` included (the length of per-kind arrays).
    pub const COUNT: usize = 9;

    /// Every kind, in the order of [`RegionKind::index`].
    pub const ALL: [RegionKind; RegionKind::COUNT] = [
        RegionKind::Usable,
        RegionKind::Reserved,
        RegionKind::AcpiReclaimable,
        RegionKind::AcpiNvs,
        RegionKind::BadMemory,
        RegionKind::BootloaderReclaimable,
        RegionKind::ExecutableAndModules,
        RegionKind::Framebuffer,
        RegionKind::Unknown,
    ];

    /// Converts a Limine memory-map type number; unknown numbers map to
    /// [`RegionKind::Unknown`].
    #[must_use]
    pub const fn from_limine(raw: u64) -> Self {
        match raw {
            0 => RegionKind::Usable,
            1 => RegionKind::Reserved,
            2 => RegionKind::AcpiReclaimable,
            3 => RegionKind::AcpiNvs,
            4 => RegionKind::BadMemory,
            5 => RegionKind::BootloaderReclaimable,
            6 => RegionKind::ExecutableAndModules,
            7 => RegionKind::Framebuffer,
            _ => RegionKind::Unknown,
        }
    }

    /// Short name for logs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Usable => "usable",
            Self::Reserved => "reserved",
            Self::AcpiReclaimable => "acpi-reclaimable",
            Self::AcpiNvs => "acpi-nvs",
            Self::BadMemory => "bad",
            Self::BootloaderReclaimable => "bootloader-reclaimable",
            Self::ExecutableAndModules => "kernel+modules",
            Self::Framebuffer => "framebuffer",
            Self::Unknown => "unknown",
        }
    }

    /// Position of this kind in per-kind arrays such as
    /// [`FrameStats::by_kind`](crate::FrameStats::by_kind); equals the
    /// Limine number for known kinds, 8 for `Unknown`.
    #[must_use]
    pub const fn index(self) -> usize {
        match self {
            RegionKind::Usable => 0,
            RegionKind::Reserved => 1,
            RegionKind::AcpiReclaimable => 2,
            RegionKind::AcpiNvs => 3,
            RegionKind::BadMemory => 4,
            RegionKind::BootloaderReclaimable => 5,
            RegionKind::ExecutableAndModules => 6,
            RegionKind::Framebuffer => 7,
            RegionKind::Unknown => 8,
        }
    }
}

/// One memory-map entry: `length` bytes of physical memory from `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// Physical start address.
    pub base: u64,
    /// Length in bytes.
    pub length: u64,
    /// What the memory is.
    pub kind: RegionKind,
}

impl Region {
    /// Builds a region from a raw Limine entry (`base`, `length`, `type`).
    #[must_use]
    pub const fn from_limine(base: u64, length: u64, kind: u64) -> Self {
        Region {
            base,
            length,
            kind: RegionKind::from_limine(kind),
        }
    }

    /// Exclusive end address, saturated at `u64::MAX`.
    #[must_use]
    pub const fn end(&self) -> u64 {
        self.base.saturating_add(self.length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limine_numbers_round_trip_through_index() {
        for raw in 0..8u64 {
            let kind = RegionKind::from_limine(raw);
            assert_eq!(kind.index() as u64, raw);
            assert_eq!(RegionKind::ALL[kind.index()], kind);
        }
        assert_eq!(RegionKind::from_limine(8), RegionKind::Unknown);
        assert_eq!(RegionKind::from_limine(0x1234), RegionKind::Unknown);
    }

    #[test]
    fn end_saturates() {
        let r = Region::from_limine(u64::MAX - 10, 100, 0);
        assert_eq!(r.end(), u64::MAX);
    }
}
