//! Unit tests of map, unmap, protect, translate and the table policy.

mod common;

use common::{raw_entry, setup, CountingFrames};
use paging::{
    AddressSpace, CacheType, Flags, KernelHalf, MapError, Mapping, PageSize, Translation,
};

const K4: u64 = 0x1000;
const M2: u64 = 0x20_0000;
const G1: u64 = 0x4000_0000;
const KERNEL: u64 = 0xffff_8000_0000_0000;
const RW: Flags = Flags::WRITABLE;

fn space(mem: &mut common::VecMem, frames: &mut CountingFrames, kh: KernelHalf) -> AddressSpace {
    AddressSpace::new(mem, frames, kh).unwrap()
}

#[test]
fn map_translate_unmap_at_every_size() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let baseline = frames.in_use();
    for size in PageSize::ALL {
        let bytes = size.bytes();
        let (virt, phys) = (7 * bytes, 3 * bytes);
        s.map(&mut mem, &mut frames, virt, phys, size, RW).unwrap();
        let t = s.translate(&mem, virt + bytes - 8).unwrap();
        assert_eq!(
            t,
            Translation {
                phys: phys + bytes - 8,
                size,
                flags: RW
            }
        );
        assert_eq!(s.translate(&mem, virt - 8), None);
        assert_eq!(s.translate(&mem, virt + bytes), None);
        let u = s.unmap(&mut mem, &mut frames, virt).unwrap();
        assert_eq!((u.phys, u.size, u.flush.virt()), (phys, size, virt));
        u.flush.ignore();
        assert_eq!(s.translate(&mem, virt), None);
        assert_eq!(frames.in_use(), baseline, "tables freed after {size:?}");
    }
}

#[test]
fn tables_are_built_with_the_expected_depth() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    s.map(&mut mem, &mut frames, 0, G1, PageSize::Size1G, RW)
        .unwrap();
    assert_eq!(frames.in_use(), 2, "PML4 + PDPT");
    s.map(&mut mem, &mut frames, G1, 0, PageSize::Size2M, RW)
        .unwrap();
    assert_eq!(frames.in_use(), 3, "+ PD");
    s.map(&mut mem, &mut frames, G1 + M2, 0, PageSize::Size4K, RW)
        .unwrap();
    assert_eq!(frames.in_use(), 4, "+ PT");
}

#[test]
fn non_canonical_addresses_are_refused() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    for virt in [
        0x0000_8000_0000_0000,
        0xffff_7fff_ffff_f000,
        0x0001_0000_0000_0000,
    ] {
        let e = s.map(&mut mem, &mut frames, virt, 0, PageSize::Size4K, RW);
        assert_eq!(e, Err(MapError::NonCanonical { virt }));
        assert_eq!(
            s.unmap(&mut mem, &mut frames, virt),
            Err(MapError::NonCanonical { virt })
        );
        assert_eq!(
            s.protect(&mut mem, virt, RW),
            Err(MapError::NonCanonical { virt })
        );
        assert_eq!(s.translate(&mem, virt), None);
    }
    assert_eq!(frames.in_use(), 1);
}

#[test]
fn misaligned_addresses_are_refused() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    for size in PageSize::ALL {
        let half = size.bytes() / 2;
        let e = s.map(&mut mem, &mut frames, half, 0, size, RW);
        assert_eq!(e, Err(MapError::Misaligned { addr: half }));
        let e = s.map(&mut mem, &mut frames, 0, half, size, RW);
        assert_eq!(e, Err(MapError::Misaligned { addr: half }));
    }
    s.map(&mut mem, &mut frames, M2, 0, PageSize::Size2M, RW)
        .unwrap();
    let inside = M2 + K4;
    assert_eq!(
        s.unmap(&mut mem, &mut frames, inside),
        Err(MapError::Misaligned { addr: inside })
    );
    assert_eq!(
        s.protect(&mut mem, inside, RW),
        Err(MapError::Misaligned { addr: inside })
    );
    assert!(s.translate(&mem, M2).is_some());
    let e = s.map(&mut mem, &mut frames, 0, 1 << 52, PageSize::Size4K, RW);
    assert_eq!(e, Err(MapError::PhysOutOfRange { phys: 1 << 52 }));
    let top = (1 << 52) - G1;
    s.map(&mut mem, &mut frames, 3 * G1, top, PageSize::Size1G, RW)
        .unwrap();
}

