//! Byte-exact checks against the device vectors of the facts sheet §9
//! (9.4 ring packet, 9.5 keyboard, 9.6 device first messages), both ways.

mod common;

use common::hex;
use vmbus_devices::keyboard::{KeyboardMessage, Leds, INFO_BREAK, INFO_E0, VERSION_1_0};
use vmbus_devices::mouse::{MouseMessage, VERSION_2_0};
use vmbus_devices::netvsc::{NvspMessage, RndisMessage, NVSP_V5};
use vmbus_devices::storvsc::{
    Command, ScsiRequestBlock, VstorPacket, OP_BEGIN_INITIALIZATION, OP_EXECUTE_SRB,
};
use vmbus_devices::synthvid::{SynthvidMessage, VERSION_3_5};
use vmbus_devices::{GpaRange, Incoming, IncomingKind, Outgoing, OutgoingKind};

fn both_ways_kbd(msg: KeyboardMessage, bytes: &str) {
    let b = hex(bytes);
    assert_eq!(msg.encode(), b, "encode {msg:?}");
    assert_eq!(KeyboardMessage::decode(&b), Ok(msg), "decode {bytes}");
}

#[test]
fn v9_5_keyboard_messages() {
    both_ways_kbd(
        KeyboardMessage::ProtocolRequest {
            version: VERSION_1_0,
        },
        "01 00 00 00 00 00 01 00",
    );
    both_ways_kbd(
        KeyboardMessage::ProtocolResponse { status: 1 },
        "02 00 00 00 01 00 00 00",
    );
    both_ways_kbd(
        KeyboardMessage::Event {
            make_code: 0x1E,
            info: 0,
        },
        "03 00 00 00 1e 00 00 00 00 00 00 00",
    );
    both_ways_kbd(
        KeyboardMessage::Event {
            make_code: 0x1E,
            info: INFO_BREAK,
        },
        "03 00 00 00 1e 00 00 00 02 00 00 00",
    );
    both_ways_kbd(
        KeyboardMessage::Event {
            make_code: 0x1D,
            info: INFO_E0,
        },
        "03 00 00 00 1d 00 00 00 04 00 00 00",
    );
    both_ways_kbd(
        KeyboardMessage::SetLeds(Leds {
            caps: true,
            ..Leds::default()
        }),
        "04 00 00 00 04 00 00 00",
    );
}

