//! `memmap::build`: worked examples and properties over arbitrary maps.

use super::*;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

fn region(ty: u32, base: u64, pages: u64) -> UefiRegion {
    UefiRegion { ty, base, pages }
}

fn run(fw: &[UefiRegion], tracked: &[Tracked], fb: Option<(u64, u64)>) -> Vec<(u64, u64, MemType)> {
    // Room `build` is promised to need at most: every input, and one more
    // piece per input (each may cut one range in two), plus one.
    let inputs = fw.len() + tracked.len() + usize::from(fb.is_some());
    let mut out = vec![MemmapEntry::default(); 2 * inputs + 1];
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
fn a_buffer_as_large_as_the_map_is_enough() {
    // Three allocations cut one region into seven entries; the inputs are
    // sorted at the end of the buffer and the map overtakes none of them.
    let fw = [region(uefi::LOADER_DATA, 0x10_0000, 0x10)];
    let tracked: Vec<Tracked> = [0x10_2000, 0x10_6000, 0x10_a000]
        .into_iter()
        .map(|base| Tracked {
            base,
            pages: 1,
            ty: MemType::KernelAndModules,
        })
        .collect();
    let mut out = [MemmapEntry::default(); 7];
    assert_eq!(build(fw, &tracked, None, &mut out), Ok(7));
    let kinds: Vec<u64> = out.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [5, 6, 5, 6, 5, 6, 5]);
    let mut out = [MemmapEntry::default(); 6];
    assert_eq!(
        build(fw, &tracked, None, &mut out),
        Err(MemmapError::TooManyEntries { capacity: 6 })
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

#[test]
fn overlapping_conventional_regions_give_one_usable_entry() {
    // As fuzzing found: two conventional descriptors sharing pages came
    // out as two overlapping USABLE entries.
    let fw = [
        region(uefi::CONVENTIONAL, 0x10_0000, 0x100),
        region(uefi::CONVENTIONAL, 0x18_0000, 0x100),
    ];
    assert_eq!(
        run(&fw, &[], None),
        [(0x10_0000, 0x18_0000, MemType::Usable)]
    );
    // Nested and duplicated descriptors, and stricter types on top:
    // each overlap goes to the stricter type.
    let fw = [
        region(uefi::CONVENTIONAL, 0x10_0000, 0x100),
        region(uefi::CONVENTIONAL, 0x12_0000, 0x10),
        region(uefi::CONVENTIONAL, 0x10_0000, 0x100),
        region(uefi::BOOT_SERVICES_DATA, 0x15_0000, 0x10),
        region(uefi::ACPI_NVS, 0x1f_f000, 2),
    ];
    assert_eq!(
        run(&fw, &[], None),
        [
            (0x10_0000, 0x5_0000, MemType::Usable),
            (0x15_0000, 0x1_0000, MemType::BootloaderReclaimable),
            (0x16_0000, 0x9_f000, MemType::Usable),
            (0x1f_f000, 0x2000, MemType::AcpiNvs),
        ]
    );
}

#[test]
fn overlapping_strict_types_do_not_overlap_either() {
    let fw = [
        region(uefi::ACPI_RECLAIM, 0x8_0000, 0x10),
        region(0, 0x8_8000, 0x10),
        region(uefi::ACPI_NVS, 0x8_c000, 1),
    ];
    let tracked = [Tracked {
        base: 0x8_4000,
        pages: 8,
        ty: MemType::KernelAndModules,
    }];
    assert_eq!(
        run(&fw, &tracked, Some((0x8_a000, 0x800))),
        [
            (0x8_0000, 0x4000, MemType::AcpiReclaimable),
            (0x8_4000, 0x4000, MemType::KernelAndModules),
            (0x8_8000, 0x2000, MemType::Reserved),
            (0x8_a000, 0x800, MemType::Framebuffer),
            // The ACPI NVS page lies inside RESERVED, the stricter type.
            (0x8_a800, 0xd800, MemType::Reserved),
        ]
    );
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

/// Any descriptors: random types, overlapping, sometimes unaligned.
fn any_descriptors() -> impl Strategy<Value = Vec<UefiRegion>> {
    prop::collection::vec((0u32..16, 0u64..96, 0u64..24, 0u64..4), 0..24).prop_map(|raw| {
        raw.into_iter()
            .map(|(ty, page, pages, skew)| {
                // Mostly page-aligned, as UEFI requires; a hostile or
                // buggy firmware may not be.
                let base = page * PAGE_SIZE + if skew == 3 { 0x800 } else { 0 };
                region(ty, base, pages)
            })
            .collect()
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
        // A tracked page keeps its type unless the firmware gave it a
        // stricter one.
        for t in &tracked {
            for page in 0..t.pages {
                let addr = t.base + page * PAGE_SIZE;
                let covered = got.iter().any(|&(b, l, ty)| {
                    ty.rank() >= t.ty.rank() && b <= addr && addr + PAGE_SIZE <= b + l
                });
                prop_assert!(covered, "tracked {:?} page {:#x} missing", t, addr);
            }
        }
        if let Some((base, len)) = fb {
            prop_assert!(got.contains(&(base, len, MemType::Framebuffer)));
        }
    }

    #[test]
    fn any_descriptors_give_a_sorted_disjoint_map_of_the_strictest_types(
        fw in any_descriptors(),
        tracked in prop::collection::vec((0u64..96, 0u64..12, any::<bool>()), 0..6),
        fb in prop::option::of((0u64..0x6_0000, 1u64..0x2_0000)),
    ) {
        let tracked: Vec<Tracked> = tracked
            .into_iter()
            .map(|(page, pages, kernel)| Tracked {
                base: page * PAGE_SIZE,
                pages,
                ty: if kernel {
                    MemType::KernelAndModules
                } else {
                    MemType::BootloaderReclaimable
                },
            })
            .collect();
        let got = run(&fw, &tracked, fb);
        for pair in got.windows(2) {
            prop_assert!(pair[0].0 + pair[0].1 <= pair[1].0,
                "sorted and disjoint: {:?}", pair);
        }
        for &(base, len, ty) in &got {
            prop_assert!(len > 0);
            if ty.is_exclusive() {
                prop_assert_eq!(base % PAGE_SIZE, 0);
                prop_assert_eq!(len % PAGE_SIZE, 0);
                prop_assert!(base >= PAGE_SIZE, "page 0 trimmed");
            }
        }
        // Against a byte-by-byte model: at every point where anything
        // starts or ends, the output has the strictest input type there
        // (exclusive types may lose partial pages and page 0, no more).
        let mut inputs: Vec<(u64, u64, MemType)> = fw
            .iter()
            .map(|r| (r.base, clamp(r.base, r.pages * PAGE_SIZE), limine_type(r.ty)))
            .collect();
        inputs.extend(tracked.iter().map(|t| (t.base, t.pages * PAGE_SIZE, t.ty)));
        inputs.extend(fb.map(|(b, l)| (b, l, MemType::Framebuffer)));
        let strictest = |p: u64| {
            inputs
                .iter()
                .filter(|&&(b, l, _)| b <= p && p < b + l)
                .map(|&(_, _, t)| t)
                .max_by_key(|t| t.rank())
        };
        let output = |p: u64| {
            got.iter().find(|&&(b, l, _)| b <= p && p < b + l).map(|&(_, _, t)| t)
        };
        let edges: Vec<u64> = inputs
            .iter()
            .chain(&got)
            .flat_map(|&(b, l, _)| [b, b + l])
            .collect();
        for p in edges.iter().flat_map(|&e| [e, e.saturating_sub(1)]) {
            let want = strictest(p);
            let have = output(p);
            match want {
                Some(t) if t.is_exclusive() => {
                    prop_assert!(have.is_none() || have == want, "{:#x}: {:?}", p, have);
                    let page = align_down(p, PAGE_SIZE);
                    let whole = page >= PAGE_SIZE
                        && strictest(page) == want
                        && edges
                            .iter()
                            .filter(|&&e| e > page && e < page + PAGE_SIZE)
                            .all(|&e| strictest(e) == want);
                    if whole {
                        prop_assert_eq!(have, want, "{:#x}: whole page lost", p);
                    }
                }
                _ => prop_assert_eq!(have, want, "{:#x}", p),
            }
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
