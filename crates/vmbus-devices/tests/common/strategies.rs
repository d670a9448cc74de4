//! proptest strategies shared by the property tests: arbitrary or mutated
//! payloads and host packets.

use proptest::prelude::*;
use vmbus_devices::{Incoming, IncomingKind};

/// Arbitrary bytes, fewer than `max` of them.
pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

/// A valid message with a few bytes overwritten, or plain garbage.
pub fn mutated(templates: Vec<Vec<u8>>, max: usize) -> impl Strategy<Value = Vec<u8>> {
    let n = templates.len();
    prop_oneof![
        1 => bytes(max),
        3 => (0..n, prop::collection::vec((any::<usize>(), any::<u8>()), 0..4), 0..3usize).prop_map(
            move |(i, edits, trunc)| {
                let mut t = templates[i].clone();
                for (at, b) in edits {
                    if !t.is_empty() {
                        let k = at % t.len();
                        t[k] = b;
                    }
                }
                if trunc == 1 && !t.is_empty() {
                    t.truncate(t.len() - 1);
                }
                t
            }
        ),
    ]
}

/// One arbitrary host packet: kind, id, flag, payload.
#[derive(Debug, Clone)]
pub struct Pkt {
    pub kind: u8,
    pub trans_id: u64,
    pub completion: bool,
    pub payload: Vec<u8>,
}

pub fn packets(templates: Vec<Vec<u8>>, ids: u64) -> impl Strategy<Value = Vec<Pkt>> {
    prop::collection::vec(
        (0..10u8, 0..ids, any::<bool>(), mutated(templates, 300)).prop_map(
            |(kind, trans_id, completion, payload)| Pkt {
                kind,
                trans_id,
                completion,
                payload,
            },
        ),
        1..40,
    )
}

pub fn incoming(p: &Pkt) -> Incoming<'_> {
    Incoming {
        kind: match p.kind {
            0 => IncomingKind::Completion,
            1 => IncomingKind::GpaDirect,
            _ => IncomingKind::InBand,
        },
        trans_id: p.trans_id,
        completion_requested: p.completion,
        payload: &p.payload,
    }
}
