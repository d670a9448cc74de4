//! Mouse (SynthHID) and synthvid over pipe framing (§4.6, §6.2, §6.3, §9.6).

mod common;

use common::*;
use vmbus_host::device::mouse::{Mouse, MouseState, REPORT_DESCRIPTOR};
use vmbus_host::device::synthvid::{Rect, Synthvid, VideoState};
use vmbus_host::{ChannelFailure, DeviceError, HostConfig};

const MOUSE_GUID: [u8; 16] = [
    0x9e, 0xb6, 0xa8, 0xcf, 0x4a, 0x5b, 0xc0, 0x4c, 0xb9, 0x8b, 0x8b, 0xa1, 0xa1, 0xf3, 0xf9, 0x5a,
];
const VIDEO_GUID: [u8; 16] = [
    0x02, 0x78, 0x0a, 0xda, 0x77, 0xe3, 0xac, 0x4a, 0x8e, 0x77, 0x05, 0x58, 0xeb, 0x10, 0x73, 0xf8,
];

#[test]
fn mouse_handshake_device_info_and_reports() {
    let mut h = host(HostConfig::default());
    let m = h.add_device(Box::new(Mouse::new()));
    let offers = connect(&mut h);
    let o = find_offer(&offers, &MOUSE_GUID).to_vec();
    assert_eq!(le16(&o, 0x38), 0x0010, "named-pipe flag");
    assert_eq!(le32(&o, 0x3C), 4, "pipe_mode message");
    let mut c = open(&mut h, &o, 0x10_0000, 2, 0x33);
    // §9.6 mouse PROTOCOL_REQUEST with pipe header.
    c.send_inband(
        &mut h,
        &[
            1, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 2, 0,
        ],
        true,
    );
    h.run_until_idle(5);
    let p = c.recv(&mut h);
    assert_eq!(p.len(), 2, "no COMP: a response and the device info");
    let resp = &p[0].3[16..];
    assert_eq!(
        &resp[..21],
        &[1, 0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0, 0, 2, 0, 1]
    );
    let info = &p[1].3[16..];
    assert_eq!((le32(info, 0), le32(info, 4)), (1, 177));
    assert_eq!((le32(info, 8), le32(info, 12)), (2, 32 + 9 + 65));
    let attrs = &info[16..48];
    assert_eq!((le16(attrs, 4), le16(attrs, 6)), (0x045E, 0x0621));
    let hid = &info[48..57];
    assert_eq!((hid[0], hid[1], hid[6]), (9, 0x21, 0x22));
    let dlen = le16(hid, 7) as usize;
    assert_eq!(&info[48 + hid[0] as usize..][..dlen], &REPORT_DESCRIPTOR);
    assert!(!h.device_mut::<Mouse>(m).unwrap().move_to(1, 2, 0));
    // ACK, pipe size 9.
    c.send_inband(
        &mut h,
        &[1, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0],
        true,
    );
    h.run_until_idle(5);
    assert_eq!(h.device::<Mouse>(m).unwrap().state(), MouseState::Active);
    assert!(h.device_mut::<Mouse>(m).unwrap().move_to(0x4000, 0x7FFF, 1));
    h.run_until_idle(5);
    let r = c.recv_payloads(&mut h);
    assert_eq!(
        &r[0][..23],
        &[1, 0, 0, 0, 15, 0, 0, 0, 4, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0x40, 0xFF, 0x7F, 0, 0]
    );
    // Anything after the ACK stops the mouse.
    c.send_inband(
        &mut h,
        &[1, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0],
        false,
    );
    h.run_until_idle(5);
    assert_eq!(
        h.channel_failure(m),
        Some(ChannelFailure::Device(DeviceError::WrongState(3)))
    );
}

fn video_msg(ty: u32, body: &[u8]) -> Vec<u8> {
    // Linux sizing: both size words = 8 + body (§6.3).
    let mut v = Vec::new();
    push32(&mut v, 1);
    push32(&mut v, 8 + body.len() as u32);
    push32(&mut v, ty);
    push32(&mut v, 8 + body.len() as u32);
    v.extend_from_slice(body);
    v
}

