//! Property tests: decoders never panic on arbitrary bytes, the HID parser
//! never panics on arbitrary descriptors, and the keyboard, mouse, synthvid
//! and storvsc drivers fed arbitrary (or mutated valid) packets never panic
//! and stay within their caps. netvsc has its own file, `props_netvsc.rs`.

mod common;

use common::strategies::{bytes, incoming, packets};
use common::{disk_fake, Bytes};
use proptest::prelude::*;
use vmbus_devices::hid::{self, ItemIter};
use vmbus_devices::keyboard::{Keyboard, KeyboardError, KeyboardMessage, KeyboardState};
use vmbus_devices::mouse::{Mouse, MouseError, MouseMessage, MouseState};
use vmbus_devices::netvsc::{self, NvspMessage, RndisMessage};
use vmbus_devices::storvsc::{
    self, Storvsc, StorvscError, StorvscEvent, StorvscState, VstorPacket, MAX_OUTSTANDING,
};
use vmbus_devices::synthvid::{
    Synthvid, SynthvidConfig, SynthvidError, SynthvidMessage, SynthvidState,
};
use vmbus_devices::{pipe, GpaRange, Incoming, IncomingKind, Output, TransferPages};

fn pipe_msg(inner: &[u8]) -> Vec<u8> {
    Bytes::new()
        .u32(1)
        .u32(inner.len() as u32)
        .raw(inner)
        .done()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoders_never_panic(b in bytes(600)) {
        let _ = KeyboardMessage::decode(&b);
        let _ = MouseMessage::decode(&b);
        let _ = SynthvidMessage::decode(&b);
        let _ = VstorPacket::decode(&b);
        let _ = NvspMessage::decode(&b);
        let _ = RndisMessage::decode(&b);
        let _ = netvsc::split_message(&b);
        let _ = netvsc::decode_packet(&b, 1518);
        let _ = Incoming::parse(&b);
        let _ = pipe::decode(&b);
        let _ = storvsc::decode_sense(&b);
        let _ = storvsc::InquiryData::parse(&b);
        let _ = storvsc::Capacity::parse10(&b);
        let _ = storvsc::Capacity::parse16(&b);
        let _ = TransferPages::new(0, &b).map(|t| t.iter().count());
        if let Ok(inc) = Incoming::parse(&b) {
            prop_assert!(inc.payload.len() <= b.len());
            if let IncomingKind::TransferPages(tp) = inc.kind {
                prop_assert!(tp.len() <= 562);
            }
        }
    }

    #[test]
    fn hid_parser_never_panics(d in bytes(300), report in bytes(40)) {
        let _ = ItemIter::new(&d).count();
        if let Ok(layout) = hid::parse_mouse(&d) {
            check_report(&layout, &report)?;
        }
    }

    #[test]
    fn hid_parser_on_item_soup(
        items in prop::collection::vec(
            (prop::sample::select(vec![
                0x05u8, 0x09, 0x19, 0x29, 0x15, 0x25, 0x16, 0x26, 0x75, 0x95, 0x85, 0x81,
                0xA1, 0xC0, 0xA4, 0xB4, 0x0B, 0x27, 0x97, 0x77, 0xFE, 0x91, 0xB1,
            ]), any::<u32>()),
            0..60),
        report in bytes(40),
    ) {
        let mut d = vec![0x05, 0x01];
        for (prefix, data) in items {
            d.push(prefix);
            let n = match prefix & 3 { 0 => 0, 1 => 1, 2 => 2, _ => 4 };
            d.extend_from_slice(&data.to_le_bytes()[..n]);
        }
        if let Ok(layout) = hid::parse_mouse(&d) {
            check_report(&layout, &report)?;
        }
    }
}

fn check_report(layout: &hid::MouseLayout, report: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(Some(r)) = layout.decode(report) {
        if r.absolute {
            prop_assert!((0..=hid::ABS_MAX).contains(&r.x));
            prop_assert!((0..=hid::ABS_MAX).contains(&r.y));
        }
        prop_assert!(r.buttons < 1 << hid::MAX_BUTTONS);
    }
    Ok(())
}

fn keyboard_templates() -> Vec<Vec<u8>> {
    vec![
        Bytes::new().u32(2).u32(1).done(),
        Bytes::new().u32(3).u16(0x1E).u16(0).u32(2).done(),
        Bytes::new().u32(3).u16(0x1D).u16(0).u32(4).done(),
    ]
}

fn mouse_templates() -> Vec<Vec<u8>> {
    let mut info = Bytes::new()
        .u32(2)
        .u32(108)
        .u32(32)
        .u16(0x45E)
        .u16(0x621)
        .u16(1)
        .zeros(22)
        .raw(&[9, 0x21, 1, 1, 0, 1, 0x22])
        .u16(67)
        .raw(&common::mouse_descriptor())
        .done();
    info.resize(8 + 169, 0);
    vec![
        pipe_msg(&Bytes::new().u32(1).u32(5).u32(0x20000).u8(1).done()),
        pipe_msg(&info),
        pipe_msg(
            &Bytes::new()
                .u32(4)
                .u32(7)
                .u8(1)
                .u16(100)
                .u16(200)
                .u16(0xFFFF)
                .done(),
        ),
    ]
}

