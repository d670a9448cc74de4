//! Property test: the handle table agrees with a `HashMap` model.

use handles::{HandleError, HandleTable, Rights, CURRENT_PROCESS, CURRENT_THREAD, INVALID};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug)]
enum Op {
    Insert { rights: u32 },
    Get { pick: usize, need: u32 },
    Remove { pick: usize },
    Forged { handle: u64 },
    BitFlip { pick: usize, bit: u32 },
    PopAny,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..128).prop_map(|rights| Op::Insert { rights }),
        4 => (any::<usize>(), 0u32..128).prop_map(|(pick, need)| Op::Get { pick, need }),
        3 => any::<usize>().prop_map(|pick| Op::Remove { pick }),
        1 => any::<u64>().prop_map(|handle| Op::Forged { handle }),
        1 => (any::<usize>(), 0u32..64).prop_map(|(pick, bit)| Op::BitFlip { pick, bit }),
        1 => Just(Op::PopAny),
    ]
}

proptest! {
    #[test]
    fn table_matches_model(limit in 1usize..12, ops in prop::collection::vec(op(), 1..300)) {
        let mut table = HandleTable::new(limit);
        let mut model: HashMap<u64, (u32, Rights)> = HashMap::new();
        let mut issued: Vec<u64> = Vec::new();
        let mut ever: HashSet<u64> = HashSet::new();
        let mut next_value = 0u32;
        let pick = |issued: &Vec<u64>, i: usize| {
            if issued.is_empty() { INVALID } else { issued[i % issued.len()] }
        };
        for op in ops {
            match op {
                Op::Insert { rights } => {
                    let rights = Rights::from_bits_truncate(rights);
                    let got = table.insert(next_value, rights);
                    if model.len() == limit {
                        prop_assert_eq!(got, Err(HandleError::TableFull));
                    } else {
                        let h = got.unwrap();
                        prop_assert!(h != INVALID && h != CURRENT_PROCESS && h != CURRENT_THREAD);
                        prop_assert_eq!(h & 3, 0);
                        prop_assert!(ever.insert(h), "handle value {:#x} issued twice", h);
                        model.insert(h, (next_value, rights));
                        issued.push(h);
                    }
                    next_value += 1;
                }
                Op::Get { pick: i, need } => {
                    let h = pick(&issued, i);
                    let need = Rights::from_bits_truncate(need);
                    let expected = match model.get(&h) {
                        None => Err(HandleError::Invalid),
                        Some((_, r)) if !r.contains(need) => Err(HandleError::AccessDenied),
                        Some((v, _)) => Ok(v),
                    };
                    prop_assert_eq!(table.get(h, need), expected);
                }
                Op::Remove { pick: i } => {
                    let h = pick(&issued, i);
                    let expected = model.remove(&h).map(|(v, _)| v).ok_or(HandleError::Invalid);
                    prop_assert_eq!(table.remove(h), expected);
                }
                Op::Forged { handle } => {
                    if !model.contains_key(&handle) {
                        prop_assert_eq!(table.get(handle, Rights::NONE), Err(HandleError::Invalid));
                        prop_assert_eq!(table.rights(handle), Err(HandleError::Invalid));
                        prop_assert_eq!(table.remove(handle), Err(HandleError::Invalid));
                    }
                }
                Op::BitFlip { pick: i, bit } => {
                    let h = pick(&issued, i) ^ (1 << bit);
                    if !model.contains_key(&h) {
                        prop_assert_eq!(table.get(h, Rights::NONE), Err(HandleError::Invalid));
                    }
                }
                Op::PopAny => match table.pop_any() {
                    None => prop_assert!(model.is_empty()),
                    Some(v) => {
                        let h = model.iter().find(|(_, (mv, _))| *mv == v).map(|(h, _)| *h);
                        prop_assert!(h.is_some(), "pop_any returned an unknown object");
                        model.remove(&h.unwrap());
                    }
                },
            }
            prop_assert_eq!(table.len(), model.len());
        }
        // Enumeration agrees, and every closed handle stays refused.
        let listed: HashMap<u64, (u32, Rights)> =
            table.iter().map(|(h, &v, r)| (h, (v, r))).collect();
        prop_assert_eq!(&listed, &model);
        for h in &issued {
            if !model.contains_key(h) {
                prop_assert_eq!(table.get(*h, Rights::NONE), Err(HandleError::Invalid));
            }
        }
        while table.pop_any().is_some() {}
        prop_assert!(table.is_empty());
        for h in &issued {
            prop_assert_eq!(table.get(*h, Rights::NONE), Err(HandleError::Invalid));
        }
    }
}
