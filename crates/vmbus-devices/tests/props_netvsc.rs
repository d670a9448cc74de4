//! Property test for netvsc: arbitrary NVSP packets, transfer-page packets
//! over arbitrary receive-buffer contents, and sends, in any order, from
//! the start of the bring-up or from Ready. The driver never panics, stays
//! within its caps, completes every receive and is never stuck.

mod common;

use common::strategies::{incoming, mutated, packets, Pkt};
use common::{net_fake, xfer_packet, Bytes};
use proptest::prelude::*;
use vmbus_devices::netvsc::{
    NetBuffers, Netvsc, NetvscError, NetvscEvent, NetvscState, MAX_RX_BYTES_PER_PACKET,
};
use vmbus_devices::{Incoming, Output};

fn nvsp_templates() -> Vec<Vec<u8>> {
    vec![
        Bytes::new().u32(2).u32(0xFFFF_FFFF).u32(34).u32(1).done(),
        Bytes::new()
            .u32(102)
            .u32(1)
            .u32(1)
            .u32(0)
            .u32(1806)
            .u32(64)
            .u32(64 * 1806)
            .done(),
        Bytes::new().u32(105).u32(1).u32(6144).done(),
        Bytes::new().u32(108).u32(1).done(),
        Bytes::new().u32(107).u32(1).u32(0xFFFF_FFFF).u32(0).done(),
        Bytes::new().u32(134).zeros(36).done(),
    ]
}

/// Arbitrary receive-buffer contents: RNDIS templates or garbage at the
/// first sub-allocations.
fn rndis_templates() -> Vec<Vec<u8>> {
    let pkt = Bytes::new()
        .u32(1)
        .u32(1806)
        .u32(52)
        .u32(60)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(36)
        .u32(16)
        .u32(0)
        .u32(0)
        .u32(16)
        .u32(0)
        .u32(12)
        .u32(0x28)
        .zeros(60)
        .done();
    vec![
        pkt,
        Bytes::new()
            .u32(0x8000_0002)
            .u32(52)
            .u32(1)
            .u32(0)
            .u32(1)
            .u32(0)
            .u32(1)
            .u32(0)
            .u32(8)
            .u32(0xEFFF_FFFF)
            .u32(3)
            .u32(0)
            .u32(0)
            .done(),
        Bytes::new()
            .u32(0x8000_0004)
            .u32(30)
            .u32(2)
            .u32(0)
            .u32(6)
            .u32(16)
            .raw(&[0, 0x15, 0x5D, 1, 2, 3])
            .done(),
        Bytes::new().u32(0x8000_0005).u32(16).u32(5).u32(0).done(),
        Bytes::new()
            .u32(7)
            .u32(20)
            .u32(0x4001_000C)
            .u32(0)
            .u32(0)
            .done(),
    ]
}

#[derive(Debug, Clone)]
enum NetAction {
    Packet(Pkt),
    Receive {
        ranges: Vec<(u32, u32)>,
        pageset: u16,
        msgs: Vec<Vec<u8>>,
        nvsp: Vec<u8>,
    },
    Send(usize),
}

fn net_actions() -> impl Strategy<Value = Vec<NetAction>> {
    let range = prop_oneof![
        6 => (0..4u32).prop_map(|k| (1806, k * 1806)),
        1 => (0..64u32).prop_map(|k| (1806, k * 1806)),
        1 => (any::<u32>(), any::<u32>()),
        1 => (0..4000u32, 0..(64 * 1806 + 100u32)),
    ];
    let action = prop_oneof![
        3 => packets(nvsp_templates(), 40).prop_map(|mut v| NetAction::Packet(v.remove(0))),
        4 => (
            prop::collection::vec(range, 0..8),
            prop_oneof![4 => Just(0xCAFEu16), 1 => any::<u16>()],
            prop::collection::vec(mutated(rndis_templates(), 200), 0..4),
            prop_oneof![
                3 => Just(Bytes::new().u32(107).u32(0).u32(0xFFFF_FFFF).u32(0).done()),
                1 => mutated(nvsp_templates(), 40),
            ],
        ).prop_map(|(ranges, pageset, msgs, nvsp)| NetAction::Receive { ranges, pageset, msgs, nvsp }),
        1 => (0..2000usize).prop_map(NetAction::Send),
    ];
    prop::collection::vec(action, 1..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn netvsc_survives_anything(actions in net_actions(), from_ready in any::<bool>()) {
        let mut host = net_fake::Host::new();
        let mut nic = if from_ready {
            net_fake::ready(&mut host).0
        } else {
            let mut n = Netvsc::new(net_fake::config());
            n.start(&mut Output::new()).unwrap();
            n
        };
        let mut out: Output<NetvscEvent> = Output::new();
        for a in &actions {
            out.clear();
            match a {
                NetAction::Packet(p) => {
                    let inc = incoming(p);
                    let mut bufs = NetBuffers { recv: &host.recv, send: &mut host.send };
                    let _ = nic.handle(&inc, &mut bufs, &mut out);
                    prop_assert!(out.sends.len() <= 3 && out.events.len() <= 2);
                }
                NetAction::Receive { ranges, pageset, msgs, nvsp } => {
                    for (k, m) in msgs.iter().enumerate() {
                        let off = k * 1806;
                        let n = m.len().min(1806);
                        host.recv[off..off + n].copy_from_slice(&m[..n]);
                    }
                    let img = xfer_packet(7, *pageset, ranges, nvsp);
                    let inc = Incoming::parse(&img).unwrap();
                    let mut bufs = NetBuffers { recv: &host.recv, send: &mut host.send };
                    let r = nic.handle(&inc, &mut bufs, &mut out);
                    // Every type-7 packet is completed unless the driver failed.
                    if r != Err(NetvscError::Failed) {
                        prop_assert!(out.sends.iter().any(|s| s.trans_id == 7));
                    }
                    // The completion, plus one bring-up request per range
                    // at most (five RNDIS steps in all).
                    prop_assert!(out.sends.len() <= 1 + ranges.len().min(5));
                    prop_assert!(out.events.len() <= 2 * ranges.len() + 1);
                    let mut copied = 0;
                    for e in &out.events {
                        if let NetvscEvent::Frame(f) = e {
                            prop_assert!((14..=1500 + 18).contains(&f.data.len()));
                            copied += f.data.len();
                        }
                    }
                    prop_assert!(copied <= MAX_RX_BYTES_PER_PACKET);
                }
                NetAction::Send(n) => {
                    let frame = vec![0xAB; *n];
                    if let Ok(p) = nic.send_frame(&frame, &mut host.send) {
                        prop_assert!(p.payload.len() == 40);
                    }
                }
            }
            prop_assert!(nic.outstanding() <= 256);
            prop_assert!(nic.sections_in_use() <= 8);
            prop_assert!(out.send_bytes() <= 40 * out.sends.len());
            // Never stuck: until Ready or Failed something is unanswered.
            let bringing_up = !matches!(
                nic.state(),
                NetvscState::Ready | NetvscState::Failed | NetvscState::Stopped
            );
            prop_assert!(!bringing_up || nic.awaiting_host(), "stuck in {:?}", nic.state());
            if nic.state() == NetvscState::Failed {
                let p = Pkt { kind: 0, trans_id: 1, completion: false, payload: vec![] };
                let mut bufs = NetBuffers { recv: &host.recv, send: &mut host.send };
                prop_assert_eq!(nic.handle(&incoming(&p), &mut bufs, &mut out), Err(NetvscError::Failed));
            }
        }
    }
}
