//! A scripted storvsc host with a RAM disk takes the driver through §6.4:
//! init with version fallback, the disk probe, reads, writes, errors.

mod common;

use common::disk_fake::{config, io, pump, ready, Host, SCRATCH};
use common::hex;
use vmbus_devices::storvsc::{
    IoError, Storvsc, StorvscConfig, StorvscError, StorvscEvent, StorvscState, MAX_OUTSTANDING,
};
use vmbus_devices::{GpaRange, Incoming, Output};

#[test]
fn begin_initialization_bytes() {
    let mut d = Storvsc::new(config());
    let mut out = Output::new();
    d.start(&mut out).unwrap();
    let mut begin = hex("07 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00");
    begin.resize(64, 0);
    assert_eq!(out.sends[0].payload, begin);
    assert!(out.sends[0].completion_requested);
}

#[test]
fn init_probe_and_vector_read() {
    let mut host = Host::new(2048);
    let (mut d, events) = ready(&mut host);
    assert_eq!(
        events,
        [StorvscEvent::DiskReady {
            sector_size: 512,
            sectors: 2048,
            protocol_version: 0x0600,
            max_transfer_bytes: 0x40000,
        }]
    );
    assert_eq!(d.state(), StorvscState::Ready);
    // INQUIRY, TUR ×3 (two unit attentions), READ CAPACITY(10).
    assert_eq!(host.seen_cdbs, [0x12, 0x00, 0x00, 0x00, 0x25]);
    // The driver's READ(10) of LBA 0 into 0x300000 is the §9.6 packet.
    let (id, pkt) = d
        .read(0, 1, GpaRange::contiguous(0x30_0000, 512).unwrap())
        .unwrap();
    let mut img = pkt.encode().unwrap();
    img[8..16].copy_from_slice(&0x10u64.to_le_bytes());
    assert_eq!(
        img,
        hex("09 00 05 00 0d 00 01 00 10 00 00 00 00 00 00 00
         00 00 00 00 01 00 00 00 00 02 00 00 00 00 00 00
         00 03 00 00 00 00 00 00 03 00 00 00 01 00 00 00
         00 00 00 00 34 00 00 00 00 00 00 00 0a 14 01 00
         00 02 00 00 28 00 00 00 00 00 00 00 01 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 48 00 00 00
         3c 00 00 00 00 00 00 00")
    );
    assert_eq!(io(&mut d, &mut host, (id, pkt)), Ok(512));
    assert_eq!(&host.mem[0x30_0000..0x30_0200], &host.disk[..512]);
}

#[test]
fn write_read_flush() {
    let mut host = Host::new(64);
    let (mut d, _) = ready(&mut host);
    let src = 0x20_0000usize;
    for i in 0..1024 {
        host.mem[src + i] = (i % 13) as u8 ^ 0xA5;
    }
    let w = d
        .write(5, 2, GpaRange::contiguous(src as u64, 1024).unwrap())
        .unwrap();
    assert_eq!(io(&mut d, &mut host, w), Ok(1024));
    assert_eq!(&host.disk[5 * 512..7 * 512], &host.mem[src..src + 1024]);
    // Read back across a page boundary (buffer at 0x2ffe00 spans 2 pages).
    let dst = 0x2F_FE00usize;
    let r = d
        .read(5, 2, GpaRange::contiguous(dst as u64, 1024).unwrap())
        .unwrap();
    assert!(
        matches!(&r.1.kind, vmbus_devices::OutgoingKind::GpaDirect(g) if g.pfns() == [0x2FF, 0x300])
    );
    assert_eq!(io(&mut d, &mut host, r), Ok(1024));
    assert_eq!(host.mem[dst..dst + 1024], host.mem[src..src + 1024]);
    let f = d.flush().unwrap();
    assert_eq!(f.1.kind, vmbus_devices::OutgoingKind::InBand);
    assert_eq!(io(&mut d, &mut host, f), Ok(0));
    assert_eq!(d.outstanding(), 0);
}

#[test]
fn big_disk_uses_16_byte_commands() {
    let mut host = Host::new(8);
    host.last_lba = Some(0x1_0000_0000);
    let (mut d, events) = ready(&mut host);
    assert!(matches!(
        events[0],
        StorvscEvent::DiskReady {
            sectors: 0x1_0000_0001,
            ..
        }
    ));
    assert_eq!(host.seen_cdbs.last(), Some(&0x9E));
    let (_, pkt) = d
        .read(
            0x1_0000_0000,
            1,
            GpaRange::contiguous(0x30_0000, 512).unwrap(),
        )
        .unwrap();
    // CDB opcode at payload +0x0C + 0x10.
    assert_eq!(pkt.payload[0x1C], 0x88);
    // The last block READ(10) can name is still READ(10).
    let (_, pkt) = d
        .read(
            0xFFFF_FFFF,
            1,
            GpaRange::contiguous(0x30_0000, 512).unwrap(),
        )
        .unwrap();
    assert_eq!(pkt.payload[0x1C], 0x28);
    let (_, pkt) = d
        .read(
            0xFFFF_FFFF,
            2,
            GpaRange::contiguous(0x30_0000, 1024).unwrap(),
        )
        .unwrap();
    assert_eq!(pkt.payload[0x1C], 0x88);
}

#[test]
fn medium_error_carries_sense() {
    let mut host = Host::new(64);
    let (mut d, _) = ready(&mut host);
    host.medium_error_at = Some(3);
    let r = d
        .read(3, 1, GpaRange::contiguous(0x30_0000, 512).unwrap())
        .unwrap();
    let Err(IoError::Scsi {
        srb_status,
        scsi_status,
        sense: Some(s),
        ..
    }) = io(&mut d, &mut host, r)
    else {
        panic!()
    };
    assert_eq!(
        (srb_status.code(), srb_status.autosense_valid(), scsi_status),
        (0x04, true, 2)
    );
    assert_eq!((s.key, s.asc), (3, 0x11));
}

#[test]
fn requests_are_validated() {
    let mut host = Host::new(64);
    let (mut d, _) = ready(&mut host);
    let buf = |n| GpaRange::contiguous(0x30_0000, n).unwrap();
    assert_eq!(
        d.read(64, 1, buf(512)).unwrap_err(),
        StorvscError::BadRequest
    );
    assert_eq!(
        d.read(63, 2, buf(1024)).unwrap_err(),
        StorvscError::BadRequest
    );
    assert_eq!(
        d.read(0, 1, buf(1024)).unwrap_err(),
        StorvscError::BadRequest
    );
    assert_eq!(
        d.read(0, 0, buf(512)).unwrap_err(),
        StorvscError::BadRequest
    );
    assert_eq!(
        d.write(u64::MAX, 1, buf(512)).unwrap_err(),
        StorvscError::BadRequest
    );
    let big = GpaRange::contiguous(0, 0x40000 + 512).unwrap();
    assert_eq!(d.read(0, 0x201, big).unwrap_err(), StorvscError::BadRequest);
    for _ in 0..MAX_OUTSTANDING {
        d.flush().unwrap();
    }
    assert_eq!(d.flush().unwrap_err(), StorvscError::Busy);
}

#[test]
fn hostile_completions() {
    let mut host = Host::new(64);
    let (mut d, _) = ready(&mut host);
    let mut out = Output::new();
    let full = [0u8; 64];
    // Completion for an id never sent.
    assert_eq!(
        d.handle(&Incoming::completion(999, &full), &[], &mut out),
        Err(StorvscError::UnknownCompletion(999))
    );
    // Short completion: the request fails with BadReply, and only once.
    let (id, _) = d.flush().unwrap();
    assert_eq!(
        d.handle(&Incoming::completion(id.0, &full[..16]), &[], &mut out),
        Err(StorvscError::ShortReply(16))
    );
    assert_eq!(
        out.events,
        [StorvscEvent::Completed {
            id,
            result: Err(IoError::BadReply)
        }]
    );
    assert!(d
        .handle(&Incoming::completion(id.0, &full), &[], &mut out)
        .is_err());
    // Completion whose operation is not COMPLETE_IO.
    let (id, _) = d.flush().unwrap();
    let mut bad = full;
    bad[0] = 3;
    assert_eq!(
        d.handle(&Incoming::completion(id.0, &bad), &[], &mut out),
        Err(StorvscError::NotCompleteIo(3))
    );
    // Unsolicited operations: rescan requests and junk.
    out.clear();
    let mut enumerate = [0u8; 64];
    enumerate[0] = 11;
    d.handle(&Incoming::in_band(0, &enumerate), &[], &mut out)
        .unwrap();
    assert_eq!(out.events, [StorvscEvent::BusRescan]);
    let mut junk = [0u8; 64];
    junk[0] = 5;
    assert_eq!(
        d.handle(&Incoming::in_band(0, &junk), &[], &mut out),
        Err(StorvscError::UnexpectedOperation(5))
    );
    assert_eq!(d.state(), StorvscState::Ready);
}

#[test]
fn no_device_at_lun() {
    let mut host = Host::new(8);
    host.no_lun = true;
    let mut d = Storvsc::new(config());
    let mut out = Output::new();
    d.start(&mut out).unwrap();
    assert_eq!(pump(&mut d, &mut host, out), Err(StorvscError::NoDevice));
    assert_eq!(d.state(), StorvscState::Failed);
}

#[test]
fn every_version_refused() {
    let mut host = Host::new(8);
    host.refuse_versions = vec![0x0602, 0x0600, 0x0501];
    let mut d = Storvsc::new(config());
    let mut out = Output::new();
    d.start(&mut out).unwrap();
    assert_eq!(pump(&mut d, &mut host, out), Err(StorvscError::NoVersion));
    assert_eq!(d.state(), StorvscState::Failed);
}

#[test]
fn unit_attention_forever_gives_up() {
    let mut host = Host::new(8);
    host.unit_attentions = 100;
    let mut d = Storvsc::new(config());
    let mut out = Output::new();
    d.start(&mut out).unwrap();
    assert!(matches!(
        pump(&mut d, &mut host, out),
        Err(StorvscError::ProbeFailed(_))
    ));
    assert_eq!(host.seen_cdbs.iter().filter(|&&c| c == 0).count(), 8);
}

#[test]
fn scratch_too_small() {
    let mut d = Storvsc::new(StorvscConfig {
        scratch: GpaRange::contiguous(SCRATCH, 16).unwrap(),
        ..config()
    });
    assert_eq!(d.start(&mut Output::new()), Err(StorvscError::BadScratch));
}
