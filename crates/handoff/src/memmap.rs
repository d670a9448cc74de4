//! UEFI memory map → Limine memory map conversion (§6, §10 step 13).
//!
//! Runs after ExitBootServices, so it never allocates: it works inside a
//! caller-provided, preallocated slice of [`MemmapEntry`].

use crate::responses::MemmapEntry;
use crate::{align_down, align_up, PAGE_SIZE};
use core::fmt;

/// Limine memory map entry types (§6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u64)]
pub enum MemType {
    /// Free RAM.
    Usable = 0,
    /// Not usable.
    Reserved = 1,
    /// ACPI tables, reclaimable after parsing.
    AcpiReclaimable = 2,
    /// ACPI non-volatile storage.
    AcpiNvs = 3,
    /// Defective RAM.
    BadMemory = 4,
    /// Loader data: responses, page tables, stack, GDT...
    BootloaderReclaimable = 5,
    /// Kernel image and modules.
    KernelAndModules = 6,
    /// Framebuffer pixels.
    Framebuffer = 7,
}

impl MemType {
    /// The numeric type as stored in an entry.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self as u64
    }

    /// Whether entries of this type must be page-aligned and exclusive
    /// (§6: USABLE and BOOTLOADER_RECLAIMABLE).
    #[must_use]
    pub const fn is_exclusive(self) -> bool {
        matches!(self, Self::Usable | Self::BootloaderReclaimable)
    }

    fn from_raw(raw: u64) -> Self {
        match raw {
            0 => Self::Usable,
            2 => Self::AcpiReclaimable,
            3 => Self::AcpiNvs,
            4 => Self::BadMemory,
            5 => Self::BootloaderReclaimable,
            6 => Self::KernelAndModules,
            7 => Self::Framebuffer,
            _ => Self::Reserved,
        }
    }
}

/// UEFI memory types (UEFI 2.10 §7.2, `EFI_MEMORY_TYPE`).
pub mod uefi {
    /// EfiLoaderCode.
    pub const LOADER_CODE: u32 = 1;
    /// EfiLoaderData.
    pub const LOADER_DATA: u32 = 2;
    /// EfiBootServicesCode.
    pub const BOOT_SERVICES_CODE: u32 = 3;
    /// EfiBootServicesData.
    pub const BOOT_SERVICES_DATA: u32 = 4;
    /// EfiConventionalMemory.
    pub const CONVENTIONAL: u32 = 7;
    /// EfiACPIReclaimMemory.
    pub const ACPI_RECLAIM: u32 = 9;
    /// EfiACPIMemoryNVS.
    pub const ACPI_NVS: u32 = 10;
}

/// Limine type for a UEFI type, "Limine ≥ 9.3.4" column of §6.
#[must_use]
pub fn limine_type(uefi_type: u32) -> MemType {
    match uefi_type {
        uefi::CONVENTIONAL => MemType::Usable,
        uefi::BOOT_SERVICES_CODE
        | uefi::BOOT_SERVICES_DATA
        | uefi::LOADER_CODE
        | uefi::LOADER_DATA => MemType::BootloaderReclaimable,
        uefi::ACPI_RECLAIM => MemType::AcpiReclaimable,
        uefi::ACPI_NVS => MemType::AcpiNvs,
        _ => MemType::Reserved,
    }
}

/// Whether a UEFI region above 4 GiB goes into the HHDM (§7, rev 1–2:
/// everything that does not become RESERVED or BAD_MEMORY).
#[must_use]
pub fn in_hhdm(uefi_type: u32) -> bool {
    !matches!(
        limine_type(uefi_type),
        MemType::Reserved | MemType::BadMemory
    )
}

/// One UEFI memory descriptor, reduced to what we need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UefiRegion {
    /// `Type`.
    pub ty: u32,
    /// `PhysicalStart`.
    pub base: u64,
    /// `NumberOfPages` (4 KiB each).
    pub pages: u64,
}

/// An allocation the loader made and tracks (§10 step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// Physical base (page-aligned).
    pub base: u64,
    /// Length in 4 KiB pages.
    pub pages: u64,
    /// KERNEL_AND_MODULES or BOOTLOADER_RECLAIMABLE.
    pub ty: MemType,
}

