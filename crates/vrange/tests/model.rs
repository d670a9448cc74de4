//! Property test: the allocator agrees with a page-set model.

use proptest::prelude::*;
use std::collections::BTreeSet;
use vrange::{RangeAllocator, PAGE};

#[derive(Clone, Debug)]
enum Op {
    Alloc { pages: u64, align_log: u32 },
    Free { index: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u64..40, 0u32..6).prop_map(|(pages, align_log)| Op::Alloc { pages, align_log }),
        (0usize..64).prop_map(|index| Op::Free { index }),
    ]
}

proptest! {
    #[test]
    fn ranges_never_overlap_and_all_space_returns(ops in prop::collection::vec(op(), 1..200)) {
        let base = 0xffff_c000_0000_0000u64;
        let size = 256 * PAGE;
        let mut r = RangeAllocator::new(base, size);
        let mut live: Vec<(u64, u64)> = Vec::new();
        let mut used: BTreeSet<u64> = BTreeSet::new();
        for op in ops {
            match op {
                Op::Alloc { pages, align_log } => {
                    let align = PAGE << align_log;
                    if let Ok(at) = r.alloc(pages * PAGE, align) {
                        prop_assert_eq!(at % align, 0);
                        prop_assert!(at >= base && at + pages * PAGE <= base + size);
                        for p in 0..pages {
                            prop_assert!(used.insert(at + p * PAGE), "page handed out twice");
                        }
                        live.push((at, pages));
                    }
                }
                Op::Free { index } if !live.is_empty() => {
                    let (at, pages) = live.swap_remove(index % live.len());
                    r.free(at, pages * PAGE).unwrap();
                    prop_assert!(r.free(at, pages * PAGE).is_err(), "double free accepted");
                    for p in 0..pages {
                        used.remove(&(at + p * PAGE));
                    }
                }
                Op::Free { .. } => {}
            }
            prop_assert_eq!(r.free_bytes() + used.len() as u64 * PAGE, size);
        }
        for (at, pages) in live {
            r.free(at, pages * PAGE).unwrap();
        }
        prop_assert_eq!(r.fragments(), 1);
        prop_assert_eq!(r.free_bytes(), size);
    }
}
