//! Size checks, round trips and GPADL splitting.

use super::*;
use crate::range::PageRange;
use alloc::vec::Vec;

fn header(msgtype: u32, len: usize) -> Vec<u8> {
    let mut v = alloc::vec![0u8; len];
    v[..4].copy_from_slice(&msgtype.to_le_bytes());
    v
}

#[test]
fn rejects_lengths_types_and_sizes() {
    assert_eq!(ChannelMessage::decode(&[]), Err(MessageError::Length(0)));
    assert_eq!(
        ChannelMessage::decode(&[1; 7]),
        Err(MessageError::Length(7))
    );
    assert_eq!(
        ChannelMessage::decode(&header(1, 241)),
        Err(MessageError::Length(241))
    );
    assert_eq!(
        ChannelMessage::decode(&header(30, 8)),
        Err(MessageError::UnknownType(30))
    );
    assert_eq!(
        ChannelMessage::decode(&header(0, 8)),
        Err(MessageError::Unsupported(MessageType::Invalid))
    );
    assert_eq!(
        ChannelMessage::decode(&header(22, 16)),
        Err(MessageError::Unsupported(MessageType::ModifyChannel))
    );
    // Each fixed-size type refuses one byte more and one byte less.
    let sizes: [(u32, usize); 13] = [
        (1, 196),
        (2, 12),
        (3, 8),
        (4, 8),
        (5, 148),
        (6, 20),
        (7, 12),
        (10, 20),
        (11, 16),
        (12, 12),
        (13, 12),
        (16, 8),
        (17, 8),
    ];
    for (t, size) in sizes {
        assert!(ChannelMessage::decode(&header(t, size)).is_ok(), "type {t}");
        for bad in [size - 1, size + 1] {
            if bad < HEADER_SIZE {
                continue;
            }
            let msgtype = MessageType::from_u32(t).unwrap();
            assert_eq!(
                ChannelMessage::decode(&header(t, bad)),
                Err(MessageError::Size { msgtype, len: bad }),
                "type {t} len {bad}"
            );
        }
    }
    for bad in [39, 41, 48, 55, 57] {
        assert!(ChannelMessage::decode(&header(14, bad)).is_err());
    }
    for bad in [15, 17, 19, 21, 40] {
        assert!(ChannelMessage::decode(&header(15, bad)).is_err());
    }
}

#[test]
fn simple_messages_round_trip() {
    let msgs = [
        ChannelMessage::Rescind { relid: 9 },
        ChannelMessage::RequestOffers,
        ChannelMessage::AllOffersDelivered,
        ChannelMessage::CloseChannel { relid: 3 },
        ChannelMessage::GpadlCreated(GpadlCreated {
            relid: 3,
            gpadl: 0xE1E11,
            status: 0x8000_FFFF,
        }),
        ChannelMessage::GpadlTeardown {
            relid: 3,
            gpadl: 0xE1E11,
        },
        ChannelMessage::GpadlTorndown { gpadl: 0xE1E11 },
        ChannelMessage::RelidReleased { relid: 3 },
        ChannelMessage::Unload,
        ChannelMessage::UnloadResponse,
    ];
    for m in msgs {
        let raw = m.encode();
        assert_eq!(raw.message_type(), Some(m.message_type()));
        assert_eq!(ChannelMessage::decode(raw.as_bytes()), Ok(m));
    }
    assert_eq!(
        ChannelMessage::GpadlTorndown { gpadl: 0x1234 }
            .encode()
            .as_bytes(),
        &[12, 0, 0, 0, 0, 0, 0, 0, 0x34, 0x12, 0, 0]
    );
    assert_eq!(
        ChannelMessage::Unload.encode().as_bytes(),
        &[16, 0, 0, 0, 0, 0, 0, 0]
    );
}

#[test]
fn old_contact_carries_interrupt_page() {
    let c = InitiateContact {
        version: Version::WIN8_1,
        target_vcpu: 3,
        target: ContactTarget::InterruptPage(0x1234_5000),
        monitor_page1: 0,
        monitor_page2: 0,
        client_id: None,
    };
    let raw = ChannelMessage::InitiateContact(c).encode();
    assert_eq!(&raw.as_bytes()[0x10..0x18], &0x1234_5000u64.to_le_bytes());
    assert_eq!(
        ChannelMessage::decode(raw.as_bytes()),
        Ok(ChannelMessage::InitiateContact(c))
    );
}

#[test]
fn versions() {
    assert_eq!(alloc::format!("{}", Version::V5_3), "5.3");
    assert_eq!(alloc::format!("{}", Version::WIN8), "2.4");
    assert!(NEGOTIATION_ORDER.windows(2).all(|w| w[0] > w[1]));
    assert_eq!(NEGOTIATION_ORDER[0], Version::V6_0);
    assert!(Version::V5_0.has_msg_sint() && !Version::WIN10_RS3.has_msg_sint());
}

