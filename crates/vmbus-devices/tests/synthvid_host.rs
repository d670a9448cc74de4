//! A scripted host takes synthvid through §6.3: version negotiation with
//! fallback, resolutions, VRAM location, situation update, dirty rects.

mod common;

use common::{hex, inband_packet, parse, rd32, rd64, Bytes};
use vmbus_devices::synthvid::{
    versions_for_vmbus, Rect, Synthvid, SynthvidConfig, SynthvidError, SynthvidEvent,
    SynthvidState, VERSION_3_0, VERSION_3_2, VERSION_3_5,
};
use vmbus_devices::{Incoming, Output};

const VRAM: u64 = 0xF800_0000;
const VRAM_SIZE: u64 = 8 << 20;

/// Host message with OpenVMM's sizing: synthvid size = body length only.
fn host_msg(ty: u32, body: &[u8]) -> Vec<u8> {
    let inner = Bytes::new().u32(ty).u32(body.len() as u32).raw(body).done();
    let framed = Bytes::new()
        .u32(1)
        .u32(inner.len() as u32)
        .raw(&inner)
        .done();
    inband_packet(0, false, &framed)
}

fn version_response(version: u32, accepted: u8) -> Vec<u8> {
    host_msg(2, &Bytes::new().u32(version).u8(accepted).u8(1).done())
}

fn resolutions(list: &[(u16, u16)], default: u8) -> Vec<u8> {
    let mut b = Bytes::new()
        .zeros(128)
        .u8(list.len() as u8)
        .u8(default)
        .u8(0);
    for &(w, h) in list {
        b = b.u16(w).u16(h);
    }
    host_msg(14, &b.done())
}

/// Splits a guest packet into (synthvid type, body), checking Linux sizing.
fn guest_msg(payload: &[u8]) -> (u32, Vec<u8>) {
    assert_eq!(rd32(payload, 0), 1, "pipe DATA");
    let size = rd32(payload, 4) as usize;
    assert_eq!(size, payload.len() - 8);
    assert_eq!(rd32(payload, 12) as usize, size, "header-inclusive size");
    (rd32(payload, 8), payload[16..].to_vec())
}

fn step(v: &mut Synthvid, packet: Vec<u8>) -> Output<SynthvidEvent> {
    let mut out = Output::new();
    v.handle(&parse(&packet), &mut out).unwrap();
    for s in &out.sends {
        assert!(!s.completion_requested);
    }
    out
}

fn ready_synthvid() -> Synthvid {
    let mut v = Synthvid::new(SynthvidConfig::new(VRAM, VRAM_SIZE));
    let mut out = Output::new();
    v.start(&mut out).unwrap();
    assert_eq!(
        out.sends[0].payload,
        hex("01 00 00 00 0c 00 00 00 01 00 00 00 0c 00 00 00 03 00 05 00")
    );
    let out = step(&mut v, version_response(VERSION_3_5, 2));
    let (ty, body) = guest_msg(&out.sends[0].payload);
    assert_eq!((ty, body), (13, vec![64]));
    let out = step(&mut v, resolutions(&[(1024, 768), (1280, 1024)], 0));
    let (ty, body) = guest_msg(&out.sends[0].payload);
    assert_eq!(ty, 3);
    assert_eq!(body.len(), 17);
    assert_eq!((rd64(&body, 0), body[8], rd64(&body, 9)), (VRAM, 1, VRAM));
    assert_eq!(v.state(), SynthvidState::AwaitingVramAck);
    let out = step(&mut v, host_msg(4, &VRAM.to_le_bytes()));
    let types: Vec<u32> = out.sends.iter().map(|s| guest_msg(&s.payload).0).collect();
    assert_eq!(types, [7, 8, 5]);
    let (_, pos) = guest_msg(&out.sends[0].payload);
    assert_eq!(pos, hex("01 00 00 00 00 00 00 00 00 00"));
    let (_, shape) = guest_msg(&out.sends[1].payload);
    assert_eq!(shape.len(), 22);
    assert_eq!(
        (shape[0], shape[1], rd32(&shape, 2), rd32(&shape, 6)),
        (0xFF, 1, 1, 1)
    );
    assert_eq!(&shape[18..], &[0, 1, 1, 1]);
    let (_, situ) = guest_msg(&out.sends[2].payload);
    assert_eq!(situ.len(), 27);
    assert_eq!(situ[8], 1, "one output");
    assert_eq!(situ[9], 1, "active");
    assert_eq!(situ[14], 32, "depth");
    assert_eq!(
        (rd32(&situ, 15), rd32(&situ, 19), rd32(&situ, 23)),
        (1024, 768, 4096)
    );
    assert_eq!(
        out.events,
        [SynthvidEvent::Ready {
            width: 1024,
            height: 768,
            stride: 4096,
            depth_bits: 32,
            vram_size: VRAM_SIZE,
            version: VERSION_3_5,
        }]
    );
    // The host acknowledges the situation with its user_ctx.
    let ctx = rd64(&situ, 0);
    step(&mut v, host_msg(6, &ctx.to_le_bytes()));
    v
}