#[test]
fn conflicts_are_errors_not_splits() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    s.map(&mut mem, &mut frames, M2, 0, PageSize::Size2M, RW)
        .unwrap();
    s.map(&mut mem, &mut frames, 4 * M2, 0, PageSize::Size4K, RW)
        .unwrap();
    s.map(&mut mem, &mut frames, 2 * G1, 0, PageSize::Size1G, RW)
        .unwrap();
    let used = frames.in_use();
    let cases = [
        (
            M2,
            PageSize::Size2M,
            MapError::AlreadyMapped {
                virt: M2,
                size: PageSize::Size2M,
            },
        ),
        (
            M2 + K4,
            PageSize::Size4K,
            MapError::HugePageInTheWay {
                virt: M2 + K4,
                size: PageSize::Size2M,
            },
        ),
        (
            4 * M2,
            PageSize::Size2M,
            MapError::TableInTheWay { virt: 4 * M2 },
        ),
        (0, PageSize::Size1G, MapError::TableInTheWay { virt: 0 }),
        (
            2 * G1 + M2,
            PageSize::Size2M,
            MapError::HugePageInTheWay {
                virt: 2 * G1 + M2,
                size: PageSize::Size1G,
            },
        ),
        (
            2 * G1 + K4,
            PageSize::Size4K,
            MapError::HugePageInTheWay {
                virt: 2 * G1 + K4,
                size: PageSize::Size1G,
            },
        ),
    ];
    for (virt, size, err) in cases {
        assert_eq!(s.map(&mut mem, &mut frames, virt, 0, size, RW), Err(err));
    }
    assert_eq!(frames.in_use(), used, "failed maps allocate nothing");
    assert_eq!(
        s.unmap(&mut mem, &mut frames, 8 * M2),
        Err(MapError::NotMapped { virt: 8 * M2 })
    );
}

#[test]
fn flags_round_trip_at_every_size() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    for bits in 0..(1u16 << 7) {
        let flags = Flags::from_bits_truncate(bits);
        for size in PageSize::ALL {
            let virt = G1 * 4 + size.bytes() * 2;
            s.map(&mut mem, &mut frames, virt, size.bytes(), size, flags)
                .unwrap();
            assert_eq!(s.translate(&mem, virt).unwrap().flags, flags, "{size:?}");
            s.unmap(&mut mem, &mut frames, virt).unwrap().flush.ignore();
        }
    }
    assert_eq!(frames.in_use(), 1);
}

#[test]
fn pat_bit_moves_with_the_level() {
    // Intel SDM Vol. 3A §4.5: PAT is bit 7 in a PTE, bit 12 in a 2 MiB PDE
    // or 1 GiB PDPTE, where bit 7 is PS.
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let wc = Flags::WRITABLE.with_cache(CacheType::WriteCombining);
    for size in PageSize::ALL {
        for flags in [RW, wc] {
            let virt = 3 * G1;
            s.map(&mut mem, &mut frames, virt, 0, size, flags).unwrap();
            let leaf = s.leaf_entry(&mem, virt).unwrap();
            let level = match size {
                PageSize::Size4K => 3,
                PageSize::Size2M => 2,
                PageSize::Size1G => 1,
            };
            let raw = raw_entry(&mem, s.pml4(), virt, level).unwrap();
            assert_eq!(leaf.value, raw);
            let pat = flags.contains(Flags::PAT);
            let (bit7, bit12) = (raw & (1 << 7) != 0, raw & (1 << 12) != 0);
            match size {
                PageSize::Size4K => assert_eq!((bit7, bit12), (pat, false)),
                _ => assert_eq!((bit7, bit12), (true, pat)),
            }
            assert_eq!(raw & (1 << 3) != 0, flags.contains(Flags::WRITE_THROUGH));
            assert_eq!(s.translate(&mem, virt).unwrap().phys, 0);
            s.unmap(&mut mem, &mut frames, virt).unwrap().flush.ignore();
        }
    }
}

