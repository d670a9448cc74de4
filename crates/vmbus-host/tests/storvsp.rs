//! storvsp with a RAM disk, driven by hand-written vstor packets (§6.4, §9.6).

mod common;

use common::*;
use vmbus_host::device::storvsp::{StorState, Storvsp};
use vmbus_host::{ChannelFailure, DeviceError, DeviceId, HostConfig, Note};

const SCSI_GUID: [u8; 16] = [
    0xd9, 0x63, 0x61, 0xba, 0xa1, 0x04, 0x29, 0x4d, 0xb6, 0x05, 0x72, 0xe2, 0xff, 0xb1, 0xdc, 0x7f,
];
const DATA: u64 = 0x30_0000;

/// A 64-byte vstor_packet: operation, flags = 1, then `union` at 0x0C.
fn vstor(operation: u32, union: &[u8]) -> Vec<u8> {
    let mut p = vec![0u8; 64];
    p[0..4].copy_from_slice(&operation.to_le_bytes());
    p[4] = 1;
    p[12..12 + union.len()].copy_from_slice(union);
    p
}

fn storvsp_up(sectors: u64) -> (TestHost, DeviceId, Chan) {
    let mut h = host(HostConfig::default());
    let d = h.add_device(Box::new(Storvsp::new(sectors)));
    let offers = connect(&mut h);
    let offer = find_offer(&offers, &SCSI_GUID).to_vec();
    let mut c = open(&mut h, &offer, 0x10_0000, 4, 0xE1E10);
    // §9.6 BEGIN_INITIALIZATION, then QUERY_PROTOCOL_VERSION 6.2.
    let steps: [(Vec<u8>, u32); 4] = [
        (vstor(7, &[]), 0),
        (vstor(9, &[0x02, 0x06, 0, 0]), 0),
        (vstor(10, &[]), 0),
        (vstor(8, &[]), 0),
    ];
    assert_eq!(
        &steps[0].0[..16],
        &[7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        &steps[1].0[..16],
        &[9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 6, 0, 0]
    );
    for (req, status) in steps {
        let id = c.send_inband(&mut h, &req, true);
        h.run_until_idle(5);
        let got = c.recv(&mut h);
        assert_eq!(got.len(), 1);
        let (ty, _, tid, pkt) = &got[0];
        assert_eq!((*ty, *tid), (11, id));
        let payload = &pkt[16..];
        assert_eq!(payload.len(), 64, "sized like the request");
        assert_eq!(le32(payload, 0), 1, "COMPLETE_IO");
        assert_eq!(le32(payload, 8), status);
    }
    assert_eq!(h.device::<Storvsp>(d).unwrap().state(), StorState::Ready);
    (h, d, c)
}

/// §9.6: READ(10) of LBA 0, 512 bytes into GPA 0x300000, trans_id 0x10.
const READ10_VECTOR: [u8; 104] = [
    0x09, 0, 0x05, 0, 0x0d, 0, 0x01, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, //
    0, 0x03, 0, 0, 0, 0, 0, 0, 0x03, 0, 0, 0, 0x01, 0, 0, 0, //
    0, 0, 0, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x14, 0x01, 0, //
    0, 0x02, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, //
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0, 0, 0, //
    0x3c, 0, 0, 0, 0, 0, 0, 0,
];

/// A GPA-direct EXECUTE_SRB like §9.6 with any CDB and buffer.
fn srb(id: u64, cdb: &[u8], data_in: u8, len: u32, gpa: u64) -> Vec<u8> {
    let pages = ((gpa & 0xFFF) + u64::from(len)).div_ceil(4096).max(1);
    let offset8 = (24 + 8 + 8 * pages) / 8;
    let mut p = Vec::new();
    push16(&mut p, 9);
    push16(&mut p, offset8 as u16);
    push16(&mut p, (offset8 + 8) as u16);
    push16(&mut p, 1);
    push64(&mut p, id);
    push32(&mut p, 0);
    push32(&mut p, 1);
    push32(&mut p, len);
    push32(&mut p, (gpa & 0xFFF) as u32);
    for i in 0..pages {
        push64(&mut p, (gpa >> 12) + i);
    }
    let mut v = vec![0u8; 64];
    v[0] = 3;
    v[4] = 1;
    v[12] = 0x34;
    v[12 + 8] = cdb.len() as u8;
    v[12 + 9] = 0x14;
    v[12 + 10] = data_in;
    v[12 + 12..12 + 16].copy_from_slice(&len.to_le_bytes());
    v[12 + 16..12 + 16 + cdb.len()].copy_from_slice(cdb);
    let flags: u32 = if data_in == 1 { 0x48 } else { 0x88 };
    v[12 + 0x28..12 + 0x2C].copy_from_slice(&flags.to_le_bytes());
    v[12 + 0x2C] = 60;
    p.extend_from_slice(&v);
    p
}

fn reply(h: &mut TestHost, c: &Chan) -> Vec<u8> {
    h.run_until_idle(5);
    let got = c.recv(h);
    assert_eq!(got.len(), 1);
    got[0].3[16..].to_vec()
}

#[test]
fn read10_vector_reads_sector_0() {
    let (mut h, d, c) = storvsp_up(64);
    h.device_mut::<Storvsp>(d).unwrap().disk_mut()[..512].fill(0xA5);
    // Our builder matches the sheet's vector byte for byte.
    assert_eq!(
        srb(0x10, &[0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0], 1, 512, DATA),
        READ10_VECTOR
    );
    assert!(c.send_raw(&mut h, &READ10_VECTOR));
    let r = reply(&mut h, &c);
    assert_eq!((r[12 + 2], r[12 + 3]), (0x01, 0));
    assert_eq!(le32(&r, 12 + 12), 512);
    assert_eq!(read(&h, DATA, 512), vec![0xA5; 512]);
}

#[test]
fn write16_then_read10_round_trip_across_pages() {
    let (mut h, d, c) = storvsp_up(64);
    let pattern: Vec<u8> = (0..1024u32).map(|i| (i * 7) as u8).collect();
    let gpa = DATA + 0xE00; // crosses a page boundary
    write(&mut h, gpa, &pattern);
    let mut w16 = vec![0x8A, 0];
    w16.extend_from_slice(&5u64.to_be_bytes());
    w16.extend_from_slice(&2u32.to_be_bytes());
    w16.extend_from_slice(&[0, 0]);
    assert!(c.send_raw(&mut h, &srb(1, &w16, 0, 1024, gpa)));
    assert_eq!(reply(&mut h, &c)[12 + 2], 1);
    assert_eq!(
        &h.device::<Storvsp>(d).unwrap().disk()[5 * 512..7 * 512],
        &pattern[..]
    );
    let r10 = [0x28, 0, 0, 0, 0, 5, 0, 0, 2, 0];
    assert!(c.send_raw(&mut h, &srb(2, &r10, 1, 1024, DATA + 0x4000)));
    assert_eq!(reply(&mut h, &c)[12 + 2], 1);
    assert_eq!(read(&h, DATA + 0x4000, 1024), pattern);
}

#[test]
fn capacity_inquiry_and_sense() {
    let (mut h, _d, c) = storvsp_up(2048);
    assert!(c.send_raw(
        &mut h,
        &srb(1, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], 1, 8, DATA)
    ));
    reply(&mut h, &c);
    assert_eq!(read(&h, DATA, 8), [0, 0, 0x07, 0xFF, 0, 0, 0x02, 0]);
    let rc16 = [0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0];
    assert!(c.send_raw(&mut h, &srb(2, &rc16, 1, 32, DATA)));
    reply(&mut h, &c);
    assert_eq!(
        read(&h, DATA, 12),
        [0, 0, 0, 0, 0, 0, 0x07, 0xFF, 0, 0, 0x02, 0]
    );
    assert!(c.send_raw(&mut h, &srb(3, &[0x12, 0, 0, 0, 36, 0], 1, 36, DATA)));
    let r = reply(&mut h, &c);
    assert_eq!(le32(&r, 12 + 12), 36);
    assert_eq!(&read(&h, DATA + 8, 8), b"Msft    ");
    // LBA out of range: CHECK CONDITION, ILLEGAL REQUEST, ASC 0x21.
    let bad = [0x28, 0, 0, 0, 0x08, 0, 0, 0, 1, 0];
    assert!(c.send_raw(&mut h, &srb(4, &bad, 1, 512, DATA)));
    let r = reply(&mut h, &c);
    assert_eq!((r[12 + 2], r[12 + 3]), (0x84, 0x02));
    assert_ne!(le32(&r, 8), 0);
    let sense = &r[12 + 0x10..12 + 0x10 + 18];
    assert_eq!(
        (sense[0], sense[2], sense[7], sense[12]),
        (0x70, 5, 10, 0x21)
    );
    // Unknown opcode: ASC 0x20.
    assert!(c.send_raw(&mut h, &srb(5, &[0xC7, 0, 0, 0, 0, 0], 1, 512, DATA)));
    let r = reply(&mut h, &c);
    assert_eq!((r[12 + 3], r[12 + 0x10 + 12]), (0x02, 0x20));
    // TEST UNIT READY and SYNCHRONIZE CACHE without data, in-band.
    for cdb in [[0u8; 10], [0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]] {
        let mut v = vec![0u8; 64];
        v[0] = 3;
        v[4] = 1;
        v[12] = 0x34;
        v[12 + 8] = 10;
        v[12 + 10] = 2;
        v[28..38].copy_from_slice(&cdb);
        let mut cc = Chan { next_id: 50, ..c };
        cc.send_inband(&mut h, &v, true);
        assert_eq!(reply(&mut h, &cc)[12 + 2], 1);
    }
}

