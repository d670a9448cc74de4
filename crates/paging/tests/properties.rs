//! Property test: random 4 KiB map/unmap/protect against a BTreeMap model.

mod common;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use common::setup;
use paging::{AddressSpace, Flags, KernelHalf, MapError, PageSize};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Map { page: Page, frame: u64, flags: u16 },
    Unmap(Page),
    Protect(Page, u16),
}

/// Table indices at each level, drawn from a few values so that pages
/// share tables, plus the two halves of the address space.
type Page = (u64, u64, u64, u64);

fn page() -> impl Strategy<Value = Page> {
    (
        prop::sample::select(vec![0u64, 1, 255, 256, 300, 511]),
        prop::sample::select(vec![0u64, 1, 511]),
        prop::sample::select(vec![0u64, 7]),
        prop::sample::select(vec![0u64, 1, 2, 511]),
    )
}

fn virt((l4, l3, l2, l1): Page) -> u64 {
    let linear = l4 << 39 | l3 << 30 | l2 << 21 | l1 << 12;
    (((linear << 16) as i64) >> 16) as u64
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (page(), 0..1u64 << 20, 0..128u16)
            .prop_map(|(page, frame, flags)| Op::Map { page, frame, flags }),
        3 => page().prop_map(Op::Unmap),
        1 => (page(), 0..128u16).prop_map(|(p, f)| Op::Protect(p, f)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tables_agree_with_a_model_and_never_leak(
        ops in prop::collection::vec(op(), 1..120),
        shared in any::<bool>(),
    ) {
        let (mut mem, mut frames) = setup();
        let policy = if shared { KernelHalf::Shared } else { KernelHalf::Owned };
        let mut s = AddressSpace::new(&mut mem, &mut frames, policy).unwrap();
        let mut model: BTreeMap<u64, (u64, Flags)> = BTreeMap::new();
        let mut kernel_slots = BTreeSet::new();
        for op in ops {
            match op {
                Op::Map { page, frame, flags } => {
                    let (v, phys) = (virt(page), frame << 12);
                    let flags = Flags::from_bits_truncate(flags);
                    let r = s.map(&mut mem, &mut frames, v, phys, PageSize::Size4K, flags);
                    match model.entry(v) {
                        Entry::Occupied(_) => {
                            let e = MapError::AlreadyMapped { virt: v, size: PageSize::Size4K };
                            prop_assert_eq!(r, Err(e));
                        }
                        Entry::Vacant(slot) => {
                            prop_assert_eq!(r, Ok(()));
                            slot.insert((phys, flags));
                            if page.0 >= 256 {
                                kernel_slots.insert(page.0);
                            }
                        }
                    }
                }
                Op::Unmap(page) => {
                    let v = virt(page);
                    match (s.unmap(&mut mem, &mut frames, v), model.remove(&v)) {
                        (Ok(u), Some((phys, _))) => {
                            prop_assert_eq!((u.phys, u.size), (phys, PageSize::Size4K));
                            prop_assert_eq!(u.flush.virt(), v);
                        }
                        (Err(e), None) => prop_assert_eq!(e, MapError::NotMapped { virt: v }),
                        (r, m) => prop_assert!(false, "unmap {:#x}: {:?} vs model {:?}", v, r, m),
                    }
                }
                Op::Protect(page, flags) => {
                    let v = virt(page);
                    let flags = Flags::from_bits_truncate(flags);
                    let r = s.protect(&mut mem, v, flags);
                    match model.get_mut(&v) {
                        Some(entry) => {
                            prop_assert_eq!(r.map(|f| f.virt()), Ok(v));
                            entry.1 = flags;
                        }
                        None => prop_assert_eq!(r, Err(MapError::NotMapped { virt: v })),
                    }
                }
            }
        }
        // Every candidate page translates as the model says, at any offset.
        let all = [0u64, 1, 255, 256, 300, 511];
        for l4 in all {
            for l3 in [0u64, 1, 511] {
                for l2 in [0u64, 7] {
                    for l1 in [0u64, 1, 2, 511] {
                        let v = virt((l4, l3, l2, l1));
                        let got = s.translate(&mem, v + 0x123);
                        let want = model.get(&v).map(|&(p, f)| (p + 0x123, PageSize::Size4K, f));
                        prop_assert_eq!(got.map(|t| (t.phys, t.size, t.flags)), want);
                    }
                }
            }
        }
        let listed: Vec<(u64, u64, Flags)> = s
            .mappings(&mem, 0, u64::MAX)
            .map(|m| (m.virt, m.phys, m.flags))
            .collect();
        // Canonical upper-half addresses sort after the lower half as u64s.
        let want: Vec<(u64, u64, Flags)> =
            model.iter().map(|(&v, &(p, f))| (v, p, f)).collect();
        prop_assert_eq!(listed, want);
        // Unmapping everything returns every table but the PML4 (and, when
        // the kernel half is shared, the PDPTs it created there).
        for v in model.keys().copied().collect::<Vec<_>>() {
            s.unmap(&mut mem, &mut frames, v).unwrap().flush.ignore();
        }
        let kept = if shared { kernel_slots.len() } else { 0 };
        prop_assert_eq!(frames.in_use(), 1 + kept);
        // `destroy` leaves shared kernel-half PDPTs to their owner.
        prop_assert_eq!(s.destroy(&mut mem, &mut frames), 1);
        prop_assert_eq!(frames.in_use(), kept);
    }
}
