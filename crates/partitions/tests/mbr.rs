//! MBR images (primaries and an extended chain) written by `mbrman`, and
//! hand-built EBR chains that loop or leave the disk.

mod common;

use block::MemDisk;
use common::Watched;
use mbrman::{MBRPartitionEntry, BOOT_ACTIVE, BOOT_INACTIVE, CHS, MBR};
use partitions::{read_table, MbrProblem, PartitionError, PartitionType, Scheme, Table};
use std::io::Cursor;

fn read(sector: u32, image: Vec<u8>) -> Result<Table, PartitionError> {
    read_table(&mut Watched::new(MemDisk::new(sector, image)))
}

fn primary(boot: u8, sys: u8, starting_lba: u32, sectors: u32) -> MBRPartitionEntry {
    MBRPartitionEntry {
        boot,
        first_chs: CHS::empty(),
        sys,
        last_chs: CHS::empty(),
        starting_lba,
        sectors,
    }
}

/// Two primaries, an extended partition with three logicals, one slot
/// empty; written by mbrman.
fn mbrman_image(sector: u32, sectors: u32) -> (Vec<u8>, MBR) {
    let mut cur = Cursor::new(vec![0u8; sectors as usize * sector as usize]);
    let mut mbr = MBR::new_from(&mut cur, sector, [0x12, 0x34, 0x56, 0x78]).unwrap();
    mbr.align = 1;
    mbr[1] = primary(BOOT_ACTIVE, 0x0C, 8, 100);
    mbr[2] = primary(BOOT_INACTIVE, 0x0F, 200, 600);
    mbr[4] = primary(BOOT_INACTIVE, 0x83, 900, 50);
    mbr.push(0x83, 200, 100).unwrap();
    mbr.push(0x07, 320, 80).unwrap();
    mbr.push(0x82, 500, 299).unwrap();
    mbr.write_into(&mut cur).unwrap();
    let image = cur.into_inner();
    let reread = MBR::read_from(&mut Cursor::new(image.clone()), sector).unwrap();
    (image, reread)
}

#[test]
fn a_table_written_by_mbrman_reads_the_same_with_its_logicals() {
    for sector in [512u32, 4096] {
        let (image, theirs) = mbrman_image(sector, 1000);
        let t = read(sector, image).unwrap();
        assert_eq!(
            t.scheme,
            Scheme::Mbr {
                disk_signature: 0x7856_3412
            }
        );
        let expected: Vec<_> = theirs
            .iter()
            .filter(|(_, p)| p.is_used() && !p.is_extended())
            .collect();
        assert_eq!(t.partitions.len(), 5);
        assert_eq!(expected.len(), 5);
        for (ours, (i, theirs)) in t.partitions.iter().zip(expected) {
            assert_eq!(ours.index as usize, i);
            assert_eq!(ours.first_lba, u64::from(theirs.starting_lba));
            assert_eq!(ours.sector_count, u64::from(theirs.sectors));
            assert_eq!(ours.kind, PartitionType::Mbr(theirs.sys));
            assert_eq!(ours.bootable, theirs.is_active());
            assert!(ours.name.is_empty() && ours.unique.is_none());
        }
        let firsts: Vec<_> = t
            .partitions
            .iter()
            .map(|p| (p.index, p.first_lba))
            .collect();
        assert_eq!(firsts, [(1, 8), (4, 900), (5, 201), (6, 321), (7, 501)]);
    }
}