#[test]
fn init_order_and_version_refusal() {
    let mut h = host(HostConfig::default());
    h.add_device(Box::new(Storvsp::new(8).refuse_win10()));
    let offers = connect(&mut h);
    let mut c = open(&mut h, &offers[0], 0x10_0000, 2, 5);
    let status = |h: &mut TestHost, c: &mut Chan, req: &[u8]| {
        c.send_inband(h, req, true);
        h.run_until_idle(5);
        let p = c.recv_payloads(h);
        le32(&p[0], 8)
    };
    // Out of order: QUERY_PROPERTIES first.
    assert_eq!(status(&mut h, &mut c, &vstor(10, &[])), 0xC000_0184);
    assert_eq!(status(&mut h, &mut c, &vstor(7, &[])), 0);
    assert_eq!(
        status(&mut h, &mut c, &vstor(9, &[0x02, 0x06])),
        0xC000_0059
    );
    assert_eq!(status(&mut h, &mut c, &vstor(9, &[0x00, 0x06])), 0);
    // A 12-byte init packet is legal and answered with 16 (padded) bytes.
    c.send_inband(&mut h, &vstor(10, &[])[..12], true);
    h.run_until_idle(5);
    let p = c.recv_payloads(&mut h);
    assert_eq!(p[0].len(), 16);
    assert_eq!(le32(&p[0], 8), 0);
    assert_eq!(status(&mut h, &mut c, &vstor(8, &[])), 0);
    assert_eq!(status(&mut h, &mut c, &vstor(7, &[])), 0xC000_0184);
}

