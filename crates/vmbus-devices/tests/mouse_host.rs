//! A scripted host takes the mouse driver through §6.2 the way OpenVMM's
//! mouse does (fixed 169-byte device-info body), then moves and clicks.

mod common;

use common::{comp_packet, hex, inband_packet, parse, Bytes};
use vmbus_devices::hid::{parse_mouse, HidError};
use vmbus_devices::mouse::{Mouse, MouseError, MouseEvent, MouseState};
use vmbus_devices::{Incoming, Output};

/// The 67-byte report descriptor OpenVMM's mouse sends (§6.2): 5 buttons,
/// 3 bits padding, 16-bit absolute X/Y 0..32767, 16-bit relative wheel.
pub const OPENVMM_DESCRIPTOR: [u8; 67] = [
    0x05, 0x01, 0x09, 0x02, 0xA1, 0x01, 0x09, 0x01, 0xA1, 0x00, // page GD, mouse, pointer
    0x05, 0x09, 0x19, 0x01, 0x29, 0x05, 0x15, 0x00, 0x25, 0x01, // buttons 1..5, 0..1
    0x95, 0x05, 0x75, 0x01, 0x81, 0x02, // 5 x 1 bit input
    0x95, 0x01, 0x75, 0x03, 0x81, 0x01, // 3 bits constant
    0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x15, 0x00, 0x26, 0xFF, 0x7F, // X, Y 0..32767
    0x75, 0x10, 0x95, 0x02, 0x81, 0x02, // 2 x 16 bit absolute
    0x05, 0x01, 0x09, 0x38, 0x16, 0x01, 0x80, 0x26, 0xFF, 0x7F, // wheel -32767..32767
    0x75, 0x10, 0x95, 0x01, 0x81, 0x06, // 1 x 16 bit relative
    0xC0, 0xC0,
];

fn pipe(body: &[u8]) -> Vec<u8> {
    Bytes::new().u32(1).u32(body.len() as u32).raw(body).done()
}

fn protocol_response(approved: u8) -> Vec<u8> {
    pipe(
        &Bytes::new()
            .u32(1)
            .u32(5)
            .u32(0x0002_0000)
            .u8(approved)
            .done(),
    )
}

/// OpenVMM's INITIAL_DEVICE_INFO: synthhid size 108 = 32 + 9 + 67, but a
/// 169-byte body with the descriptor zero-padded to 128 (pipe size 177).
fn device_info(descriptor: &[u8]) -> Vec<u8> {
    let mut report = descriptor.to_vec();
    report.resize(128, 0);
    let body = Bytes::new()
        .u32(2)
        .u32(108)
        .u32(32)
        .u16(0x045E)
        .u16(0x0621)
        .u16(0x0001)
        .zeros(22)
        .raw(&[0x09, 0x21, 0x01, 0x01, 0x00, 0x01, 0x22])
        .u16(descriptor.len() as u16)
        .raw(&report)
        .done();
    assert_eq!(body.len(), 177);
    pipe(&body)
}

fn input_report(buttons: u8, x: u16, y: u16, wheel: i16) -> Vec<u8> {
    pipe(
        &Bytes::new()
            .u32(4)
            .u32(7)
            .u8(buttons)
            .u16(x)
            .u16(y)
            .u16(wheel as u16)
            .done(),
    )
}

fn ready_mouse(descriptor: &[u8]) -> Mouse {
    let mut m = Mouse::new();
    let mut out = Output::new();
    m.start(&mut out).unwrap();
    assert_eq!(
        out.sends[0].payload,
        hex("01 00 00 00 0c 00 00 00 00 00 00 00 04 00 00 00 00 00 02 00")
    );
    assert!(out.sends[0].completion_requested);
    out.clear();
    m.handle(
        &parse(&inband_packet(1, false, &protocol_response(1))),
        &mut out,
    )
    .unwrap();
    assert!(out.is_empty());
    assert_eq!(m.state(), MouseState::AwaitingDeviceInfo);
    m.handle(
        &parse(&inband_packet(2, false, &device_info(descriptor))),
        &mut out,
    )
    .unwrap();
    // The ACK: pipe size 9, synthhid type 3 size 1, one zero byte.
    assert_eq!(out.sends.len(), 1);
    assert_eq!(
        out.sends[0].payload,
        hex("01 00 00 00 09 00 00 00 03 00 00 00 01 00 00 00 00")
    );
    let MouseEvent::Ready { attributes } = out.events[0] else {
        panic!("{:?}", out.events)
    };
    assert_eq!((attributes.vendor, attributes.product), (0x045E, 0x0621));
    assert_eq!(m.state(), MouseState::Ready);
    m
}

fn report(m: &mut Mouse, bytes: Vec<u8>) -> Result<Vec<MouseEvent>, MouseError> {
    let mut out = Output::new();
    m.handle(&parse(&inband_packet(0, false, &bytes)), &mut out)?;
    // Once active the guest sends nothing (OpenVMM stops on any message).
    assert!(out.sends.is_empty());
    Ok(out.events)
}

#[test]
fn init_move_and_click() {
    let mut m = ready_mouse(&OPENVMM_DESCRIPTOR);
    let l = m.layout().unwrap();
    assert_eq!(l.report_len, 7);
    assert_eq!(l.report_id, None);
    let ev = report(&mut m, input_report(0, 0x4000, 0x2000, 0)).unwrap();
    let [MouseEvent::Input(r)] = ev[..] else {
        panic!()
    };
    assert_eq!(
        (r.x, r.y, r.buttons, r.wheel, r.absolute),
        (0x4000, 0x2000, 0, 0, true)
    );
    let ev = report(&mut m, input_report(0x01, 0x7FFF, 0, 0)).unwrap();
    let [MouseEvent::Input(r)] = ev[..] else {
        panic!()
    };
    assert_eq!((r.x, r.y, r.buttons), (0x7FFF, 0, 1));
    let ev = report(&mut m, input_report(0x06, 10, 20, -1)).unwrap();
    let [MouseEvent::Input(r)] = ev[..] else {
        panic!()
    };
    assert_eq!((r.buttons, r.wheel), (0x06, -1));
}