/// Why the memory map could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemmapError {
    /// The preallocated buffer is too small.
    TooManyEntries {
        /// Its capacity in entries.
        capacity: usize,
    },
}

impl fmt::Display for MemmapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyEntries { capacity } => {
                write!(f, "memory map needs more than {capacity} entries")
            }
        }
    }
}

/// Working list inside the caller's buffer.
struct List<'a> {
    buf: &'a mut [MemmapEntry],
    len: usize,
}

impl List<'_> {
    fn push(&mut self, base: u64, length: u64, ty: MemType) -> Result<(), MemmapError> {
        let capacity = self.buf.len();
        let slot = self
            .buf
            .get_mut(self.len)
            .ok_or(MemmapError::TooManyEntries { capacity })?;
        *slot = MemmapEntry {
            base,
            length,
            kind: ty.raw(),
        };
        self.len += 1;
        Ok(())
    }

    /// Removes `[start, end)` from every entry for which `target` holds.
    /// Emptied entries keep length 0 and are dropped by `compact`.
    fn carve(
        &mut self,
        start: u64,
        end: u64,
        target: impl Fn(MemType) -> bool,
    ) -> Result<(), MemmapError> {
        for i in 0..self.len {
            let e = self.buf[i];
            let e_end = e.base.saturating_add(e.length);
            if e.length == 0 || !target(MemType::from_raw(e.kind)) {
                continue;
            }
            if e.base >= end || start >= e_end {
                continue;
            }
            let left = start.saturating_sub(e.base).min(e.length);
            self.buf[i].length = left;
            if e_end > end {
                self.push(end, e_end - end, MemType::from_raw(e.kind))?;
            }
        }
        Ok(())
    }

    fn compact(&mut self) {
        let mut kept = 0;
        for i in 0..self.len {
            if self.buf[i].length != 0 {
                self.buf[kept] = self.buf[i];
                kept += 1;
            }
        }
        self.len = kept;
    }
}

