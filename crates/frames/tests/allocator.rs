//! Unit tests of the frame allocator through its public API.

use frames::{find_storage, FrameAllocator, FrameError, FrameState, Region, RegionKind};

const K4: u64 = 4096;

fn region(base: u64, length: u64, kind: u64) -> Region {
    Region::from_limine(base, length, kind)
}

fn build(map: &[Region]) -> FrameAllocator<Vec<u64>> {
    let words = frames::storage_words(map.iter().copied());
    // Garbage in the storage must not leak into the state.
    FrameAllocator::new(map.iter().copied(), vec![u64::MAX; words]).expect("allocator")
}

/// A small PC-like map: low memory, a hole, RAM with the kernel, the
/// loader's data and ACPI, and a framebuffer far above.
fn pc_map() -> Vec<Region> {
    vec![
        region(0x0, 0x9_f000, 0),
        region(0x9_f000, 0x6_1000, 1),
        region(0x10_0000, 0x70_0000, 0),
        region(0x80_0000, 0x20_0000, 6),
        region(0xa0_0000, 0x10_0000, 5),
        region(0xb0_0000, 0x50_0000, 0),
        region(0x100_0000, 0x1_0000, 2),
        region(0xfd00_0000, 0x30_0000, 7),
    ]
}

fn assert_adds_up(a: &FrameAllocator<Vec<u64>>) {
    let s = a.stats();
    assert_eq!(s.free + s.used + s.reclaimable + s.reserved, s.total);
    assert_eq!(s.by_kind.iter().sum::<u64>(), s.total);
}

#[test]
fn stats_follow_the_memory_map() {
    let map = pc_map();
    let a = build(&map);
    let s = a.stats();
    let usable: u64 = map
        .iter()
        .filter(|r| r.kind == RegionKind::Usable)
        .map(|r| r.length)
        .sum();
    // Frame 0 is never handed out.
    assert_eq!(s.free, usable - K4);
    assert_eq!(s.used, 0);
    assert_eq!(s.reclaimable, 0x10_0000);
    assert_eq!(s.bytes_of(RegionKind::Framebuffer), 0x30_0000);
    assert_eq!(s.bytes_of(RegionKind::AcpiReclaimable), 0x1_0000);
    let other: u64 = map
        .iter()
        .filter(|r| {
            !matches!(
                r.kind,
                RegionKind::Usable | RegionKind::BootloaderReclaimable
            )
        })
        .map(|r| r.length)
        .sum();
    assert_eq!(s.reserved, other + K4);
    assert_adds_up(&a);
}

#[test]
fn frames_come_from_usable_memory_until_exhausted() {
    let map = pc_map();
    let mut a = build(&map);
    let baseline = a.stats();
    let mut seen = std::collections::BTreeSet::new();
    while let Ok(f) = a.alloc() {
        assert_eq!(f % K4, 0);
        assert_ne!(f, 0);
        let inside = map
            .iter()
            .any(|r| r.kind == RegionKind::Usable && r.base <= f && f + K4 <= r.end());
        assert!(inside, "{f:#x} not in usable memory");
        assert!(seen.insert(f), "{f:#x} handed out twice");
    }
    assert_eq!(seen.len() as u64 * K4, baseline.free);
    assert_eq!(a.alloc(), Err(FrameError::OutOfFrames));
    assert_eq!(a.stats().free, 0);
    assert_adds_up(&a);
    for f in seen {
        a.free(f).unwrap();
    }
    assert_eq!(a.stats(), baseline);
}