#[test]
fn real_hyperv_descriptor_quirk() {
    // Real Hyper-V has Logical Maximum (0x25) where OpenVMM has Usage
    // Maximum (0x29) at byte 14 (§6.2): the button range stays open.
    let mut d = OPENVMM_DESCRIPTOR;
    assert_eq!(d[14], 0x29);
    d[14] = 0x25;
    let mut m = ready_mouse(&d);
    let ev = report(&mut m, input_report(0x1F, 1, 2, 0)).unwrap();
    let [MouseEvent::Input(r)] = ev[..] else {
        panic!()
    };
    assert_eq!(r.buttons, 0x1F);
}

#[test]
fn completions_only_for_sent_ids() {
    let mut m = Mouse::new();
    let mut out = Output::new();
    m.start(&mut out).unwrap();
    let id = out.sends[0].trans_id;
    assert_eq!(
        m.handle(&parse(&comp_packet(id + 7, &[])), &mut out),
        Err(MouseError::UnknownCompletion(id + 7))
    );
    m.handle(&parse(&comp_packet(id, &[])), &mut out).unwrap();
    assert!(m.handle(&parse(&comp_packet(id, &[])), &mut out).is_err());
}

#[test]
fn hostile_host() {
    let mut m = Mouse::new();
    let mut out = Output::new();
    m.start(&mut out).unwrap();
    // Input report before the handshake.
    assert!(matches!(
        m.handle(&Incoming::in_band(0, &input_report(0, 0, 0, 0)), &mut out),
        Err(MouseError::Unexpected { .. })
    ));
    // Pipe size beyond the packet; synthhid size beyond the pipe frame.
    let mut p = protocol_response(1);
    p[4] = 0xFF;
    assert!(matches!(
        m.handle(&Incoming::in_band(0, &p), &mut out),
        Err(MouseError::Wire(_))
    ));
    let mut p = protocol_response(1);
    p[12] = 50;
    assert!(matches!(
        m.handle(&Incoming::in_band(0, &p), &mut out),
        Err(MouseError::BadSize { .. })
    ));
    // A pipe type other than DATA.
    let mut p = protocol_response(1);
    p[0] = 2;
    assert!(m.handle(&Incoming::in_band(0, &p), &mut out).is_err());
    // Response for another version.
    let p = pipe(&Bytes::new().u32(1).u32(5).u32(0x0001_0000).u8(1).done());
    assert_eq!(
        m.handle(&Incoming::in_band(0, &p), &mut out),
        Err(MouseError::VersionMismatch(0x10000))
    );
    m.handle(&Incoming::in_band(0, &protocol_response(1)), &mut out)
        .unwrap();
    // Descriptor length beyond the message.
    let mut info = device_info(&OPENVMM_DESCRIPTOR);
    info[8 + 8 + 32 + 7] = 0xFF;
    assert!(m.handle(&Incoming::in_band(0, &info), &mut out).is_err());
    assert_eq!(m.state(), MouseState::AwaitingDeviceInfo);
    // bDescriptorType not 0x21.
    let mut info = device_info(&OPENVMM_DESCRIPTOR);
    info[8 + 8 + 32 + 1] = 0x22;
    assert_eq!(
        m.handle(&Incoming::in_band(0, &info), &mut out),
        Err(MouseError::BadHidDescriptor)
    );
    // A descriptor without X/Y is fatal: the device cannot be used.
    let info = device_info(&[0x05, 0x01, 0x09, 0x02, 0xA1, 0x01, 0xC0]);
    assert_eq!(
        m.handle(&Incoming::in_band(0, &info), &mut out),
        Err(MouseError::Hid(HidError::NoPointer))
    );
    assert_eq!(m.state(), MouseState::Failed);
}

#[test]
fn short_reports_refused_not_fatal() {
    let mut m = ready_mouse(&OPENVMM_DESCRIPTOR);
    let short = pipe(&Bytes::new().u32(4).u32(3).u8(1).u16(5).done());
    assert!(matches!(
        report(&mut m, short),
        Err(MouseError::BadReport(_))
    ));
    assert_eq!(m.state(), MouseState::Ready);
    // A second DEVICE_INFO once active is refused.
    assert!(report(&mut m, device_info(&OPENVMM_DESCRIPTOR)).is_err());
}

#[test]
fn rejection_is_fatal() {
    let mut m = Mouse::new();
    let mut out = Output::new();
    m.start(&mut out).unwrap();
    assert_eq!(
        m.handle(&Incoming::in_band(0, &protocol_response(0)), &mut out),
        Err(MouseError::Rejected)
    );
    assert_eq!(m.state(), MouseState::Failed);
}

#[test]
fn descriptor_parse_direct() {
    let l = parse_mouse(&OPENVMM_DESCRIPTOR).unwrap();
    assert_eq!(l.x.bits.offset, 8);
    assert_eq!(l.y.bits.offset, 24);
    assert_eq!(l.wheel.unwrap().bits.offset, 40);
    assert!(l.wheel.unwrap().signed && l.wheel.unwrap().relative);
    assert_eq!(l.buttons[4].unwrap().offset, 4);
    assert!(l.buttons[5].is_none());
}
