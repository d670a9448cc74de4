//! Unit tests of the handle table, including its internal layout.

use super::*;
use alloc::vec;

#[test]
fn insert_get_remove() {
    let mut t = HandleTable::new(8);
    assert!(t.is_empty());
    let a = t.insert("a", Rights::ALL).unwrap();
    let b = t.insert("b", Rights::READ).unwrap();
    assert_ne!(a, b);
    assert_eq!(t.len(), 2);
    assert_eq!(t.get(a, Rights::WAIT | Rights::WRITE), Ok(&"a"));
    assert_eq!(t.get(b, Rights::READ), Ok(&"b"));
    assert_eq!(t.get(b, Rights::NONE), Ok(&"b"));
    assert_eq!(t.get(b, Rights::WRITE), Err(HandleError::AccessDenied));
    assert_eq!(t.rights(b), Ok(Rights::READ));
    *t.get_mut(a, Rights::WRITE).unwrap() = "A";
    assert_eq!(t.get_mut(b, Rights::WRITE), Err(HandleError::AccessDenied));
    assert_eq!(t.remove(a), Ok("A"));
    assert_eq!(t.remove(a), Err(HandleError::Invalid));
    assert_eq!(t.get(a, Rights::NONE), Err(HandleError::Invalid));
    assert_eq!(t.len(), 1);
}

#[test]
fn handle_values_are_well_formed() {
    let mut t = HandleTable::new(100);
    for i in 0..100 {
        let h = t.insert(i, Rights::NONE).unwrap();
        assert_ne!(h, INVALID);
        assert_eq!(h & 3, 0, "tag bits must be clear");
        assert!(h < PSEUDO_BASE);
    }
    // The first slot at generation 0 is handle 4.
    assert_eq!(t.iter().next().map(|(h, _, _)| h), Some(4));
}

#[test]
fn reserved_values_are_invalid() {
    let mut t = HandleTable::new(4);
    t.insert(1, Rights::ALL).unwrap();
    for h in [
        INVALID,
        CURRENT_PROCESS,
        CURRENT_THREAD,
        PSEUDO_BASE,
        1,
        2,
        3,
        5,
        8,
    ] {
        assert_eq!(t.get(h, Rights::NONE), Err(HandleError::Invalid), "{h:#x}");
        assert_eq!(t.remove(h), Err(HandleError::Invalid), "{h:#x}");
    }
    // A forged generation on a live slot.
    assert_eq!(
        t.get(4 | (1 << 32), Rights::NONE),
        Err(HandleError::Invalid)
    );
}

#[test]
fn reused_slot_refuses_the_old_handle() {
    let mut t = HandleTable::new(1);
    let old = t.insert("old", Rights::ALL).unwrap();
    t.remove(old).unwrap();
    let new = t.insert("new", Rights::ALL).unwrap();
    assert_eq!(
        decode(old).map(|d| d.0),
        decode(new).map(|d| d.0),
        "same slot"
    );
    assert_ne!(old, new);
    assert_eq!(t.get(old, Rights::NONE), Err(HandleError::Invalid));
    assert_eq!(t.remove(old), Err(HandleError::Invalid));
    assert_eq!(t.get(new, Rights::NONE), Ok(&"new"));
}

#[test]
fn limit_is_enforced() {
    let mut t = HandleTable::new(2);
    let a = t.insert(1, Rights::ALL).unwrap();
    t.insert(2, Rights::ALL).unwrap();
    assert_eq!(t.insert(3, Rights::ALL), Err(HandleError::TableFull));
    t.remove(a).unwrap();
    assert!(t.insert(3, Rights::ALL).is_ok());
    assert_eq!(HandleTable::<u8>::new(usize::MAX).limit(), MAX_SLOTS);
    assert_eq!(
        HandleTable::<u8>::new(0).insert(0, Rights::ALL),
        Err(HandleError::TableFull)
    );
}

