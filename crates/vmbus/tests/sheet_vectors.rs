//! Byte-exact checks against the test vectors of facts sheet §9.
//!
//! Each vector is encoded from fields and compared with the sheet's bytes,
//! and the sheet's bytes are decoded and compared with the fields. Device
//! payloads of §9.5 / §9.6 (keyboard, storvsc, NVSP, RNDIS) are layouts of
//! the device crate; here they travel as opaque packet payloads, and the
//! VMBus layers around them (packet descriptor, GPA-direct header, pipe
//! header, ring trailer) are checked.

use vmbus::guid::{self, Guid};
use vmbus::message::{
    ChannelMessage, ContactTarget, GpadlMessages, InitiateContact, Offer, OpenChannel, OpenResult,
    Version, VersionResponse,
};
use vmbus::packet::{pipe, OutgoingPacket, Packet};
use vmbus::range::PageRange;
use vmbus::ring::{RingConsumer, RingProducer, RING_HEADER_SIZE};
use vmbus::synic;

/// Parses "0e 00 ..." lines; optional "0020:" offset labels are checked
/// against the running length, counted from the first label.
fn hex(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut base = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let rest = match line.split_once(':') {
            Some((offset, rest)) => {
                let offset = usize::from_str_radix(offset.trim(), 16).unwrap();
                let base = *base.get_or_insert(offset);
                assert_eq!(offset - base, out.len(), "offset label in vector");
                rest
            }
            None => line,
        };
        for byte in rest.split_whitespace() {
            out.push(u8::from_str_radix(byte, 16).unwrap());
        }
    }
    out
}

fn decode(bytes: &[u8]) -> ChannelMessage {
    ChannelMessage::decode(bytes).expect("sheet vector decodes")
}

const CONTACT_5_0: &str = "
    0000: 0e 00 00 00 00 00 00 00 00 00 05 00 00 00 00 00
    0010: 02 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00
    0020: 00 10 10 00 00 00 00 00";

fn contact_5_0() -> InitiateContact {
    InitiateContact {
        version: Version::V5_0,
        target_vcpu: 0,
        target: ContactTarget::Sint {
            msg_sint: 2,
            msg_vtl: 0,
            features: 0,
        },
        monitor_page1: 0x100000,
        monitor_page2: 0x101000,
        client_id: None,
    }
}

#[test]
fn v9_1_initiate_contact_5_0() {
    let want = hex(CONTACT_5_0);
    assert_eq!(want.len(), 40);
    let msg = ChannelMessage::InitiateContact(contact_5_0());
    assert_eq!(msg.encode().as_bytes(), &want[..]);
    assert_eq!(decode(&want), msg);
}

