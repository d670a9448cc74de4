//! Packet encode/parse round trips and refusals.

use super::*;
use crate::range::PageRange;
use alloc::vec::Vec;

fn descriptor(ty: u16, offset8: u16, len8: u16, flags: u16) -> Vec<u8> {
    let d = Descriptor {
        packet_type: ty,
        offset8,
        len8,
        flags,
        trans_id: 7,
    };
    let mut v = d.encode().to_vec();
    v.resize(len8 as usize * 8, 0);
    v
}

#[test]
fn inband_and_completion_round_trip() {
    let p = OutgoingPacket::inband(5, false, &[1, 2, 3]).unwrap();
    assert_eq!(p.len(), 24);
    let bytes = p.to_vec();
    assert_eq!(
        Packet::parse(&bytes),
        Ok(Packet::InBand {
            trans_id: 5,
            completion_requested: false,
            payload: &[1, 2, 3, 0, 0, 0, 0, 0],
        })
    );
    let c = OutgoingPacket::completion(5, &[9; 8]).unwrap().to_vec();
    assert_eq!(&c[..8], &[0x0b, 0, 2, 0, 3, 0, 0, 0]);
    let parsed = Packet::parse(&c).unwrap();
    assert_eq!(parsed.trans_id(), 5);
    assert_eq!(parsed.payload(), &[9; 8]);
    // An empty payload is legal: descriptor only.
    let e = OutgoingPacket::completion(1, &[]).unwrap();
    assert_eq!(e.len(), 16);
}

#[test]
fn zero_trans_id_with_completion_is_refused() {
    assert_eq!(
        OutgoingPacket::inband(0, true, &[0; 8]),
        Err(PacketError::ZeroTransactionId)
    );
    assert!(OutgoingPacket::inband(0, false, &[0; 8]).is_ok());
    let pfn = [1];
    let r = PageRange::pages(&pfn).unwrap();
    assert_eq!(
        OutgoingPacket::gpa_direct(0, true, &[r], &[]),
        Err(PacketError::ZeroTransactionId)
    );
}

#[test]
fn too_large_packets() {
    let big = alloc::vec![0u8; MAX_PACKET_LEN];
    assert!(matches!(
        OutgoingPacket::inband(1, false, &big),
        Err(PacketError::TooLarge(_))
    ));
    let ok = alloc::vec![0u8; MAX_PACKET_LEN - DESCRIPTOR_SIZE];
    assert!(OutgoingPacket::inband(1, false, &ok).is_ok());
}

#[test]
fn parse_refuses_bad_descriptors() {
    assert!(matches!(
        Packet::parse(&[0; 15]),
        Err(PacketError::Truncated { .. })
    ));
    assert_eq!(
        Packet::parse(&descriptor(6, 1, 2, 0)),
        Err(PacketError::Offsets {
            offset8: 1,
            len8: 2
        })
    );
    assert_eq!(
        Packet::parse(&descriptor(6, 3, 2, 0)[..16]),
        Err(PacketError::Offsets {
            offset8: 3,
            len8: 2
        })
    );
    let short = descriptor(6, 2, 4, 0);
    assert_eq!(
        Packet::parse(&short[..24]),
        Err(PacketError::Truncated {
            needed: 32,
            got: 24
        })
    );
    assert_eq!(
        Packet::parse(&descriptor(6, 2, 2, 2)),
        Err(PacketError::Flags(2))
    );
    assert_eq!(
        Packet::parse(&descriptor(0xE, 2, 2, 0)),
        Err(PacketError::UnknownType(0xE))
    );
    assert_eq!(
        Packet::parse(&descriptor(1, 2, 2, 0)),
        Err(PacketError::UnsupportedType(PacketType::Synch))
    );
}

#[test]
fn gpa_direct_ranges_are_validated() {
    let pfns = [0x10, 0x11];
    let r1 = PageRange::new(0x100, 4096, &pfns).unwrap();
    let one = [0x20];
    let r2 = PageRange::new(0, 8, &one).unwrap();
    let bytes = OutgoingPacket::gpa_direct(3, true, &[r1, r2], &[0xAA; 8])
        .unwrap()
        .to_vec();
    let Packet::GpaDirect {
        ranges, payload, ..
    } = Packet::parse(&bytes).unwrap()
    else {
        panic!("not GPA direct");
    };
    assert_eq!(payload, &[0xAA; 8]);
    let got: Vec<_> = ranges.iter().collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].pfns.iter().collect::<Vec<_>>(), [0x10, 0x11]);
    assert_eq!((got[1].byte_count, got[1].pfns.len()), (8, 1));

    // range_count claiming more ranges than the header holds.
    let mut bad = bytes.clone();
    bad[0x14] = 9;
    assert_eq!(Packet::parse(&bad), Err(PacketError::Ranges));
    // range_count 0.
    let mut bad = bytes.clone();
    bad[0x14] = 0;
    assert_eq!(Packet::parse(&bad), Err(PacketError::Ranges));
    // A byte count that needs more PFNs than are there.
    let mut bad = bytes.clone();
    bad[0x18..0x1C].copy_from_slice(&0x10_0000u32.to_le_bytes());
    assert_eq!(Packet::parse(&bad), Err(PacketError::Ranges));
    // The last range needs one PFN more than the header holds.
    let mut bad = bytes.clone();
    bad[0x30..0x34].copy_from_slice(&4097u32.to_le_bytes());
    assert_eq!(Packet::parse(&bad), Err(PacketError::Ranges));
    // Offset past the first page.
    let mut bad = bytes;
    bad[0x1C..0x20].copy_from_slice(&4096u32.to_le_bytes());
    assert_eq!(Packet::parse(&bad), Err(PacketError::Ranges));
    assert_eq!(
        OutgoingPacket::gpa_direct(1, true, &[], &[]),
        Err(PacketError::Ranges)
    );
}

#[test]
fn transfer_pages_packet() {
    // Type 7: pageset 0xCAFE, two ranges, then an 8-byte payload.
    let mut b = descriptor(7, 5, 6, 1);
    b[16..18].copy_from_slice(&0xCAFEu16.to_le_bytes());
    b[20..24].copy_from_slice(&2u32.to_le_bytes());
    b[24..28].copy_from_slice(&100u32.to_le_bytes());
    b[28..32].copy_from_slice(&0u32.to_le_bytes());
    b[32..36].copy_from_slice(&200u32.to_le_bytes());
    b[36..40].copy_from_slice(&4096u32.to_le_bytes());
    let Packet::TransferPages {
        pageset_id,
        ranges,
        completion_requested,
        ..
    } = Packet::parse(&b).unwrap()
    else {
        panic!("not transfer pages");
    };
    assert_eq!((pageset_id, completion_requested), (0xCAFE, true));
    let got: Vec<_> = ranges.iter().collect();
    assert_eq!(
        got,
        [
            TransferRange {
                byte_count: 100,
                byte_offset: 0
            },
            TransferRange {
                byte_count: 200,
                byte_offset: 4096
            }
        ]
    );
    b[20] = 3; // three ranges do not fit in offset8 5
    assert_eq!(Packet::parse(&b), Err(PacketError::Ranges));
    let b = descriptor(7, 2, 2, 0); // no extra header at all
    assert_eq!(Packet::parse(&b), Err(PacketError::Ranges));
}