#[test]
fn bad_frees_are_typed_errors_and_change_nothing() {
    let mut a = build(&pc_map());
    let f = a.alloc().unwrap();
    let before = a.stats();
    assert_eq!(a.free(f + 8), Err(FrameError::Unaligned { phys: f + 8 }));
    assert_eq!(
        a.free(0xfd00_0000),
        Err(FrameError::OutOfRange { phys: 0xfd00_0000 })
    );
    assert_eq!(
        a.free(0x80_0000),
        Err(FrameError::Reserved { phys: 0x80_0000 })
    );
    assert_eq!(
        a.free(0xa0_0000),
        Err(FrameError::Reserved { phys: 0xa0_0000 })
    );
    assert_eq!(a.free(0), Err(FrameError::OutOfRange { phys: 0 }));
    // A frame that is free but was never handed out.
    let never = f + K4;
    assert_eq!(a.frame_state(never), FrameState::Free);
    assert_eq!(a.free(never), Err(FrameError::DoubleFree { phys: never }));
    assert_eq!(a.stats(), before);
    a.free(f).unwrap();
    assert_eq!(a.free(f), Err(FrameError::DoubleFree { phys: f }));
}

#[test]
fn reclaim_releases_loader_memory_once() {
    let mut a = build(&pc_map());
    assert_eq!(a.frame_state(0xa0_0000), FrameState::Reclaimable);
    let free_before = a.stats().free;
    assert_eq!(a.reclaim(), 0x10_0000);
    assert_eq!(a.reclaim(), 0);
    let s = a.stats();
    assert_eq!(s.free, free_before + 0x10_0000);
    assert_eq!(s.reclaimable, 0);
    assert_eq!(a.frame_state(0xa0_0000), FrameState::Free);
    assert_eq!(a.frame_state(0x80_0000), FrameState::Reserved);
    assert_adds_up(&a);
}

#[test]
fn reserved_entries_win_over_overlapping_usable_ones() {
    let map = [
        region(0x1000, 0x10_000, 0),
        // Unaligned reserved entry touching frames 4 and 5.
        region(0x4800, 0x1000, 1),
    ];
    let mut a = build(&map);
    assert_eq!(a.frame_state(0x3000), FrameState::Free);
    assert_eq!(a.frame_state(0x4000), FrameState::Reserved);
    assert_eq!(a.frame_state(0x5000), FrameState::Reserved);
    assert_eq!(a.frame_state(0x6000), FrameState::Free);
    let mut got = vec![];
    while let Ok(f) = a.alloc() {
        got.push(f);
    }
    assert!(!got.contains(&0x4000) && !got.contains(&0x5000));
    assert_eq!(got.len(), 16 - 2);
    assert_adds_up(&a);
}

#[test]
fn unaligned_usable_edges_are_trimmed() {
    let a = build(&[region(0x1800, 0x3000, 0)]);
    assert_eq!(a.frame_state(0x1000), FrameState::Reserved);
    assert_eq!(a.frame_state(0x2000), FrameState::Free);
    assert_eq!(a.frame_state(0x3000), FrameState::Free);
    assert_eq!(a.frame_state(0x4000), FrameState::Reserved);
    assert_eq!(a.stats().free, 2 * K4);
    assert_eq!(a.stats().reserved, 0x3000 - 2 * K4);
}

#[test]
fn contiguous_runs_are_aligned_and_skip_used_frames() {
    let mut a = build(&[region(0x1000, 0x80_0000, 0)]);
    let run = a.alloc_contiguous(16, 0x20_0000).unwrap();
    assert_eq!(run, 0x20_0000);
    for i in 0..16 {
        assert_eq!(a.frame_state(run + i * K4), FrameState::Used);
    }
    assert_eq!(a.frame_state(run + 16 * K4), FrameState::Free);
    // A used frame in the middle of the next aligned run pushes it on.
    let blocker = a.alloc_contiguous(1, 0x8000).unwrap();
    assert_eq!(blocker, 0x8000);
    let next = a.alloc_contiguous(8, 0x8000).unwrap();
    assert_eq!(next, 0x1_0000);
    assert_eq!(a.stats().used, (16 + 1 + 8) * K4);
    a.free_contiguous(run, 16).unwrap();
    assert_eq!(a.stats().used, 9 * K4);
}