#[test]
fn free_slots_are_reused_oldest_first() {
    let mut t = HandleTable::new(8);
    let hs: Vec<u64> = (0..4).map(|i| t.insert(i, Rights::ALL).unwrap()).collect();
    t.remove(hs[2]).unwrap();
    t.remove(hs[0]).unwrap();
    let slot = |h| decode(h).map(|d| d.0);
    assert_eq!(slot(t.insert(10, Rights::ALL).unwrap()), Some(2));
    assert_eq!(slot(t.insert(11, Rights::ALL).unwrap()), Some(0));
    assert_eq!(slot(t.insert(12, Rights::ALL).unwrap()), Some(4));
    assert_eq!(t.slots.len(), 5, "no slot grown while free ones existed");
}

#[test]
fn exhausted_generation_retires_the_slot() {
    let mut t = HandleTable::new(4);
    let h = t.insert("x", Rights::ALL).unwrap();
    // Pretend the slot has been reused almost 2^32 times.
    if let Slot::Live { generation, .. } = &mut t.slots[0] {
        *generation = GEN_RETIRED - 1;
    }
    let last = encode(0, GEN_RETIRED - 1);
    assert_eq!(t.get(h, Rights::NONE), Err(HandleError::Invalid));
    assert!(last < PSEUDO_BASE);
    assert_eq!(t.remove(last), Ok("x"));
    assert!(matches!(t.slots[0], Slot::Retired));
    let next = t.insert("y", Rights::ALL).unwrap();
    assert_eq!(decode(next), Some((1, 0)), "retired slot is skipped");
    assert_eq!(t.get(last, Rights::NONE), Err(HandleError::Invalid));
    assert_eq!(t.retired, 1);
}

#[test]
fn pop_any_drains_everything_without_growing() {
    let mut t = HandleTable::new(64);
    let hs: Vec<u64> = (0..40).map(|i| t.insert(i, Rights::ALL).unwrap()).collect();
    for h in hs.iter().step_by(3) {
        t.remove(*h).unwrap();
    }
    let capacity = t.slots.capacity();
    let mut drained = vec![];
    while let Some(v) = t.pop_any() {
        drained.push(v);
    }
    drained.sort();
    let expected: Vec<i32> = (0..40).filter(|i| i % 3 != 0).collect();
    assert_eq!(drained, expected);
    assert!(t.is_empty());
    assert_eq!(t.slots.capacity(), capacity);
    assert_eq!(t.pop_any(), None);
    for h in hs {
        assert_eq!(t.get(h, Rights::NONE), Err(HandleError::Invalid));
    }
    // The table still works after a drain.
    let h = t.insert(99, Rights::ALL).unwrap();
    assert_eq!(t.get(h, Rights::ALL), Ok(&99));
    assert_eq!(t.pop_any(), Some(99));
}

#[test]
fn iter_lists_live_handles() {
    let mut t = HandleTable::new(8);
    let a = t.insert('a', Rights::READ).unwrap();
    let b = t.insert('b', Rights::WRITE).unwrap();
    let c = t.insert('c', Rights::ALL).unwrap();
    t.remove(b).unwrap();
    let listed: Vec<_> = t.iter().map(|(h, &o, r)| (h, o, r)).collect();
    assert_eq!(listed, vec![(a, 'a', Rights::READ), (c, 'c', Rights::ALL)]);
}

#[test]
fn try_reserve_makes_inserts_allocation_free() {
    let mut t = HandleTable::new(100);
    let hs: Vec<u64> = (0..10).map(|i| t.insert(i, Rights::ALL).unwrap()).collect();
    t.remove(hs[3]).unwrap();
    t.try_reserve(50).unwrap();
    let capacity = t.slots.capacity();
    assert!(
        capacity >= 59,
        "9 live + 50 more, one of them in the free slot"
    );
    for i in 0..50 {
        t.insert(i, Rights::ALL).unwrap();
    }
    assert_eq!(t.slots.capacity(), capacity);
    // Past the limit there is nothing to reserve for.
    t.try_reserve(usize::MAX).unwrap();
    assert!(t.slots.capacity() >= 100);
}