#[test]
fn bring_up_to_ready() {
    let v = ready_synthvid();
    assert_eq!(v.state(), SynthvidState::Ready);
    assert_eq!(v.resolutions().len(), 2);
}

#[test]
fn dirty_rects_after_feature_change() {
    let mut v = ready_synthvid();
    let r = Rect {
        x1: 0,
        y1: 0,
        x2: 10,
        y2: 20,
    };
    assert_eq!(v.dirty(&[r]), Ok(None), "host has not asked for DIRT yet");
    let out = step(&mut v, host_msg(9, &[1, 0, 0, 0]));
    // Linux re-hides the cursor on FEATURE_CHANGE with dirt needed.
    assert_eq!(out.sends.len(), 2);
    assert!(matches!(out.events[0], SynthvidEvent::FeatureChange(f) if f.dirt_needed));
    let dirt = v.dirty(&[r]).unwrap().unwrap();
    let (ty, body) = guest_msg(&dirt.payload);
    assert_eq!(ty, 10);
    assert_eq!(
        body,
        Bytes::new()
            .u8(0)
            .u8(1)
            .i32(0)
            .i32(0)
            .i32(10)
            .i32(20)
            .done()
    );
    assert_eq!(
        v.dirty(&[Rect {
            x1: 0,
            y1: 0,
            x2: 1025,
            y2: 1
        }]),
        Err(SynthvidError::BadRect)
    );
    assert_eq!(
        v.dirty(&[Rect {
            x1: 5,
            y1: 0,
            x2: 5,
            y2: 1
        }]),
        Err(SynthvidError::BadRect)
    );
    // More rectangles than one message holds: one full-screen rectangle.
    let many = vec![r; 300];
    let (_, body) = guest_msg(&v.dirty(&many).unwrap().unwrap().payload);
    assert_eq!(
        body,
        Bytes::new()
            .u8(0)
            .u8(1)
            .i32(0)
            .i32(0)
            .i32(1024)
            .i32(768)
            .done()
    );
}

#[test]
fn mode_change() {
    let mut v = ready_synthvid();
    let p = v.set_mode(1280, 1024).unwrap();
    let (ty, body) = guest_msg(&p.payload);
    assert_eq!((ty, rd32(&body, 15), rd32(&body, 23)), (5, 1280, 5120));
    assert_eq!(v.mode().unwrap().stride, 5120);
    assert_eq!(
        v.set_mode(4096, 4096),
        Err(SynthvidError::ModeTooLarge {
            width: 4096,
            height: 4096
        })
    );
    // The ACK must echo the new context, not an invented one.
    let mut out = Output::new();
    let wrong = host_msg(6, &0xDEADu64.to_le_bytes());
    assert_eq!(
        v.handle(&parse(&wrong), &mut out),
        Err(SynthvidError::BadContext(0xDEAD))
    );
}

#[test]
fn version_fallback_without_resolutions() {
    let mut v = Synthvid::new(SynthvidConfig::new(VRAM, VRAM_SIZE));
    let mut out = Output::new();
    v.start(&mut out).unwrap();
    let out = step(&mut v, version_response(VERSION_3_5, 0));
    let (ty, body) = guest_msg(&out.sends[0].payload);
    assert_eq!((ty, rd32(&body, 0)), (1, VERSION_3_2));
    let out = step(&mut v, version_response(VERSION_3_2, 0));
    assert_eq!(rd32(&guest_msg(&out.sends[0].payload).1, 0), VERSION_3_0);
    // 3.0: no RESOLUTION_REQUEST, straight to VRAM_LOCATION; 16-bit depth.
    let out = step(&mut v, version_response(VERSION_3_0, 1));
    assert_eq!(guest_msg(&out.sends[0].payload).0, 3);
    let out = step(&mut v, host_msg(4, &VRAM.to_le_bytes()));
    assert!(matches!(
        out.events[0],
        SynthvidEvent::Ready {
            width: 1024,
            height: 768,
            stride: 2048,
            depth_bits: 16,
            ..
        }
    ));
}