#[test]
fn cache_helpers_follow_limines_pat() {
    for c in [
        CacheType::WriteBack,
        CacheType::WriteThrough,
        CacheType::UncachedMinus,
        CacheType::Uncacheable,
        CacheType::WriteCombining,
        CacheType::WriteProtected,
    ] {
        let f = (Flags::CACHE_BITS | Flags::USER).with_cache(c);
        assert_eq!(f.cache_type(), c);
        assert!(f.contains(Flags::USER));
    }
    let wc = Flags::empty().with_cache(CacheType::WriteCombining);
    assert_eq!(wc, Flags::PAT | Flags::WRITE_THROUGH);
    assert_eq!(wc.pat_index(), 5);
    let uc = Flags::empty().with_cache(CacheType::Uncacheable);
    assert_eq!(uc, Flags::CACHE_DISABLE | Flags::WRITE_THROUGH);
    assert_eq!(Flags::empty().cache_type(), CacheType::WriteBack);
    // PAT entries 6 and 7 are UC as well; a reserved encoding (02h) is None.
    assert_eq!(Flags::CACHE_BITS.cache_type(), CacheType::Uncacheable);
    assert_eq!(
        (Flags::PAT | Flags::CACHE_DISABLE).cache_type_with(0x0002_0000_0000_0000),
        None
    );
}

#[test]
fn intermediate_entries_carry_p_w_and_u_only_for_user_leaves() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let kernel_leaf = Flags::NO_EXECUTE; // read-only, supervisor
    s.map(
        &mut mem,
        &mut frames,
        0x40_0000,
        0,
        PageSize::Size4K,
        kernel_leaf,
    )
    .unwrap();
    for level in 0..3 {
        let e = raw_entry(&mem, s.pml4(), 0x40_0000, level).unwrap();
        assert_eq!(e & 0x7, 0b011, "level {level}: P+W, no U");
        assert_eq!(e >> 63, 0, "no NX on tables");
    }
    let user = Flags::USER | Flags::NO_EXECUTE;
    s.map(&mut mem, &mut frames, 0x40_1000, 0, PageSize::Size4K, user)
        .unwrap();
    for level in 0..3 {
        let e = raw_entry(&mem, s.pml4(), 0x40_1000, level).unwrap();
        assert_eq!(e & 0x7, 0b111, "level {level}: P+W+U");
    }
    let leaf = raw_entry(&mem, s.pml4(), 0x40_0000, 3).unwrap();
    assert_eq!(leaf & 0x7, 0b001, "the supervisor leaf still decides");
}

#[test]
fn protect_changes_flags_keeps_frame_and_accessed_dirty() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let virt = 0x7000_0000;
    s.map(
        &mut mem,
        &mut frames,
        virt,
        0x1234_5000,
        PageSize::Size4K,
        RW,
    )
    .unwrap();
    let leaf = s.leaf_entry(&mem, virt).unwrap();
    // The processor sets A and D (bits 5, 6) on access.
    paging::PhysMem::write_u64(&mut mem, leaf.entry_phys, leaf.value | 0x60);
    let new = Flags::USER | Flags::NO_EXECUTE;
    let flush = s.protect(&mut mem, virt, new).unwrap();
    assert_eq!(flush.virt(), virt);
    flush.ignore();
    let t = s.translate(&mem, virt).unwrap();
    assert_eq!((t.phys, t.flags), (0x1234_5000, new));
    assert_eq!(s.leaf_entry(&mem, virt).unwrap().value & 0x60, 0x60);
    assert_eq!(
        raw_entry(&mem, s.pml4(), virt, 0).unwrap() & 0x4,
        0x4,
        "U added above"
    );
    assert_eq!(
        s.protect(&mut mem, virt + K4, RW),
        Err(MapError::NotMapped { virt: virt + K4 })
    );
}