fn pfns(n: u64) -> Vec<u64> {
    (0..n).map(|i| 0x1000 + i).collect()
}

#[test]
fn gpadl_splits_at_26_then_28() {
    for (n, count) in [(1, 1), (26, 1), (27, 2), (54, 2), (55, 3), (4096, 147)] {
        let list = pfns(n);
        let range = PageRange::pages(&list).unwrap();
        let split = GpadlMessages::new(5, 77, range).unwrap();
        assert_eq!(split.message_count(), count, "{n} pfns");
        let msgs: Vec<RawMessage> = split.collect();
        assert_eq!(msgs.len(), count);
        // Reassemble the PFNs from the decoded messages.
        let mut got = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            assert!(m.len() <= crate::synic::MAX_PAYLOAD);
            match ChannelMessage::decode(m.as_bytes()).unwrap() {
                ChannelMessage::GpadlHeader(h) => {
                    assert_eq!(i, 0);
                    assert_eq!((h.relid, h.gpadl), (5, 77));
                    assert_eq!(usize::from(h.range_buflen), 8 + 8 * n as usize);
                    assert_eq!(h.total_pfns(), n as usize);
                    got.extend_from_slice(h.pfns.as_slice());
                }
                ChannelMessage::GpadlBody(b) => {
                    assert!(i > 0);
                    assert_eq!(b.gpadl, 77);
                    got.extend_from_slice(b.pfns.as_slice());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, list);
    }
    // Full messages are exactly 236 and 240 bytes.
    let list = pfns(54);
    let msgs: Vec<_> = GpadlMessages::new(1, 2, PageRange::pages(&list).unwrap())
        .unwrap()
        .collect();
    assert_eq!((msgs[0].len(), msgs[1].len()), (236, 240));
}

#[test]
fn gpadl_limits() {
    let list = pfns(GPADL_MAX_PFNS as u64 + 1);
    let range = PageRange::pages(&list).unwrap();
    assert_eq!(
        GpadlMessages::new(1, 2, range).err(),
        Some(MessageError::TooManyPfns(GPADL_MAX_PFNS + 1))
    );
    let list = pfns(GPADL_MAX_PFNS as u64);
    let range = PageRange::pages(&list).unwrap();
    assert!(GpadlMessages::new(1, 2, range).is_ok());
}

#[test]
fn gpadl_header_decode_checks_consistency() {
    let list = pfns(3);
    let good: Vec<u8> = GpadlMessages::new(1, 2, PageRange::pages(&list).unwrap())
        .unwrap()
        .next()
        .unwrap()
        .as_bytes()
        .into();
    assert!(ChannelMessage::decode(&good).is_ok());
    let patch = |at: usize, value: &[u8]| {
        let mut b = good.clone();
        b[at..at + value.len()].copy_from_slice(value);
        ChannelMessage::decode(&b)
    };
    assert_eq!(patch(0x12, &[2, 0]), Err(MessageError::GpadlRange)); // rangecount
    assert_eq!(patch(0x10, &[0x30, 0]), Err(MessageError::GpadlRange)); // buflen
    assert_eq!(patch(0x14, &[0, 0x40, 0, 0]), Err(MessageError::GpadlRange)); // 4 pages
    assert_eq!(patch(0x14, &[0, 0, 0, 0]), Err(MessageError::GpadlRange)); // empty
    assert_eq!(patch(0x18, &[0, 0x10, 0, 0]), Err(MessageError::GpadlRange)); // offset 4096
                                                                              // A header holding fewer PFNs than fit, with more still to come.
    let list = pfns(30);
    let mut big: Vec<u8> = GpadlMessages::new(1, 2, PageRange::pages(&list).unwrap())
        .unwrap()
        .next()
        .unwrap()
        .as_bytes()
        .into();
    big.truncate(big.len() - 8);
    assert_eq!(ChannelMessage::decode(&big), Err(MessageError::GpadlRange));
    // Unaligned tails and empty bodies.
    assert!(ChannelMessage::decode(&header(8, 27)).is_err());
    assert!(ChannelMessage::decode(&header(8, 33)).is_err());
    assert!(ChannelMessage::decode(&header(9, 16)).is_err());
    assert!(ChannelMessage::decode(&header(9, 20)).is_err());
    assert!(ChannelMessage::decode(&header(9, 24)).is_ok());
}

#[test]
fn gpadl_with_byte_offset() {
    let list = [7, 8];
    let range = PageRange::new(0x800, 4096, &list).unwrap();
    let m = GpadlMessages::new(1, 2, range).unwrap().next().unwrap();
    let ChannelMessage::GpadlHeader(h) = ChannelMessage::decode(m.as_bytes()).unwrap() else {
        panic!("not a header");
    };
    assert_eq!(
        (h.byte_offset, h.byte_count, h.total_pfns()),
        (0x800, 4096, 2)
    );
}
