//! Unit tests of the timer queue, including its internal layout.

use super::*;
use alloc::vec;

/// Pops everything expired at `now`, as keys.
fn drain<K: Copy>(q: &mut TimerQueue<K>, now: u64) -> Vec<K> {
    core::iter::from_fn(|| q.pop_expired(now).map(|(_, k)| k)).collect()
}

/// Every heap entry's slot points back at it, and the heap is ordered.
fn check_invariants<K>(q: &TimerQueue<K>) {
    for (i, e) in q.heap.iter().enumerate() {
        match &q.slots[e.slot as usize] {
            Slot::Used { seq, pos, .. } => {
                assert_eq!(*pos as usize, i);
                assert_eq!(*seq, e.seq);
            }
            Slot::Free { .. } => panic!("heap names a free slot"),
        }
        if i > 0 {
            let p = &q.heap[(i - 1) / 2];
            assert!((p.deadline, p.seq) < (e.deadline, e.seq));
        }
    }
    let used = q
        .slots
        .iter()
        .filter(|s| matches!(s, Slot::Used { .. }))
        .count();
    assert_eq!(used, q.heap.len());
}

#[test]
fn earliest_first_and_ties_in_insertion_order() {
    let mut q = TimerQueue::new();
    assert!(q.is_empty());
    assert_eq!(q.next_deadline(), None);
    for (d, k) in [
        (30, 'a'),
        (10, 'b'),
        (20, 'c'),
        (10, 'd'),
        (10, 'e'),
        (5, 'f'),
    ] {
        q.insert(d, k).unwrap();
        check_invariants(&q);
    }
    assert_eq!(q.len(), 6);
    assert_eq!(q.next_deadline(), Some(5));
    assert_eq!(drain(&mut q, 4), vec![]);
    assert_eq!(drain(&mut q, 10), vec!['f', 'b', 'd', 'e']);
    assert_eq!(q.next_deadline(), Some(20));
    assert_eq!(drain(&mut q, u64::MAX), vec!['c', 'a']);
    assert!(q.is_empty());
}

#[test]
fn deadline_equal_to_now_has_expired() {
    let mut q = TimerQueue::new();
    let id = q.insert(100, 7u32).unwrap();
    assert_eq!(q.pop_expired(99), None);
    assert_eq!(q.pop_expired(100), Some((id, 7)));
    let max = q.insert(u64::MAX, 8).unwrap();
    assert_eq!(q.pop_expired(u64::MAX - 1), None);
    assert_eq!(q.pop_expired(u64::MAX), Some((max, 8)));
}

#[test]
fn cancel_removes_at_once() {
    let mut q = TimerQueue::new();
    let ids: Vec<TimerId> = (0..10u64)
        .map(|i| q.insert(100 - i * 7, i).unwrap())
        .collect();
    assert_eq!(q.cancel(ids[9]), Some(9), "cancel the earliest");
    assert_eq!(q.next_deadline(), Some(100 - 8 * 7));
    assert_eq!(q.cancel(ids[3]), Some(3));
    assert_eq!(q.cancel(ids[3]), None, "twice");
    assert_eq!(q.len(), 8);
    check_invariants(&q);
    let left = drain(&mut q, u64::MAX);
    assert_eq!(left, vec![8, 7, 6, 5, 4, 2, 1, 0]);
    assert_eq!(q.cancel(ids[0]), None, "after expiry");
}

#[test]
fn stale_id_does_not_cancel_the_slots_next_timer() {
    let mut q = TimerQueue::new();
    let old = q.insert(5, 'x').unwrap();
    assert_eq!(q.cancel(old), Some('x'));
    let new = q.insert(5, 'y').unwrap();
    assert_eq!(old.slot, new.slot, "slot reused");
    assert_ne!(old, new);
    assert!(new.seq() > old.seq());
    assert_eq!(q.cancel(old), None);
    assert_eq!(q.len(), 1);
    assert_eq!(q.cancel(new), Some('y'));
}

#[test]
fn slots_are_reused_not_leaked() {
    let mut q = TimerQueue::new();
    for round in 0..100u64 {
        let ids: Vec<TimerId> = (0..8).map(|i| q.insert(round + i, i).unwrap()).collect();
        for id in ids.iter().step_by(2) {
            q.cancel(*id).unwrap();
        }
        while q.pop_expired(u64::MAX).is_some() {}
    }
    assert!(q.slots.len() <= 8);
    assert!(q.heap.is_empty());
}

#[test]
fn try_reserve_makes_inserts_allocation_free() {
    let mut q = TimerQueue::new();
    let ids: Vec<TimerId> = (0..5).map(|i| q.insert(i, i).unwrap()).collect();
    q.cancel(ids[1]).unwrap();
    q.try_reserve(20).unwrap();
    let (h, s) = (q.heap.capacity(), q.slots.capacity());
    assert!(h >= 24 && s >= 24);
    for i in 0..20 {
        q.insert(i, i).unwrap();
    }
    assert_eq!((q.heap.capacity(), q.slots.capacity()), (h, s));
    assert_eq!(
        TimerQueue::<u8>::new().try_reserve(usize::MAX),
        Err(TimerError::NoMemory)
    );
}

#[test]
fn ids_run_out_instead_of_wrapping() {
    let mut q = TimerQueue::new();
    q.next_seq = u64::MAX - 1;
    let last = q.insert(1, ()).unwrap();
    assert_eq!(last.seq(), u64::MAX - 1);
    assert_eq!(q.insert(1, ()), Err(TimerError::Exhausted));
    assert_eq!(q.len(), 1);
}

#[test]
fn iter_lists_live_timers() {
    let mut q = TimerQueue::new();
    let a = q.insert(3, 'a').unwrap();
    let b = q.insert(1, 'b').unwrap();
    let c = q.insert(2, 'c').unwrap();
    q.cancel(b).unwrap();
    let mut listed: Vec<_> = q.iter().map(|(id, d, &k)| (id, d, k)).collect();
    listed.sort();
    assert_eq!(listed, vec![(a, 3, 'a'), (c, 2, 'c')]);
}