#[test]
fn shared_kernel_half_pdpts_are_never_freed() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Shared);
    let baseline = frames.in_use();
    s.map(&mut mem, &mut frames, KERNEL, 0, PageSize::Size4K, RW)
        .unwrap();
    assert_eq!(frames.in_use(), baseline + 3);
    s.unmap(&mut mem, &mut frames, KERNEL)
        .unwrap()
        .flush
        .ignore();
    assert_eq!(frames.in_use(), baseline + 1, "the PDPT stays");
    assert!(raw_entry(&mem, s.pml4(), KERNEL, 0).unwrap() & 1 == 1);
    // The user half is freed all the way.
    s.map(&mut mem, &mut frames, 0x1000, 0, PageSize::Size4K, RW)
        .unwrap();
    s.unmap(&mut mem, &mut frames, 0x1000)
        .unwrap()
        .flush
        .ignore();
    assert_eq!(frames.in_use(), baseline + 1);
    // The same under the Owned policy frees everything.
    let mut o = space(&mut mem, &mut frames, KernelHalf::Owned);
    let before = frames.in_use();
    o.map(
        &mut mem,
        &mut frames,
        u64::MAX - K4 + 1,
        0,
        PageSize::Size4K,
        RW,
    )
    .unwrap();
    o.unmap(&mut mem, &mut frames, u64::MAX - K4 + 1)
        .unwrap()
        .flush
        .ignore();
    assert_eq!(frames.in_use(), before);
}

#[test]
fn processes_share_the_kernel_half() {
    let (mut mem, mut frames) = setup();
    let mut kernel = space(&mut mem, &mut frames, KernelHalf::Shared);
    kernel.fill_kernel_half(&mut mem, &mut frames).unwrap();
    assert_eq!(frames.in_use(), 1 + 256);
    let mut process = AddressSpace::new_sharing(&mut mem, &mut frames, &kernel).unwrap();
    let heap = 0xffff_c000_0000_0000;
    kernel
        .map(&mut mem, &mut frames, heap, 0x9000, PageSize::Size4K, RW)
        .unwrap();
    assert_eq!(process.translate(&mem, heap).unwrap().phys, 0x9000);
    process
        .map(
            &mut mem,
            &mut frames,
            0x40_0000,
            0xa000,
            PageSize::Size4K,
            Flags::USER,
        )
        .unwrap();
    assert_eq!(kernel.translate(&mem, 0x40_0000), None);
    process
        .unmap(&mut mem, &mut frames, heap)
        .unwrap()
        .flush
        .ignore();
    assert_eq!(kernel.translate(&mem, heap), None);
    assert!(raw_entry(&mem, kernel.pml4(), heap, 0).unwrap() & 1 == 1);
    let before = frames.in_use();
    // Destroying the process frees its PML4 and user tables only.
    assert_eq!(process.destroy(&mut mem, &mut frames), 4);
    assert_eq!(frames.in_use(), before - 4);
    assert_eq!(kernel.destroy(&mut mem, &mut frames), 1);
}

#[test]
fn out_of_frames_leaves_no_half_built_tables() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    s.map(&mut mem, &mut frames, 0, 0, PageSize::Size4K, RW)
        .unwrap();
    let before = frames.in_use();
    for budget in 0..3 {
        frames.budget = budget;
        let virt = 5 * G1 * 512; // new PML4 slot: needs PDPT, PD and PT
        let e = s.map(&mut mem, &mut frames, virt, 0, PageSize::Size4K, RW);
        assert_eq!(e, Err(MapError::OutOfFrames));
        assert_eq!(frames.in_use(), before, "budget {budget}");
        assert_eq!(raw_entry(&mem, s.pml4(), virt, 0), Some(0));
    }
    frames.budget = usize::MAX;
    assert_eq!(s.translate(&mem, 0).unwrap().phys, 0);
}