fn synthvid_templates() -> Vec<Vec<u8>> {
    let m = |ty: u32, body: &[u8]| {
        pipe_msg(&Bytes::new().u32(ty).u32(body.len() as u32).raw(body).done())
    };
    let mut res = Bytes::new()
        .zeros(128)
        .u8(2)
        .u8(0)
        .u8(0)
        .u16(1024)
        .u16(768)
        .u16(1280)
        .u16(1024)
        .done();
    res.push(0);
    vec![
        m(2, &Bytes::new().u32(0x50003).u8(2).u8(1).done()),
        m(2, &Bytes::new().u32(0x20003).u8(1).u8(1).done()),
        m(14, &res),
        m(4, &0xF800_0000u64.to_le_bytes()),
        m(6, &1u64.to_le_bytes()),
        m(9, &[1, 1, 1, 1]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn keyboard_survives_anything(pkts in packets(keyboard_templates(), 4)) {
        let mut k = Keyboard::new();
        let mut out = Output::new();
        k.start(&mut out).unwrap();
        for p in &pkts {
            out.clear();
            let r = k.handle(&incoming(p), &mut out);
            prop_assert!(out.sends.is_empty() && out.events.len() <= 1);
            if k.state() == KeyboardState::Failed {
                prop_assert_eq!(k.handle(&incoming(p), &mut out), Err(KeyboardError::Failed));
            }
            let _ = r;
        }
    }

    #[test]
    fn mouse_survives_anything(pkts in packets(mouse_templates(), 4)) {
        let mut m = Mouse::new();
        let mut out = Output::new();
        m.start(&mut out).unwrap();
        for p in &pkts {
            out.clear();
            let _ = m.handle(&incoming(p), &mut out);
            prop_assert!(out.sends.len() <= 1 && out.events.len() <= 1);
            if m.state() == MouseState::Failed {
                prop_assert_eq!(m.handle(&incoming(p), &mut out), Err(MouseError::Failed));
            }
        }
    }

    #[test]
    fn synthvid_survives_anything(pkts in packets(synthvid_templates(), 4)) {
        let mut v = Synthvid::new(SynthvidConfig::new(0xF800_0000, 8 << 20));
        let mut out = Output::new();
        v.start(&mut out).unwrap();
        for p in &pkts {
            out.clear();
            let _ = v.handle(&incoming(p), &mut out);
            prop_assert!(out.sends.len() <= 3 && out.events.len() <= 1);
            prop_assert!(out.send_bytes() <= 3 * 64);
            prop_assert!(v.resolutions().len() <= 64);
            if let Some(mode) = v.mode() {
                prop_assert!(u64::from(mode.stride) * u64::from(mode.height) <= 8 << 20);
            }
            if v.state() == SynthvidState::Failed {
                prop_assert_eq!(v.handle(&incoming(p), &mut out), Err(SynthvidError::Failed));
            }
        }
    }

    #[test]
    fn storvsc_survives_anything(
        pkts in packets(vec![
            Bytes::new().u32(1).u32(0).u32(0).zeros(52).done(),
            Bytes::new().u32(1).u32(0).u32(0xC000_0059).zeros(52).done(),
            Bytes::new().u32(1).u32(0).u32(0).u32(0).u16(1).u16(0).u32(0).u32(0x40000).zeros(36).done(),
            Bytes::new().u32(1).u32(0).u32(0).u16(0x34).u8(1).u8(0).zeros(8).u32(36).zeros(36).done(),
            Bytes::new().u32(11).zeros(60).done(),
        ], 24),
        scratch in bytes(80),
        from_ready in any::<bool>(),
    ) {
        let (mut d, mut host) = if from_ready {
            let mut host = disk_fake::Host::new(64);
            let (d, _) = disk_fake::ready(&mut host);
            (d, Some(host))
        } else {
            let mut d = Storvsc::new(disk_fake::config());
            d.start(&mut Output::new()).unwrap();
            (d, None)
        };
        let mut out = Output::new();
        for (i, p) in pkts.iter().enumerate() {
            if let Some(h) = host.as_mut() {
                // Keep requests in flight so completions can match them.
                if i % 3 == 0 {
                    if let Ok((_, pkt)) = d.read(1, 1, GpaRange::contiguous(0x30_0000, 512).unwrap()) {
                        let _ = h.answer(&pkt);
                    }
                }
            }
            out.clear();
            let r = d.handle(&incoming(p), &scratch, &mut out);
            prop_assert!(out.sends.len() <= 1 && out.events.len() <= 1);
            prop_assert!(d.outstanding() <= MAX_OUTSTANDING);
            if d.state() == StorvscState::Failed {
                prop_assert_eq!(d.handle(&incoming(p), &scratch, &mut out), Err(StorvscError::Failed));
            }
            if let Ok(()) = r {
                for e in &out.events {
                    if let StorvscEvent::DiskReady { sector_size, .. } = e {
                        prop_assert!(sector_size.is_power_of_two());
                    }
                }
            }
        }
    }
}
