//! The host's encode and decode of the facts sheet's §9 byte vectors.

use vmbus_host::guid::{Guid, KEYBOARD_CLASS, KEYBOARD_INSTANCE};
use vmbus_host::packet::{self, InKind};
use vmbus_host::vmbus::msg::{self, GuestMessage, InitiateContact, OfferFields};

/// §9.1 INITIATE_CONTACT 5.0 payload.
const CONTACT_50: [u8; 40] = [
    0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0, 0, 0, 0, 0, //
    0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, //
    0, 0x10, 0x10, 0, 0, 0, 0, 0,
];

/// §9.1 INITIATE_CONTACT 6.0, Hyper-V's UEFI.
const CONTACT_60: [u8; 56] = [
    0x0e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0, 0, 0, 0, 0x64, 0x39, 0xdd, 0x18, 0x8a, 0x3e, 0x42, 0x4e, //
    0x86, 0xfa, 0xc8, 0xe6, 0xb1, 0x91, 0xee, 0x0e,
];

#[test]
fn decode_initiate_contact_50_and_60() {
    let GuestMessage::InitiateContact(c) = msg::decode(&CONTACT_50).unwrap() else {
        panic!("not a contact");
    };
    assert_eq!(
        c,
        InitiateContact {
            version: 0x0005_0000,
            target_vcpu: 0,
            interrupt_page: 2,
            msg_sint: 2,
            msg_vtl: 0,
            features: 0,
            monitor_page1: 0x10_0000,
            monitor_page2: 0x10_1000,
            client_id: None,
        }
    );
    let GuestMessage::InitiateContact(c) = msg::decode(&CONTACT_60).unwrap() else {
        panic!("not a contact");
    };
    assert_eq!((c.version, c.msg_sint, c.features), (0x0006_0000, 0, 8));
    assert_eq!(
        c.client_id,
        Some(Guid::from_text("18dd3964-3e8a-4e42-86fa-c8e6b191ee0e"))
    );
    assert!(msg::decode(&CONTACT_50[..39]).is_err());
}

#[test]
fn version_responses_16_and_20_bytes() {
    assert_eq!(
        msg::version_response(true, 0, 1, None),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    );
    assert_eq!(
        msg::version_response(false, 0, 0, None),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        msg::version_response(true, 2, 1, None),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 1, 0, 0, 0]
    );
    assert_eq!(
        msg::version_response(true, 0, 1, Some(0x08 & 0x2F)),
        [0x0f, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0]
    );
}

#[test]
fn encode_keyboard_offer_of_9_2() {
    let o = msg::offer(&OfferFields {
        class: KEYBOARD_CLASS,
        instance: KEYBOARD_INSTANCE,
        flags: 0,
        mmio_megabytes: 0,
        user_defined: [0; 120],
        sub_channel_index: 0,
        relid: 8,
        monitor_id: 0xFF,
        monitor_allocated: false,
        dedicated_interrupt: true,
        connection_id: 0x2008,
    });
    let mut want = vec![0u8; 196];
    want[..0x30].copy_from_slice(&[
        0x01, 0, 0, 0, 0, 0, 0, 0, 0x6d, 0xad, 0x12, 0xf9, 0x17, 0x2b, 0xea, 0x48, //
        0xbd, 0x65, 0xf9, 0x27, 0xa6, 0x1c, 0x76, 0x84, 0x67, 0x25, 0x4b, 0xd3, 0xb6, 0xb9, 0xb9,
        0x42, //
        0x87, 0x78, 0x0a, 0x4e, 0xc0, 0xb9, 0x55, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    want[0xb0..].copy_from_slice(&[
        0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0xff, 0, 0x01, 0, //
        0x08, 0x20, 0, 0,
    ]);
    assert_eq!(o, want);
}

#[test]
fn parse_gpadl_header_and_openchannel_of_9_3() {
    let hdr: [u8; 60] = [
        0x08, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0x10, 0x1e, 0x0e, 0, //
        0x28, 0, 0x01, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, //
        0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0, 0, 0x02, 0x02, 0, 0, //
        0, 0, 0, 0, 0x03, 0x02, 0, 0, 0, 0, 0, 0,
    ];
    let GuestMessage::GpadlHeader {
        relid,
        gpadl,
        range_buflen,
        rangecount,
        ranges,
    } = msg::decode(&hdr).unwrap()
    else {
        panic!("not a header");
    };
    assert_eq!(
        (relid, gpadl, range_buflen, rangecount),
        (8, 0xE1E10, 0x28, 1)
    );
    assert_eq!(ranges.len(), 40);
    let mut open = [0u8; 148];
    open[..28].copy_from_slice(&[
        0x05, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0x08, 0, 0, 0, //
        0x10, 0x1e, 0x0e, 0, 0, 0, 0, 0, 0x02, 0, 0, 0,
    ]);
    let GuestMessage::OpenChannel(o) = msg::decode(&open).unwrap() else {
        panic!("not an open");
    };
    assert_eq!(
        (
            o.relid,
            o.openid,
            o.ring_gpadl,
            o.target_vp,
            o.downstream_offset
        ),
        (8, 8, 0xE1E10, 0, 2)
    );
    assert_eq!(o.guest_signal, None);
    assert!(msg::decode(&open[..147]).is_err());
    assert_eq!(
        msg::open_result(8, 8, 0),
        [0x06, 0, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn parse_ring_packet_of_9_4() {
    let p: [u8; 24] = [
        0x06, 0, 0x02, 0, 0x03, 0, 0x01, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, //
        0x01, 0, 0, 0, 0, 0, 0x01, 0,
    ];
    let pkt = packet::parse(&p).unwrap();
    assert_eq!(pkt.kind, InKind::Inband);
    assert!(pkt.completion_requested);
    assert_eq!(pkt.trans_id, 1);
    assert_eq!(pkt.payload, [1, 0, 0, 0, 0, 0, 1, 0]);
}