/// Builds the Limine memory map into `out` and returns the entry count.
///
/// Order of precedence: tracked allocations over everything the firmware
/// said; the framebuffer (assumed never to overlap a tracked allocation) and every other non-exclusive type over USABLE /
/// BOOTLOADER_RECLAIMABLE; BOOTLOADER_RECLAIMABLE over USABLE. Exclusive
/// entries are then shrunk to whole pages, page 0 is trimmed from them
/// (§6: never usable for base revision ≤ 2), the list is sorted by base
/// and adjacent exclusive entries of one type are merged.
pub fn build(
    firmware: impl IntoIterator<Item = UefiRegion>,
    tracked: &[Tracked],
    framebuffer: Option<(u64, u64)>,
    out: &mut [MemmapEntry],
) -> Result<usize, MemmapError> {
    let mut list = List { buf: out, len: 0 };
    for r in firmware {
        let length = r.pages.saturating_mul(PAGE_SIZE);
        let length = length.min(u64::MAX - r.base);
        if length != 0 {
            list.push(r.base, length, limine_type(r.ty))?;
        }
    }
    for t in tracked {
        let length = t.pages.saturating_mul(PAGE_SIZE).min(u64::MAX - t.base);
        list.carve(t.base, t.base + length, |_| true)?;
        list.push(t.base, length, t.ty)?;
    }
    if let Some((base, length)) = framebuffer {
        let length = length.min(u64::MAX - base);
        if length != 0 {
            list.push(base, length, MemType::Framebuffer)?;
        }
    }
    // Non-exclusive types win over exclusive ones, reclaimable over usable.
    let mut i = 0;
    while i < list.len {
        let e = list.buf[i];
        let ty = MemType::from_raw(e.kind);
        if e.length != 0 && ty != MemType::Usable {
            let end = e.base + e.length;
            if ty.is_exclusive() {
                list.carve(e.base, end, |t| t == MemType::Usable)?;
            } else {
                list.carve(e.base, end, MemType::is_exclusive)?;
            }
        }
        i += 1;
    }
    for e in list.buf[..list.len].iter_mut() {
        if !MemType::from_raw(e.kind).is_exclusive() {
            continue;
        }
        let start = align_up(e.base, PAGE_SIZE)
            .unwrap_or(u64::MAX)
            .max(PAGE_SIZE);
        let end = align_down(e.base + e.length, PAGE_SIZE);
        e.base = start;
        e.length = end.saturating_sub(start);
    }
    list.compact();
    let entries = &mut list.buf[..list.len];
    entries.sort_unstable_by_key(|e| (e.base, e.kind, e.length));
    let mut merged = 0;
    for i in 0..entries.len() {
        let e = entries[i];
        if merged > 0 {
            let prev = &mut entries[merged - 1];
            let exclusive = MemType::from_raw(e.kind).is_exclusive();
            if exclusive && prev.kind == e.kind && prev.base + prev.length == e.base {
                prev.length += e.length;
                continue;
            }
        }
        entries[merged] = e;
        merged += 1;
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn region(ty: u32, base: u64, pages: u64) -> UefiRegion {
        UefiRegion { ty, base, pages }
    }

    fn run(
        fw: &[UefiRegion],
        tracked: &[Tracked],
        fb: Option<(u64, u64)>,
    ) -> Vec<(u64, u64, MemType)> {
        let mut out = vec![MemmapEntry::default(); 4 * (fw.len() + tracked.len()) + 8];
        let n = build(fw.iter().copied(), tracked, fb, &mut out).unwrap();
        out[..n]
            .iter()
            .map(|e| (e.base, e.length, MemType::from_raw(e.kind)))
            .collect()
    }

    #[test]
    fn converts_types_and_trims_page_zero() {
        let fw = [
            region(uefi::CONVENTIONAL, 0, 0xa0),
            region(0, 0xa0000, 0x60),
            region(uefi::BOOT_SERVICES_DATA, 0x10_0000, 0x10),
            region(uefi::ACPI_RECLAIM, 0x11_0000, 1),
            region(uefi::ACPI_NVS, 0x11_1000, 1),
            region(11, 0xfec0_0000, 1),
        ];
        let got = run(&fw, &[], None);
        assert_eq!(
            got,
            [
                (0x1000, 0x9f000, MemType::Usable),
                (0xa0000, 0x60000, MemType::Reserved),
                (0x10_0000, 0x10000, MemType::BootloaderReclaimable),
                (0x11_0000, 0x1000, MemType::AcpiReclaimable),
                (0x11_1000, 0x1000, MemType::AcpiNvs),
                (0xfec0_0000, 0x1000, MemType::Reserved),
            ]
        );
    }

    #[test]
    fn tracked_allocations_carve_and_merge() {
        let fw = [
            region(uefi::CONVENTIONAL, 0x10_0000, 0x100),
            region(uefi::LOADER_DATA, 0x20_0000, 0x10),
            region(uefi::BOOT_SERVICES_CODE, 0x21_0000, 0x10),
        ];
        let tracked = [
            Tracked {
                base: 0x20_4000,
                pages: 2,
                ty: MemType::KernelAndModules,
            },
            Tracked {
                base: 0x20_8000,
                pages: 1,
                ty: MemType::BootloaderReclaimable,
            },
        ];
        let got = run(&fw, &tracked, None);
        assert_eq!(
            got,
            [
                (0x10_0000, 0x10_0000, MemType::Usable),
                (0x20_0000, 0x4000, MemType::BootloaderReclaimable),
                (0x20_4000, 0x2000, MemType::KernelAndModules),
                (0x20_6000, 0x1a000, MemType::BootloaderReclaimable),
            ]
        );
    }

    #[test]
    fn framebuffer_overlays_usable_and_unaligned_edges_shrink() {
        let fw = [region(uefi::CONVENTIONAL, 0x100_0000, 0x100)];
        let got = run(&fw, &[], Some((0x104_0800, 0x1000)));
        assert_eq!(
            got,
            [
                (0x100_0000, 0x4_0000, MemType::Usable),
                (0x104_0800, 0x1000, MemType::Framebuffer),
                (0x104_2000, 0xbe000, MemType::Usable),
            ]
        );
    }

    #[test]
    fn overflowing_buffer_is_an_error() {
        let fw = [region(uefi::CONVENTIONAL, 0x1000, 1), region(0, 0x9000, 1)];
        let mut out = [MemmapEntry::default(); 1];
        assert_eq!(
            build(fw, &[], None, &mut out),
            Err(MemmapError::TooManyEntries { capacity: 1 })
        );
    }

    #[test]
    fn hhdm_predicate_follows_types() {
        assert!(in_hhdm(uefi::CONVENTIONAL));
        assert!(in_hhdm(uefi::ACPI_NVS));
        assert!(in_hhdm(uefi::LOADER_CODE));
        assert!(!in_hhdm(0));
        assert!(!in_hhdm(11));
    }

    /// Firmware maps: disjoint page runs of random types in random order.
    fn firmware_map() -> impl Strategy<Value = Vec<UefiRegion>> {
        prop::collection::vec((0u32..16, 0u64..8, 1u64..64), 1..40).prop_map(|runs| {
            let mut base = 0;
            let mut out = Vec::new();
            for (ty, gap, pages) in runs {
                base += gap * PAGE_SIZE;
                out.push(region(ty, base, pages));
                base += pages * PAGE_SIZE;
            }
            out.reverse();
            out
        })
    }

    /// Tracked allocations: disjoint, page ≥ 1, inside [0, 4 MiB).
    fn tracked_list() -> impl Strategy<Value = Vec<Tracked>> {
        prop::collection::vec((1u64..1024, 1u64..16, any::<bool>()), 0..12).prop_map(|raw| {
            let mut out: Vec<Tracked> = Vec::new();
            for (page, pages, kernel) in raw {
                let t = Tracked {
                    base: page * PAGE_SIZE,
                    pages,
                    ty: if kernel {
                        MemType::KernelAndModules
                    } else {
                        MemType::BootloaderReclaimable
                    },
                };
                let end = t.base + pages * PAGE_SIZE;
                if out
                    .iter()
                    .all(|o| end <= o.base || o.base + o.pages * PAGE_SIZE <= t.base)
                {
                    out.push(t);
                }
            }
            out
        })
    }

    proptest! {
        #[test]
        fn conversion_invariants(
            fw in firmware_map(),
            tracked in tracked_list(),
            fb in prop::option::of((0u64..0x40_0000, 1u64..0x10_0000)),
        ) {
            // The framebuffer is MMIO or firmware-reserved memory, never a
            // loader allocation; `build` lets it win if they ever clash.
            if let Some((base, len)) = fb {
                prop_assume!(tracked.iter().all(|t| {
                    base + len <= t.base || t.base + t.pages * PAGE_SIZE <= base
                }));
            }
            let got = run(&fw, &tracked, fb);
            for pair in got.windows(2) {
                prop_assert!(pair[0].0 <= pair[1].0, "sorted: {:?}", pair);
            }
            for (i, &(base, len, ty)) in got.iter().enumerate() {
                prop_assert!(len > 0);
                if !ty.is_exclusive() {
                    continue;
                }
                prop_assert_eq!(base % PAGE_SIZE, 0);
                prop_assert_eq!(len % PAGE_SIZE, 0);
                prop_assert!(base >= PAGE_SIZE, "page 0 trimmed");
                for (j, &(b2, l2, _)) in got.iter().enumerate() {
                    if i != j {
                        prop_assert!(base + len <= b2 || b2 + l2 <= base,
                            "{:?} overlaps {:?}", got[i], got[j]);
                    }
                }
            }
            for t in &tracked {
                for page in 0..t.pages {
                    let addr = t.base + page * PAGE_SIZE;
                    let covered = got.iter().any(|&(b, l, ty)| {
                        ty == t.ty && b <= addr && addr + PAGE_SIZE <= b + l
                    });
                    prop_assert!(covered, "tracked {:?} page {:#x} missing", t, addr);
                }
            }
            if let Some((base, len)) = fb {
                prop_assert!(got.contains(&(base, len, MemType::Framebuffer)));
            }
        }

        #[test]
        fn usable_only_comes_from_conventional_memory(fw in firmware_map()) {
            let got = run(&fw, &[], None);
            for &(base, len, ty) in &got {
                if ty != MemType::Usable {
                    continue;
                }
                for page in (base..base + len).step_by(PAGE_SIZE as usize) {
                    prop_assert!(fw.iter().any(|r| r.ty == uefi::CONVENTIONAL
                        && r.base <= page && page < r.base + r.pages * PAGE_SIZE));
                }
            }
        }
    }
}
