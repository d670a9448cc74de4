//! `AddressSpace::allows` against a page-by-page walk written here, on
//! random mappings that share and cross tables.

mod common;

use common::{raw_entry, setup, VecMem};
use paging::{AddressSpace, Flags, KernelHalf, PageSize};
use proptest::prelude::*;

const K4: u64 = 0x1000;
const M2: u64 = 0x20_0000;
const USER: Flags = Flags::USER;
const USER_RW: Flags = Flags::USER.union(Flags::WRITABLE);

/// What the CPU would allow at `virt`: every level present, and `need`'s
/// U and W bits set at every level down to the leaf.
fn reference(mem: &VecMem, pml4: u64, virt: u64, need: Flags) -> bool {
    let mut bits = 0;
    if need.contains(Flags::USER) {
        bits |= 4;
    }
    if need.contains(Flags::WRITABLE) {
        bits |= 2;
    }
    for level in 0..4 {
        let Some(e) = raw_entry(mem, pml4, virt, level) else {
            return false;
        };
        if e & 1 == 0 || e & bits != bits {
            return false;
        }
        if level == 3 || (level > 0 && e & 0x80 != 0) {
            return true;
        }
    }
    false
}

fn reference_range(mem: &VecMem, pml4: u64, virt: u64, len: u64, need: Flags) -> bool {
    if len == 0 {
        return true;
    }
    let Some(last) = virt.checked_add(len - 1) else {
        return false;
    };
    let mut page = virt & !(K4 - 1);
    while page <= last {
        if !paging::is_canonical(page) || !reference(mem, pml4, page, need) {
            return false;
        }
        match page.checked_add(K4) {
            Some(p) => page = p,
            None => break,
        }
    }
    true
}

#[test]
fn a_table_entry_without_user_denies_what_its_leaves_allow() {
    let (mut mem, mut frames) = setup();
    let mut s = AddressSpace::new(&mut mem, &mut frames, KernelHalf::Owned).unwrap();
    let base = 0x40_0000;
    for i in 0..4 {
        s.map(
            &mut mem,
            &mut frames,
            base + i * K4,
            i * K4,
            PageSize::Size4K,
            USER_RW,
        )
        .unwrap();
    }
    assert!(s.allows(&mem, base, 4 * K4, USER_RW));
    assert!(
        !s.allows(&mem, base, 4 * K4 + 1, USER),
        "one byte past the last page"
    );
    assert!(
        !s.allows(&mem, base - 1, 2, USER),
        "one byte before the first"
    );
    // Clear U in the PD entry above the PT: the leaves still say user.
    let pd_entry_at = {
        let pdpt = raw_entry(&mem, s.pml4(), base, 0).unwrap() & 0x000f_ffff_ffff_f000;
        let pd = mem_read(&mem, pdpt) & 0x000f_ffff_ffff_f000;
        pd + ((base >> 21) & 511) * 8
    };
    let e = mem_read(&mem, pd_entry_at);
    paging::PhysMem::write_u64(&mut mem, pd_entry_at, e & !4);
    assert!(s.translate(&mem, base).unwrap().flags.contains(USER));
    assert!(!s.allows(&mem, base, K4, USER));
    assert!(s.allows(&mem, base, K4, Flags::empty()));
    // And W likewise.
    paging::PhysMem::write_u64(&mut mem, pd_entry_at, (e | 4) & !2);
    assert!(s.allows(&mem, base, 4 * K4, USER));
    assert!(!s.allows(&mem, base + 3 * K4, 1, USER_RW));
}

#[test]
fn wrapping_and_non_canonical_ranges_are_refused() {
    let (mut mem, mut frames) = setup();
    let s = AddressSpace::new(&mut mem, &mut frames, KernelHalf::Owned).unwrap();
    assert!(s.allows(&mem, 0x1234, 0, USER), "empty");
    assert!(!s.allows(&mem, u64::MAX, 2, Flags::empty()));
    assert!(!s.allows(&mem, 0x0000_8000_0000_0000, 1, Flags::empty()));
}

fn mem_read(mem: &VecMem, phys: u64) -> u64 {
    paging::PhysMem::read_u64(mem, phys)
}

/// Pages near a 2 MiB and a 1 GiB boundary, so that ranges cross tables.
fn page_index() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..24, 500u64..530, (1u64 << 18) - 6..(1u64 << 18) + 6]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn allows_agrees_with_a_page_by_page_walk(
        runs in prop::collection::vec((page_index(), 1u64..24, 0..4u8), 0..8),
        huge in prop::option::of((0u64..3, 0..4u8)),
        ranges in prop::collection::vec((page_index(), 0u64..4096, 0u64..40 * 4096, 0..4u8), 1..20),
    ) {
        let (mut mem, mut frames) = setup();
        let mut s = AddressSpace::new(&mut mem, &mut frames, KernelHalf::Owned).unwrap();
        let flags = |f: u8| {
            let mut x = Flags::empty();
            if f & 1 != 0 { x |= Flags::USER; }
            if f & 2 != 0 { x |= Flags::WRITABLE; }
            x
        };
        // Optionally one 2 MiB page at 4, 6 or 8 MiB (past the 4 KiB ones).
        if let Some((slot, f)) = huge {
            let _ = s.map(&mut mem, &mut frames, (2 + slot) * 2 * M2, 0, PageSize::Size2M, flags(f));
        }
        // Runs of pages alike, so that long ranges are allowed too.
        for (first, count, f) in runs {
            for i in first..first + count {
                // A page already mapped (or under the huge page) is refused: fine.
                let _ = s.map(&mut mem, &mut frames, i * K4, 0, PageSize::Size4K, flags(f));
            }
        }
        for (i, offset, len, need) in ranges {
            let virt = i * K4 + offset;
            let need = flags(need);
            prop_assert_eq!(
                s.allows(&mem, virt, len, need),
                reference_range(&mem, s.pml4(), virt, len, need),
                "range {:#x}+{:#x} need {:?}", virt, len, need
            );
        }
        // Ranges over the huge page and its neighbours.
        for start in [3 * 2 * M2, 4 * 2 * M2 - K4, 8 * M2 + M2 - 1] {
            for need in [Flags::empty(), USER, USER_RW] {
                prop_assert_eq!(
                    s.allows(&mem, start, 3 * M2, need),
                    reference_range(&mem, s.pml4(), start, 3 * M2, need)
                );
            }
        }
    }
}
