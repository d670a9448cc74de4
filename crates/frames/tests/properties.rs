//! Property tests: random memory maps and random alloc/free sequences.

use std::collections::BTreeSet;

use frames::{FrameAllocator, FrameError, FrameState, Region, RegionKind};
use proptest::prelude::*;

const K4: u64 = 4096;
/// Maps stay below this many frames so the oracle can enumerate them.
const FRAMES: u64 = 2048;

#[derive(Clone, Debug)]
enum Op {
    Alloc,
    Contiguous { count: usize, align_shift: u32 },
    Free(usize),
    FreeTwice(usize),
    FreeBogus(u64),
    Reclaim,
}

fn region() -> impl Strategy<Value = Region> {
    // Mostly frame-aligned entries, sometimes ragged ones.
    (0..FRAMES, 1..256u64, 0..10u64, any::<bool>(), 0..K4).prop_map(
        |(frame, frames, kind, ragged, jitter)| {
            let (base, length) = if ragged {
                (frame * K4 + jitter, frames * K4 - jitter / 2)
            } else {
                (frame * K4, frames * K4)
            };
            Region::from_limine(base, length, kind % 9)
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Alloc),
        2 => (1..40usize, 0..6u32).prop_map(|(count, align_shift)| Op::Contiguous { count, align_shift }),
        5 => any::<usize>().prop_map(Op::Free),
        1 => any::<usize>().prop_map(Op::FreeTwice),
        1 => (0..FRAMES * K4 + 4 * K4).prop_map(Op::FreeBogus),
        1 => Just(Op::Reclaim),
    ]
}

/// Whether the map allows handing out `frame`, worked out independently of
/// the allocator: whole frame inside a usable (or, once reclaimed, a
/// bootloader-reclaimable) entry, touched by no other kind, not frame 0.
fn allowed(map: &[Region], frame: u64, reclaimed: bool) -> bool {
    let (lo, hi) = (frame * K4, frame * K4 + K4);
    let managed = |k: RegionKind| {
        k == RegionKind::Usable || (reclaimed && k == RegionKind::BootloaderReclaimable)
    };
    let inside = map
        .iter()
        .any(|r| managed(r.kind) && r.base <= lo && hi <= r.end());
    let touched = map.iter().any(|r| {
        !matches!(
            r.kind,
            RegionKind::Usable | RegionKind::BootloaderReclaimable
        ) && r.base < hi
            && lo < r.end()
    });
    frame != 0 && inside && !touched
}

fn allowed_count(map: &[Region], reclaimed: bool) -> u64 {
    (0..FRAMES + 256)
        .filter(|f| allowed(map, *f, reclaimed))
        .count() as u64
}

fn check_stats(
    a: &FrameAllocator<Vec<u64>>,
    map: &[Region],
    held: &BTreeSet<u64>,
    reclaimed: bool,
) {
    let s = a.stats();
    assert_eq!(s.free + s.used + s.reclaimable + s.reserved, s.total);
    assert_eq!(s.by_kind.iter().sum::<u64>(), s.total);
    assert_eq!(s.total, map.iter().map(|r| r.length).sum::<u64>());
    assert_eq!(s.used, held.len() as u64 * K4);
    assert_eq!(s.free + s.used, allowed_count(map, reclaimed) * K4);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sequences_keep_every_promise(
        map in prop::collection::vec(region(), 1..8),
        ops in prop::collection::vec(op(), 1..200),
    ) {
        let words = frames::storage_words(map.iter().copied());
        let mut a = FrameAllocator::new(map.iter().copied(), vec![!0u64; words]).unwrap();
        let baseline = a.stats();
        let mut held = BTreeSet::new();
        let mut reclaimed = false;
        check_stats(&a, &map, &held, reclaimed);
        for op in ops {
            match op {
                Op::Alloc => match a.alloc() {
                    Ok(f) => {
                        prop_assert!(allowed(&map, f / K4, reclaimed), "{:#x}", f);
                        prop_assert!(held.insert(f), "{:#x} handed out twice", f);
                    }
                    Err(e) => {
                        prop_assert_eq!(e, FrameError::OutOfFrames);
                        prop_assert_eq!(a.stats().free, 0);
                    }
                },
                Op::Contiguous { count, align_shift } => {
                    let align = K4 << align_shift;
                    match a.alloc_contiguous(count, align) {
                        Ok(base) => {
                            prop_assert_eq!(base % align, 0);
                            for i in 0..count as u64 {
                                let f = base + i * K4;
                                prop_assert!(allowed(&map, f / K4, reclaimed), "{:#x}", f);
                                prop_assert!(held.insert(f), "{:#x} handed out twice", f);
                            }
                        }
                        Err(e) => {
                            prop_assert_eq!(e, FrameError::OutOfFrames);
                            // No aligned run of `count` allowed, unheld frames exists.
                            let step = align / K4;
                            let fits = (0..FRAMES + 256).step_by(step as usize).any(|s| {
                                (s..s + count as u64).all(|f| {
                                    allowed(&map, f, reclaimed) && !held.contains(&(f * K4))
                                })
                            });
                            prop_assert!(!fits);
                        }
                    }
                }
                Op::Free(i) => {
                    if let Some(&f) = held.iter().nth(i % held.len().max(1)) {
                        prop_assert_eq!(a.free(f), Ok(()));
                        held.remove(&f);
                    }
                }
                Op::FreeTwice(i) => {
                    if let Some(&f) = held.iter().nth(i % held.len().max(1)) {
                        prop_assert_eq!(a.free(f), Ok(()));
                        held.remove(&f);
                        prop_assert_eq!(a.free(f), Err(FrameError::DoubleFree { phys: f }));
                    }
                }
                Op::FreeBogus(addr) => {
                    if !held.contains(&addr) {
                        let before = a.stats();
                        prop_assert!(a.free(addr).is_err(), "{:#x} accepted", addr);
                        prop_assert_eq!(a.stats(), before);
                    }
                }
                Op::Reclaim => {
                    a.reclaim();
                    reclaimed = true;
                }
            }
            check_stats(&a, &map, &held, reclaimed);
        }
        // Every frame's state agrees with the oracle and the held set.
        for frame in 0..FRAMES + 256 {
            let phys = frame * K4;
            let expect = if held.contains(&phys) {
                FrameState::Used
            } else if allowed(&map, frame, reclaimed) {
                FrameState::Free
            } else {
                a.frame_state(phys) // reserved or still reclaimable
            };
            prop_assert_eq!(a.frame_state(phys), expect, "frame {:#x}", phys);
            if !allowed(&map, frame, reclaimed) {
                prop_assert_ne!(a.frame_state(phys), FrameState::Free);
            }
        }
        for f in std::mem::take(&mut held) {
            prop_assert_eq!(a.free(f), Ok(()));
        }
        let end = a.stats();
        prop_assert_eq!(end.used, 0);
        if reclaimed {
            prop_assert_eq!(end.free, baseline.free + baseline.reclaimable);
            prop_assert_eq!(end.reserved, baseline.reserved);
        } else {
            prop_assert_eq!(end, baseline);
        }
    }
}