#[test]
fn contiguous_requests_are_checked() {
    let mut a = build(&[region(0x1000, 0x10_0000, 0)]);
    assert_eq!(a.alloc_contiguous(0, K4), Err(FrameError::ZeroCount));
    assert_eq!(
        a.alloc_contiguous(1, 0x3000),
        Err(FrameError::BadAlignment { align: 0x3000 })
    );
    assert_eq!(
        a.alloc_contiguous(1, 0x800),
        Err(FrameError::BadAlignment { align: 0x800 })
    );
    // 1 MiB of memory starting at 4 KiB has no 1 MiB-aligned MiB.
    assert_eq!(
        a.alloc_contiguous(256, 0x10_0000),
        Err(FrameError::OutOfFrames)
    );
    assert_eq!(a.alloc_contiguous(255, K4), Ok(0x1000));
}

#[test]
fn free_contiguous_is_all_or_nothing() {
    let mut a = build(&[region(0x1000, 0x10_0000, 0)]);
    let run = a.alloc_contiguous(4, K4).unwrap();
    a.free(run + 2 * K4).unwrap();
    let before = a.stats();
    assert_eq!(
        a.free_contiguous(run, 4),
        Err(FrameError::DoubleFree { phys: run + 2 * K4 })
    );
    assert_eq!(a.stats(), before);
    assert_eq!(a.frame_state(run), FrameState::Used);
}

#[test]
fn alloc_free_pairs_reuse_the_same_frame() {
    let mut a = build(&pc_map());
    for _ in 0..1000 {
        a.alloc().unwrap();
    }
    let first = a.alloc().unwrap();
    a.free(first).unwrap();
    for _ in 0..100_000 {
        let f = a.alloc().unwrap();
        assert_eq!(f, first);
        a.free(f).unwrap();
    }
}

#[test]
fn freeing_a_low_frame_makes_it_the_next_one() {
    let mut a = build(&pc_map());
    let frames: Vec<u64> = (0..300).map(|_| a.alloc().unwrap()).collect();
    a.free(frames[3]).unwrap();
    assert_eq!(a.alloc(), Ok(frames[3]));
}

#[test]
fn storage_size_is_checked() {
    let map = pc_map();
    let words = frames::storage_words(map.iter().copied());
    let r = FrameAllocator::new(map.iter().copied(), vec![0u64; words - 1]);
    assert_eq!(
        r.err(),
        Some(FrameError::StorageTooSmall {
            needed: words,
            supplied: words - 1
        })
    );
}

#[test]
fn bitmap_placement_and_claim() {
    let map = pc_map();
    let bytes = frames::storage_bytes(map.iter().copied());
    // Span 0x1000..0x100_0000 is 4095 frames: 64 words per bitmap.
    assert_eq!(bytes, 2 * 64 * 8);
    let at = find_storage(map.iter().copied(), bytes).unwrap();
    assert_eq!(at, 0x10_0000, "prefers memory above 1 MiB");
    let mut a = build(&map);
    a.claim(at, bytes).unwrap();
    assert_eq!(a.frame_state(at), FrameState::Used);
    assert_eq!(a.stats().used, K4);
    assert_eq!(a.claim(at, 1), Err(FrameError::NotFree { phys: at }));
    assert_eq!(
        a.claim(0x80_0000, 1),
        Err(FrameError::NotFree { phys: 0x80_0000 })
    );
    while let Ok(f) = a.alloc() {
        assert_ne!(f, at);
    }
    assert!(find_storage(map.iter().copied(), 0x100_0000).is_none());
    // Falls back to low memory when nothing above 1 MiB fits.
    let low = [region(0x1000, 0x8000, 0), region(0x10_0000, 0x1000, 0)];
    assert_eq!(find_storage(low, 0x2000), Some(0x1000));
}

#[test]
fn empty_map_gives_an_empty_allocator() {
    let mut a = FrameAllocator::new([region(0xfd00_0000, 0x1000, 7)], Vec::new()).unwrap();
    assert_eq!(a.alloc(), Err(FrameError::OutOfFrames));
    assert_eq!(a.alloc_contiguous(1, K4), Err(FrameError::OutOfFrames));
    assert_eq!(a.stats().reserved, 0x1000);
    assert_eq!(a.free(0x1000), Err(FrameError::OutOfRange { phys: 0x1000 }));
}