#[test]
fn mappings_lists_overlapping_pages_in_order() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let pages = [
        (0x1000, 0x5000, PageSize::Size4K, Flags::USER),
        (M2, 0, PageSize::Size2M, RW),
        (G1, G1, PageSize::Size1G, Flags::NO_EXECUTE),
        (KERNEL, 0x7000, PageSize::Size4K, RW | Flags::GLOBAL),
        (u64::MAX - K4 + 1, 0x8000, PageSize::Size4K, RW),
    ];
    for (virt, phys, size, flags) in pages {
        s.map(&mut mem, &mut frames, virt, phys, size, flags)
            .unwrap();
    }
    let all: Vec<Mapping> = s.mappings(&mem, 0, u64::MAX).collect();
    let expect: Vec<Mapping> = pages
        .iter()
        .map(|&(virt, phys, size, flags)| Mapping {
            virt,
            phys,
            size,
            flags,
        })
        .collect();
    assert_eq!(all, expect);
    // A 2 MiB page that starts before the range still overlaps it.
    let mid: Vec<u64> = s.mappings(&mem, M2 + K4, G1 + 1).map(|m| m.virt).collect();
    assert_eq!(mid, [M2, G1]);
    assert_eq!(s.mappings(&mem, 0x2000, M2).count(), 0);
    // Bounds in the non-canonical hole clamp to the upper half.
    let upper: Vec<u64> = s
        .mappings(&mem, 1 << 47, u64::MAX)
        .map(|m| m.virt)
        .collect();
    assert_eq!(upper, [KERNEL, u64::MAX - K4 + 1]);
}

#[test]
fn destroy_returns_every_table() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    for i in 0..20 {
        let virt = (i * 0x0080_4020_1000) & 0x7fff_ffff_f000;
        s.map(&mut mem, &mut frames, virt, 0, PageSize::Size4K, RW)
            .unwrap();
    }
    s.map(&mut mem, &mut frames, KERNEL, 0, PageSize::Size1G, RW)
        .unwrap();
    let used = frames.in_use();
    assert_eq!(s.destroy(&mut mem, &mut frames), used);
    assert_eq!(frames.in_use(), 0);
}

#[test]
fn destroy_with_leaves_reports_every_user_page_once() {
    let (mut mem, mut frames) = setup();
    let mut kernel = space(&mut mem, &mut frames, KernelHalf::Shared);
    kernel.fill_kernel_half(&mut mem, &mut frames).unwrap();
    kernel
        .map(&mut mem, &mut frames, KERNEL, 0, PageSize::Size2M, RW)
        .unwrap();
    let kernel_tables = frames.in_use();
    let mut s = AddressSpace::new_sharing(&mut mem, &mut frames, &kernel).unwrap();
    let mut expected = Vec::new();
    for i in 0..20u64 {
        let virt = (i * 0x0080_4020_1000) & 0x7fff_ffff_f000;
        s.map(
            &mut mem,
            &mut frames,
            virt,
            (i + 1) * K4,
            PageSize::Size4K,
            RW,
        )
        .unwrap();
        expected.push(((i + 1) * K4, PageSize::Size4K));
    }
    s.map(
        &mut mem,
        &mut frames,
        5 * M2 + G1,
        9 * M2,
        PageSize::Size2M,
        RW,
    )
    .unwrap();
    expected.push((9 * M2, PageSize::Size2M));
    let mut seen = Vec::new();
    let freed = s.destroy_with_leaves(&mut mem, &mut frames, |_, phys, size, _| {
        seen.push((phys, size))
    });
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
    // Every table of the user half went back; the kernel's stayed.
    assert_eq!(frames.in_use(), kernel_tables);
    assert!(freed > 1);
}

#[test]
fn shared_flag_survives_translate_and_reaches_teardown() {
    let (mut mem, mut frames) = setup();
    let mut s = space(&mut mem, &mut frames, KernelHalf::Owned);
    let shared = Flags::USER | Flags::SHARED;
    s.map(
        &mut mem,
        &mut frames,
        5 * K4,
        9 * K4,
        PageSize::Size4K,
        shared,
    )
    .unwrap();
    s.map(
        &mut mem,
        &mut frames,
        6 * K4,
        10 * K4,
        PageSize::Size4K,
        Flags::USER,
    )
    .unwrap();
    assert_eq!(s.translate(&mem, 5 * K4).unwrap().flags, shared);
    assert_eq!(s.translate(&mem, 6 * K4).unwrap().flags, Flags::USER);
    let mut seen = Vec::new();
    s.destroy_with_leaves(&mut mem, &mut frames, |_, phys, _, flags| {
        seen.push((phys, flags.contains(Flags::SHARED)))
    });
    seen.sort();
    assert_eq!(seen, [(9 * K4, true), (10 * K4, false)]);
}
