//! Property tests: whatever the guest writes, the host never panics.

mod common;

use common::*;
use proptest::prelude::*;
use vmbus_host::device::keyboard::Keyboard;
use vmbus_host::device::mouse::Mouse;
use vmbus_host::device::netvsp::{NetMode, Netvsp};
use vmbus_host::device::storvsp::Storvsp;
use vmbus_host::device::synthvid::Synthvid;
use vmbus_host::{DeviceId, HostConfig};

fn full_host() -> (TestHost, Vec<DeviceId>) {
    let mut h = host(HostConfig::default());
    let ids = vec![
        h.add_device(Box::new(Keyboard::new())),
        h.add_device(Box::new(Storvsp::new(64))),
        h.add_device(Box::new(Netvsp::new(
            [0, 0x15, 0x5d, 0, 0, 1],
            NetMode::Loopback,
        ))),
        h.add_device(Box::new(Mouse::new())),
        h.add_device(Box::new(Synthvid::new())),
    ];
    (h, ids)
}

/// A control message: a plausible msgtype followed by random bytes.
fn message() -> impl Strategy<Value = Vec<u8>> {
    (0u32..30, proptest::collection::vec(any::<u8>(), 0..232)).prop_map(|(t, rest)| {
        let mut m = t.to_le_bytes().to_vec();
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&rest);
        m
    })
}

#[derive(Debug, Clone)]
enum Action {
    Post(u32, Vec<u8>),
    Eom,
    Step,
    Signal(u32),
    Msr(u32, u64),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (prop_oneof![Just(1u32), Just(4u32), any::<u32>()], message())
            .prop_map(|(c, m)| Action::Post(c, m)),
        1 => Just(Action::Eom),
        1 => Just(Action::Step),
        1 => (0x2000u32..0x2008).prop_map(Action::Signal),
        1 => (
            prop_oneof![Just(0x4000_0083u32), Just(0x4000_0082), 0x4000_0000u32..0x4000_00A0],
            prop_oneof![any::<u64>(), 0xFFFF_FFFF_FFFF_F000u64..=u64::MAX, Just(0x51u64)],
        )
            .prop_map(|(m, v)| Action::Msr(m, v)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_control_messages_never_panic(actions in proptest::collection::vec(action(), 1..40)) {
        let (mut h, _) = full_host();
        synic_up(&mut h);
        post(&mut h, 1, &contact(0x0005_0000));
        post(&mut h, 1, &REQUEST_OFFERS);
        for a in actions {
            match a {
                Action::Post(c, m) => { post(&mut h, c, &m); }
                Action::Eom => { recv(&mut h); }
                Action::Step => { h.step(); }
                Action::Signal(c) => { signal(&mut h, c); }
                Action::Msr(m, v) => { let _ = h.wrmsr(0, m, v); let _ = h.rdmsr(0, m); }
            }
        }
        h.run_until_idle(50);
    }

    #[test]
    fn arbitrary_hypercalls_never_panic(
        control in any::<u64>(),
        rdx in prop_oneof![Just(INPUT), any::<u64>()],
        r8 in any::<u64>(),
        block in proptest::collection::vec(any::<u8>(), 256),
        vp in 0u32..3,
    ) {
        let (mut h, _) = full_host();
        synic_up(&mut h);
        write(&mut h, INPUT, &block);
        let _ = h.hypercall(vp, control, rdx, r8);
        let _ = h.hypercall(vp, control & 0x1_FFFF, rdx, r8);
        let _ = h.hypercall(vp, 0x5C, INPUT, 0);
        h.run_until_idle(10);
    }

    #[test]
    fn arbitrary_ring_contents_never_panic(
        dev in 0usize..5,
        data in proptest::collection::vec(any::<u8>(), 0..4096),
        w in any::<u32>(),
        r_in in any::<u32>(),
        mask in any::<u32>(),
        valid_desc in any::<bool>(),
    ) {
        let (mut h, ids) = full_host();
        let offers = connect(&mut h);
        let relid = h.relid(ids[dev]).unwrap();
        let offer = offers.iter().find(|o| le32(o, 0xB8) == relid).unwrap().clone();
        let c = open(&mut h, &offer, 0x10_0000, 2, 0x77);
        let mut bytes = data;
        if valid_desc && bytes.len() >= 16 {
            // A plausible descriptor so the fuzz reaches the devices.
            let len8 = (bytes.len() / 8).min(200) as u16;
            bytes[0] = [6u8, 9, 11][(len8 % 3) as usize];
            bytes[1] = 0;
            bytes[2..4].copy_from_slice(&2u16.to_le_bytes());
            bytes[4..6].copy_from_slice(&len8.to_le_bytes());
            bytes[6] &= 1;
            bytes[7] = 0;
        }
        write(&mut h, c.base + 4096, &bytes);
        let w = if valid_desc { (bytes.len() as u32 / 8) * 8 % 4096 } else { w };
        write(&mut h, c.out_hdr(), &w.to_le_bytes());
        write(&mut h, c.in_hdr() + 4, &r_in.to_le_bytes());
        write(&mut h, c.in_hdr() + 8, &mask.to_le_bytes());
        signal(&mut h, c.conn);
        h.run_until_idle(20);
        if let Some(k) = h.device_mut::<Keyboard>(ids[0]) { k.press(1, false, false); }
        if let Some(n) = h.device_mut::<Netvsp>(ids[2]) { n.inject_frame(&[0xFF; 60]); }
        h.run_until_idle(20);
    }
}
