//! Property test: the timer queue agrees with a sorted-`Vec` model.

use proptest::prelude::*;
use timers::{TimerId, TimerQueue};

#[derive(Clone, Debug)]
enum Op {
    Insert { deadline: u64, key: u16 },
    Cancel { pick: usize },
    Pop { now: u64 },
    Reserve { n: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // A narrow deadline range makes ties common.
        5 => (0u64..40, any::<u16>()).prop_map(|(deadline, key)| Op::Insert { deadline, key }),
        1 => any::<u64>().prop_map(|deadline| Op::Insert { deadline, key: 0 }),
        3 => any::<usize>().prop_map(|pick| Op::Cancel { pick }),
        3 => (0u64..50).prop_map(|now| Op::Pop { now }),
        1 => (0usize..16).prop_map(|n| Op::Reserve { n }),
    ]
}

proptest! {
    #[test]
    fn queue_matches_model(ops in prop::collection::vec(op(), 1..400)) {
        let mut q = TimerQueue::new();
        // Live timers as (deadline, insertion index, key, id), kept sorted.
        let mut model: Vec<(u64, usize, u16, TimerId)> = Vec::new();
        let mut issued: Vec<TimerId> = Vec::new();
        for op in ops {
            match op {
                Op::Insert { deadline, key } => {
                    let id = q.insert(deadline, key).unwrap();
                    if let Some(prev) = issued.last() {
                        prop_assert!(id.seq() > prev.seq(), "ids must be fresh");
                    }
                    let entry = (deadline, issued.len(), key, id);
                    let at = model.partition_point(|e| (e.0, e.1) < (entry.0, entry.1));
                    model.insert(at, entry);
                    issued.push(id);
                }
                Op::Cancel { pick } => {
                    if issued.is_empty() {
                        continue;
                    }
                    let id = issued[pick % issued.len()];
                    let expected = model
                        .iter()
                        .position(|e| e.3 == id)
                        .map(|i| model.remove(i).2);
                    prop_assert_eq!(q.cancel(id), expected);
                }
                Op::Pop { now } => loop {
                    let expected = match model.first() {
                        Some(e) if e.0 <= now => Some((e.3, e.2)),
                        _ => None,
                    };
                    prop_assert_eq!(q.pop_expired(now), expected);
                    if expected.is_none() {
                        break;
                    }
                    model.remove(0);
                },
                Op::Reserve { n } => q.try_reserve(n).unwrap(),
            }
            prop_assert_eq!(q.len(), model.len());
            prop_assert_eq!(q.next_deadline(), model.first().map(|e| e.0));
        }
        let mut listed: Vec<(TimerId, u64, u16)> = q.iter().map(|(i, d, &k)| (i, d, k)).collect();
        listed.sort();
        let mut expected: Vec<(TimerId, u64, u16)> = model.iter().map(|e| (e.3, e.0, e.2)).collect();
        expected.sort();
        prop_assert_eq!(listed, expected);
        // Draining returns the model's order exactly.
        for e in &model {
            prop_assert_eq!(q.pop_expired(u64::MAX), Some((e.3, e.2)));
        }
        prop_assert!(q.is_empty());
    }
}