#[test]
fn every_version_refused_is_fatal() {
    let mut v = Synthvid::new(SynthvidConfig {
        versions: versions_for_vmbus(0x0005_0002),
        ..SynthvidConfig::new(VRAM, VRAM_SIZE)
    });
    let mut out = Output::new();
    v.start(&mut out).unwrap();
    assert_eq!(
        v.handle(&parse(&version_response(VERSION_3_5, 0)), &mut out),
        Err(SynthvidError::NoVersion)
    );
    assert_eq!(v.state(), SynthvidState::Failed);
}

#[test]
fn hostile_host() {
    let mut v = Synthvid::new(SynthvidConfig::new(VRAM, VRAM_SIZE));
    let mut out = Output::new();
    v.start(&mut out).unwrap();
    // Response for a version never asked for.
    assert_eq!(
        v.handle(&parse(&version_response(VERSION_3_2, 1)), &mut out),
        Err(SynthvidError::VersionMismatch(VERSION_3_2))
    );
    // ACK out of order.
    assert!(matches!(
        v.handle(&parse(&host_msg(4, &VRAM.to_le_bytes())), &mut out),
        Err(SynthvidError::Unexpected { .. })
    ));
    // Truncated body, pipe size lying, completion packets.
    assert!(v.handle(&parse(&host_msg(2, &[3, 0])), &mut out).is_err());
    let mut lying = version_response(VERSION_3_5, 1);
    lying[16 + 4] = 0xF0;
    assert!(v.handle(&parse(&lying), &mut out).is_err());
    assert_eq!(
        v.handle(&Incoming::completion(1, &[]), &mut out),
        Err(SynthvidError::WrongPacketKind)
    );
    v.handle(&parse(&version_response(VERSION_3_5, 1)), &mut out)
        .unwrap();
    // Resolution list longer than asked, then a bad default index: the
    // driver goes on with defaults but reports it.
    let mut too_many = Bytes::new().zeros(128).u8(65).u8(0).u8(0).done();
    too_many.extend(std::iter::repeat_n(0u8, 65 * 4));
    assert!(v
        .handle(&parse(&host_msg(14, &too_many)), &mut out)
        .is_err());
    out.clear();
    assert_eq!(
        v.handle(&parse(&resolutions(&[(800, 600)], 3)), &mut out),
        Err(SynthvidError::BadResolutions)
    );
    assert_eq!(guest_msg(&out.sends[0].payload).0, 3);
    // A VRAM ACK with another context.
    assert_eq!(
        v.handle(&parse(&host_msg(4, &1u64.to_le_bytes())), &mut out),
        Err(SynthvidError::BadContext(1))
    );
    out.clear();
    v.handle(&parse(&host_msg(4, &VRAM.to_le_bytes())), &mut out)
        .unwrap();
    assert!(matches!(
        out.events[0],
        SynthvidEvent::Ready {
            width: 800,
            height: 600,
            ..
        }
    ));
}

#[test]
fn vram_must_be_aligned() {
    let mut v = Synthvid::new(SynthvidConfig::new(VRAM + 4096, VRAM_SIZE));
    assert_eq!(v.start(&mut Output::new()), Err(SynthvidError::BadVram));
}

#[test]
fn modes_fit_the_drawable_part_of_the_vram() {
    // The guest can draw in 2 MiB only: neither listed mode nor 1024×768
    // fits, 800×600 does.
    let mut v = Synthvid::new(SynthvidConfig {
        drawable: 2 << 20,
        ..SynthvidConfig::new(VRAM, VRAM_SIZE)
    });
    let mut out = Output::new();
    v.start(&mut out).unwrap();
    step(&mut v, version_response(VERSION_3_5, 1));
    step(&mut v, resolutions(&[(1024, 768), (1280, 1024)], 1));
    let out = step(&mut v, host_msg(4, &VRAM.to_le_bytes()));
    assert!(matches!(
        out.events[0],
        SynthvidEvent::Ready {
            width: 800,
            height: 600,
            stride: 3200,
            ..
        }
    ));
    // A mode change is held to it too.
    assert_eq!(
        v.set_mode(1024, 768).err(),
        Some(SynthvidError::ModeTooLarge {
            width: 1024,
            height: 768
        })
    );
    assert!(v.set_mode(640, 480).is_ok());
}