#[test]
fn v9_1_post_message_input_block() {
    let want = hex("
        0000: 04 00 00 00 00 00 00 00 01 00 00 00 28 00 00 00
        0010: 0e 00 00 00 00 00 00 00 00 00 05 00 00 00 00 00
        0020: 02 00 00 00 00 00 00 00 00 00 10 00 00 00 00 00
        0030: 00 10 10 00 00 00 00 00");
    let payload = ChannelMessage::InitiateContact(contact_5_0()).encode();
    let block =
        synic::post_message_input(4, synic::MESSAGE_TYPE_VMBUS, payload.as_bytes()).unwrap();
    assert_eq!(&block[..56], &want[..]);
    assert!(block[56..].iter().all(|&b| b == 0));
    assert_eq!(
        synic::hypercall_control(synic::HVCALL_POST_MESSAGE, false),
        0x5C
    );
}

#[test]
fn v9_1_version_responses() {
    let ok = hex("0f 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00");
    let want = VersionResponse {
        version_supported: 1,
        connection_state: 0,
        msg_conn_id: 1,
        features: None,
    };
    assert_eq!(decode(&ok), ChannelMessage::VersionResponse(want));
    assert_eq!(
        ChannelMessage::VersionResponse(want).encode().as_bytes(),
        &ok[..]
    );
    assert!(want.accepted());

    let refused = hex("0f 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    let ChannelMessage::VersionResponse(r) = decode(&refused) else {
        panic!("not a version response")
    };
    assert_eq!(
        (r.version_supported, r.connection_state, r.msg_conn_id),
        (0, 0, 0)
    );
    assert!(!r.accepted());
    assert_eq!(
        ChannelMessage::VersionResponse(r).encode().as_bytes(),
        &refused[..]
    );

    let one_page = hex("0f 00 00 00 00 00 00 00 01 02 00 00 01 00 00 00");
    let ChannelMessage::VersionResponse(r) = decode(&one_page) else {
        panic!("not a version response")
    };
    assert_eq!((r.version_supported, r.connection_state), (1, 2));
    assert!(
        !r.accepted(),
        "state 2 is a failure even with supported = 1"
    );
    assert_eq!(
        ChannelMessage::VersionResponse(r).encode().as_bytes(),
        &one_page[..]
    );
}

#[test]
fn v9_1_initiate_contact_6_0_msvm() {
    let want = hex("
        0000: 0e 00 00 00 00 00 00 00 00 00 06 00 00 00 00 00
        0010: 00 00 00 00 08 00 00 00 00 00 00 00 00 00 00 00
        0020: 00 00 00 00 00 00 00 00 64 39 dd 18 8a 3e 42 4e
        0030: 86 fa c8 e6 b1 91 ee 0e");
    assert_eq!(want.len(), 0x38);
    let msg = ChannelMessage::InitiateContact(InitiateContact {
        version: Version::V6_0,
        target_vcpu: 0,
        target: ContactTarget::Sint {
            msg_sint: 0,
            msg_vtl: 0,
            features: 0x08,
        },
        monitor_page1: 0,
        monitor_page2: 0,
        client_id: Some(guid::MSVM_CLIENT_ID),
    });
    assert_eq!(msg.encode().as_bytes(), &want[..]);
    assert_eq!(decode(&want), msg);

    let answer = hex("0f 00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 08 00 00 00");
    let r = VersionResponse {
        version_supported: 1,
        connection_state: 0,
        msg_conn_id: 1,
        features: Some(0x08),
    };
    assert_eq!(decode(&answer), ChannelMessage::VersionResponse(r));
    assert_eq!(
        ChannelMessage::VersionResponse(r).encode().as_bytes(),
        &answer[..]
    );
}

#[test]
fn v9_2_keyboard_offer() {
    let mut want = hex("
        0000: 01 00 00 00 00 00 00 00 6d ad 12 f9 17 2b ea 48
        0010: bd 65 f9 27 a6 1c 76 84 67 25 4b d3 b6 b9 b9 42
        0020: 87 78 0a 4e c0 b9 55 bf 00 00 00 00 00 00 00 00");
    want.resize(0xb0, 0); // 0030..00af: all 00
    want.extend(hex("
        00 00 00 00 00 00 00 00 08 00 00 00 ff 00 01 00
        08 20 00 00"));
    assert_eq!(want.len(), 196);
    let offer = Offer {
        if_type: guid::KEYBOARD,
        if_instance: Guid::parse("d34b2567-b9b6-42b9-8778-0a4ec0b955bf").unwrap(),
        chn_flags: 0,
        mmio_megabytes: 0,
        user_defined: [0; 120],
        sub_channel_index: 0,
        mmio_megabytes_optional: 0,
        child_relid: 8,
        monitor_id: 0xff,
        monitor_flags: 0,
        interrupt_flags: 1,
        connection_id: 0x2008,
    };
    assert_eq!(ChannelMessage::Offer(offer).encode().as_bytes(), &want[..]);
    let ChannelMessage::Offer(got) = decode(&want) else {
        panic!("not an offer")
    };
    assert_eq!(got, offer);
    assert_eq!(got.class(), vmbus::DeviceClass::Keyboard);
    assert!(got.is_dedicated_interrupt() && !got.monitor_allocated());
    assert_eq!(got.pipe_mode(), None);
}

#[test]
fn v9_3_gpadl_header_open_and_result() {
    let header = hex("
        0000: 08 00 00 00 00 00 00 00 08 00 00 00 10 1e 0e 00
        0010: 28 00 01 00 00 40 00 00 00 00 00 00 00 02 00 00
        0020: 00 00 00 00 01 02 00 00 00 00 00 00 02 02 00 00
        0030: 00 00 00 00 03 02 00 00 00 00 00 00");
    assert_eq!(header.len(), 60);
    let pfns = [0x200, 0x201, 0x202, 0x203];
    let range = PageRange::pages(&pfns).unwrap();
    let msgs: Vec<_> = GpadlMessages::new(8, 0xE1E10, range).unwrap().collect();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].as_bytes(), &header[..]);
    let ChannelMessage::GpadlHeader(h) = decode(&header) else {
        panic!("not a GPADL header")
    };
    assert_eq!(
        (h.relid, h.gpadl, h.range_buflen, h.rangecount),
        (8, 0xE1E10, 0x28, 1)
    );
    assert_eq!((h.byte_count, h.byte_offset), (0x4000, 0));
    assert_eq!(h.pfns.as_slice(), &pfns);

    let mut open = hex("
        0000: 05 00 00 00 00 00 00 00 08 00 00 00 08 00 00 00
        0010: 10 1e 0e 00 00 00 00 00 02 00 00 00");
    open.resize(148, 0);
    let msg = ChannelMessage::OpenChannel(OpenChannel {
        relid: 8,
        openid: 8,
        ring_gpadl: 0xE1E10,
        target_vp: 0,
        downstream_page_offset: 2,
        userdata: [0; 120],
    });
    assert_eq!(msg.encode().as_bytes(), &open[..]);
    assert_eq!(decode(&open), msg);

    let result = hex("06 00 00 00 00 00 00 00 08 00 00 00 08 00 00 00 00 00 00 00");
    let msg = ChannelMessage::OpenResult(OpenResult {
        relid: 8,
        openid: 8,
        status: 0,
    });
    assert_eq!(msg.encode().as_bytes(), &result[..]);
    assert_eq!(decode(&result), msg);
}

/// A ring of one header page and `data` bytes of data area.
fn ring_memory(data: usize) -> Vec<u8> {
    let mut mem = vec![0; RING_HEADER_SIZE + data];
    vmbus::ring::init_header(&mut mem).unwrap();
    mem
}

#[test]
fn v9_4_inband_packets_in_the_ring() {
    // Keyboard PROTOCOL_REQUEST v1.0 (§9.5), carried as an opaque payload.
    let request = hex("01 00 00 00 00 00 01 00");
    let first = hex("
        0000: 06 00 02 00 03 00 01 00 01 00 00 00 00 00 00 00
        0010: 01 00 00 00 00 00 01 00 00 00 00 00 00 00 00 00");
    let second = hex("
        0020: 06 00 02 00 03 00 01 00 02 00 00 00 00 00 00 00
        0030: 01 00 00 00 00 00 01 00 00 00 00 00 20 00 00 00");
    let mut producer = RingProducer::new(ring_memory(4096)).unwrap();
    let p1 = OutgoingPacket::inband(1, true, &request).unwrap();
    assert_eq!(p1.to_vec(), &first[..0x18]);
    assert!(p1.write_to(&mut producer).unwrap().signal);
    let p2 = OutgoingPacket::inband(2, true, &request).unwrap();
    // Not empty before the write: no signal for the second packet.
    assert!(!p2.write_to(&mut producer).unwrap().signal);
    let mem = producer.into_inner();
    let data = &mem[RING_HEADER_SIZE..];
    assert_eq!(&data[..0x20], &first[..]);
    assert_eq!(&data[0x20..0x40], &second[..]);
    assert_eq!(
        &mem[0..4],
        &[0x40, 0, 0, 0],
        "write_index after two packets"
    );

    let mut consumer = RingConsumer::new(mem).unwrap();
    let mut buf = [0; 64];
    for id in 1..=2 {
        let n = consumer.read(&mut buf).unwrap().unwrap();
        let Packet::InBand {
            trans_id,
            completion_requested,
            payload,
        } = Packet::parse(&buf[..n]).unwrap()
        else {
            panic!("not in-band")
        };
        assert_eq!(
            (trans_id, completion_requested, payload),
            (id, true, &request[..])
        );
    }
    assert_eq!(consumer.read(&mut buf).unwrap(), None);
}

#[test]
fn v9_6_pipe_headers() {
    // Mouse PROTOCOL_REQUEST: pipe header, then 12 synthhid bytes.
    let mouse = hex("01 00 00 00 0c 00 00 00 00 00 00 00 04 00 00 00 00 00 02 00");
    let framed = pipe::encode_data(&mouse[8..]).unwrap();
    assert_eq!(framed, mouse);
    let m = pipe::parse(&mouse).unwrap();
    assert_eq!((m.kind, m.data), (pipe::PipeType::Data, &mouse[8..]));

    // Synthvid VERSION_REQUEST 3.5, Linux sizing.
    let video = hex("01 00 00 00 0c 00 00 00 01 00 00 00 0c 00 00 00 03 00 05 00");
    assert_eq!(pipe::data_header(12).unwrap(), video[..8]);
    assert_eq!(pipe::parse(&video).unwrap().data, &video[8..]);
}

#[test]
fn v9_6_storvsc_read_as_gpa_direct_packet() {
    let want = hex("
        0000: 09 00 05 00 0d 00 01 00 10 00 00 00 00 00 00 00
        0010: 00 00 00 00 01 00 00 00 00 02 00 00 00 00 00 00
        0020: 00 03 00 00 00 00 00 00 03 00 00 00 01 00 00 00
        0030: 00 00 00 00 34 00 00 00 00 00 00 00 0a 14 01 00
        0040: 00 02 00 00 28 00 00 00 00 00 00 00 01 00 00 00
        0050: 00 00 00 00 00 00 00 00 00 00 00 00 48 00 00 00
        0060: 3c 00 00 00 00 00 00 00");
    assert_eq!(want.len(), 104);
    let vstor = &want[40..];
    let pfns = [0x300];
    let range = PageRange::new(0, 512, &pfns).unwrap();
    let packet = OutgoingPacket::gpa_direct(0x10, true, &[range], vstor).unwrap();
    assert_eq!(packet.to_vec(), want);

    let Packet::GpaDirect {
        trans_id,
        completion_requested,
        ranges,
        payload,
    } = Packet::parse(&want).unwrap()
    else {
        panic!("not GPA direct")
    };
    assert_eq!((trans_id, completion_requested), (0x10, true));
    assert_eq!(payload, vstor);
    let got: Vec<_> = ranges.iter().collect();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].byte_count, got[0].byte_offset), (512, 0));
    assert_eq!(got[0].pfns.iter().collect::<Vec<_>>(), [0x300]);

    // In a ring: 104 bytes + trailer, the trailer recording offset 0.
    let mut producer = RingProducer::new(ring_memory(4096)).unwrap();
    let _ = packet.write_to(&mut producer).unwrap();
    let mem = producer.into_inner();
    assert_eq!(&mem[RING_HEADER_SIZE..RING_HEADER_SIZE + 104], &want[..]);
    assert_eq!(
        &mem[RING_HEADER_SIZE + 104..RING_HEADER_SIZE + 112],
        &[0; 8]
    );
    assert_eq!(&mem[0..4], &112u32.to_le_bytes());
}

#[test]
fn v9_6_first_device_messages_as_inband_payloads() {
    // The remaining §9.6 messages: each must travel unchanged through an
    // in-band packet and the ring (their own layouts belong to the device
    // crate). Sizes pin the padding rule.
    let mut storvsc_begin = hex("07 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00");
    storvsc_begin.resize(64, 0);
    let mut nvsp_init = hex("01 00 00 00 00 00 05 00 00 00 05 00");
    nvsp_init.resize(40, 0);
    let vectors = [
        storvsc_begin,
        nvsp_init,
        hex("6c 00 00 00 01 00 00 00"),
        hex("02 00 00 00 18 00 00 00 01 00 00 00 01 00 00 00 00 00 00 00 00 40 00 00"),
        hex("04 00 00 00 1c 00 00 00 02 00 00 00 01 01 01 01 00 00 00 00 14 00 00 00 00 00 00 00"),
        hex("05 00 00 00 20 00 00 00 03 00 00 00 0e 01 01 00 04 00 00 00 14 00 00 00 00 00 00 00 0d 00 00 00"),
        hex("03 00 00 00 1e 00 00 00 02 00 00 00"),
    ];
    let mut producer = RingProducer::new(ring_memory(4096)).unwrap();
    for (i, v) in vectors.iter().enumerate() {
        let p = OutgoingPacket::inband(i as u64 + 1, true, v).unwrap();
        assert_eq!(p.len(), (16 + v.len()).next_multiple_of(8));
        let _ = p.write_to(&mut producer).unwrap();
    }
    let mut consumer = RingConsumer::new(producer.into_inner()).unwrap();
    let mut buf = [0; 128];
    for v in &vectors {
        let n = consumer.read(&mut buf).unwrap().unwrap();
        let payload = Packet::parse(&buf[..n]).unwrap().payload();
        assert_eq!(&payload[..v.len()], &v[..]);
        assert!(payload[v.len()..].iter().all(|&b| b == 0), "zero padding");
    }
}