#[test]
fn v9_4_ring_packets() {
    let req = KeyboardMessage::ProtocolRequest {
        version: VERSION_1_0,
    }
    .encode();
    let ring = hex("06 00 02 00 03 00 01 00 01 00 00 00 00 00 00 00
         01 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00
         06 00 02 00 03 00 01 00 02 00 00 00 00 00 00 00
         01 00 00 00 00 00 01 00 00 00 00 00 20 00 00 00");
    // Guest → host: the packet image without the trailer.
    let first = Outgoing::in_band(1, true, req.clone()).encode().unwrap();
    assert_eq!(first, ring[..0x18]);
    let second = Outgoing::in_band(2, true, req.clone()).encode().unwrap();
    assert_eq!(second, ring[0x20..0x38]);
    // Host side of the same bytes: parse, trailer ignored.
    for (at, id) in [(0, 1), (0x20, 2)] {
        let inc = Incoming::parse(&ring[at..at + 0x20]).unwrap();
        assert_eq!(inc.kind, IncomingKind::InBand);
        assert_eq!(inc.trans_id, id);
        assert!(inc.completion_requested);
        assert_eq!(inc.payload, &req[..]);
    }
}

#[test]
fn v9_6_mouse_protocol_request() {
    let b = hex("01 00 00 00 0c 00 00 00 00 00 00 00 04 00 00 00 00 00 02 00");
    let msg = MouseMessage::ProtocolRequest {
        version: VERSION_2_0,
    };
    assert_eq!(msg.encode().unwrap(), b);
    assert_eq!(MouseMessage::decode(&b).unwrap(), msg);
    // Older kernels appended three zero bytes; still the same message.
    let mut old = b.clone();
    old.extend_from_slice(&[0, 0, 0]);
    assert_eq!(MouseMessage::decode(&old).unwrap(), msg);
}

#[test]
fn v9_6_synthvid_version_request() {
    let b = hex("01 00 00 00 0c 00 00 00 01 00 00 00 0c 00 00 00 03 00 05 00");
    let msg = SynthvidMessage::VersionRequest {
        version: VERSION_3_5,
    };
    assert_eq!(msg.encode().unwrap(), b);
    assert_eq!(SynthvidMessage::decode(&b).unwrap(), msg);
}

fn vstor64(first16: &str) -> Vec<u8> {
    let mut b = hex(first16);
    b.resize(64, 0);
    b
}

#[test]
fn v9_6_storvsc_init_packets() {
    let begin = vstor64("07 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00");
    let p = VstorPacket::request(OP_BEGIN_INITIALIZATION);
    assert_eq!(p.encode(), begin);
    assert_eq!(VstorPacket::decode(&begin).unwrap(), p);
    let query = vstor64("09 00 00 00 01 00 00 00 00 00 00 00 02 06 00 00");
    let q = VstorPacket::query_version(0x0602);
    assert_eq!(q.encode(), query);
    let back = VstorPacket::decode(&query).unwrap();
    assert_eq!(back, q);
    assert_eq!(back.version(), 0x0602);
}

const READ10_PACKET: &str = "
    09 00 05 00 0d 00 01 00 10 00 00 00 00 00 00 00
    00 00 00 00 01 00 00 00 00 02 00 00 00 00 00 00
    00 03 00 00 00 00 00 00 03 00 00 00 01 00 00 00
    00 00 00 00 34 00 00 00 00 00 00 00 0a 14 01 00
    00 02 00 00 28 00 00 00 00 00 00 00 01 00 00 00
    00 00 00 00 00 00 00 00 00 00 00 00 48 00 00 00
    3c 00 00 00 00 00 00 00";

/// The READ(10) packet built from the crate's pieces, as the driver does.
pub fn read10_packet() -> Outgoing {
    let cmd = Command::Read10 { lba: 0, blocks: 1 };
    let (cdb, n) = cmd.cdb();
    let srb = ScsiRequestBlock::request((0, 0, 0, 0), &cdb[..n], cmd.direction(), 512);
    let mut vp = VstorPacket::request(OP_EXECUTE_SRB);
    vp.body.copy_from_slice(&srb.encode());
    Outgoing {
        kind: OutgoingKind::GpaDirect(GpaRange::contiguous(0x30_0000, 512).unwrap()),
        trans_id: 0x10,
        completion_requested: true,
        payload: vp.encode(),
    }
}

#[test]
fn v9_6_storvsc_read10_gpa_direct() {
    let want = hex(READ10_PACKET);
    assert_eq!(want.len(), 104);
    let out = read10_packet();
    assert_eq!(out.encode().unwrap(), want);
    // The other way: parse the image and read the request back.
    let inc = Incoming::parse(&want).unwrap();
    assert_eq!(inc.kind, IncomingKind::GpaDirect);
    assert_eq!(inc.trans_id, 0x10);
    let vp = VstorPacket::decode(inc.payload).unwrap();
    assert_eq!(vp.operation, OP_EXECUTE_SRB);
    let srb = ScsiRequestBlock::decode(&vp.body);
    assert_eq!(
        (srb.cdb_length, srb.data_in, srb.data_transfer_length),
        (10, 1, 512)
    );
    assert_eq!(
        &srb.cdb_or_sense[..10],
        &Command::Read10 { lba: 0, blocks: 1 }.cdb().0[..10]
    );
    assert_eq!((srb.srb_flags, srb.time_out), (0x48, 60));
}

#[test]
fn v9_6_nvsp_messages() {
    let mut init = hex("01 00 00 00 00 00 05 00 00 00 05 00");
    init.resize(40, 0);
    let m = NvspMessage::Init {
        min_version: NVSP_V5,
        max_version: NVSP_V5,
    };
    assert_eq!(m.encode(), init);
    assert_eq!(NvspMessage::decode(&init).unwrap(), m);
    let done = hex("6c 00 00 00 01 00 00 00");
    let d = NvspMessage::SendRndisPacketComplete { status: 1 };
    assert_eq!(d.encode(), done);
    assert_eq!(NvspMessage::decode(&done).unwrap(), d);
}

#[test]
fn v9_6_rndis_messages() {
    let cases = [
        (
            RndisMessage::Initialize {
                request_id: 1,
                major: 1,
                minor: 0,
                max_transfer_size: 0x4000,
            },
            "02 00 00 00 18 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 40 00 00",
        ),
        (
            RndisMessage::Query {
                request_id: 2,
                oid: 0x0101_0101,
                info: &[],
            },
            "04 00 00 00 1c 00 00 00 02 00 00 00 01 01 01 01 00 00 00 00 14 00 00 00 00 00 00 00",
        ),
        (
            RndisMessage::Set {
                request_id: 3,
                oid: 0x0001_010E,
                info: &[0x0d, 0, 0, 0],
            },
            "05 00 00 00 20 00 00 00 03 00 00 00 0e 01 01 00 04 00 00 00 14 00 00 00 00 00 00 00 0d 00 00 00",
        ),
    ];
    for (msg, bytes) in cases {
        let b = hex(bytes);
        assert_eq!(msg.encode(), b, "encode {msg:?}");
        assert_eq!(RndisMessage::decode(&b).unwrap(), msg, "decode {bytes}");
    }
}