#[test]
fn trans_id_zero_is_left_unanswered_and_no_completion_flag_is_fatal() {
    let (mut h, d, mut c) = storvsp_up(8);
    c.next_id = 0;
    c.send_inband(&mut h, &vstor(4, &[]), true);
    h.run_until_idle(5);
    assert!(c.recv(&mut h).is_empty());
    assert!(h.notes().any(|n| matches!(n, Note::ZeroTransId { .. })));
    c.send_inband(&mut h, &vstor(4, &[]), false);
    h.run_until_idle(5);
    assert_eq!(
        h.channel_failure(d),
        Some(ChannelFailure::Device(DeviceError::MissingCompletionFlag))
    );
}

#[test]
fn a_short_execute_srb_gets_a_short_reply() {
    let (mut h, d, mut c) = storvsp_up(8);
    // 16 bytes: header + length/status bytes only; no data, TEST UNIT READY.
    let mut v = vec![3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x34, 0, 0, 0];
    c.send_inband(&mut h, &v, true);
    h.run_until_idle(5);
    let p = c.recv_payloads(&mut h);
    assert_eq!(p[0].len(), 16);
    assert_eq!(p[0][12 + 2], 0x84, "no CDB: invalid opcode, and it fits");
    v.truncate(12);
    c.send_inband(&mut h, &v, true);
    h.run_until_idle(5);
    assert_eq!(c.recv_payloads(&mut h)[0].len(), 16);
    assert_eq!(h.channel_failure(d), None);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Random SRBs on a ready controller: any length, CDB, LUN, direction
    /// and GPA-direct range never panic the host.
    #[test]
    fn random_srbs_never_panic(
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        cdb0 in proptest::sample::select(vec![0x00u8, 0x03, 0x12, 0x1A, 0x25, 0x28, 0x2A, 0x35, 0x5A, 0x88, 0x8A, 0x9E, 0xA0, 0xFF]),
        len in 0u32..20000,
        gpa in proptest::prelude::any::<u64>(),
        direct in proptest::prelude::any::<bool>(),
    ) {
        let (mut h, _d, mut c) = storvsp_up(64);
        let mut cdb = body.clone();
        cdb.resize(16, 0);
        cdb[0] = cdb0;
        if direct {
            let mut p = srb(9, &cdb[..(body.len() % 17)], body.first().copied().unwrap_or(1) % 3, len, gpa % (RAM * 2));
            let keep = 24 + body.len().min(p.len() - 24);
            p.truncate(keep.max(24));
            p.resize(p.len().div_ceil(8) * 8, 0);
            let _ = c.send_raw(&mut h, &p);
        } else {
            let mut v = vec![3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
            v.extend_from_slice(&body);
            c.send_inband(&mut h, &v, true);
        }
        h.run_until_idle(10);
        let _ = c.recv(&mut h);
    }
}