#[test]
fn synthvid_negotiation_vram_and_pixels() {
    const VRAM: u64 = 0xF800_0000;
    let mut h = host(HostConfig::default());
    h.platform_mut().add_region(VRAM, 8 << 20);
    let v = h.add_device(Box::new(Synthvid::new()));
    let offers = connect(&mut h);
    let o = find_offer(&offers, &VIDEO_GUID).to_vec();
    assert_eq!(le16(&o, 0x3A), 8, "mmio_megabytes");
    let mut c = open(&mut h, &o, 0x10_0000, 4, 0x44);
    let req = video_msg(1, &[0x03, 0, 0x05, 0]);
    // §9.6 synthvid VERSION_REQUEST 3.5.
    assert_eq!(
        req,
        [1, 0, 0, 0, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0x0c, 0, 0, 0, 3, 0, 5, 0]
    );
    c.send_inband(&mut h, &req, false);
    h.run_until_idle(5);
    let r = c.recv_payloads(&mut h);
    assert_eq!(
        &r[0][..22],
        &[1, 0, 0, 0, 14, 0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 3, 0, 5, 0, 1, 1]
    );
    assert_eq!(h.device::<Synthvid>(v).unwrap().state(), VideoState::Ready);
    // RESOLUTION_REQUEST for 64.
    c.send_inband(&mut h, &video_msg(13, &[64]), false);
    h.run_until_idle(5);
    let r = c.recv_payloads(&mut h);
    let body = &r[0][16..];
    assert_eq!((body[128], body[129]), (2, 0));
    assert_eq!(
        (le16(body, 131), le16(body, 133), le16(body, 135)),
        (1024, 768, 1280)
    );
    // VRAM_LOCATION (user_ctx = gpa, flag 1), ACK echoes user_ctx.
    let mut vl = VRAM.to_le_bytes().to_vec();
    vl.push(1);
    vl.extend_from_slice(&VRAM.to_le_bytes());
    c.send_inband(&mut h, &video_msg(3, &vl), false);
    let mut su = 7u64.to_le_bytes().to_vec();
    su.extend_from_slice(&[1, 1, 0, 0, 0, 0, 32]);
    for x in [1024u32, 768, 4096] {
        su.extend_from_slice(&x.to_le_bytes());
    }
    assert_eq!(su.len(), 27, "§6.3: 27 bytes for one output");
    c.send_inband(&mut h, &video_msg(5, &su), false);
    h.run_until_idle(5);
    let r = c.recv_payloads(&mut h);
    assert_eq!(&r[0][8..16], &[4, 0, 0, 0, 8, 0, 0, 0]);
    assert_eq!(&r[0][16..24], &VRAM.to_le_bytes());
    assert_eq!(
        &r[1][8..24],
        &[6, 0, 0, 0, 8, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0]
    );
    // Draw two pixels at (10, 2) and read them back.
    write(
        &mut h,
        VRAM + 2 * 4096 + 40,
        &[0x11, 0x22, 0x33, 0, 0x44, 0x55, 0x66, 0],
    );
    let dev = h.device::<Synthvid>(v).unwrap();
    assert_eq!(
        dev.read_pixels(h.platform(), 10, 2, 2, 1),
        Some(vec![0x0033_2211, 0x0066_5544])
    );
    assert_eq!(dev.read_pixels(h.platform(), 1023, 0, 2, 1), None);
    // FEATURE_CHANGE asking for dirty rectangles.
    assert!(h
        .device_mut::<Synthvid>(v)
        .unwrap()
        .feature_change(true, false, false, false));
    h.run_until_idle(5);
    let r = c.recv_payloads(&mut h);
    assert_eq!(
        &r[0][..20],
        &[1, 0, 0, 0, 12, 0, 0, 0, 9, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0]
    );
    // DIRT with one rectangle.
    let mut d = vec![0, 1];
    for x in [0i32, 0, 16, 8] {
        d.extend_from_slice(&x.to_le_bytes());
    }
    c.send_inband(&mut h, &video_msg(10, &d), false);
    h.run_until_idle(5);
    assert_eq!(
        h.device_mut::<Synthvid>(v).unwrap().take_dirt(),
        [Rect {
            x1: 0,
            y1: 0,
            x2: 16,
            y2: 8
        }]
    );
    // A second VERSION_REQUEST stops the device.
    c.send_inband(&mut h, &req, false);
    h.run_until_idle(5);
    assert_eq!(
        h.channel_failure(v),
        Some(ChannelFailure::Device(DeviceError::WrongState(1)))
    );
}