/// A disk of `sectors` with an MBR and EBRs at given LBAs; each EBR is
/// (lba, logical start relative to it, count, next EBR relative to `ext`).
fn chain(sectors: usize, ext: (u32, u32), ebrs: &[(u32, u32, u32, Option<u32>)]) -> Vec<u8> {
    let mut image = vec![0u8; sectors * 512];
    let put = |image: &mut [u8], lba: u32, slot: usize, kind: u8, start: u32, count: u32| {
        let at = lba as usize * 512 + 446 + 16 * slot;
        image[at + 4] = kind;
        image[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
        image[at + 12..at + 16].copy_from_slice(&count.to_le_bytes());
        image[lba as usize * 512 + 510..lba as usize * 512 + 512].copy_from_slice(&[0x55, 0xAA]);
    };
    put(&mut image, 0, 0, 0x05, ext.0, ext.1);
    for &(lba, start, count, next) in ebrs {
        put(&mut image, lba, 0, 0x83, start, count);
        if let Some(next) = next {
            put(&mut image, lba, 1, 0x05, next, 10);
        }
    }
    image
}

#[test]
fn a_hand_built_chain_is_followed_to_its_end() {
    let image = chain(
        100,
        (10, 80),
        &[
            (10, 1, 9, Some(20)),
            (30, 2, 8, Some(40)),
            (50, 1, 39, None),
        ],
    );
    let t = read(512, image).unwrap();
    let got: Vec<_> = t
        .partitions
        .iter()
        .map(|p| (p.index, p.first_lba, p.sector_count))
        .collect();
    assert_eq!(got, [(5, 11, 9), (6, 32, 8), (7, 51, 39)]);
}

#[test]
fn an_ebr_chain_that_loops_is_refused() {
    let image = chain(100, (10, 80), &[(10, 1, 9, Some(20)), (30, 1, 9, Some(0))]);
    assert_eq!(
        read(512, image),
        Err(PartitionError::BadMbr(MbrProblem::EbrLoop { lba: 10 }))
    );
    let selfloop = chain(100, (10, 80), &[(10, 1, 9, Some(0))]);
    assert_eq!(
        read(512, selfloop),
        Err(PartitionError::BadMbr(MbrProblem::EbrLoop { lba: 10 }))
    );
}

#[test]
fn a_chain_longer_than_the_cap_is_refused() {
    // 200 EBRs each linking to the next, all empty but the link.
    let ebrs: Vec<_> = (0..200u32).map(|i| (10 + i, 0, 0, Some(i + 1))).collect();
    let mut image = chain(300, (10, 280), &ebrs);
    for i in 0..200usize {
        image[(10 + i) * 512 + 446 + 4] = 0; // no logical in it
    }
    assert_eq!(
        read(512, image),
        Err(PartitionError::BadMbr(MbrProblem::ChainTooLong))
    );
}

#[test]
fn links_and_logicals_outside_the_extended_partition_are_refused() {
    let out = chain(100, (10, 50), &[(10, 1, 9, Some(70))]);
    assert_eq!(
        read(512, out),
        Err(PartitionError::BadMbr(MbrProblem::EbrLink { lba: 80 }))
    );
    let long = chain(100, (10, 50), &[(10, 1, 60, None)]);
    assert_eq!(
        read(512, long),
        Err(PartitionError::BadMbr(MbrProblem::Range {
            index: 5,
            first: 11,
            count: 60
        }))
    );
    let mut unsigned = chain(100, (10, 50), &[(10, 1, 9, Some(20))]);
    unsigned[10 * 512 + 510] = 0;
    assert_eq!(
        read(512, unsigned),
        Err(PartitionError::BadMbr(MbrProblem::EbrSignature { lba: 10 }))
    );
}

#[test]
fn a_primary_past_the_disk_end_is_refused() {
    for sector in [512u32, 4096] {
        let mut cur = Cursor::new(vec![0u8; 1000 * sector as usize]);
        let mut mbr = MBR::new_from(&mut cur, sector, [1; 4]).unwrap();
        mbr[1] = primary(BOOT_INACTIVE, 0x83, 10, 100);
        mbr.write_into(&mut cur).unwrap();
        let mut image = cur.into_inner();
        image.truncate(100 * sector as usize);
        assert_eq!(
            read(sector, image),
            Err(PartitionError::BadMbr(MbrProblem::Range {
                index: 1,
                first: 10,
                count: 100
            }))
        );
    }
}

#[test]
fn two_extended_partitions_are_refused() {
    let mut image = chain(100, (10, 20), &[(10, 1, 9, None)]);
    image[446 + 16 + 4] = 0x0F;
    image[446 + 16 + 8] = 50;
    image[446 + 16 + 12] = 20;
    assert_eq!(
        read(512, image),
        Err(PartitionError::BadMbr(MbrProblem::TwoExtended))
    );
}
